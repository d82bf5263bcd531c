//! The call to the source: the request with only the allowed headers and the source's
//! credentials (one refresh-and-retry after a 401), and the caller's answer made of the
//! source's response: errors passed as statuses, cache and paging headers kept, 2xx JSON
//! bodies sanitized by the endpoint's plan, anything else failing closed.

use serde_json::Value;

use super::auth::{SourceAuth, Strategy};
use super::error::ProxyError;
use super::wire::ProxyResponse;
use crate::pseudonym::Pseudonymizer;
use crate::transform::ResponsePlan;

/// Largest upstream response body read (larger ones fail closed with 502).
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// Headers of the source's responses passed back to the caller (plus `x-ratelimit-*`).
const PASSED_RESPONSE_HEADERS: &[&str] = &["etag", "link", "retry-after"];

/// Headers a rule cannot pass from the caller to the source even when it lists them: the
/// caller's own credentials (its key, its SigV4 signature) and the connection's framing; the
/// proxy sets these itself.
const RESERVED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept",
    "accept-encoding",
    "user-agent",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Whether a request header is one only the proxy sets.
pub(crate) fn is_reserved_header(name: &str) -> bool {
    RESERVED_REQUEST_HEADERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
        || name.to_ascii_lowercase().starts_with("x-psoxy-")
}

/// A redirect policy that follows at most 10 redirects, and only on the same scheme, host
/// and port (a source must not send credentials, or the caller, elsewhere).
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().first().is_some_and(|first| {
            first.scheme() == attempt.url().scheme()
                && first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if !same || attempt.previous().len() >= 10 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Whether upstream redirects are followed, given the raw `FOLLOW_REDIRECTS` value.
///
/// `None` (unset) -> `true`. `Some(v)` -> `v` equals `"true"` ignoring ASCII case, with no
/// trimming (as `Boolean.parseBoolean`); so a present-but-empty value is `false`.
pub fn follow_redirects(setting: Option<&str>) -> bool {
    match setting {
        None => true,
        Some(value) => value.eq_ignore_ascii_case("true"),
    }
}

/// What is sent to the source, besides the proxy's own credentials.
pub(crate) struct Outgoing<'a> {
    /// Method.
    pub method: &'a reqwest::Method,
    /// The full URL.
    pub url: &'a str,
    /// The caller's allowed headers (tokens reversed).
    pub headers: &'a [(String, String)],
    /// The body (tokens reversed).
    pub body: &'a bytes::Bytes,
    /// The user the credentials are delegated to, where the rules allow it.
    pub impersonate: Option<&'a str>,
}

/// Sends the request with the source's credentials; on a 401 from a source with tokens,
/// refreshes once and retries.
pub(crate) async fn send(
    http: &reqwest::Client,
    auth: &SourceAuth,
    out: Outgoing<'_>,
) -> Result<reqwest::Response, ProxyError> {
    let Outgoing {
        method,
        url,
        headers,
        body,
        impersonate,
    } = out;
    let refreshable = matches!(auth.strategy(), Strategy::OAuth(_));
    let mut refused: Option<Vec<(String, String)>> = None;
    loop {
        let credentials = auth
            .credentials(refused.as_deref(), impersonate)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "source authentication failed");
                ProxyError::SourceAuth(e)
            })?;
        let mut request = http.request(method.clone(), url);
        // A caller's header never stands beside or in for a credential header.
        let callers = headers.iter().filter(|(name, _)| {
            !credentials
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(name))
        });
        for (name, value) in callers.chain(&credentials) {
            request = request.header(name.as_str(), value.as_str());
        }
        if !body.is_empty() {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(upstream_failure)?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && refreshable
            && refused.is_none()
        {
            tracing::info!("the source answered 401: refreshing its token and retrying once");
            refused = Some(credentials);
            continue;
        }
        return Ok(response);
    }
}

