//! Request-level body checks (SPEC-API-PARITY §3.1.1), content-type normalization
//! (§3.1.2 item 5) and the `application/x-www-form-urlencoded` codec shared by the
//! `requestBody` validator (§3.1.2 item 7) and the token reversal (§3.1.3).
//!
//! Order of the checks in [`check_request_body`], as in Psoxy's `ApiDataRequestHandler`:
//! 1. `Content-Encoding` (default `utf-8`) must be one of the UTF-8 compatible names
//!    (ASCII case-insensitive), else 400 `INVALID_REQUEST` with the spec's message.
//! 2. The bytes are decoded as UTF-8 and trimmed the way Java's `String.trim()` does (every
//!    char `<= U+0020` at either end); an empty result means "no body".
//! 3. `GET`/`HEAD` (case-insensitive) with a body -> 400 without `X-Psoxy-Error`.
//!
//! **Forwarded body.** Psoxy validates *and forwards* the trimmed string
//! (`StringUtils.trimToNull` then `reverseRequestBodyTokenization(contentType, requestBody)`),
//! so [`check_request_body`] returns the trimmed slice and that is what callers should
//! validate, reverse and forward.
//!
//! **Deviation (invalid UTF-8).** Psoxy decodes with replacement characters (U+FFFD) and goes
//! on; we refuse the request with [`BodyCheckError::InvalidUtf8`] (400 `INVALID_REQUEST`):
//! a body we cannot read faithfully is neither validated nor forwarded. Note that this also
//! refuses non-ASCII bytes sent with `Content-Encoding: latin1` (Psoxy would mangle them).
//!
//! **Form codec.** One parser, [`parse_form`], is used both to validate and to rewrite a form
//! body, so what the schema saw is exactly what is forwarded. It splits on `&` only, then at
//! the first `=`, and decodes `+` as space and `%XX` as a byte (an invalid escape is kept
//! literally; invalid UTF-8 after decoding becomes U+FFFD, as in Java). Empty segments
//! (`a=1&&b=2`) are skipped. Deliberate differences from Apache HttpClient's `WWWFormCodec`
//! (used by Psoxy only when rewriting): raw whitespace is kept as is (HttpClient trims it and
//! collapses runs to one space) and a pair with an empty name (`=x`) is kept (HttpClient
//! drops it); both keep the validated and the forwarded pairs identical.

/// Content type assumed when the request has no (or an empty) `Content-Type` header.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Normalized media type of JSON bodies.
pub const APPLICATION_JSON: &str = "application/json";

/// Normalized media type of form bodies.
pub const APPLICATION_FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// `Content-Encoding` values accepted for a request body (compared ASCII case-insensitively).
pub const UTF8_COMPATIBLE_ENCODINGS: [&str; 10] = [
    "utf-8",
    "utf8",
    "utf_8",
    "ascii",
    "us-ascii",
    "us_ascii",
    "iso-8859-1",
    "iso_8859_1",
    "latin1",
    "latin-1",
];

/// Normalizes a raw `Content-Type` header value: the part before the first `;`, trimmed and
/// lower-cased; a missing or empty result gives `application/json`.
///
/// `"Application/JSON; Charset=UTF-8"` -> `"application/json"`.
pub fn normalized_content_type(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or("");
    let media_type = raw.split(';').next().unwrap_or("").trim();
    if media_type.is_empty() {
        DEFAULT_CONTENT_TYPE.to_string()
    } else {
        media_type.to_lowercase()
    }
}

/// Why a request was refused by the request-level body checks of §3.1.1 (all are 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyCheckError {
    /// The `Content-Encoding` header is not UTF-8 compatible (e.g. `gzip`). The message
    /// carries the header value, as Psoxy's does (mandated by the spec).
    /// Refused with 400 `INVALID_REQUEST` (`api::error`).
    #[error(
        "Content encoding {0} not supported; only UTF-8 compatible encodings are supported (utf-8, ascii, iso-8859-1, us-ascii)"
    )]
    UnsupportedEncoding(String),
    /// A `GET` or `HEAD` request carries a non-blank body.
    /// Refused with 400 `INVALID_REQUEST` (`api::error`).
    #[error("Request body is not allowed for GET or HEAD requests")]
    BodyOnGetOrHead,
    /// The body bytes are not valid UTF-8 (deviation from Psoxy, see the module doc).
    /// Refused with 400 `INVALID_REQUEST` (`api::error`).
    #[error("Request body is not valid UTF-8")]
    InvalidUtf8,
}

