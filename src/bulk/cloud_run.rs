//! The bulk Cloud Run shell: Eventarc delivers a CloudEvent over HTTP for every object
//! finalized in the input bucket (`google.cloud.storage.object.v1.finalized`), and the
//! service sanitizes that object into the output bucket(s).
//!
//! Both CloudEvents content modes are accepted: *binary* (attributes in `ce-*` headers, the
//! body is the object's resource, with `size` and `generation` as strings) and *structured*
//! (`Content-Type: application/cloudevents+json`, the attributes and a `data` member in the
//! body). The object comes from `data.bucket` and `data.name`, else from `ce-source`
//! (`//storage.googleapis.com/projects/_/buckets/<bucket>`) and `ce-subject`
//! (`objects/<name>`).
//!
//! Answers, as Pub/Sub reads them: 200 when the object was sanitized, skipped (the loop guard,
//! another event type) or failed for good (bad data, bad rules, a missing object: logged with
//! the object, line and column, and not redelivered); 503 when only storage trouble failed it
//! (redelivered); 400 for a request that is not a CloudEvent. `GET /health` answers 200.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::run::{build_processor, log_failure, run_object, ObjectReport, SetupError};
use super::{BulkError, BulkProblem, BulkProcessor};
use crate::format::JsonSyntax;
use crate::http_server::{plain, Handler, Request, Response};
use crate::settings::SecretStore;
use crate::storage::gcs::{storage_client, EMULATOR_HOST};
use crate::storage::GcsStore;

/// The event type of a finalized (created or overwritten) object.
pub const FINALIZED: &str = "google.cloud.storage.object.v1.finalized";

/// Largest event body accepted (an object's resource is a few KiB).
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// The parts of a storage CloudEvent the service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageEvent {
    /// `id`: Pub/Sub's message id, for the logs.
    pub id: String,
    /// `type`.
    pub event_type: String,
    /// The object's bucket.
    pub bucket: String,
    /// The object's name, as stored (not encoded).
    pub name: String,
}

/// A request that is not a storage CloudEvent. Names what is missing, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// A required attribute is missing.
    #[error("not a CloudEvent: no `{0}` attribute")]
    Missing(&'static str),
    /// The body is not the JSON the mode requires.
    #[error("not a CloudEvent: the body is not JSON ({0})")]
    Json(JsonSyntax),
}

