//! The AWS Lambda shell of the proxy (function URL, payload format 2.0, `lambda_http`):
//! settings from the environment and the parameter store once per process, then every
//! invocation through the shared [`ApiService`].

use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use super::auth::SecretWriter;
use super::handler::{ApiHandler, ApiService, ProxyRequest, ProxyResponse};
use super::settings::{setting_names, ApiSettings};
use crate::config::{resolve, ConfigLocation, RemoteClient};

/// Value Terraform gives a credential parameter until an operator fills it; read as unset.
pub const PLACEHOLDER_PREFIX: &str = "PLACEHOLDER";

/// Writes a rotated refresh token back to the first configured parameter prefix.
struct StoreWriter {
    client: RemoteClient,
    prefix: String,
    kms_key_id: Option<String>,
}

impl SecretWriter for StoreWriter {
    fn write<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.client
                .put(
                    &format!("{}{name}", self.prefix),
                    value,
                    self.kms_key_id.as_deref(),
                )
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Builds the service from the process environment and, when `PATH_TO_INSTANCE_CONFIG` /
/// `PATH_TO_SHARED_CONFIG` are set, the parameter store. A configuration problem gives a
/// [`ApiService::Misconfigured`] that answers health checks with 412 (and is logged).
pub async fn service_from_env() -> ApiService {
    match handler_from_env().await {
        Ok(h) => ApiService::Ready(h),
        Err(problem) => {
            tracing::error!(%problem, "the proxy is misconfigured");
            ApiService::Misconfigured { problem }
        }
    }
}

async fn handler_from_env() -> Result<ApiHandler, String> {
    let env = |name: &str| std::env::var(name).ok();
    let location = ConfigLocation::from_env(&env)?;
    let sdk = crate::storage::sdk_config().await;
    let remote = location
        .as_ref()
        .map(|loc| (loc, RemoteClient::new(loc.store, &sdk)));
    let names = setting_names();
    let values = resolve(&names, &env, remote.as_ref().map(|(l, c)| (*l, c)))
        .await
        .map_err(|e| e.to_string())?;
    let lookup = |name: &str| {
        values
            .get(name)
            .cloned()
            .or_else(|| env(name))
            .filter(|v| !v.trim_start().starts_with(PLACEHOLDER_PREFIX))
    };
    let settings = ApiSettings::from_lookup(&lookup)?;
    let writer: Option<Arc<dyn SecretWriter>> = remote.and_then(|(loc, client)| {
        Some(Arc::new(StoreWriter {
            client,
            prefix: loc.prefixes.first()?.clone(),
            kms_key_id: env("SSM_KMS_KEY_ID").filter(|k| !k.is_empty()),
        }) as Arc<dyn SecretWriter>)
    });
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        instance = %settings.instance_id,
        rules_sha = %settings.rules_sha,
        endpoints = settings.rules.endpoints.len(),
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
    ProxyRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    }
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