/// Trims like Java's `String.trim()`: every char `<= U+0020` at either end.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

/// Applies the request-level checks of §3.1.1 and returns the body to validate and forward:
/// `None` when the body is absent or blank, else the UTF-8 text trimmed as Java's
/// `String.trim()` does (Psoxy forwards the trimmed text).
///
/// `content_encoding` is the raw `Content-Encoding` header (`None` -> `utf-8`); an empty
/// header value is refused, as in Psoxy.
pub fn check_request_body<'a>(
    method: &str,
    content_encoding: Option<&str>,
    body: &'a [u8],
) -> Result<Option<&'a str>, BodyCheckError> {
    if let Some(encoding) = content_encoding {
        if !UTF8_COMPATIBLE_ENCODINGS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(encoding))
        {
            return Err(BodyCheckError::UnsupportedEncoding(encoding.to_string()));
        }
    }
    let text = std::str::from_utf8(body).map_err(|_| BodyCheckError::InvalidUtf8)?;
    let trimmed = java_trim(text);
    if trimmed.is_empty() {
        return Ok(None);
    }
    if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
        return Err(BodyCheckError::BodyOnGetOrHead);
    }
    Ok(Some(trimmed))
}

/// One `name[=value]` pair of a form body, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPair {
    /// Decoded name (may be empty for `=value`).
    pub name: String,
    /// Decoded value; `None` for a bare name without `=`.
    pub value: Option<String>,
}

/// Parses an `application/x-www-form-urlencoded` body into its pairs, in order (see the module
/// doc for the exact rules). Repeated names are all returned.
pub fn parse_form(body: &str) -> Vec<FormPair> {
    body.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((name, value)) => FormPair {
                name: form_decode(name),
                value: Some(form_decode(value)),
            },
            None => FormPair {
                name: form_decode(segment),
                value: None,
            },
        })
        .collect()
}

/// Decodes one form component: `+` -> space, `%XX` -> byte (an invalid escape stays literal),
/// then UTF-8 with U+FFFD for invalid sequences: the query's decoding, which is the same.
pub fn form_decode(component: &str) -> String {
    crate::api::decode::decode_query_part(component)
}

/// Form-encodes one component as Java's `URLEncoder` / HttpClient do: space -> `+`, bytes
/// outside `A-Za-z0-9-_.*` -> `%XX` with upper-case hex (`form_urlencoded::byte_serialize`
/// does exactly this).
pub fn form_encode(component: &str) -> String {
    form_urlencoded::byte_serialize(component.as_bytes()).collect()
}

