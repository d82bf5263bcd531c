//! The self-hosted shell of the proxy (`psoxy serve`): an HTTP/1.1 server on tokio and hyper
//! that hands every request to the shared [`ApiService`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::compression::{compress, Shell};
use super::error::ProxyError;
use super::flow::ApiService;
use super::wire::{ProxyRequest, ProxyResponse};

/// Largest request body accepted (API reads carry none or small ones).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Converts a hyper request (its body read up to [`MAX_REQUEST_BYTES`]).
async fn proxy_request(req: hyper::Request<Incoming>) -> Result<ProxyRequest, ProxyResponse> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|_| ProxyError::RequestTooLarge.response())?
        .to_bytes();
    Ok(ProxyRequest::from_parts(&parts, body))
}

/// Converts the proxy's answer to a hyper response.
fn hyper_response(r: ProxyResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

/// Serves `service` on `listener` until `shutdown` completes (then stops accepting; open
/// connections finish on their own tasks).
pub async fn serve(
    listener: TcpListener,
    service: ApiService,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let service = service.clone();
        tokio::spawn(async move {
            let handler = service_fn(move |req: hyper::Request<Incoming>| {
                let service = service.clone();
                async move {
                    let response = match proxy_request(req).await {
                        Ok(mut req) => {
                            req.client_ip = Some(peer.ip().to_string());
                            let accept_encoding = req.header("accept-encoding").map(str::to_owned);
                            let mut answer = service.handle(req).await;
                            compress(&mut answer, accept_encoding.as_deref(), Shell::Server);
                            answer
                        }
                        Err(r) => r,
                    };
                    Ok::<_, Infallible>(hyper_response(response))
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}
