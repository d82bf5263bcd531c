//! Gzip-compressed answers to callers that accept them (SPEC-API-PARITY 3.8).
//!
//! Two rules decide whether the caller accepts gzip: [`accepts_gzip`] for server mode (proper
//! `Accept-Encoding` parsing) and [`lambda_accepts_gzip`] for AWS Lambda, which keeps Psoxy's
//! substring test. In both modes a body is compressed only if it is at least
//! [`MIN_GZIP_BODY`] long ([`compress`]).

use std::io::Write as _;

use super::wire::ProxyResponse;

/// Which shell answers, for [`compress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// The Lambda function URL: Psoxy's substring rule, and a warning header when the caller
    /// did not ask for gzip.
    Lambda,
    /// `psoxy serve`: `Accept-Encoding` parsed properly, `Vary: Accept-Encoding`.
    Server,
}

/// Header a Lambda answer carries when the caller did not ask for compression.
pub const WARNING_HEADER: &str = "x-psoxy-warning";

/// Gzips `response`'s body in place when the caller's `Accept-Encoding` accepts it (by the
/// rule of `shell`) and the body is at least [`MIN_GZIP_BODY`] bytes; sets
/// `Content-Encoding: gzip`. The Lambda shell also marks answers to callers that did not ask
/// for gzip with `X-Psoxy-Warning: compression-not-requested`.
pub fn compress(response: &mut ProxyResponse, accept_encoding: Option<&str>, shell: Shell) {
    let accepted = match shell {
        Shell::Lambda => lambda_accepts_gzip(accept_encoding),
        Shell::Server => accepts_gzip(accept_encoding),
    };
    if shell == Shell::Server && response.body.len() >= MIN_GZIP_BODY {
        // Only an answer that could be gzipped varies with the header.
        response
            .headers
            .push(("vary".into(), "Accept-Encoding".into()));
    }
    if !accepted {
        if shell == Shell::Lambda {
            response
                .headers
                .push((WARNING_HEADER.into(), "compression-not-requested".into()));
        }
        return;
    }
    if response.body.len() < MIN_GZIP_BODY || response.header("content-encoding").is_some() {
        return;
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(response.body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    if encoder.write_all(&response.body).is_err() {
        return;
    }
    let Ok(gzipped) = encoder.finish() else {
        return;
    };
    response.body = gzipped;
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
    response
        .headers
        .push(("content-encoding".into(), "gzip".into()));
}

/// Minimum body size for compression, in bytes (Psoxy's Lambda handlers count UTF-16 units
/// of the text: the same for the ASCII JSON most sources send).
pub const MIN_GZIP_BODY: usize = 2048;

/// Server mode: whether `Accept-Encoding` accepts `gzip`.
///
/// The header (several header lines should be joined with `,` first) is a comma-separated list
/// of codings, each with optional `;` parameters. Coding names and parameter names are
/// case-insensitive. An explicit `gzip` (or its RFC 9110 alias `x-gzip`) with a weight above 0
/// accepts; any explicit `gzip;q=0` refuses, whatever else is listed. Without an explicit `gzip`,
/// `*` with a weight above 0 accepts. An element whose `q` is not a valid RFC 9110 qvalue is
/// ignored. Absent or empty header: not accepted.
pub fn accepts_gzip(header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let mut explicit: Option<bool> = None;
    let mut wildcard = false;
    for element in header.split(',') {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        if coding.is_empty() {
            continue;
        }
        let Some(weight_positive) = weight_is_positive(parts) else {
            continue;
        };
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            explicit = Some(explicit.unwrap_or(true) && weight_positive);
        } else if coding == "*" {
            wildcard |= weight_positive;
        }
    }
    explicit.unwrap_or(wildcard)
}

/// Psoxy's AWS rule: the header contains the substring `gzip` (case-sensitive; `gzip;q=0` and
/// `x-gzip` count too).
pub fn lambda_accepts_gzip(header: Option<&str>) -> bool {
    header.is_some_and(|h| h.contains("gzip"))
}

/// Reads the `q` parameter of one element: `Some(q > 0)`, `Some(true)` when there is no `q`,
/// `None` when `q` is malformed.
fn weight_is_positive<'a>(params: impl Iterator<Item = &'a str>) -> Option<bool> {
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            return parse_qvalue(value.trim()).map(|thousandths| thousandths > 0);
        }
    }
    Some(true)
}

