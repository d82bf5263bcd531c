//! Object keys: URL-decoding event keys, mapping input keys to output keys, content types.

/// An event key that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("object key `{raw}` does not decode to UTF-8")]
pub struct KeyError {
    /// The key as the event wrote it.
    pub raw: String,
}

/// Decodes an S3 event key: `+` is a space and `%XX` escapes are bytes of UTF-8 (S3 event
/// notifications URL-encode keys this way). Invalid escapes are kept literally; the decoded
/// bytes must be UTF-8.
pub fn decode_event_key(raw: &str) -> Result<String, KeyError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| KeyError {
        raw: raw.to_owned(),
    })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The output key: `output_base` + the input key with `input_base` removed from its start
/// (when it starts with it).
pub fn output_key(input_key: &str, input_base: &str, output_base: &str) -> String {
    let rest = input_key.strip_prefix(input_base).unwrap_or(input_key);
    format!("{output_base}{rest}")
}

/// The Content-Type of the output: the input's, or one inferred from the key's extension
/// (ignoring `.gz`).
pub fn content_type(input_content_type: Option<&str>, key: &str) -> String {
    if let Some(t) =
        input_content_type.filter(|t| !t.is_empty() && *t != "application/octet-stream")
    {
        return t.to_string();
    }
    let lower = key.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    match stem.rsplit_once('.').map(|(_, e)| e) {
        Some("csv") => "text/csv",
        Some("tsv") => "text/tab-separated-values",
        Some("ndjson") | Some("jsonl") => "application/x-ndjson",
        Some("json") => "application/json",
        Some("parquet") => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_event_keys() {
        assert_eq!(
            decode_event_key("hr/My+Export+%282024%29.csv").unwrap(),
            "hr/My Export (2024).csv"
        );
        assert_eq!(decode_event_key("a%2Bb.csv").unwrap(), "a+b.csv");
        assert_eq!(decode_event_key("M%C3%BCller.csv").unwrap(), "Müller.csv");
        assert_eq!(decode_event_key("100%").unwrap(), "100%");
        assert_eq!(decode_event_key("%zz").unwrap(), "%zz");
        assert!(decode_event_key("%FF").is_err());
    }

    #[test]
    fn maps_keys_between_base_paths() {
        assert_eq!(
            output_key("import/hris/x.csv", "import/", "sanitized/"),
            "sanitized/hris/x.csv"
        );
        assert_eq!(output_key("other/x.csv", "import/", ""), "other/x.csv");
        assert_eq!(output_key("x.csv", "", ""), "x.csv");
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Some("text/csv; charset=utf-8"), "x.bin"),
            "text/csv; charset=utf-8"
        );
        assert_eq!(content_type(None, "x.CSV.gz"), "text/csv");
        assert_eq!(
            content_type(Some("application/octet-stream"), "e.ndjson"),
            "application/x-ndjson"
        );
        assert_eq!(content_type(None, "noext"), "application/octet-stream");
    }
}
