//! Asynchronous requests (`Prefer: respond-async`, SPEC-API "Request flow" 8): a request that
//! passes every check is answered `202 Accepted` with `Location:` the object where its
//! sanitized response will be (`ASYNC_OUTPUT_DESTINATION/yyyyMMdd/<request id>`), and queued.
//! The async leg runs the whole pipeline again and writes the sanitized body there (gzip); on
//! any failure (the source's non-2xx, a timeout, a sanitizing or write error) it writes
//! `<id>.error.json` beside it, naming the status and error code (never a body), so a poller
//! learns the outcome of every job the queue delivers (until the queue gives up on it: SQS's
//! dead-letter queue, Eventarc's dead-letter topic; see docs/api.md and docs/gcp.md).
//!
//! The queue is SQS on AWS (`ASYNC_API_REQUEST_QUEUE_URL`; the function is its trigger), a
//! prefix in a bucket on Google Cloud (`ASYNC_API_REQUEST_QUEUE_URL=gs://bucket/prefix`: one
//! object per job, whose Eventarc event the service gets back, see `api/cloud_run.rs`) and a
//! task of the same process in `psoxy serve`.

use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::wire::ProxyRequest;
use crate::storage::{
    blocking, put_gzipped, put_object, ObjectPrefix, ObjectStore, PutOptions, StoreError,
};

/// Header asking for the asynchronous answer.
pub const PREFER_HEADER: &str = "prefer";

/// Whether the request asks for an asynchronous answer (`Prefer: respond-async`, among other
/// preferences, ignoring case).
pub fn wants_async(req: &ProxyRequest) -> bool {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(PREFER_HEADER))
        .flat_map(|(_, v)| v.split(','))
        .any(|p| {
            p.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("respond-async"))
        })
}

/// The keys of a request's answer and failure record under `destination`, and the
/// `Location` the caller is given.
impl AsyncJob {
    /// The key of the answer: `<prefix>yyyyMMdd/<id>`.
    pub fn key(&self, destination: &ObjectPrefix) -> String {
        destination.key(&format!("{}/{}", self.date, self.id))
    }

    /// The key of the failure record: the answer's, with `.error.json`.
    pub fn error_key(&self, destination: &ObjectPrefix) -> String {
        format!("{}.error.json", self.key(destination))
    }

    /// The key of the queued job under a [`AsyncQueue::Store`] prefix: `<prefix><id>.json`.
    pub fn queue_key(&self, queue: &ObjectPrefix) -> String {
        queue.key(&format!("{}.json", self.id))
    }

    /// The `Location` of the answer.
    pub fn location(&self, destination: &ObjectPrefix) -> String {
        destination.url(&self.key(destination))
    }
}

/// A queued request: what the async leg runs again. Holds the request as the caller sent it
/// (path, query, body, and only the headers the pipeline reads: never the caller's
/// credentials), and the caller's key id for the audit line: no source data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "RawJob")]
pub struct AsyncJob {
    /// The request's id (random).
    pub id: String,
    /// The day it was accepted, `yyyyMMdd` (UTC).
    pub date: String,
    /// Method.
    pub method: String,
    /// Path as received.
    pub path: String,
    /// Raw query.
    pub query: Option<String>,
    /// Headers (lower-case names), without `Prefer`.
    pub headers: Vec<(String, String)>,
    /// Body, base64.
    pub body: String,
    /// The caller's address.
    pub client_ip: Option<String>,
    /// The caller's key id (`psoxy serve` with caller keys), for the audit line.
    pub caller: Option<String>,
}

/// A job as read from the queue, before its id and date are checked.
#[derive(Deserialize)]
struct RawJob {
    id: String,
    date: String,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
    client_ip: Option<String>,
    #[serde(default)]
    caller: Option<String>,
}

/// A queued job whose id or date is not what the proxy writes (they name objects).
#[derive(Debug, thiserror::Error)]
#[error("a queued job's id must be 32 hex digits and its date yyyyMMdd")]
pub struct BadJob;

impl TryFrom<RawJob> for AsyncJob {
    type Error = BadJob;

    fn try_from(raw: RawJob) -> Result<AsyncJob, BadJob> {
        let id_ok = raw.id.len() == 32 && raw.id.bytes().all(|b| b.is_ascii_hexdigit());
        let date_ok = raw.date.len() == 8 && raw.date.bytes().all(|b| b.is_ascii_digit());
        if !id_ok || !date_ok {
            return Err(BadJob);
        }
        Ok(AsyncJob {
            id: raw.id,
            date: raw.date,
            method: raw.method,
            path: raw.path,
            query: raw.query,
            headers: raw.headers,
            body: raw.body,
            client_ip: raw.client_ip,
            caller: raw.caller,
        })
    }
}

