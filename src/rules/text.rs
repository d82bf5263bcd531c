//! The text of a rules file: the envelopes the `RULES` setting may wrap it in (base64, gzip, a
//! BOM), and how errors name the kind of a YAML value.

use std::io::Read;

use base64::Engine;
use serde_yaml::Value;

use super::RulesError;

/// Unwraps base64 (and gzip inside it) when the content is a single base64 token.
pub(crate) fn decode_envelope(bytes: &[u8]) -> Result<String, RulesError> {
    let compact: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let looks_base64 = !compact.is_empty()
        && compact.len() >= 8
        && compact
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    let mut raw = bytes.to_vec();
    if looks_base64 {
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ];
        let trimmed: Vec<u8> = compact.iter().copied().filter(|b| *b != b'=').collect();
        let nopad = [
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let decoded = engines
            .iter()
            .find_map(|e| e.decode(&compact).ok())
            .or_else(|| nopad.iter().find_map(|e| e.decode(&trimmed).ok()));
        if let Some(decoded) = decoded {
            raw = decoded;
        }
    }
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(RulesError::Gzip)?;
        raw = out;
    }
    let mut text = String::from_utf8(raw).map_err(|_| RulesError::NotUtf8)?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

/// How errors name the kind of a YAML value (`a list`, `a mapping`, ...).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
