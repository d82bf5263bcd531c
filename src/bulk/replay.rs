//! Re-processing objects already in an input bucket (`psoxy replay`): each object is sent to
//! the deployed bulk function as a synthetic S3 `ObjectCreated:Put` event, one object per
//! synchronous invocation ([`ReplayFunction`]), or to the Cloud Run bulk service as the
//! CloudEvent of a finalized object (`ReplayService`), and the answer (the object's report, or
//! its error) is the object's outcome. The objects are not touched: no copy, no new version, no changed
//! `Last-Modified`.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

#[cfg(any(feature = "aws", feature = "gcp"))]
use crate::error_text::error_chain;
use crate::storage::ListedObject;

/// How long one invocation may take: a bulk function runs for at most 15 minutes.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(16 * 60);

/// Why an object could not be replayed. Names the object (`s3://bucket/key`,
/// `gs://bucket/key`); never a data value.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The invocation itself failed (no permission, no such function, throttled, timed out).
    #[error("{object}: invoking {function} failed: {detail}")]
    Invoke {
        /// The object.
        object: String,
        /// The function or service.
        function: String,
        /// What failed.
        detail: String,
    },
    /// The function ran and failed on the object.
    #[error("{object}: the function failed ({error_type}): {message}")]
    Function {
        /// The object.
        object: String,
        /// The function's error type (`Psoxy.InvalidInput`, `Psoxy.Retryable`; on Cloud Run
        /// `input` or `retryable`).
        error_type: String,
        /// The function's message (it names lines and columns, never values).
        message: String,
    },
    /// The function answered something that is not a bulk report.
    #[error("{object}: the answer is not a psoxy bulk report")]
    Answer {
        /// The object.
        object: String,
    },
}

/// What the function did with a replayed object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Replayed {
    /// `sanitized`, `fanned-out`, `own-output` or `ignored`; `skipped` when no rules apply.
    pub status: String,
    /// The outputs written.
    #[serde(default)]
    pub outputs: Vec<ReplayedOutput>,
}

/// One output of a replayed object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReplayedOutput {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Rows or records written.
    #[serde(default)]
    pub rows: u64,
}

#[derive(Deserialize)]
struct Report {
    objects: Vec<Replayed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionError {
    error_type: String,
    #[serde(default)]
    error_message: String,
}

/// Encodes a key as S3 event notifications do (the inverse of
/// [`super::keys::decode_event_key`]): a space is `+`, bytes other than letters, digits,
/// `-_.~` and `/` are `%XX`.
pub fn encode_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `at` as an event's time, as S3 and GCS write it: UTC, milliseconds (`2026-12-07T08:15:00.123Z`).
fn event_time(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The synthetic `ObjectCreated:Put` event of `object` in `bucket`, as S3 sends it. Its
/// sequencer is new at every replay (`replay_id`), so a large object starts a new fan-out
/// rather than finding the execution of its upload.
pub fn replay_event(bucket: &str, object: &ListedObject, replay_id: &str) -> serde_json::Value {
    let time = event_time(SystemTime::now());
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventTime": time,
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "psoxy-replay"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "psoxy-replay",
                "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {
                    "key": encode_event_key(&object.key),
                    "size": object.size,
                    "sequencer": replay_id,
                },
            },
        }]
    })
}

/// The deployed function objects are replayed through.
#[derive(Clone)]
#[cfg(feature = "aws")]
pub struct ReplayFunction {
    client: aws_sdk_lambda::Client,
    name: String,
}

#[cfg(feature = "aws")]
impl ReplayFunction {
    /// The function `name` (a name, an ARN, or `name:alias`), invoked with a client from
    /// `sdk` whose attempts may last [`INVOKE_TIMEOUT`] (`AWS_ENDPOINT_URL_LAMBDA` points it
    /// elsewhere, e.g. at a local emulator).
    pub fn new(sdk: &aws_config::SdkConfig, name: &str) -> ReplayFunction {
        let timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
            .read_timeout(INVOKE_TIMEOUT)
            .build();
        let config = aws_sdk_lambda::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .build();
        ReplayFunction {
            client: aws_sdk_lambda::Client::from_conf(config),
            name: name.to_owned(),
        }
    }