/// Largest job queued (SQS's 256 KiB per message); a larger request is refused with 413.
pub const MAX_JOB_BYTES: usize = 256 * 1024;

/// `text` with U+FFFE and U+FFFF written as JSON escapes: SQS refuses those characters, and in
/// JSON text they can only stand inside strings, where the escape means the same.
pub fn sqs_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\u{fffe}', '\u{ffff}']) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.replace('\u{fffe}', "\\ufffe")
            .replace('\u{ffff}', "\\uffff"),
    )
}

impl AsyncJob {
    /// A job for `req`, accepted now, keeping only the headers named in `keep` (lower case).
    pub fn new(req: &ProxyRequest, keep: &[String], caller: Option<String>) -> AsyncJob {
        let mut id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        AsyncJob {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            date: chrono::Utc::now().format("%Y%m%d").to_string(),
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req
                .headers
                .iter()
                .filter(|(n, _)| keep.iter().any(|k| k.eq_ignore_ascii_case(n)))
                .cloned()
                .collect(),
            body: base64::engine::general_purpose::STANDARD.encode(&req.body),
            client_ip: req.client_ip.clone(),
            caller,
        }
    }

    /// The request the async leg runs (its body undecodable: empty).
    pub fn request(&self) -> ProxyRequest {
        ProxyRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: base64::engine::general_purpose::STANDARD
                .decode(&self.body)
                .unwrap_or_default()
                .into(),
            client_ip: self.client_ip.clone(),
        }
    }
}

/// How accepted requests reach the async leg.
#[derive(Clone)]
pub enum AsyncQueue {
    /// An SQS queue (the function is its trigger).
    #[cfg(feature = "aws")]
    Sqs {
        /// The client.
        client: aws_sdk_sqs::Client,
        /// The queue's URL.
        url: String,
    },
    /// Tasks of this process (`psoxy serve`): jobs go to
    /// [`crate::api::ApiHandler::run_queue`] through this channel.
    InProcess(tokio::sync::mpsc::UnboundedSender<AsyncJob>),
    /// Objects under a prefix ([`AsyncJob::queue_key`]); the store's events bring them back.
    Store {
        /// The store (GCS).
        store: Arc<dyn ObjectStore + Send>,
        /// Where jobs go.
        prefix: ObjectPrefix,
    },
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(feature = "aws")]
            AsyncQueue::Sqs { url, .. } => f.debug_struct("Sqs").field("url", url).finish(),
            AsyncQueue::InProcess(_) => f.write_str("InProcess"),
            AsyncQueue::Store { prefix, .. } => {
                f.debug_struct("Store").field("prefix", prefix).finish()
            }
        }
    }
}

/// The async leg's configuration: where answers go, the store that writes them, the queue.
#[derive(Clone)]
pub struct AsyncLeg {
    /// Where answers go (`ASYNC_OUTPUT_DESTINATION`, or a local folder).
    pub destination: ObjectPrefix,
    /// The store of the destination (S3, or local folders).
    pub store: Arc<dyn ObjectStore + Send>,
    /// The queue.
    pub queue: AsyncQueue,
}

impl std::fmt::Debug for AsyncLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncLeg")
            .field("destination", &self.destination)
            .field("queue", &self.queue)
            .finish()
    }
}

/// The async leg could not record an outcome (the queue delivers the job again).
#[derive(Debug, thiserror::Error)]
pub enum AsyncError {
    /// Neither the answer nor the failure record could be written.
    #[error("cannot write the asynchronous answer {key}: {source}")]
    Write {
        /// The object.
        key: String,
        /// Why.
        source: StoreError,
    },
    /// The job could not be queued.
    #[error("cannot queue the asynchronous request: {0}")]
    Queue(String),
    /// A queued message is not a job.
    #[error("a queued message is not an asynchronous request: {0}")]
    NotAJob(String),
    /// The request is too large to queue.
    #[error("the request is over {MAX_JOB_BYTES} bytes queued")]
    TooLarge,
}