/// The object resource in `data` (other members are ignored).
#[derive(Debug, Default, Deserialize)]
struct ObjectData {
    #[serde(default)]
    bucket: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The attributes of a structured-mode event (other members are ignored).
#[derive(Debug, Deserialize)]
struct Structured {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    source: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The bucket named by a `source` attribute.
fn bucket_of_source(source: &str) -> Option<&str> {
    source
        .rsplit_once("/buckets/")
        .map(|(_, b)| b)
        .filter(|b| !b.is_empty())
}

/// Reads the storage event of `req`, in either content mode.
pub fn parse_event(req: &Request) -> Result<StorageEvent, EventError> {
    let structured = header(req, "content-type")
        .is_some_and(|t| t.trim().starts_with("application/cloudevents+json"));
    let (id, event_type, source, subject, data) = if structured {
        let event: Structured =
            serde_json::from_slice(req.body()).map_err(|e| EventError::Json(JsonSyntax::of(&e)))?;
        (
            event.id,
            event.event_type,
            event.source,
            event.subject,
            event.data,
        )
    } else {
        let data = if req.body().is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice::<Value>(req.body())
                    .map_err(|e| EventError::Json(JsonSyntax::of(&e)))?,
            )
        };
        let text = |name| header(req, name).map(str::to_owned);
        (
            text("ce-id"),
            text("ce-type"),
            text("ce-source"),
            text("ce-subject"),
            data,
        )
    };
    let id = id.ok_or(EventError::Missing("id"))?;
    let event_type = event_type.ok_or(EventError::Missing("type"))?;
    let object: ObjectData = data
        .and_then(|d| serde_json::from_value(d).ok())
        .unwrap_or_default();
    let bucket = object
        .bucket
        .filter(|b| !b.is_empty())
        .or_else(|| {
            source
                .as_deref()
                .and_then(bucket_of_source)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let name = object
        .name
        .filter(|n| !n.is_empty())
        .or_else(|| {
            subject
                .as_deref()
                .and_then(|s| s.strip_prefix("objects/"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Ok(StorageEvent {
        id,
        event_type,
        bucket,
        name,
    })
}

/// The service's state, shared by every request of a process.
#[derive(Clone)]
pub struct BulkService {
    processor: Arc<BulkProcessor>,
    store: GcsStore,
}

/// The service cannot start. Names settings, never their values.
#[derive(Debug, thiserror::Error)]
pub enum CloudRunSetupError {
    /// Settings, rules or the secret store.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Secret Manager cannot be used.
    #[error("psoxy cannot start: {0}")]
    Store(#[from] crate::settings::gcp::GcpStoreError),
    /// The storage client could not be built.
    #[error("psoxy cannot start: {0}")]
    Storage(#[from] crate::storage::gcs::ClientError),
}

/// What became of one event.
#[derive(Debug)]
pub enum EventOutcome {
    /// Sanitized, skipped by the loop guard, or ignored (another event type).
    Done(ObjectReport),
    /// Failed: the error says whether a retry may help.
    Failed(BulkError),
}

impl BulkService {
    /// A service over `processor` and `store`.
    pub fn new(processor: BulkProcessor, store: GcsStore) -> Self {
        BulkService {
            processor: Arc::new(processor),
            store,
        }
    }

    /// Builds the service from the process environment, as on Cloud Run: settings from the
    /// environment (Cloud Run binds Secret Manager secrets as variables), then Secret Manager
    /// under `PATH_TO_INSTANCE_CONFIG` / `PATH_TO_SHARED_CONFIG`; the storage client from
    /// the metadata server's credentials, or the emulator of `STORAGE_EMULATOR_HOST`.
    pub async fn from_env() -> Result<Self, CloudRunSetupError> {
        let env = |name: &str| std::env::var(name).ok();
        let remote = crate::settings::gcp::store_from_env(&env).await?;
        let (processor, _) = build_processor(
            &env,
            remote.as_ref().map(|(l, s)| (l, s as &dyn SecretStore)),
            None,
        )
        .await?;
        let client = storage_client(env(EMULATOR_HOST).as_deref()).await?;
        let store = GcsStore::new(client, tokio::runtime::Handle::current());
        Ok(BulkService::new(processor, store))
    }

    /// The settings in use.
    pub fn settings(&self) -> &super::BulkSettings {
        self.processor.settings()
    }

    /// Processes the object of `event`.
    pub async fn handle_event(&self, event: StorageEvent) -> EventOutcome {
        let StorageEvent {
            id,
            event_type,
            bucket,
            name,
        } = event;
        if event_type != FINALIZED {
            tracing::info!(%bucket, key = %name, event = %event_type, %id, "ignored: not an object finalized event");
            return EventOutcome::Done(ObjectReport {
                bucket,
                key: name,
                status: "ignored",
                outputs: Vec::new(),
            });
        }
        if bucket.is_empty() || name.is_empty() {
            return EventOutcome::Failed(BulkError {
                bucket,
                key: name,
                problem: Box::new(BulkProblem::NoObject),
            });
        }
        match run_object(self.processor.clone(), self.store.clone(), bucket, name).await {
            Ok(report) => EventOutcome::Done(report),
            Err(e) => EventOutcome::Failed(e),
        }
    }
}

/// The HTTP answer to an outcome: 200 unless a retry may help (503).
fn answer(outcome: EventOutcome) -> Response {
    match outcome {
        EventOutcome::Done(report) => json_response(200, &json!(report)),
        EventOutcome::Failed(e) => {
            log_failure(&e);
            let retryable = e.retryable();
            let body = json!({
                "bucket": e.bucket,
                "key": e.key,
                "status": "failed",
                "retryable": retryable,
                "error": e.problem.to_string(),
            });
            json_response(if retryable { 503 } else { 200 }, &body)
        }
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    plain(status, "application/json", body.to_string())
}

impl Handler for BulkService {
    async fn call(&self, req: Request, _peer: SocketAddr) -> Response {
        if req.method() == hyper::Method::GET {
            return match req.uri().path() {
                "/health" | "/healthz" => json_response(
                    200,
                    &json!({
                        "status": "ok",
                        "version": env!("CARGO_PKG_VERSION"),
                        "instanceId": self.processor.settings().instance_id,
                    }),
                ),
                _ => json_response(404, &json!({"error": "not found"})),
            };
        }
        if req.method() != hyper::Method::POST {
            return json_response(405, &json!({"error": "events are POSTed"}));
        }
        match parse_event(&req) {
            Ok(event) => answer(self.handle_event(event).await),
            Err(e) => {
                tracing::warn!(error = %e, "refused a request that is not a storage event");
                json_response(400, &json!({"error": e.to_string()}))
            }
        }
    }

    fn too_large(&self) -> Response {
        json_response(413, &json!({"error": "the event body is too large"}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn request(headers: &[(&str, &str)], body: &str) -> Request {
        let mut builder = hyper::Request::builder().method("POST").uri("/");
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        builder.body(Bytes::from(body.to_owned())).unwrap()
    }

    #[test]
    fn binary_mode() {
        let req = request(
            &[
                ("ce-id", "42"),
                ("ce-type", FINALIZED),
                (
                    "ce-source",
                    "//storage.googleapis.com/projects/_/buckets/in",
                ),
                ("ce-subject", "objects/a b+é.csv"),
                ("ce-specversion", "1.0"),
                ("content-type", "application/json"),
            ],
            r#"{"bucket":"in","name":"exports/a b+é.csv","size":"12","generation":"1700000000000000"}"#,
        );
        assert_eq!(
            parse_event(&req).unwrap(),
            StorageEvent {
                id: "42".into(),
                event_type: FINALIZED.into(),
                bucket: "in".into(),
                name: "exports/a b+é.csv".into(),
            }
        );
    }

    #[test]
    fn structured_mode_and_fallbacks() {
        let req = request(
            &[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )],
            r#"{"specversion":"1.0","id":"7","type":"google.cloud.storage.object.v1.finalized",
                "source":"//storage.googleapis.com/projects/_/buckets/in","subject":"objects/x.csv","data":{}}"#,
        );
        let event = parse_event(&req).unwrap();
        assert_eq!(
            (event.bucket.as_str(), event.name.as_str()),
            ("in", "x.csv")
        );
    }

    #[test]
    fn not_an_event() {
        let req = request(&[("content-type", "application/json")], "{}");
        assert_eq!(parse_event(&req), Err(EventError::Missing("id")));
        let req = request(&[("ce-id", "1"), ("ce-type", FINALIZED)], "{oops");
        assert!(matches!(parse_event(&req), Err(EventError::Json(_))));
    }
}
