//! The AWS Lambda shell of the proxy (function URL, payload format 2.0, `lambda_http`):
//! settings from the environment and the parameter store once per process, then every
//! invocation through the shared [`ApiService`].

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::compression::{compress, Shell};
use super::error::ProxyError;
use super::flow::ApiService;
use super::settings::resolve;
use super::wire::{ProxyRequest, ProxyResponse};
use crate::settings::Flags;

/// Builds the service from the process environment and, when `PATH_TO_INSTANCE_CONFIG` /
/// `PATH_TO_SHARED_CONFIG` are set, the parameter store. A configuration problem gives a
/// [`ApiService::Misconfigured`] that answers health checks with 412 (and is logged).
pub async fn service_from_env() -> ApiService {
    let env = |name: &str| std::env::var(name).ok();
    ApiService::from_resolved(resolve(&Flags::new(), &env).await)
}

/// The proxy's view of a function URL request; the client's address is the source IP the
/// platform saw (never a header the caller could set, unless `TRUST_FORWARDED_FOR`).
pub fn proxy_request(req: Request) -> ProxyRequest {
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    let (parts, body) = req.into_parts();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(t) => bytes::Bytes::from(t),
        Body::Binary(b) => bytes::Bytes::from(b),
        _ => bytes::Bytes::new(),
    };
    let mut request = ProxyRequest::from_parts(&parts, body);
    request.client_ip = source_ip;
    request
}

/// Largest answer a synchronous Lambda invocation may return (6 MB, the whole payload), less
/// room for the status and headers.
pub const MAX_LAMBDA_BODY: usize = 6 * 1024 * 1024 - 64 * 1024;

/// The answer as the function returns it: gzipped when the caller's `Accept-Encoding`
/// contains `gzip` (Psoxy's rule), and refused with `RESPONSE_TOO_LARGE` when it would still
/// be over the Lambda response limit (binary bodies travel as base64).
pub fn finish_answer(mut r: ProxyResponse, accept_encoding: Option<&str>) -> ProxyResponse {
    compress(&mut r, accept_encoding, Shell::Lambda);
    let binary = std::str::from_utf8(&r.body).is_err();
    let size = if binary {
        r.body.len().div_ceil(3) * 4
    } else {
        r.body.len()
    };
    if size > MAX_LAMBDA_BODY {
        tracing::warn!(
            bytes = r.body.len(),
            "answer over the Lambda response limit"
        );
        let mut refused = ProxyError::AnswerTooLarge.response();
        refused.headers.extend(
            r.headers
                .into_iter()
                .filter(|(n, _)| n.starts_with("x-psoxy-") && n != "x-psoxy-error"),
        );
        return refused;
    }
    r
}

/// The function URL response of the proxy's answer.
pub fn lambda_response(r: ProxyResponse) -> Response<Body> {
    let mut builder = Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match String::from_utf8(r.body) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Vec<u8>) -> ProxyResponse {
        ProxyResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-psoxy-rules-sha".into(), "abc".into()),
            ],
            body,
        }
    }

    #[test]
    fn large_answers_are_gzipped_or_refused() {
        // 7 MB of repetitive JSON: over the limit plain, far under it gzipped.
        let big = format!("[{}]", vec!["{\"id\":\"x\"}"; 700_000].join(",")).into_bytes();
        assert!(big.len() > MAX_LAMBDA_BODY);
        let gzipped = finish_answer(answer(big.clone()), Some("gzip"));
        assert_eq!(gzipped.status, 200);
        assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
        let refused = finish_answer(answer(big), None);
        assert_eq!(refused.status, 500);
        assert_eq!(refused.header("x-psoxy-error"), Some("RESPONSE_TOO_LARGE"));
        assert_eq!(refused.header("x-psoxy-rules-sha"), Some("abc"));
        // Random bytes do not compress: refused even when gzip is accepted (base64 inflates).
        let mut noise = Vec::with_capacity(5 * 1024 * 1024);
        let mut x: u32 = 1;
        while noise.len() < 5 * 1024 * 1024 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.extend_from_slice(&x.to_le_bytes());
        }
        let refused = finish_answer(answer(noise), Some("gzip"));
        assert_eq!(refused.header("x-psoxy-error"), Some("RESPONSE_TOO_LARGE"));
    }
}
