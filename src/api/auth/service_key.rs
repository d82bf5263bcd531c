//! Psoxy's `windsurf_service_key` (SPEC-API-PARITY §4.3.6): no credential header; the key
//! travels as `service_key` in the JSON body of every request.
//!
//! No body: `{"service_key":"<key>"}` with `Content-Type: application/json`. A body: its
//! (normalized) content type must be `application/json` and it must be a JSON object;
//! `service_key` replaces an existing member in place, else is appended last. Key order and
//! number text are kept (serde_json with `preserve_order` and `arbitrary_precision`).

use serde_json::Value;

use crate::api::body::normalized_content_type;

/// The JSON media type the key is injected into.
const APPLICATION_JSON: &str = "application/json";

/// The request's body cannot carry the key. Never holds the key or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceKeyBodyError {
    /// The body is not `application/json`.
    #[error("this source takes JSON request bodies only (Content-Type: application/json)")]
    NotJsonContentType,
    /// The body is not a JSON object.
    #[error("this source takes a JSON object as the request body")]
    NotJsonObject,
}

/// The body to forward with the key in it, and its content type.
pub fn with_service_key(
    content_type: Option<&str>,
    body: &[u8],
    key: &str,
) -> Result<(Vec<u8>, &'static str), ServiceKeyBodyError> {
    let mut object = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        if normalized_content_type(content_type) != APPLICATION_JSON {
            return Err(ServiceKeyBodyError::NotJsonContentType);
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(ServiceKeyBodyError::NotJsonObject),
        }
    };
    object.insert("service_key".to_owned(), Value::String(key.to_owned()));
    let bytes = serde_json::to_vec(&Value::Object(object))
        .map_err(|_| ServiceKeyBodyError::NotJsonObject)?;
    Ok((bytes, APPLICATION_JSON))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inject(ct: Option<&str>, body: &str) -> Result<String, ServiceKeyBodyError> {
        with_service_key(ct, body.as_bytes(), "test-key")
            .map(|(b, _)| String::from_utf8(b).unwrap())
    }

    #[test]
    fn psoxys_examples() {
        let json = Some("application/json");
        assert_eq!(
            inject(json, r#"{"key":"value"}"#).unwrap(),
            r#"{"key":"value","service_key":"test-key"}"#
        );
        assert_eq!(inject(json, "{}").unwrap(), r#"{"service_key":"test-key"}"#);
        assert_eq!(
            inject(json, r#"{"nested":{"another_key":"another_value"}}"#).unwrap(),
            r#"{"nested":{"another_key":"another_value"},"service_key":"test-key"}"#
        );
        assert_eq!(inject(None, "").unwrap(), r#"{"service_key":"test-key"}"#);
        // No content type reads as JSON, as the proxy forwards it.
        assert_eq!(inject(None, "{}").unwrap(), r#"{"service_key":"test-key"}"#);
    }

    #[test]
    fn replaces_in_place_and_keeps_numbers() {
        assert_eq!(
            inject(
                Some("Application/JSON; charset=utf-8"),
                r#"{"a":1.50,"service_key":"old","z":1e2}"#
            )
            .unwrap(),
            r#"{"a":1.50,"service_key":"test-key","z":1e+2}"#
        );
    }

    #[test]
    fn other_bodies_are_refused() {
        assert_eq!(
            inject(Some("text/plain"), "{}"),
            Err(ServiceKeyBodyError::NotJsonContentType)
        );
        assert_eq!(
            inject(Some("application/x-www-form-urlencoded"), "a=b"),
            Err(ServiceKeyBodyError::NotJsonContentType)
        );
        assert_eq!(
            inject(Some("application/json"), "[1]"),
            Err(ServiceKeyBodyError::NotJsonObject)
        );
        assert_eq!(
            inject(Some("application/json"), "{"),
            Err(ServiceKeyBodyError::NotJsonObject)
        );
    }
}
