//! User metadata (`x-amz-meta-*`) as S3 carries it: values that are not printable ASCII are
//! RFC 2047-encoded on the way in and decoded on the way out.

use std::collections::HashMap;

/// User metadata as sent: values that are not printable ASCII (an object key with accents,
/// say) are RFC 2047-encoded, as S3 requires of `x-amz-meta-*` headers.
pub(super) fn metadata(map: &HashMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| (k.clone(), encode_header_value(v)))
            .collect()
    })
}

/// User metadata as received: RFC 2047 `=?UTF-8?B?...?=` values decoded.
pub(super) fn received_metadata(map: Option<&HashMap<String, String>>) -> HashMap<String, String> {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), decode_header_value(v)))
            .collect()
    })
    .unwrap_or_default()
}

/// `value` unchanged when it is printable ASCII, otherwise `=?UTF-8?B?<base64>?=`.
pub fn encode_header_value(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        value.to_owned()
    } else {
        use base64::Engine;
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// The inverse of [`encode_header_value`] (also accepts `Q` encoding's absence: anything not
/// of the form `=?UTF-8?B?...?=` is returned unchanged).
pub fn decode_header_value(value: &str) -> String {
    use base64::Engine;
    let inner = value
        .strip_prefix("=?UTF-8?B?")
        .or_else(|| value.strip_prefix("=?utf-8?b?"))
        .and_then(|v| v.strip_suffix("?="));
    inner
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_are_made_header_safe_and_back() {
        assert_eq!(encode_header_value("input/hris.csv"), "input/hris.csv");
        let key = "in/hris é 日本.csv";
        let encoded = encode_header_value(key);
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.is_ascii());
        assert_eq!(decode_header_value(&encoded), key);
        assert_eq!(
            decode_header_value("=?UTF-8?B?not base64!?="),
            "=?UTF-8?B?not base64!?="
        );
        assert_eq!(encode_header_value("tab\there"), "=?UTF-8?B?dGFiCWhlcmU=?=");
    }
}
