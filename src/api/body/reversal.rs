//! Reversal of `p~` tokens in a request body before it is forwarded (SPEC-API-PARITY §3.1.3).
//!
//! Runs after the rules allowed the request (the `requestBody` schema sees the tokens, not the
//! plaintext) and only for a non-blank body (see `body_request::check_request_body`).
//!
//! Token grammar (`pseudonym::token_text`): `p~` + 43 or more of `[A-Za-z0-9_-]`, optionally
//! followed by `@` + `[A-Za-z0-9.-]+`; the whole match (with the `@domain`) is handed to the caller's
//! `decrypt`, whose result replaces it (for emails it already contains the domain). Every token
//! *contained* in a value is replaced, not only whole values.
//!
//! Dispatch on the content type (Psoxy's `contains` test, **Rec.** applied: the test is made on
//! the *normalized* type, so `Application/JSON` works instead of crashing; `contains` is kept so
//! that e.g. `application/json-patch+json` still takes the JSON path as in Psoxy):
//! * JSON: parse (serde_json with `preserve_order` + `arbitrary_precision`), replace inside
//!   string values only (never object keys, numbers, booleans), re-serialize compactly with
//!   the key order kept and **the original number text kept** (**Rec.**; Jackson would print
//!   `1e2` as `100.0`): digits, sign, fraction and trailing zeros are kept exactly; the only
//!   respelling is serde_json's exponent form (`1E2` / `1e2` -> `1e+2`, `1E-7` -> `1e-7`),
//!   which denotes the same value. A duplicated object key keeps its first position and its last value,
//!   as Jackson's `ObjectNode` does. Invalid JSON -> [`BodyReversalError::InvalidJson`]
//!   (500 `CONNECTION_SETUP`, body `Failed to parse request; review logs`), even when the
//!   body holds no token (Psoxy always re-serializes).
//! * Form: pairs as parsed by `body_request::parse_form`, tokens reversed in values only, every
//!   pair re-encoded, names too (space -> `+`, everything but `A-Za-z0-9-_.*` as upper-case
//!   `%XX`, so a `~` becomes `%7E`), joined with `&`. A pair without `=` is kept as a bare name (**Rec.**; Psoxy crashes).
//! * Any other type: the body is returned unchanged when it holds no token, else
//!   [`BodyReversalError::TokenInUnsupportedContentType`] (400 `INVALID_REQUEST`, **Rec.**;
//!   Psoxy crashes).
//!
//! A token `decrypt` fails on -> [`BodyReversalError::Decrypt`] (409
//! `TOKENIZED_REQUEST_PARAMETER_INVALID`, no body).

use serde_json::Value;

use super::request::{
    encode_form, normalized_content_type, parse_form, FormPair, APPLICATION_FORM_URLENCODED,
    APPLICATION_JSON,
};
use crate::pseudonym::token_text::{contains_token, find_token};

