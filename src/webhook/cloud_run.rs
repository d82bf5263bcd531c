//! The Cloud Run shells of the webhook collector, two services of the one image:
//!
//! - `psoxy-gcp webhook`, the collector: the shared HTTP server loop hands each request to the
//!   [`Collector`], whose queue is a prefix in a bucket (`WEBHOOK_OUTPUT=gs://bucket/queue/`):
//!   one object per sanitized message. The caller's address is the one Google's front end
//!   appends to `X-Forwarded-For`.
//! - `psoxy-gcp webhook-batch`, the batch service, which Cloud Scheduler calls (`POST /`,
//!   with an ID token Cloud Run's IAM checks): each call merges the waiting messages,
//!   [`MAX_BATCH_MESSAGES`](super::batch::MAX_BATCH_MESSAGES) per gzipped NDJSON object
//!   under `WEBHOOK_BATCH_OUTPUT`, and deletes them ([`drain`]), as the SQS trigger does on AWS, for up to [`BATCH_BUDGET`]
//!   (within the scheduler's minute; a queue still full then is logged as a backlog). It reads
//!   no secret. `200` with what it did; `503` when storage failed (what was not merged stays
//!   queued for the next call).
//!
//! The collector is public, so it refuses to start without its token check
//! (`REQUIRE_AUTHORIZATION_HEADER=false`): nothing in front of it would check tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;

use super::batch::drain;

/// How long one call of the batch service merges before it answers (Cloud Scheduler calls it
/// every minute by default).
pub const BATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(50);
use super::collector::Collector;
use super::queue::Queue;
use super::server::CollectorHttp;
use super::settings::{resolve, WebhookSettings, WebhookSettingsError};
use crate::api::server::Platform;
use crate::http_server::{plain, Handler, Request, Response};
use crate::settings::catalog::{WEBHOOK_BATCH_OUTPUT, WEBHOOK_OUTPUT};
use crate::settings::{Flags, SecretStore, Setting, SettingError, Settings};
use crate::storage::gcs::{storage_client, GcsObjects, EMULATOR_HOST};
use crate::storage::{GcsStore, NotAPrefix, ObjectPrefix, ObjectStore, WrongStore};

