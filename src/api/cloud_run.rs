//! The Cloud Run shell of the proxy: settings from the environment (Cloud Run binds the
//! secrets as variables) and Secret Manager, once per process; the requests come through the
//! shared HTTP server (`api/server.rs`, [`Platform::CloudRun`](super::server::Platform)).
//! Cloud Run's IAM checks the caller's ID token before a request arrives (`roles/run.invoker`
//! on the service for the caller's service account): the proxy adds no caller check of its own.
//!
//! Asynchronous requests (`ASYNC_OUTPUT_DESTINATION` and `ASYNC_API_REQUEST_QUEUE_URL`, both
//! `gs://`): an accepted request is queued as one object under the queue's prefix; an Eventarc
//! trigger on that bucket posts the object's finalized event back to the service at
//! [`ASYNC_EVENT_PATH`], which runs the job ([`run_async_event`]), writes its outcome and
//! deletes the job. Side outputs (`SIDE_OUTPUT_*`, `gs://`) are written to GCS.

use std::sync::Arc;

use serde_json::json;

use super::deferred::{AsyncJob, AsyncQueue};
use super::flow::ApiService;
use super::settings::resolve_gcp;
use crate::bulk::cloud_run::{StorageEvent, FINALIZED};
use crate::http_server::{plain, Response};
use crate::settings::catalog::ASYNC_API_REQUEST_QUEUE_URL;
use crate::storage::gcs::{storage_client, GcsObjects, EMULATOR_HOST};
use crate::storage::{blocking, get_object, GcsStore, ObjectPrefix, ObjectStore};

/// Where the Eventarc trigger of the jobs' bucket delivers its events.
pub const ASYNC_EVENT_PATH: &str = "/_psoxy/async";

/// Builds the service from the process environment and Secret Manager. A configuration
/// problem gives an [`ApiService::Misconfigured`] that answers health checks with 412 (and is
/// logged).
pub async fn service_from_env() -> ApiService {
    let env = |name: &str| std::env::var(name).ok();
    let service = ApiService::from_resolved(resolve_gcp(&env).await);
    match with_storage(service, &env).await {
        Ok(service) => service,
        Err(e) => {
            let problem = e.to_string();
            tracing::error!(%problem, "the proxy is misconfigured");
            ApiService::Misconfigured { problem }
        }
    }
}

/// The storage of asynchronous requests or side outputs cannot be set up. Names settings,
/// never their values.
#[derive(Debug, thiserror::Error)]
pub enum StorageSetupError {
    /// A location is not in GCS.
    #[error(transparent)]
    WrongStore(#[from] crate::storage::WrongStore),
    /// A location does not parse.
    #[error(transparent)]
    Prefix(#[from] crate::storage::NotAPrefix),
    /// The queue is missing.
    #[error("setting ASYNC_API_REQUEST_QUEUE_URL (gs://bucket/prefix) is required with ASYNC_OUTPUT_DESTINATION")]
    NoQueue,
    /// The storage clients could not be built.
    #[error(transparent)]
    Client(#[from] crate::storage::gcs::ClientError),
}

/// `service` with its asynchronous requests and side outputs on GCS, when the settings ask
/// for them; the problem (naming settings, never values) when they cannot be.
async fn with_storage(
    service: ApiService,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ApiService, StorageSetupError> {
    let ApiService::Ready(handler) = service else {
        return Ok(service);
    };
    if !handler.needs_storage() {
        return Ok(ApiService::Ready(handler));
    }
    handler.require_store("gs")?;
    let emulator = env(EMULATOR_HOST);
    let client = storage_client(emulator.as_deref()).await?;
    let objects = GcsObjects::new(emulator.as_deref())?;
    let store: Arc<dyn ObjectStore + Send> =
        Arc::new(GcsStore::new(client, tokio::runtime::Handle::current()).with_objects(objects));
    let queue_url = handler
        .async_settings()
        .map(|(_, queue)| queue.map(str::to_owned));
    let queue = match queue_url {
        Some(queue) => {
            let queue = queue.ok_or(StorageSetupError::NoQueue)?;
            let prefix = ObjectPrefix::parse(&queue, ASYNC_API_REQUEST_QUEUE_URL.name)?;
            prefix.require("gs", ASYNC_API_REQUEST_QUEUE_URL.name)?;
            Some(AsyncQueue::Store {
                store: store.clone(),
                prefix,
            })
        }
        None => None,
    };
    let handler = handler.with_outputs(store, queue);
    Ok(ApiService::Ready(handler))
}

fn answer(status: u16, body: serde_json::Value) -> Response {
    plain(status, "application/json", body.to_string())
}

/// Runs the job whose object `event` reports finalized: `200` when its outcome was written
/// (then the job is deleted), or when there is nothing to do (another event type, an object
/// that is not a job of this service, a job already done); `503` when the outcome could not
/// be written or the job not read, so Eventarc delivers the event again.
pub async fn run_async_event(service: &ApiService, event: StorageEvent) -> Response {
    let ApiService::Ready(handler) = service else {
        return answer(503, json!({"error": "MISCONFIGURED"}));
    };
    let Some(leg) = handler.async_leg() else {
        return answer(404, json!({"error": "ASYNC_NOT_CONFIGURED"}));
    };
    let AsyncQueue::Store { store, prefix } = &leg.queue else {
        return answer(404, json!({"error": "ASYNC_NOT_CONFIGURED"}));
    };
    let is_job = event.event_type == FINALIZED
        && event.bucket == prefix.bucket
        && event
            .name
            .strip_prefix(&prefix.prefix)
            .is_some_and(|n| n.ends_with(".json") && !n.contains('/'));
    if !is_job {
        tracing::info!(event = %event.id, "ignored: not a queued asynchronous request");
        return answer(200, json!({"status": "ignored"}));
    }
    let (reader, bucket, key) = (store.clone(), event.bucket.clone(), event.name.clone());
    let read = blocking(move || get_object(&*reader, &bucket, &key)).await;
    let text = match read {
        Ok(text) => text,
        Err(e) if e.is_not_found() => {
            tracing::info!(event = %event.id, "the asynchronous request was already run");
            return answer(200, json!({"status": "done"}));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the queued asynchronous request");
            return answer(503, json!({"error": "STORAGE"}));
        }
    };
    let job = match serde_json::from_slice::<AsyncJob>(&text) {
        Ok(job) => job,
        Err(e) => {
            // Never runnable: answered 200 so it is not delivered again (the bucket's
            // lifecycle removes it).
            tracing::error!(
                object = %event.name,
                problem = %crate::format::JsonSyntax::of(&e).kind(),
                "a queued object is not an asynchronous request; left in place"
            );
            return answer(200, json!({"status": "not a job"}));
        }
    };
    if let Err(e) = service.run_async(job).await {
        tracing::error!(error = %e, "the asynchronous request will be delivered again");
        return answer(503, json!({"error": "NOT_RECORDED"}));
    }
    let (store, bucket, key) = (store.clone(), event.bucket, event.name);
    if let Err(e) = blocking(move || store.delete(&bucket, &key)).await {
        tracing::warn!(error = %e, "the finished job could not be deleted");
    }
    answer(200, json!({"status": "recorded"}))
}
