//! The HTTP shells of the proxy: `psoxy serve` and the Cloud Run service. Both run the shared
//! server loop (`http_server.rs`) and hand every request to the shared [`ApiService`]; they
//! differ in where the caller's address comes from, and Cloud Run's service also takes the
//! Eventarc events of its asynchronous requests' queue (`api/cloud_run.rs`).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;

use super::compression::{compress, Shell};
use super::error::ProxyError;
use super::flow::ApiService;
use super::wire::{ProxyRequest, ProxyResponse};
use crate::http_server::{self, Handler, Request, Response};

/// Largest request body accepted (API reads carry none or small ones).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Which HTTP shell serves the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `psoxy serve`: the caller is the connection's peer.
    SelfHosted,
    /// Cloud Run: every connection comes from Google's front end, which appends the caller's
    /// address to `X-Forwarded-For`; the caller is the second-to-last hop (or the only one),
    /// as in Psoxy.
    CloudRun,
}

/// The proxy as an HTTP handler.
#[derive(Clone)]
pub struct ApiHttp {
    service: ApiService,
    platform: Platform,
}

impl ApiHttp {
    /// `service` served on `platform`.
    pub fn new(service: ApiService, platform: Platform) -> Self {
        ApiHttp { service, platform }
    }
}

/// The caller's address on Cloud Run: the second-to-last `X-Forwarded-For` hop, or the only
/// one.
pub(crate) fn cloud_run_client_ip(req: &ProxyRequest) -> Option<String> {
    let hops: Vec<&str> = req
        .header("x-forwarded-for")?
        .split(',')
        .map(str::trim)
        .collect();
    let hop = match hops.len() {
        0 => return None,
        1 => hops[0],
        n => hops[n - 2],
    };
    (!hop.is_empty()).then(|| hop.to_owned())
}

impl Handler for ApiHttp {
    async fn call(&self, req: Request, peer: SocketAddr) -> Response {
        #[cfg(feature = "gcp")]
        if self.platform == Platform::CloudRun
            && req.method() == hyper::Method::POST
            && req.uri().path() == super::cloud_run::ASYNC_EVENT_PATH
        {
            // The Eventarc trigger of the asynchronous requests' queue.
            return match crate::bulk::cloud_run::parse_event(&req) {
                Ok(event) => super::cloud_run::run_async_event(&self.service, event).await,
                Err(e) => http_server::plain(400, "text/plain", e.to_string()),
            };
        }
        let (parts, body) = req.into_parts();
        let mut req = ProxyRequest::from_parts(&parts, body);
        req.client_ip = match self.platform {
            Platform::SelfHosted => Some(peer.ip().to_string()),
            Platform::CloudRun => cloud_run_client_ip(&req),
        };
        let accept_encoding = req.header("accept-encoding").map(str::to_owned);
        let mut answer = self.service.handle(req).await;
        compress(&mut answer, accept_encoding.as_deref(), Shell::Server);
        hyper_response(answer)
    }

    fn too_large(&self) -> Response {
        hyper_response(ProxyError::RequestTooLarge.response())
    }
}

/// Converts the proxy's answer to a hyper response.
pub(crate) fn hyper_response(r: ProxyResponse) -> Response {
    let mut builder = hyper::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| http_server::plain(500, "text/plain", ""))
}

/// Serves `service` (as `psoxy serve`) on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: ApiService,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let handler = ApiHttp::new(service, Platform::SelfHosted);
    http_server::serve(listener, handler, MAX_REQUEST_BYTES, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(xff: Option<&str>) -> ProxyRequest {
        ProxyRequest {
            method: "GET".into(),
            path: "/".into(),
            query: None,
            headers: xff
                .map(|v| vec![("x-forwarded-for".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: Bytes::new(),
            client_ip: None,
        }
    }

    #[test]
    fn cloud_run_caller_is_the_second_to_last_hop() {
        let ip = |xff| cloud_run_client_ip(&forwarded(xff));
        assert_eq!(ip(Some("203.0.113.9")).as_deref(), Some("203.0.113.9"));
        assert_eq!(
            ip(Some("10.0.0.1, 203.0.113.9, 35.191.0.1")).as_deref(),
            Some("203.0.113.9"),
            "a hop the caller wrote is ignored"
        );
        assert_eq!(ip(None), None);
        assert_eq!(ip(Some(" ")), None);
    }
}