/// RFC 9110 `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, frac) = match value.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (value, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_are_gzipped_when_accepted() {
        use std::io::Read as _;
        let body = format!("[{}]", vec!["{\"ok\":true}"; 500].join(","));
        let answer = || ProxyResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.clone().into_bytes(),
        };
        let mut r = answer();
        compress(&mut r, Some("gzip, deflate"), Shell::Lambda);
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&r.body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
        // Not asked: plain, with the warning on Lambda.
        let mut r = answer();
        compress(&mut r, None, Shell::Lambda);
        assert_eq!(r.header("content-encoding"), None);
        assert_eq!(r.header(WARNING_HEADER), Some("compression-not-requested"));
        // Small bodies stay plain, without the warning.
        let mut small = ProxyResponse::json(200, &serde_json::json!({"ok": true}));
        compress(&mut small, Some("gzip"), Shell::Lambda);
        assert_eq!(small.header("content-encoding"), None);
        assert_eq!(small.header(WARNING_HEADER), None);
        // Server mode honours q=0 and says it varies.
        let mut r = answer();
        compress(&mut r, Some("gzip;q=0"), Shell::Server);
        assert_eq!(r.header("content-encoding"), None);
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        let mut r = answer();
        compress(&mut r, Some("GZIP"), Shell::Server);
        assert_eq!(r.header("content-encoding"), Some("gzip"));
    }

    #[test]
    fn spec_examples_server_mode() {
        assert!(accepts_gzip(Some("gzip, deflate")));
        assert!(accepts_gzip(Some("gzip")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn spec_examples_lambda() {
        assert!(lambda_accepts_gzip(Some("gzip, deflate")));
        assert!(lambda_accepts_gzip(Some("gzip")));
        assert!(!lambda_accepts_gzip(None));
        // Psoxy quirks kept on Lambda.
        assert!(lambda_accepts_gzip(Some("gzip;q=0")));
        assert!(!lambda_accepts_gzip(Some("GZIP")));
        assert!(lambda_accepts_gzip(Some("x-gzip")));
        assert!(!lambda_accepts_gzip(Some("*")));
    }

    #[test]
    fn case_insensitive_and_whitespace_tolerant() {
        assert!(accepts_gzip(Some("GZIP")));
        assert!(accepts_gzip(Some("deflate ,  GZip ; Q = 0.5 , br")));
        assert!(accepts_gzip(Some("x-gzip")));
    }

    #[test]
    fn q_zero_refuses() {
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("gzip; q=0.000")));
        assert!(!accepts_gzip(Some("gzip;Q=0, *")));
        assert!(!accepts_gzip(Some("*, gzip;q=0")));
        assert!(!accepts_gzip(Some("gzip, gzip;q=0")));
        assert!(accepts_gzip(Some("gzip;q=0.001")));
        assert!(accepts_gzip(Some("gzip;q=1")));
        assert!(accepts_gzip(Some("gzip;q=1.000")));
    }

    #[test]
    fn wildcard() {
        assert!(accepts_gzip(Some("*")));
        assert!(accepts_gzip(Some("br, *;q=0.1")));
        assert!(!accepts_gzip(Some("*;q=0")));
        assert!(accepts_gzip(Some("*;q=0, gzip")));
    }

    #[test]
    fn not_a_gzip_token() {
        assert!(!accepts_gzip(Some("")));
        assert!(!accepts_gzip(Some("deflate, br")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("gzipped")));
        assert!(!accepts_gzip(Some("notgzip")));
        assert!(!accepts_gzip(Some(" , ,")));
    }

    #[test]
    fn malformed_q_ignores_element() {
        assert!(!accepts_gzip(Some("gzip;q=abc")));
        assert!(!accepts_gzip(Some("gzip;q=1.5")));
        assert!(!accepts_gzip(Some("gzip;q=0.0001")));
        assert!(!accepts_gzip(Some("gzip;q=")));
        assert!(accepts_gzip(Some("gzip;q=abc, *")));
    }

    #[test]
    fn threshold() {
        assert_eq!(MIN_GZIP_BODY, 2048);
    }
}