impl AsyncLeg {
    /// Queues `job`.
    pub async fn send(&self, job: &AsyncJob) -> Result<(), AsyncError> {
        let body = serde_json::to_string(job).map_err(|e| AsyncError::Queue(e.to_string()))?;
        if body.len() > MAX_JOB_BYTES {
            return Err(AsyncError::TooLarge);
        }
        if let AsyncQueue::InProcess(tx) = &self.queue {
            return tx
                .send(job.clone())
                .map_err(|_| AsyncError::Queue("the in-process queue has stopped".into()));
        }
        if let AsyncQueue::Store { store, prefix } = &self.queue {
            let (store, bucket, key) =
                (store.clone(), prefix.bucket.clone(), job.queue_key(prefix));
            let options = PutOptions {
                content_type: Some("application/json".into()),
                ..PutOptions::default()
            };
            return blocking(move || {
                put_object(store.as_ref(), &bucket, &key, options, body.as_bytes())
            })
            .await
            .map_err(|e| AsyncError::Queue(e.to_string()));
        }
        #[cfg(feature = "aws")]
        if let AsyncQueue::Sqs { client, url } = &self.queue {
            client
                .send_message()
                .queue_url(url)
                .message_body(sqs_safe(&body))
                .send()
                .await
                .map_err(|e| {
                    AsyncError::Queue(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                })?;
        }
        Ok(())
    }

    /// Writes the outcome of `job`: the sanitized body (gzip, with its content type) when
    /// `status` is 2xx, else the failure record.
    pub async fn record(
        &self,
        job: &AsyncJob,
        status: u16,
        error: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(), AsyncError> {
        let success = (200..300).contains(&status) && error.is_none();
        let metadata: std::collections::HashMap<String, String> =
            [("psoxy-status".to_owned(), status.to_string())].into();
        let (key, bytes, options) = if success {
            let options = PutOptions {
                content_type: Some(content_type.unwrap_or("application/json").to_owned()),
                content_encoding: None,
                metadata,
            };
            (job.key(&self.destination), body, options)
        } else {
            let record = serde_json::json!({
                "requestId": job.id,
                "status": status,
                "error": error.unwrap_or("API_ERROR"),
            });
            let options = PutOptions {
                content_type: Some("application/json".into()),
                content_encoding: None,
                metadata,
            };
            (
                job.error_key(&self.destination),
                record.to_string().into_bytes(),
                options,
            )
        };
        let store = self.store.clone();
        let bucket = self.destination.bucket.clone();
        let written_key = key.clone();
        blocking(move || {
            if success {
                put_gzipped(store.as_ref(), &bucket, &written_key, options, &bytes)
            } else {
                put_object(store.as_ref(), &bucket, &written_key, options, &bytes)
            }
        })
        .await
        .map_err(|source| AsyncError::Write { key, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prefer: Option<&str>) -> ProxyRequest {
        ProxyRequest {
            method: "GET".into(),
            path: "/reports/1".into(),
            query: Some("day=2".into()),
            headers: prefer
                .map(|p| vec![("prefer".to_owned(), p.to_owned())])
                .unwrap_or_default(),
            body: bytes::Bytes::from_static(b"{}"),
            client_ip: Some("127.0.0.1".into()),
        }
    }

    #[test]
    fn prefer_respond_async_is_recognised() {
        assert!(wants_async(&request(Some("respond-async"))));
        assert!(wants_async(&request(Some(
            "return=minimal, Respond-Async; wait=10"
        ))));
        assert!(!wants_async(&request(Some("return=minimal"))));
        assert!(!wants_async(&request(None)));
    }

    #[test]
    fn jobs_round_trip_without_the_preference() {
        let mut req = request(Some("respond-async"));
        req.headers
            .push(("authorization".into(), "AWS4-HMAC-SHA256 secret".into()));
        req.headers
            .push(("accept".into(), "application/json".into()));
        let job = AsyncJob::new(&req, &["accept".to_owned()], Some("me".into()));
        assert_eq!(
            job.headers,
            [("accept".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(job.id.len(), 32);
        assert_eq!(job.date.len(), 8);
        let back: AsyncJob = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(back, job);
        let req = back.request();
        assert!(!wants_async(&req));
        assert_eq!(&req.body[..], b"{}");
        let d = ObjectPrefix::parse("s3://answers/async/", "ASYNC_OUTPUT_DESTINATION").unwrap();
        assert_eq!(
            job.location(&d),
            format!("s3://answers/async/{}/{}", job.date, job.id)
        );
        assert!(job.error_key(&d).ends_with(".error.json"));
        // Ids and dates name objects: a forged job is refused.
        for (id, date) in [("../../x", "20261206"), (job.id.as_str(), "2026-12-06")] {
            let mut v = serde_json::to_value(&job).unwrap();
            v["id"] = id.into();
            v["date"] = date.into();
            assert!(
                serde_json::from_value::<AsyncJob>(v).is_err(),
                "{id} {date}"
            );
        }
        assert_eq!(sqs_safe("{\"a\":\"x\u{ffff}\"}"), "{\"a\":\"x\\uffff\"}");
        let escaped: serde_json::Value = serde_json::from_str(&sqs_safe("\"\u{fffe}\"")).unwrap();
        assert_eq!(escaped, "\u{fffe}");
    }
}
