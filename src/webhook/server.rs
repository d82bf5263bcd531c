//! The collector on this machine (`psoxy serve --webhook-rules`): the shared HTTP server loop
//! hands each request to the [`Collector`], whose queue is a folder; a loop merges the waiting
//! messages into gzipped NDJSON objects in the output folder every few seconds, as the SQS
//! trigger does on AWS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::batch::{merge, write_batch, Message};
use super::collector::{Collector, MAX_BODY_BYTES};
use crate::api::server::hyper_response;
use crate::api::wire::{ProxyRequest, ProxyResponse};
use crate::http_server::{self, Handler, Request, Response};
use crate::storage::{LocalStore, ObjectPrefix, StoreError};

/// The collector as an HTTP handler; the caller is the connection's peer.
#[derive(Clone)]
pub struct CollectorHttp(pub Collector);

impl Handler for CollectorHttp {
    async fn call(&self, req: Request, peer: SocketAddr) -> Response {
        let (parts, body) = req.into_parts();
        let mut req = ProxyRequest::from_parts(&parts, body);
        req.client_ip = Some(peer.ip().to_string());
        hyper_response(self.0.handle(req).await)
    }

    fn too_large(&self) -> Response {
        hyper_response(ProxyResponse::error(
            413,
            "PAYLOAD_TOO_LARGE",
            "the payload is too large",
        ))
    }
}

/// Serves `collector` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    collector: Collector,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    // Room above the collector's limit, so it answers an oversized body itself.
    http_server::serve(
        listener,
        CollectorHttp(collector),
        MAX_BODY_BYTES + 1,
        shutdown,
    )
    .await
}

/// One pass of the folder batch handler: the messages waiting in `queue` merged into one
/// object in `output` (a folder), then removed. Messages that are not NDJSON are moved to
/// `queue/failed/`. Returns how many documents were written.
pub fn merge_folder(queue: &Path, output: &Path) -> Result<usize, StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Local { path, source }
    };
    let files = super::queue::waiting_messages(queue).map_err(io(queue))?;
    if files.is_empty() {
        return Ok(0);
    }
    let mut messages = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        messages.push(Message {
            id: i.to_string(),
            body: std::fs::read_to_string(f).map_err(io(f))?,
        });
    }
    let merged = merge(&messages);
    let store = LocalStore::new([("out".to_owned(), output.to_path_buf())].into());
    write_batch(&store, &ObjectPrefix::new("file", "out", ""), &merged)?;
    let failed_dir = queue.join("failed");
    for (i, f) in files.iter().enumerate() {
        if merged.failed.contains(&i.to_string()) {
            std::fs::create_dir_all(&failed_dir).map_err(io(&failed_dir))?;
            let to: PathBuf = failed_dir.join(f.file_name().unwrap_or_default());
            std::fs::rename(f, &to).map_err(io(f))?;
        } else {
            std::fs::remove_file(f).map_err(io(f))?;
        }
    }
    Ok(merged.records)
}

/// Merges the folder queue every `every` until `stop` completes (a merge under way finishes
/// first, so the caller's last merge never runs beside it).
pub async fn batch_loop(
    queue: PathBuf,
    output: PathBuf,
    every: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(every);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = &mut stop => break,
        }
        let (q, o) = (queue.clone(), output.clone());
        match tokio::task::spawn_blocking(move || merge_folder(&q, &o)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(records)) => tracing::info!(records, "batch written"),
            Ok(Err(e)) => tracing::error!(error = %e, "the batch could not be written; retrying"),
            Err(e) => tracing::error!(error = %e, "the batch writer stopped"),
        }
    }
}