/// A webhook service cannot start. Names settings, never their values.
#[derive(Debug, thiserror::Error)]
pub enum WebhookStartError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Settings(#[from] WebhookSettingsError),
    /// A setting is missing.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// A location setting does not parse.
    #[error(transparent)]
    Prefix(#[from] NotAPrefix),
    /// A location setting names S3.
    #[error(transparent)]
    WrongStore(#[from] WrongStore),
    /// `REQUIRE_AUTHORIZATION_HEADER=false` on a public service.
    #[error("REQUIRE_AUTHORIZATION_HEADER=false: the collector on Cloud Run is public, and nothing in front of it checks tokens; it must verify them itself")]
    NoTokenCheck,
    /// `ACCEPTED_AUTH_KEYS` names an AWS KMS key.
    #[error("ACCEPTED_AUTH_KEYS: `aws-kms:` keys are read on AWS only; on Google Cloud give `base64:` keys (the module passes its Cloud KMS key's public key)")]
    AwsKmsKey,
    /// Secret Manager cannot be used.
    #[error(transparent)]
    SecretStore(#[from] crate::settings::gcp::GcpStoreError),
    /// The secrets could not be read.
    #[error(transparent)]
    Remote(#[from] crate::settings::RemoteError),
    /// The storage clients could not be built.
    #[error(transparent)]
    Storage(#[from] crate::storage::gcs::ClientError),
    /// The collector could not be built from its settings.
    #[error(transparent)]
    Collector(#[from] super::collector::CollectorSetupError),
}

/// GCS, able to list and delete (the queue's needs), for the emulator of
/// `STORAGE_EMULATOR_HOST` when set.
async fn gcs_store(env: &dyn Fn(&str) -> Option<String>) -> Result<GcsStore, WebhookStartError> {
    let emulator = env(EMULATOR_HOST);
    let client = storage_client(emulator.as_deref()).await?;
    Ok(GcsStore::new(client, tokio::runtime::Handle::current())
        .with_objects(GcsObjects::new(emulator.as_deref())?))
}

/// The `gs://` location `setting` names (required).
fn gs_prefix(
    settings: &Settings,
    setting: &'static Setting,
) -> Result<ObjectPrefix, WebhookStartError> {
    let prefix = ObjectPrefix::parse(settings.required(setting)?, setting.name)?;
    prefix.require("gs", setting.name)?;
    Ok(prefix)
}

/// Builds the collector from the process environment and the Secret Manager it names (Cloud
/// Run binds most secrets as variables), its queue the `gs://` prefix of `WEBHOOK_OUTPUT`.
pub async fn collector_from_env() -> Result<CollectorHttp, WebhookStartError> {
    let env = |name: &str| std::env::var(name).ok();
    let remote = crate::settings::gcp::store_from_env(&env).await?;
    let settings = resolve(
        &Flags::new(),
        &env,
        remote.as_ref().map(|(l, s)| (l, s as &dyn SecretStore)),
    )
    .await?;
    // The image has no AWS code: its keys parser refuses `aws-kms:` entries as not built in;
    // on Google Cloud the remedy is a `base64:` key, not another build.
    let webhook = match WebhookSettings::from_settings(&settings, None) {
        Err(WebhookSettingsError::Keys(crate::webhook::keys::KeySettingError::NotBuilt {
            ..
        })) => return Err(WebhookStartError::AwsKmsKey),
        parsed => parsed?,
    };
    match &webhook.auth {
        None => return Err(WebhookStartError::NoTokenCheck),
        Some((keys, _)) if keys.needs_kms() => return Err(WebhookStartError::AwsKmsKey),
        Some(_) => {}
    }
    let queue = Queue::Store {
        store: Arc::new(gcs_store(&env).await?),
        prefix: gs_prefix(&settings, &WEBHOOK_OUTPUT)?,
    };
    let collector = Collector::new(webhook, queue)?;
    Ok(CollectorHttp::new(collector, Platform::CloudRun))
}

/// The batch service: drains the queue into batches, one call at a time per instance.
#[derive(Clone)]
pub struct BatchService {
    store: Arc<GcsStore>,
    queue: ObjectPrefix,
    output: ObjectPrefix,
    /// One drain at a time (Cloud Run runs the service with one instance, one request).
    running: Arc<tokio::sync::Mutex<()>>,
}

impl BatchService {
    /// Builds the service from the process environment: `WEBHOOK_OUTPUT` (the queue) and
    /// `WEBHOOK_BATCH_OUTPUT`, both `gs://`.
    pub async fn from_env() -> Result<BatchService, WebhookStartError> {
        let env = |name: &str| std::env::var(name).ok();
        let settings = Settings::from_sources(
            &[&WEBHOOK_OUTPUT, &WEBHOOK_BATCH_OUTPUT],
            &Flags::new(),
            &env,
        );
        Ok(BatchService {
            queue: gs_prefix(&settings, &WEBHOOK_OUTPUT)?,
            output: gs_prefix(&settings, &WEBHOOK_BATCH_OUTPUT)?,
            store: Arc::new(gcs_store(&env).await?),
            running: Default::default(),
        })
    }

    /// Where the queue is and where batches go.
    pub fn locations(&self) -> (&ObjectPrefix, &ObjectPrefix) {
        (&self.queue, &self.output)
    }
}

impl Handler for BatchService {
    async fn call(&self, req: Request, _peer: SocketAddr) -> Response {
        if req.method() == hyper::Method::GET && req.uri().path() == "/health" {
            return plain(200, "text/plain", "ok");
        }
        if req.method() != hyper::Method::POST {
            return plain(405, "text/plain", "POST to merge the waiting webhooks");
        }
        let _one_at_a_time = self.running.lock().await;
        let (store, queue, output) = (self.store.clone(), self.queue.clone(), self.output.clone());
        let drained = tokio::task::spawn_blocking(move || {
            drain(
                store.as_ref() as &dyn ObjectStore,
                &queue,
                &output,
                Some(BATCH_BUDGET),
            )
        })
        .await;
        match drained {
            Ok(Ok(d)) => {
                if d.messages + d.failed > 0 {
                    tracing::info!(
                        messages = d.messages,
                        records = d.records,
                        failed = d.failed,
                        batches = d.batches.len(),
                        "batches written"
                    );
                }
                if d.backlog {
                    tracing::warn!(
                        messages = d.messages,
                        "more webhooks are waiting than one call could merge: a backlog"
                    );
                }
                plain(200, "application/json", json!(d).to_string())
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the queue could not be merged; what was not merged stays queued");
                plain(
                    503,
                    "application/json",
                    json!({"error": "STORAGE"}).to_string(),
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "the batch writer stopped");
                plain(
                    503,
                    "application/json",
                    json!({"error": "STOPPED"}).to_string(),
                )
            }
        }
    }

    fn too_large(&self) -> Response {
        plain(413, "text/plain", "")
    }
}