    /// The function's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `object`'s event and waits for the function's answer.
    pub async fn replay(
        &self,
        bucket: &str,
        object: &ListedObject,
        replay_id: &str,
    ) -> Result<Replayed, ReplayError> {
        let event = replay_event(bucket, object, replay_id);
        let name = format!("s3://{bucket}/{}", object.key);
        let answer = self
            .client
            .invoke()
            .function_name(&self.name)
            .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|e| {
                // Lambda answers a function's failure with 200 and `X-Amz-Function-Error`; a
                // local emulator may answer it with an error status and the same body.
                let body = e.raw_response().and_then(|r| r.body().bytes());
                match body.and_then(|b| serde_json::from_slice::<FunctionError>(b).ok()) {
                    Some(error) => ReplayError::Function {
                        object: name.clone(),
                        error_type: error.error_type,
                        message: error.error_message,
                    },
                    None => ReplayError::Invoke {
                        object: name.clone(),
                        function: self.name.clone(),
                        detail: error_chain(&e),
                    },
                }
            })?;
        let payload = answer.payload().map(|b| b.as_ref()).unwrap_or_default();
        outcome(&name, answer.function_error().is_some(), payload)
    }
}

/// The deployed Cloud Run bulk service objects are replayed through: each object is POSTed to
/// it as the binary-mode CloudEvent Eventarc sends for a finalized object.
#[cfg(feature = "gcp")]
#[derive(Clone)]
pub struct ReplayService {
    http: reqwest::Client,
    url: String,
    id_token: Option<String>,
}

#[cfg(feature = "gcp")]
impl ReplayService {
    /// The service at `url`, called with `id_token` (an identity token for the service, as
    /// `gcloud auth print-identity-token` prints; none for a service that allows anyone).
    /// Fails only if no HTTP client can be made (no TLS roots).
    pub fn new(url: &str, id_token: Option<String>) -> Result<ReplayService, reqwest::Error> {
        Ok(ReplayService {
            http: reqwest::Client::builder().timeout(INVOKE_TIMEOUT).build()?,
            url: url.to_owned(),
            id_token,
        })
    }

    /// The service's URL as given.
    pub fn name(&self) -> &str {
        &self.url
    }

    /// Sends `object`'s event and waits for the service's answer.
    pub async fn replay(
        &self,
        bucket: &str,
        object: &ListedObject,
        replay_id: &str,
    ) -> Result<Replayed, ReplayError> {
        let time = event_time(SystemTime::now());
        let body = serde_json::json!({
            "kind": "storage#object",
            "bucket": bucket,
            "name": object.key,
            "size": object.size.to_string(),
        });
        let mut request = self
            .http
            .post(&self.url)
            .header("ce-id", format!("{replay_id}-{}", object.key.len()))
            .header("ce-specversion", "1.0")
            .header("ce-type", "google.cloud.storage.object.v1.finalized")
            .header(
                "ce-source",
                format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
            )
            .header("ce-subject", format!("objects/{}", object.key))
            .header("ce-time", time)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = &self.id_token {
            request = request.bearer_auth(token);
        }
        let name = format!("gs://{bucket}/{}", object.key);
        let failed = |detail: String| ReplayError::Invoke {
            object: name.clone(),
            function: self.url.clone(),
            detail,
        };
        let answer = request
            .send()
            .await
            .map_err(|e| failed(error_chain(&e.without_url())))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| failed(error_chain(&e.without_url())))?;
        service_outcome(&name, status, &bytes).map_err(|e| match e {
            ReplayError::Answer { .. } if status != 200 => failed(format!("HTTP {status}")),
            e => e,
        })
    }
}

/// The outcome of `object` from the Cloud Run service's answer (`status`, `body`): 200 with
/// the object's report, 200 or 503 with `{"status": "failed", "error": ...}`.
pub fn service_outcome(object: &str, status: u16, body: &[u8]) -> Result<Replayed, ReplayError> {
    #[derive(Deserialize)]
    struct Failed {
        status: String,
        #[serde(default)]
        retryable: bool,
        #[serde(default)]
        error: String,
    }
    if let Ok(failed) = serde_json::from_slice::<Failed>(body) {
        if failed.status == "failed" {
            return Err(ReplayError::Function {
                object: object.to_owned(),
                error_type: if failed.retryable {
                    "retryable"
                } else {
                    "input"
                }
                .into(),
                message: failed.error,
            });
        }
    }
    match serde_json::from_slice::<Replayed>(body) {
        Ok(done) if status == 200 => Ok(done),
        _ => Err(ReplayError::Answer {
            object: object.to_owned(),
        }),
    }
}

