//! Output encodings of a pseudonym (`JSON`, `URL_SAFE_TOKEN`, `URL_SAFE_HASH_ONLY`).

use super::PseudonymFormat;

/// Prefix of a (non-reversible) URL-safe token.
pub const TOKEN_PREFIX: &str = "t~";

/// Appends the encoding of a pseudonym to `out`.
///
/// `hash` is the 43-character base64url hash; `domain` is the domain as
/// reported by the configured domain handling (`None` for non-emails and when
/// the domain is redacted).
///
/// * `JSON`: `{"domain":"acme.com","hash":"<43>"}` (`domain` omitted when absent)
/// * `URL_SAFE_TOKEN`: `t~<43>` plus `@<domain>` when present
/// * `URL_SAFE_HASH_ONLY`: `<43>`
pub fn write_pseudonym(
    format: PseudonymFormat,
    hash: &str,
    domain: Option<&str>,
    out: &mut String,
) {
    match format {
        PseudonymFormat::Json => {
            out.push('{');
            if let Some(d) = domain {
                out.push_str("\"domain\":");
                write_json_string(d, out);
                out.push(',');
            }
            out.push_str("\"hash\":\"");
            // base64url never needs escaping.
            out.push_str(hash);
            out.push_str("\"}");
        }
        PseudonymFormat::UrlSafeToken => {
            out.push_str(TOKEN_PREFIX);
            out.push_str(hash);
            if let Some(d) = domain {
                out.push('@');
                out.push_str(d);
            }
        }
        PseudonymFormat::UrlSafeHashOnly => out.push_str(hash),
    }
}

/// Appends `s` to `out` as a JSON string literal (with quotes), escaping `"`,
/// `\` and control characters the way `serde_json` does.
pub fn write_json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0C => Some("\\f"),
            0x00..=0x1F => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xF) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk";

    fn enc(format: PseudonymFormat, domain: Option<&str>) -> String {
        let mut out = String::new();
        write_pseudonym(format, H, domain, &mut out);
        out
    }

    #[test]
    fn formats() {
        assert_eq!(
            enc(PseudonymFormat::Json, Some("acme.com")),
            format!("{{\"domain\":\"acme.com\",\"hash\":\"{H}\"}}")
        );
        assert_eq!(
            enc(PseudonymFormat::Json, None),
            format!("{{\"hash\":\"{H}\"}}")
        );
        assert_eq!(
            enc(PseudonymFormat::UrlSafeToken, Some("acme.com")),
            format!("t~{H}@acme.com")
        );
        assert_eq!(enc(PseudonymFormat::UrlSafeToken, None), format!("t~{H}"));
        assert_eq!(enc(PseudonymFormat::UrlSafeHashOnly, Some("acme.com")), H);
    }

    #[test]
    fn json_escaping_matches_serde_json() {
        for s in ["acme.com", "a\"b\\c", "tab\tnl\n\u{1}\u{1f}", "é🙂", ""] {
            let mut out = String::new();
            write_json_string(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }
}
