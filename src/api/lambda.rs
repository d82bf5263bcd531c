//! The AWS Lambda shell of the proxy (function URL, payload format 2.0, `lambda_http`):
//! settings from the environment and the parameter store once per process, then every
//! invocation through the shared [`ApiService`].

use lambda_http::{Body, Request, Response};

use super::flow::{ApiHandler, ApiService, ApiSetupError};
use super::settings::{resolve, ApiSettings};
use super::wire::{ProxyRequest, ProxyResponse};
use crate::settings::Flags;

/// Builds the service from the process environment and, when `PATH_TO_INSTANCE_CONFIG` /
/// `PATH_TO_SHARED_CONFIG` are set, the parameter store. A configuration problem gives a
/// [`ApiService::Misconfigured`] that answers health checks with 412 (and is logged).
pub async fn service_from_env() -> ApiService {
    match handler_from_env().await {
        Ok(h) => ApiService::Ready(h),
        Err(problem) => {
            tracing::error!(%problem, "the proxy is misconfigured");
            ApiService::Misconfigured {
                problem: problem.to_string(),
            }
        }
    }
}

async fn handler_from_env() -> Result<ApiHandler, ApiSetupError> {
    let env = |name: &str| std::env::var(name).ok();
    let (resolved, writer) = resolve(&Flags::new(), &env).await?;
    let settings = ApiSettings::from_settings(&resolved)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        instance = %settings.instance_id,
        rules_sha = %settings.rules_sha,
        endpoints = settings.rules.rules.endpoints.len(),
        source_auth = settings.strategy.name(),
        "ready"
    );
    ApiHandler::new(settings, None, writer)
}

/// The proxy's view of a function URL request.
pub fn proxy_request(req: Request) -> ProxyRequest {
    let (parts, body) = req.into_parts();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(t) => bytes::Bytes::from(t),
        Body::Binary(b) => bytes::Bytes::from(b),
        _ => bytes::Bytes::new(),
    };
    ProxyRequest::from_parts(&parts, body)
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