/// The outcome of `object` from the function's answer `payload` (`failed`: Lambda marked it a
/// function error).
pub fn outcome(object: &str, failed: bool, payload: &[u8]) -> Result<Replayed, ReplayError> {
    if let Ok(error) = serde_json::from_slice::<FunctionError>(payload) {
        return Err(ReplayError::Function {
            object: object.to_owned(),
            error_type: error.error_type,
            message: error.error_message,
        });
    }
    let answer = || ReplayError::Answer {
        object: object.to_owned(),
    };
    if failed {
        return Err(answer());
    }
    // A report names the objects it did something with; none: no rules applied to the key.
    let report: Report = serde_json::from_slice(payload).map_err(|_| answer())?;
    Ok(report.objects.into_iter().next().unwrap_or(Replayed {
        status: "skipped".into(),
        outputs: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::keys::decode_event_key;

    #[test]
    fn event_times_are_utc_with_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_631_300_045);
        assert_eq!(event_time(at), "2026-12-07T08:15:00.045Z");
    }

    #[test]
    fn event_keys_encode_as_s3_does_and_decode_back() {
        for key in [
            "hris.csv",
            "exports/Jan 2026/hris+final.csv.gz",
            "ünïcödé/100% (copy).csv",
            "a&b=c?d#e",
        ] {
            let encoded = encode_event_key(key);
            assert!(!encoded.contains(' '), "{encoded}");
            assert_eq!(decode_event_key(&encoded).unwrap(), key);
        }
        assert_eq!(
            encode_event_key("exports/Jan 2026/hris+final.csv.gz"),
            "exports/Jan+2026/hris%2Bfinal.csv.gz"
        );
    }

    #[cfg(feature = "aws")]
    #[test]
    fn the_event_is_an_s3_event_the_function_reads() {
        let object = ListedObject {
            key: "in/Jan 2026/hris.csv".into(),
            size: 42,
            last_modified: None,
        };
        let event = replay_event("input", &object, "replay-1");
        let parsed: aws_lambda_events::event::s3::S3Event = serde_json::from_value(event).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));
        assert_eq!(record.s3.bucket.name.as_deref(), Some("input"));
        let key = record.s3.object.key.as_deref().unwrap();
        assert_eq!(decode_event_key(key).unwrap(), "in/Jan 2026/hris.csv");
        assert_eq!(record.s3.object.sequencer.as_deref(), Some("replay-1"));
    }

    #[test]
    fn cloud_run_answers_become_outcomes() {
        let done = br#"{"bucket":"in","key":"a.csv","status":"sanitized","outputs":[{"bucket":"out","key":"a.csv","rows":300,"bytes_in":1,"bytes_out":2,"duration_ms":3}]}"#;
        let replayed = service_outcome("gs://in/a.csv", 200, done).unwrap();
        assert_eq!(
            (replayed.status.as_str(), replayed.outputs[0].rows),
            ("sanitized", 300)
        );
        let failed = br#"{"bucket":"in","key":"a.csv","status":"failed","retryable":false,"error":"line 2: short row"}"#;
        let err = service_outcome("gs://in/a.csv", 200, failed)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(input)") && err.contains("line 2"), "{err}");
        assert!(matches!(
            service_outcome("gs://in/a.csv", 403, b"Forbidden"),
            Err(ReplayError::Answer { .. })
        ));
    }

    #[test]
    fn answers_become_outcomes() {
        let report = br#"{"objects":[{"bucket":"input","key":"a.csv","status":"sanitized","outputs":[{"bucket":"output","key":"a.csv","rows":3,"bytes_in":1,"bytes_out":2,"duration_ms":1}]}]}"#;
        let done = outcome("s3://input/a.csv", false, report).unwrap();
        assert_eq!(done.status, "sanitized");
        assert_eq!(done.outputs[0].rows, 3);
        assert_eq!(
            outcome("s3://input/a.csv", false, br#"{"objects":[]}"#)
                .unwrap()
                .status,
            "skipped"
        );
        let error =
            br#"{"errorType":"Psoxy.InvalidInput","errorMessage":"input/a.csv: line 3: short row"}"#;
        let failed = outcome("s3://input/a.csv", true, error)
            .unwrap_err()
            .to_string();
        assert!(
            failed.contains("Psoxy.InvalidInput") && failed.contains("line 3"),
            "{failed}"
        );
        assert!(matches!(
            outcome("s3://input/a.csv", true, b"oops"),
            Err(ReplayError::Answer { .. })
        ));
    }
}