/// Why a body could not be prepared for forwarding.
#[derive(Debug, thiserror::Error)]
pub enum BodyReversalError<E> {
    /// The JSON body does not parse (or could not be re-serialized).
    /// Answered with 500 `CONNECTION_SETUP`, as Psoxy does (`api::error`).
    #[error("request body is not valid JSON")]
    InvalidJson,
    /// A body of a content type other than JSON or form contains a `p~` token, which cannot be
    /// placed safely (400 `INVALID_REQUEST`).
    #[error("request body contains a reversible token but its content type is not supported")]
    TokenInUnsupportedContentType,
    /// `decrypt` failed on a token (the proxy answers 409, as for tokens in the URL).
    #[error("a reversible token in the request body could not be reversed")]
    Decrypt(#[source] E),
}

/// Replaces every token contained in `s` by `decrypt(token)`.
pub fn reverse_tokens_in<E>(
    s: &str,
    decrypt: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    while let Some(range) = find_token(s, last) {
        out.push_str(&s[last..range.start]);
        out.push_str(&decrypt(&s[range.clone()])?);
        last = range.end;
    }
    out.push_str(&s[last..]);
    Ok(out)
}

fn reverse_json_value<E>(
    value: &mut Value,
    decrypt: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<(), E> {
    match value {
        Value::String(s) => {
            if contains_token(s) {
                *s = reverse_tokens_in(s, decrypt)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                reverse_json_value(item, decrypt)?;
            }
        }
        Value::Object(map) => {
            for (_, v) in map.iter_mut() {
                reverse_json_value(v, decrypt)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Reverses the `p~` tokens of a request body and returns the body to forward (§3.1.3).
///
/// `content_type` is the raw `Content-Type` header (`None` -> `application/json`); `body` the
/// trimmed, non-blank body. `decrypt` turns one token (the whole match, including an
/// `@domain` suffix) into its plaintext or fails.
pub fn reverse_body<E>(
    content_type: Option<&str>,
    body: &str,
    decrypt: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<String, BodyReversalError<E>> {
    let normalized = normalized_content_type(content_type);
    if normalized.contains(APPLICATION_JSON) {
        let mut value: Value =
            serde_json::from_str(body).map_err(|_| BodyReversalError::InvalidJson)?;
        reverse_json_value(&mut value, decrypt).map_err(BodyReversalError::Decrypt)?;
        // serializing a `Value` cannot fail (keys are strings); mapped for completeness
        serde_json::to_string(&value).map_err(|_| BodyReversalError::InvalidJson)
    } else if normalized.contains(APPLICATION_FORM_URLENCODED) {
        let pairs = parse_form(body)
            .into_iter()
            .map(|pair| {
                let value = match pair.value {
                    Some(v) => Some(reverse_tokens_in(&v, decrypt)?),
                    None => None,
                };
                Ok(FormPair {
                    name: pair.name,
                    value,
                })
            })
            .collect::<Result<Vec<_>, E>>()
            .map_err(BodyReversalError::Decrypt)?;
        Ok(encode_form(&pairs))
    } else if contains_token(body) {
        Err(BodyReversalError::TokenInUnsupportedContentType)
    } else {
        Ok(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Slack id `U02DU30BUTD` tokenized with the spec's test keys (§3.1.3).
    const SLACK_TOKEN: &str = "p~BZcy5qhkyGyUTWR9hC_my2o6pHLKA4C8MHUHRy1K5TuugNC6SKYHB4eIKRZ4cFOg";
    /// A stand-in for "the p~ token of user@example.com" (43 chars after the prefix).
    const EMAIL_TOKEN: &str = "p~AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[derive(Debug, PartialEq)]
    struct BadToken(String);

    fn fake_map() -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert(SLACK_TOKEN.to_string(), "U02DU30BUTD".to_string());
        m.insert(
            format!("{EMAIL_TOKEN}@example.com"),
            "user@example.com".to_string(),
        );
        m
    }

    fn reverse(ct: Option<&str>, body: &str) -> Result<String, BodyReversalError<BadToken>> {
        let map = fake_map();
        let mut decrypt = |t: &str| map.get(t).cloned().ok_or_else(|| BadToken(t.to_string()));
        reverse_body(ct, body, &mut decrypt)
    }

    #[test]
    fn spec_example_email_in_post_body() {
        let body = format!(r#"{{"email":"{EMAIL_TOKEN}@example.com","status":"active"}}"#);
        assert_eq!(
            reverse(Some("application/json"), &body).unwrap(),
            r#"{"email":"user@example.com","status":"active"}"#
        );
    }

    #[test]
    fn spec_example_json_array() {
        let body = format!(r#"{{"users":["{SLACK_TOKEN}"],"n":2}}"#);
        assert_eq!(
            reverse(None, &body).unwrap(),
            r#"{"users":["U02DU30BUTD"],"n":2}"#
        );
    }

    #[test]
    fn spec_example_form() {
        let body = format!("user={SLACK_TOKEN}&note=hi+there");
        assert_eq!(
            reverse(Some("application/x-www-form-urlencoded"), &body).unwrap(),
            "user=U02DU30BUTD&note=hi+there"
        );
        assert_eq!(
            reverse(Some("application/x-www-form-urlencoded"), "q=a%2Fb").unwrap(),
            "q=a%2Fb"
        );
    }

    #[test]
    fn json_keeps_order_numbers_and_keys_and_is_compact() {
        let body = format!(
            "{{ \"z\" : 1e2, \"y\": [1E-7, 2.50e+1], \"a\": [1.0, -0, 12345678901234567890123, 0.1000000000000000000001, true, null],\n \"{SLACK_TOKEN}\": \"x {SLACK_TOKEN}, {SLACK_TOKEN}!\" }}"
        );
        assert_eq!(
            reverse(Some("Application/JSON; Charset=UTF-8"), &body).unwrap(),
            format!(
                r#"{{"z":1e+2,"y":[1e-7,2.50e+1],"a":[1.0,-0,12345678901234567890123,0.1000000000000000000001,true,null],"{SLACK_TOKEN}":"x U02DU30BUTD, U02DU30BUTD!"}}"#
            )
        );
    }

    #[test]
    fn json_duplicate_key_keeps_first_position_last_value() {
        assert_eq!(
            reverse(None, r#"{"a":1,"b":2,"a":3}"#).unwrap(),
            r#"{"a":3,"b":2}"#
        );
    }

    #[test]
    fn json_escapes_survive() {
        let body = r#"{"s":"line\nbreak \"q\" \u00e9 \ud83d\ude00"}"#;
        assert_eq!(
            reverse(None, body).unwrap(),
            "{\"s\":\"line\\nbreak \\\"q\\\" é 😀\"}"
        );
    }

    #[test]
    fn invalid_json_is_refused() {
        for body in ["{", "{\"a\":1} x", "not json"] {
            let err = reverse(Some("application/json"), body).unwrap_err();
            assert!(matches!(err, BodyReversalError::InvalidJson));
        }
    }

    #[test]
    fn undecryptable_token_fails_with_its_error() {
        let unknown = format!("p~{}", "B".repeat(43));
        let err = reverse(None, &format!(r#"{{"u":"{unknown}"}}"#)).unwrap_err();
        match err {
            BodyReversalError::Decrypt(BadToken(t)) => assert_eq!(t, unknown),
            other => panic!("unexpected {other:?}"),
        }
        let err = reverse(
            Some("application/x-www-form-urlencoded"),
            &format!("u={unknown}"),
        )
        .unwrap_err();
        assert!(matches!(err, BodyReversalError::Decrypt(_)));
    }

    #[test]
    fn form_bare_name_and_reencoding() {
        let body = format!("flag&u=%20{SLACK_TOKEN}%2C{SLACK_TOKEN}&{SLACK_TOKEN}=k&e=&=x&t=~");
        assert_eq!(
            reverse(
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                &body
            )
            .unwrap(),
            format!(
                "flag&u=+U02DU30BUTD%2CU02DU30BUTD&{}=k&e=&=x&t=%7E",
                SLACK_TOKEN.replace('~', "%7E")
            )
        );
    }

    #[test]
    fn other_content_types() {
        assert_eq!(
            reverse(Some("text/plain"), "hello p~short").unwrap(),
            "hello p~short"
        );
        let err = reverse(Some("text/plain"), &format!("hi {SLACK_TOKEN}")).unwrap_err();
        assert!(matches!(
            err,
            BodyReversalError::TokenInUnsupportedContentType
        ));
    }

    #[test]
    fn tokens_inside_text_are_replaced() {
        let t43 = format!("p~{}", "a".repeat(43));
        let s = format!("é{t43}é {t43}@acme.com, ok");
        let mut dec = |_: &str| Ok::<_, ()>("X".to_string());
        assert_eq!(reverse_tokens_in(&s, &mut dec).unwrap(), "éXé X, ok");
    }
}