/// Encodes pairs back into a form body: `name=value` joined with `&`; a pair without a
/// value is written as the bare encoded name.
pub fn encode_form(pairs: &[FormPair]) -> String {
    let mut out = String::new();
    for (i, pair) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&form_encode(&pair.name));
        if let Some(value) = &pair.value {
            out.push('=');
            out.push_str(&form_encode(value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_components_decode_plus_escapes_and_bad_bytes() {
        assert_eq!(form_decode("a+b%2B%zz%4"), "a b+%zz%4");
        assert_eq!(form_decode("%E2%82%AC%ff"), "\u{20ac}\u{fffd}");
    }

    #[test]
    fn normalizes_content_type() {
        assert_eq!(normalized_content_type(None), "application/json");
        assert_eq!(normalized_content_type(Some("")), "application/json");
        assert_eq!(
            normalized_content_type(Some("  ; charset=x")),
            "application/json"
        );
        assert_eq!(
            normalized_content_type(Some("application/json; charset=utf-8")),
            "application/json"
        );
        assert_eq!(
            normalized_content_type(Some("Application/JSON; Charset=UTF-8")),
            "application/json"
        );
        assert_eq!(
            normalized_content_type(Some(" Application/X-WWW-Form-Urlencoded ")),
            "application/x-www-form-urlencoded"
        );
        assert_eq!(normalized_content_type(Some("text/plain")), "text/plain");
    }

    #[test]
    fn accepts_every_utf8_compatible_encoding_case_insensitively() {
        for e in UTF8_COMPATIBLE_ENCODINGS {
            assert_eq!(check_request_body("POST", Some(e), b"{}"), Ok(Some("{}")));
            let upper = e.to_uppercase();
            assert_eq!(
                check_request_body("POST", Some(&upper), b"{}"),
                Ok(Some("{}"))
            );
        }
        assert_eq!(check_request_body("POST", None, b"{}"), Ok(Some("{}")));
    }

    #[test]
    fn refuses_gzip_with_exact_message() {
        let err = check_request_body("POST", Some("gzip"), b"{}").unwrap_err();
        assert_eq!(err, BodyCheckError::UnsupportedEncoding("gzip".into()));
        assert_eq!(
            err.to_string(),
            "Content encoding gzip not supported; only UTF-8 compatible encodings are supported (utf-8, ascii, iso-8859-1, us-ascii)"
        );
        // checked on every request, even without a body
        assert!(check_request_body("GET", Some("br"), b"").is_err());
        // an empty header value is not a valid encoding (as in Psoxy)
        assert!(check_request_body("POST", Some(""), b"{}").is_err());
    }

    #[test]
    fn blank_body_is_no_body_and_body_is_trimmed() {
        assert_eq!(check_request_body("POST", None, b""), Ok(None));
        assert_eq!(check_request_body("POST", None, b" \r\n\t "), Ok(None));
        assert_eq!(check_request_body("GET", None, b"  \n"), Ok(None));
        assert_eq!(check_request_body("HEAD", None, b""), Ok(None));
        assert_eq!(
            check_request_body("POST", None, b"\n {\"a\": 1} \n"),
            Ok(Some("{\"a\": 1}"))
        );
        // Java's trim() also strips control characters below U+0020
        assert_eq!(
            check_request_body("POST", None, b"\x01x\x1f"),
            Ok(Some("x"))
        );
    }

    #[test]
    fn get_or_head_with_body_is_refused() {
        for m in ["GET", "get", "Head", "HEAD"] {
            let err = check_request_body(m, None, b"{}").unwrap_err();
            assert_eq!(err, BodyCheckError::BodyOnGetOrHead);
            assert_eq!(
                err.to_string(),
                "Request body is not allowed for GET or HEAD requests"
            );
        }
        assert_eq!(check_request_body("DELETE", None, b"x"), Ok(Some("x")));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let err = check_request_body("POST", Some("latin1"), b"caf\xe9").unwrap_err();
        assert_eq!(err, BodyCheckError::InvalidUtf8);
    }

    #[test]
    fn parses_form_pairs() {
        let pairs = parse_form("a=1&&b&c=&=x&d=e=f&n=hi+there%21&bad=%zz%4");
        let got: Vec<(&str, Option<&str>)> = pairs
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", Some("1")),
                ("b", None),
                ("c", Some("")),
                ("", Some("x")),
                ("d", Some("e=f")),
                ("n", Some("hi there!")),
                ("bad", Some("%zz%4")),
            ]
        );
        assert_eq!(parse_form("x=%FF")[0].value.as_deref(), Some("\u{FFFD}"));
        assert_eq!(parse_form("x=caf%C3%A9")[0].value.as_deref(), Some("café"));
    }

    #[test]
    fn form_encoding_matches_java() {
        assert_eq!(form_encode("a/b"), "a%2Fb");
        assert_eq!(form_encode("hi there"), "hi+there");
        assert_eq!(form_encode("A-z_0.9*"), "A-z_0.9*");
        assert_eq!(form_encode("~!'()+=&é"), "%7E%21%27%28%29%2B%3D%26%C3%A9");
        let pairs = parse_form("q=a%2fb&flag&e=");
        assert_eq!(encode_form(&pairs), "q=a%2Fb&flag&e=");
    }
}
