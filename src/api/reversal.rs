//! Token reversal: a `p~` token the caller sends back (a whole path segment, query value or
//! allowed header) is decrypted to the original value before the request goes to the source,
//! so a caller can follow up on an id it only ever saw pseudonymized (SPEC-API 4).

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::decode::{decode_path_part, decode_query_part};
use super::error::ProxyError;
use crate::pseudonym::Pseudonymizer;

/// Characters percent-encoded in a path segment (RFC 3986 `pchar` complement).
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The source URL of a request: `target` + path + raw query, with every `p~` token (a whole
/// path segment or query value) replaced by the original value, encoded.
pub(crate) fn upstream_url(
    p: &Pseudonymizer,
    target: &reqwest::Url,
    path: &str,
    query: Option<&str>,
) -> Result<String, ProxyError> {
    let mut url = target.as_str().trim_end_matches('/').to_owned();
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let segments: Vec<String> = path
        .split('/')
        .map(|raw| {
            let decoded = decode_path_part(raw);
            if is_token(&decoded) {
                Ok(encode_segment(&decrypt(p, &decoded)?))
            } else {
                Ok(raw.to_owned())
            }
        })
        .collect::<Result<_, ProxyError>>()?;
    url.push_str(&segments.join("/"));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| {
                let Some((name, raw_value)) = pair.split_once('=') else {
                    return Ok(pair.to_owned());
                };
                let value = decode_query_part(raw_value);
                if is_token(&value) {
                    let original = decrypt(p, &value)?;
                    let encoded: String =
                        form_urlencoded::byte_serialize(original.as_bytes()).collect();
                    Ok(format!("{name}={encoded}"))
                } else {
                    Ok(pair.to_owned())
                }
            })
            .collect::<Result<_, ProxyError>>()?;
        url.push('?');
        url.push_str(&pairs.join("&"));
    }
    Ok(url)
}

/// A header value: the original when the whole (trimmed) value is a token.
pub(crate) fn reverse_whole(p: &Pseudonymizer, value: &str) -> Result<String, ProxyError> {
    if is_token(value.trim()) {
        decrypt(p, value.trim())
    } else {
        Ok(value.to_owned())
    }
}

fn decrypt(p: &Pseudonymizer, token: &str) -> Result<String, ProxyError> {
    p.decrypt(token).map_err(|_| ProxyError::TokenInvalid)
}

/// A decrypted value as one path segment: percent-encoded, and a value of `.` or `..` with
/// its dots encoded too, so it cannot step to another path at the source.
fn encode_segment(value: &str) -> String {
    if value == "." || value == ".." {
        return value.replace('.', "%2E");
    }
    utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

/// Whether a path has a `.` or `..` segment, also percent-encoded (`%2e%2E`).
pub(crate) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|raw| {
        let decoded = decode_path_part(raw);
        decoded == "." || decoded == ".."
    })
}

/// Whether a request value is meant as a reversible token (`p~` + base64url, optional
/// `@domain`). Looser than the body grammar (`pseudonym::token_text`) on purpose: a short or
/// mistyped token is refused with 409 rather than sent to the source as a literal.
fn is_token(value: &str) -> bool {
    value.len() > 2
        && value.starts_with("p~")
        && value[2..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypted_segments_stay_one_segment() {
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_segment("alice@acme.com"), "alice@acme.com");
    }

    #[test]
    fn dot_segments() {
        assert!(has_dot_segment("/orgs/../admin"));
        assert!(has_dot_segment("/orgs/%2e%2E/admin"));
        assert!(has_dot_segment("/./x"));
        assert!(!has_dot_segment("/orgs/a..b/x"));
        assert!(!has_dot_segment("/"));
    }

    #[test]
    fn tokens_are_recognized() {
        assert!(is_token("p~abc_-9"));
        assert!(is_token("p~abc@acme.com"));
        assert!(!is_token("p~"));
        assert!(!is_token("t~abc"));
        assert!(!is_token("p~a b"));
    }
}
