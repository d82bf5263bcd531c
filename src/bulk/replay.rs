//! Re-processing objects already in an input bucket (`psoxy replay`): each object is sent to
//! the deployed bulk function as a synthetic S3 `ObjectCreated:Put` event, one object per
//! synchronous invocation, and the function's answer (its report, or its error) is the
//! object's outcome. The objects are not touched: no copy, no new version, no changed
//! `Last-Modified`.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::error_text::error_chain;
use crate::storage::s3::ListedObject;

/// How long one invocation may take: a bulk function runs for at most 15 minutes.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(16 * 60);

/// Why an object could not be replayed. Names the object; never a data value.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The invocation itself failed (no permission, no such function, throttled, timed out).
    #[error("s3://{bucket}/{key}: invoking {function} failed: {detail}")]
    Invoke {
        /// The object's bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The function.
        function: String,
        /// The SDK's account of the failure.
        detail: String,
    },
    /// The function ran and failed on the object.
    #[error("s3://{bucket}/{key}: the function failed ({error_type}): {message}")]
    Function {
        /// The object's bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The function's error type (`Psoxy.InvalidInput`, `Psoxy.Retryable`, ...).
        error_type: String,
        /// The function's message (it names lines and columns, never values).
        message: String,
    },
    /// The function answered something that is not a bulk report.
    #[error("s3://{bucket}/{key}: the function's answer is not a psoxy bulk report")]
    Answer {
        /// The object's bucket.
        bucket: String,
        /// Its key.
        key: String,
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

/// The synthetic `ObjectCreated:Put` event of `object` in `bucket`, as S3 sends it. Its
/// sequencer is new at every replay (`replay_id`), so a large object starts a new fan-out
/// rather than finding the execution of its upload.
pub fn replay_event(bucket: &str, object: &ListedObject, replay_id: &str) -> serde_json::Value {
    let time = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
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
pub struct ReplayFunction {
    client: aws_sdk_lambda::Client,
    name: String,
}

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
                        bucket: bucket.to_owned(),
                        key: object.key.clone(),
                        error_type: error.error_type,
                        message: error.error_message,
                    },
                    None => ReplayError::Invoke {
                        bucket: bucket.to_owned(),
                        key: object.key.clone(),
                        function: self.name.clone(),
                        detail: error_chain(&e),
                    },
                }
            })?;
        let payload = answer.payload().map(|b| b.as_ref()).unwrap_or_default();
        outcome(
            bucket,
            &object.key,
            answer.function_error().is_some(),
            payload,
        )
    }
}

/// The outcome of `bucket/key` from the function's answer `payload` (`failed`: Lambda marked
/// it a function error).
pub fn outcome(
    bucket: &str,
    key: &str,
    failed: bool,
    payload: &[u8],
) -> Result<Replayed, ReplayError> {
    if let Ok(error) = serde_json::from_slice::<FunctionError>(payload) {
        return Err(ReplayError::Function {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            error_type: error.error_type,
            message: error.error_message,
        });
    }
    let answer = || ReplayError::Answer {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
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
    fn answers_become_outcomes() {
        let report = br#"{"objects":[{"bucket":"input","key":"a.csv","status":"sanitized","outputs":[{"bucket":"output","key":"a.csv","rows":3,"bytes_in":1,"bytes_out":2,"duration_ms":1}]}]}"#;
        let done = outcome("input", "a.csv", false, report).unwrap();
        assert_eq!(done.status, "sanitized");
        assert_eq!(done.outputs[0].rows, 3);
        assert_eq!(
            outcome("input", "a.csv", false, br#"{"objects":[]}"#)
                .unwrap()
                .status,
            "skipped"
        );
        let error =
            br#"{"errorType":"Psoxy.InvalidInput","errorMessage":"input/a.csv: line 3: short row"}"#;
        let failed = outcome("input", "a.csv", true, error)
            .unwrap_err()
            .to_string();
        assert!(
            failed.contains("Psoxy.InvalidInput") && failed.contains("line 3"),
            "{failed}"
        );
        assert!(matches!(
            outcome("input", "a.csv", true, b"oops"),
            Err(ReplayError::Answer { .. })
        ));
    }
}