/// The caller's answer to the source's response, its body sanitized by `plan`.
/// With `original`, a 2xx body is also returned as the source sent it (for
/// `SIDE_OUTPUT_ORIGINAL`; never to the caller).
pub(crate) async fn answer(
    upstream: reqwest::Response,
    plan: &ResponsePlan,
    p: &Pseudonymizer,
    original: Option<&mut Vec<u8>>,
) -> Result<ProxyResponse, ProxyError> {
    let status = upstream.status();
    let mut headers: Vec<(String, String)> = upstream
        .headers()
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            PASSED_RESPONSE_HEADERS.contains(&name) || name.starts_with("x-ratelimit-")
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        // The caller's cached copy (If-None-Match) is current: no body, not an error.
        return Ok(ProxyResponse {
            status: status.as_u16(),
            headers,
            body: Vec::new(),
        });
    }
    if !status.is_success() {
        let mut r = ProxyError::Source(status).response();
        r.headers.append(&mut headers);
        return Ok(r);
    }
    if upstream
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ProxyError::ResponseTooLarge);
    }
    let raw = read_limited(upstream).await?;
    let (body, content_type) = sanitize_body(&raw, plan, p)?;
    if let Some(original) = original {
        *original = raw;
    }
    headers.push(("content-type".into(), content_type.into()));
    Ok(ProxyResponse {
        status: status.as_u16(),
        headers,
        body,
    })
}

fn upstream_failure(e: reqwest::Error) -> ProxyError {
    // The error's URL may hold query values: never logged or returned.
    let e = e.without_url();
    if e.is_timeout() {
        tracing::warn!("the source did not answer in time");
        ProxyError::UpstreamTimeout
    } else {
        tracing::warn!(error = %e, "cannot reach the source");
        ProxyError::UpstreamUnreachable(e)
    }
}

async fn read_limited(mut upstream: reqwest::Response) -> Result<Vec<u8>, ProxyError> {
    let mut body = Vec::new();
    loop {
        match upstream.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(ProxyError::ResponseTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(upstream_failure(e)),
        }
    }
}

/// Sanitizes a 2xx body: one JSON document, or NDJSON (one per line). Anything else fails
/// closed (502); nothing of the original body is returned.
pub(crate) fn sanitize_body(
    body: &[u8],
    plan: &ResponsePlan,
    p: &Pseudonymizer,
) -> Result<(Vec<u8>, &'static str), ProxyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Vec::new(), "application/json"));
    }
    let failed = |e| {
        tracing::error!(error = %e, "cannot sanitize the response");
        ProxyError::Sanitization(e)
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(mut doc) => {
            plan.apply(&mut doc, p).map_err(failed)?;
            Ok((doc.to_string().into_bytes(), "application/json"))
        }
        Err(_) => {
            let mut out = Vec::with_capacity(body.len());
            for line in body.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let mut doc: Value =
                    serde_json::from_slice(line).map_err(|_| ProxyError::ResponseNotJson)?;
                plan.apply(&mut doc, p).map_err(failed)?;
                out.extend_from_slice(doc.to_string().as_bytes());
                out.push(b'\n');
            }
            Ok((out, "application/x-ndjson"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_follows() {
        assert!(follow_redirects(None));
    }

    #[test]
    fn true_in_any_case_follows() {
        for v in ["true", "TRUE", "True", "tRuE"] {
            assert!(follow_redirects(Some(v)), "{v}");
        }
    }

    #[test]
    fn anything_else_does_not_follow() {
        for v in [
            "FALSE", "false", "no", "0", "yes", "1", "", " true", "true ", "on",
        ] {
            assert!(!follow_redirects(Some(v)), "{v:?}");
        }
    }

    #[test]
    fn reserved_headers() {
        assert!(is_reserved_header("Authorization"));
        assert!(is_reserved_header("X-Psoxy-Health-Check"));
        assert!(!is_reserved_header("If-None-Match"));
    }
}
