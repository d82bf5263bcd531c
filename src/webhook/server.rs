//! The collector on this machine (`psoxy serve --webhook-rules`): the shared HTTP server loop
//! hands each request to the [`Collector`], whose queue is a folder; a loop merges the waiting
//! messages into gzipped NDJSON objects in the output folder every few seconds, as the SQS
//! trigger does on AWS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::batch::drain;
use super::collector::{Collector, MAX_BODY_BYTES};
use crate::api::server::{cloud_run_client_ip, hyper_response, Platform};
use crate::api::wire::{ProxyRequest, ProxyResponse};
use crate::http_server::{self, Handler, Request, Response};
use crate::storage::{LocalStore, ObjectPrefix, StoreError};

/// The collector as an HTTP handler; the caller is the connection's peer (`psoxy serve`) or
/// the address Google's front end saw (Cloud Run).
#[derive(Clone)]
pub struct CollectorHttp {
    collector: Collector,
    platform: Platform,
}

impl CollectorHttp {
    /// `collector` served on `platform`.
    pub fn new(collector: Collector, platform: Platform) -> Self {
        CollectorHttp {
            collector,
            platform,
        }
    }
}

impl Handler for CollectorHttp {
    async fn call(&self, req: Request, peer: SocketAddr) -> Response {
        let (parts, body) = req.into_parts();
        let mut req = ProxyRequest::from_parts(&parts, body);
        req.client_ip = match self.platform {
            Platform::SelfHosted => Some(peer.ip().to_string()),
            Platform::CloudRun => cloud_run_client_ip(&req),
        };
        hyper_response(self.collector.handle(req).await)
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
        CollectorHttp::new(collector, Platform::SelfHosted),
        MAX_BODY_BYTES + 1,
        shutdown,
    )
    .await
}

/// The folder batch handler: the messages waiting in `queue` merged into objects in `output`
/// (a folder; [`super::batch::MAX_BATCH_MESSAGES`] at most per object), then removed. Messages that are not
/// NDJSON are moved to `queue/failed/`. Returns how many documents were written.
pub fn merge_folder(queue: &Path, output: &Path) -> Result<usize, StoreError> {
    let store = LocalStore::new(
        [
            ("queue".to_owned(), queue.to_path_buf()),
            ("out".to_owned(), output.to_path_buf()),
        ]
        .into(),
    );
    let (queue, output) = (
        ObjectPrefix::new("file", "queue", ""),
        ObjectPrefix::new("file", "out", ""),
    );
    Ok(drain(&store, &queue, &output, None)?.records)
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
