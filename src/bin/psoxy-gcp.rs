//! The Cloud Run service: `psoxy-gcp bulk` sanitizes the objects Eventarc reports finalized in
//! the input bucket; `psoxy-gcp api` is the API proxy; `psoxy-gcp webhook` the webhook
//! collector and `psoxy-gcp webhook-batch` its batch service. Each listens on `$PORT` (Cloud
//! Run's contract; 8080 when unset) and logs JSON lines in Cloud Logging's shape. See
//! `docs/gcp.md`.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use psoxy::api::server::{ApiHttp, Platform, MAX_REQUEST_BYTES};
use psoxy::bulk::cloud_run::{BulkService, MAX_EVENT_BYTES};
use psoxy::http_server::{serve, termination};
use psoxy::logging::init_cloud_logs;
use psoxy::webhook::cloud_run::{collector_from_env, BatchService};
use psoxy::webhook::collector::MAX_BODY_BYTES;

/// psoxy on Google Cloud Run.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
    /// Address to listen on (default: 0.0.0.0 on $PORT, else 8080).
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum Mode {
    /// Bulk mode: sanitize each object an Eventarc `google.cloud.storage.object.v1.finalized`
    /// event names (POSTed to `/`) into OUTPUT_BUCKET.
    Bulk,
    /// API mode: the proxy in front of TARGET_HOST, behind Cloud Run IAM.
    Api,
    /// The webhook collector: verifies each POSTed webhook's JWT, sanitizes it with RULES and
    /// queues it as an object under WEBHOOK_OUTPUT (gs://bucket/prefix).
    Webhook,
    /// The webhook batch service (called by Cloud Scheduler): merges the queued webhooks
    /// into one gzipped NDJSON object under WEBHOOK_BATCH_OUTPUT per call.
    WebhookBatch,
}

/// `$PORT` holds something other than a port number.
#[derive(Debug, thiserror::Error)]
#[error("PORT is not a port number")]
struct BadPort;

fn listen_address(listen: Option<SocketAddr>) -> Result<SocketAddr, BadPort> {
    if let Some(addr) = listen {
        return Ok(addr);
    }
    let port = match std::env::var("PORT") {
        Ok(p) if !p.trim().is_empty() => p.trim().parse::<u16>().map_err(|_| BadPort)?,
        _ => 8080,
    };
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

/// Listens on `addr` (only once the service is built: Cloud Run's startup probe then means
/// the settings were read); `None`, logged, when it cannot.
async fn bind(addr: SocketAddr) -> Option<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(error = %e, %addr, "cannot listen");
            None
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_cloud_logs();
    let addr = match listen_address(args.listen) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let served = match args.mode {
        Mode::Bulk => {
            // Settings, rules and the storage client: once per process.
            let service = match BulkService::from_env().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                instance = %service.settings().instance_id,
                rules_sha = %service.settings().rules_sha,
                %addr,
                "ready"
            );
            match bind(addr).await {
                Some(listener) => serve(listener, service, MAX_EVENT_BYTES, termination()).await,
                None => return ExitCode::FAILURE,
            }
        }
        Mode::Api => {
            let service = psoxy::api::cloud_run::service_from_env().await;
            let handler = ApiHttp::new(service, Platform::CloudRun);
            match bind(addr).await {
                Some(listener) => {
                    tracing::info!(version = env!("CARGO_PKG_VERSION"), %addr, "listening");
                    serve(listener, handler, MAX_REQUEST_BYTES, termination()).await
                }
                None => return ExitCode::FAILURE,
            }
        }
        Mode::Webhook => {
            let handler = match collector_from_env().await {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start");
                    return ExitCode::FAILURE;
                }
            };
            match bind(addr).await {
                Some(listener) => {
                    tracing::info!(version = env!("CARGO_PKG_VERSION"), %addr, "listening");
                    // Room above the collector's limit, so it answers an oversized body itself.
                    serve(listener, handler, MAX_BODY_BYTES + 1, termination()).await
                }
                None => return ExitCode::FAILURE,
            }
        }
        Mode::WebhookBatch => {
            let service = match BatchService::from_env().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start");
                    return ExitCode::FAILURE;
                }
            };
            let (queue, output) = service.locations();
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                queue = %queue.url(&queue.prefix),
                output = %output.url(&output.prefix),
                %addr,
                "ready"
            );
            match bind(addr).await {
                Some(listener) => serve(listener, service, 1 << 16, termination()).await,
                None => return ExitCode::FAILURE,
            }
        }
    };
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
