//! The HTTP/1.1 server loop the HTTP shells share (`psoxy serve`, the Cloud Run services): it
//! accepts connections on a listener, reads each request's body (up to a limit) and hands the
//! request with the peer's address to the shell's handler. The server holds no logic of its
//! own: a shell decides every answer.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as the handlers see it: its parts, and its whole body.
pub type Request = hyper::Request<Bytes>;
/// A handler's answer.
pub type Response = hyper::Response<Full<Bytes>>;

/// What the server does with requests, and with a body over the limit.
pub trait Handler: Clone + Send + Sync + 'static {
    /// The answer to `req`, sent by `peer`.
    fn call(&self, req: Request, peer: SocketAddr) -> impl Future<Output = Response> + Send;
    /// The answer to a request whose body is larger than the limit.
    fn too_large(&self) -> Response;
}

/// A response with `status` and a plain body; a status the builder refuses becomes 500.
pub fn plain(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

/// Reads the body of `req` up to `max_body` bytes; `None` when it is larger (or broken).
async fn read_body(req: hyper::Request<Incoming>, max_body: usize) -> Option<Request> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, max_body)
        .collect()
        .await
        .ok()?
        .to_bytes();
    Some(hyper::Request::from_parts(parts, body))
}

/// Serves `handler` on `listener` until `shutdown` completes (then stops accepting; open
/// connections finish on their own tasks). Bodies over `max_body` bytes get
/// [`Handler::too_large`].
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: H,
    max_body: usize,
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
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let response = match read_body(req, max_body).await {
                        Some(req) => handler.call(req, peer).await,
                        None => handler.too_large(),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}

/// Completes when the process gets SIGTERM (how Cloud Run and most supervisors stop a
/// container) or Ctrl-C.
pub async fn termination() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    () = ctrl_c => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
