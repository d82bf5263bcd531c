//! S3 failures: the error type, and the classification of SDK errors into it (retryable or
//! not) from the S3 error code and the HTTP status.

use crate::error_text::error_chain;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Why a storage operation failed. Every message starts with `s3://bucket/key` and the
/// operation; none holds a credential or object data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum S3Error {
    /// The object does not exist (for `HeadObject`, the bucket may be missing too: a HEAD
    /// response has no body to tell them apart).
    #[error("s3://{bucket}/{key}: {operation}: no such key")]
    NoSuchKey {
        /// The S3 operation, e.g. `GetObject`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The bucket does not exist.
    #[error("s3://{bucket}/{key}: {operation}: no such bucket `{bucket}`")]
    NoSuchBucket {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The request was refused (HTTP 403: missing permission, bad or expired credentials).
    #[error("s3://{bucket}/{key}: {operation}: access denied ({code})")]
    AccessDenied {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The S3 error code, e.g. `AccessDenied` or `ExpiredToken`.
        code: String,
    },
    /// S3 asked us to slow down (`SlowDown`, HTTP 503 or 429): retryable.
    #[error("s3://{bucket}/{key}: {operation}: throttled: {detail}")]
    Throttled {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Error code and message from S3.
        detail: String,
    },
    /// S3 failed (HTTP 5xx): retryable.
    #[error("s3://{bucket}/{key}: {operation}: server error (HTTP {status}): {detail}")]
    Server {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The HTTP status.
        status: u16,
        /// Error code and message from S3.
        detail: String,
    },
    /// The request timed out: retryable.
    #[error("s3://{bucket}/{key}: {operation}: timed out: {detail}")]
    Timeout {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What timed out.
        detail: String,
    },
    /// S3 could not be reached, or the connection broke: retryable.
    #[error("s3://{bucket}/{key}: {operation}: connection failed: {detail}")]
    Connection {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The connection error.
        detail: String,
    },
    /// Reading an object's body failed part-way (broken connection, integrity check):
    /// retryable by reading the object again.
    #[error("s3://{bucket}/{key}: reading the object failed: {detail}")]
    Body {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The read error.
        detail: String,
    },
    /// S3 rejected the request (another 4xx, e.g. `NoSuchUpload`, `EntityTooLarge`).
    #[error("s3://{bucket}/{key}: {operation}: rejected (HTTP {status}): {detail}")]
    Rejected {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The HTTP status.
        status: u16,
        /// Error code and message from S3.
        detail: String,
    },
    /// Anything else: a request that could not be built, a limit of this writer (too many
    /// parts), a runtime that has shut down, an upload task that panicked.
    #[error("s3://{bucket}/{key}: {operation}: {detail}")]
    Other {
        /// The S3 operation, or the writer step.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What went wrong.
        detail: String,
    },
}

impl S3Error {
    /// Whether trying the same operation again may succeed: throttling (`SlowDown`, 503),
    /// server errors (5xx), timeouts, connection and body-read errors. Missing keys or buckets,
    /// access denied and other 4xx are not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            S3Error::Throttled { .. }
                | S3Error::Server { .. }
                | S3Error::Timeout { .. }
                | S3Error::Connection { .. }
                | S3Error::Body { .. }
        )
    }

    /// Whether the object (or its bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            S3Error::NoSuchKey { .. } | S3Error::NoSuchBucket { .. }
        )
    }

    /// Whether a read of one version (`If-Match`) failed because the object has changed.
    pub fn is_changed(&self) -> bool {
        matches!(self, S3Error::Rejected { status: 412, .. })
    }

    /// The bucket the failed operation was about.
    pub fn bucket(&self) -> &str {
        match self {
            S3Error::NoSuchKey { bucket, .. }
            | S3Error::NoSuchBucket { bucket, .. }
            | S3Error::AccessDenied { bucket, .. }
            | S3Error::Throttled { bucket, .. }
            | S3Error::Server { bucket, .. }
            | S3Error::Timeout { bucket, .. }
            | S3Error::Connection { bucket, .. }
            | S3Error::Body { bucket, .. }
            | S3Error::Rejected { bucket, .. }
            | S3Error::Other { bucket, .. } => bucket,
        }
    }

    /// The key the failed operation was about (empty for bucket-level operations).
    pub fn key(&self) -> &str {
        match self {
            S3Error::NoSuchKey { key, .. }
            | S3Error::NoSuchBucket { key, .. }
            | S3Error::AccessDenied { key, .. }
            | S3Error::Throttled { key, .. }
            | S3Error::Server { key, .. }
            | S3Error::Timeout { key, .. }
            | S3Error::Connection { key, .. }
            | S3Error::Body { key, .. }
            | S3Error::Rejected { key, .. }
            | S3Error::Other { key, .. } => key,
        }
    }

    /// The `S3Error` inside an `io::Error` returned by [`super::S3ObjectWriter`]'s `write` or by
    /// the reader of [`super::get_object_reader`], if it holds one (for example inside
    /// `SanitizeError::Write`).
    pub fn from_io_error(err: &std::io::Error) -> Option<&S3Error> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<S3Error>())
    }

    /// Wraps this error in an `io::Error` (kind `Other`, or `TimedOut` for timeouts), from which
    /// [`S3Error::from_io_error`] gets it back.
    pub fn into_io_error(self) -> std::io::Error {
        let kind = match self {
            S3Error::Timeout { .. } => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, self)
    }
}

/// Turns an SDK error into a [`S3Error`] naming the operation, bucket and key.
pub(super) fn classify<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let bucket = bucket.to_owned();
    let key = key.to_owned();
    match &err {
        SdkError::ServiceError(service) => from_response(
            operation,
            bucket,
            key,
            service.raw().status().as_u16(),
            service.err().code(),
            service.err().message(),
        ),
        SdkError::ResponseError(response) => from_response(
            operation,
            bucket,
            key,
            response.raw().status().as_u16(),
            None,
            Some("unreadable response"),
        ),
        SdkError::TimeoutError(_) => S3Error::Timeout {
            operation,
            bucket,
            key,
            detail: error_chain(&err),
        },
        SdkError::DispatchFailure(failure) => {
            let detail = error_chain(&err);
            if failure.is_timeout() {
                S3Error::Timeout {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            } else if failure.is_user() {
                S3Error::Other {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            } else {
                S3Error::Connection {
                    operation,
                    bucket,
                    key,
                    detail,
                }
            }
        }
        _ => S3Error::Other {
            operation,
            bucket,
            key,
            detail: error_chain(&err),
        },
    }
}

/// Classifies an error response by its S3 error code, then its HTTP status.
fn from_response(
    operation: &'static str,
    bucket: String,
    key: String,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
) -> S3Error {
    let detail = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => format!("HTTP {status}"),
    };
    match code.unwrap_or("") {
        "NoSuchKey" => {
            return S3Error::NoSuchKey {
                operation,
                bucket,
                key,
            }
        }
        "NoSuchBucket" => {
            return S3Error::NoSuchBucket {
                operation,
                bucket,
                key,
            }
        }
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "BandwidthLimitExceeded"
        | "ProvisionedThroughputExceededException" => {
            return S3Error::Throttled {
                operation,
                bucket,
                key,
                detail,
            }
        }
        "RequestTimeout" | "RequestTimeoutException" => {
            return S3Error::Timeout {
                operation,
                bucket,
                key,
                detail,
            }
        }
        _ => {}
    }
    match status {
        // A HEAD response has no body, so no code: a 404 is a missing key (or bucket).
        404 if matches!(operation, "HeadObject" | "GetObject") => S3Error::NoSuchKey {
            operation,
            bucket,
            key,
        },
        403 => S3Error::AccessDenied {
            operation,
            bucket,
            key,
            code: code.unwrap_or("AccessDenied").to_owned(),
        },
        429 | 503 => S3Error::Throttled {
            operation,
            bucket,
            key,
            detail,
        },
        408 => S3Error::Timeout {
            operation,
            bucket,
            key,
            detail,
        },
        500..=599 => S3Error::Server {
            operation,
            bucket,
            key,
            status,
            detail,
        },
        _ => S3Error::Rejected {
            operation,
            bucket,
            key,
            status,
            detail,
        },
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn classify_response(operation: &'static str, status: u16, code: Option<&str>) -> S3Error {
        from_response(
            operation,
            "bucket".into(),
            "dir/key.csv".into(),
            status,
            code,
            Some("message from S3"),
        )
    }

    #[test]
    fn throttling_server_errors_and_timeouts_are_retryable() {
        for (status, code) in [
            (503, Some("SlowDown")),
            (503, None),
            (429, None),
            (500, Some("InternalError")),
            (502, None),
            (504, None),
            (400, Some("RequestTimeout")),
            (400, Some("ThrottlingException")),
        ] {
            let err = classify_response("PutObject", status, code);
            assert!(err.is_retryable(), "{status} {code:?}: {err:?}");
            assert!(err
                .to_string()
                .starts_with("s3://bucket/dir/key.csv: PutObject"));
        }
    }

    #[test]
    fn missing_things_denials_and_other_client_errors_are_not_retryable() {
        for (operation, status, code) in [
            ("GetObject", 404, Some("NoSuchKey")),
            ("HeadObject", 404, None),
            ("HeadObject", 404, Some("NotFound")),
            ("GetObject", 404, Some("NoSuchBucket")),
            ("PutObject", 403, Some("AccessDenied")),
            ("PutObject", 403, Some("ExpiredToken")),
            ("UploadPart", 404, Some("NoSuchUpload")),
            ("PutObject", 400, Some("EntityTooLarge")),
            ("PutObject", 400, None),
        ] {
            let err = classify_response(operation, status, code);
            assert!(!err.is_retryable(), "{status} {code:?}: {err:?}");
            assert_eq!((err.bucket(), err.key()), ("bucket", "dir/key.csv"));
        }
        assert!(matches!(
            classify_response("HeadObject", 404, None),
            S3Error::NoSuchKey { .. }
        ));
        assert!(matches!(
            classify_response("GetObject", 404, Some("NoSuchBucket")),
            S3Error::NoSuchBucket { .. }
        ));
        assert!(matches!(
            classify_response("PutObject", 403, Some("ExpiredToken")),
            S3Error::AccessDenied { ref code, .. } if code == "ExpiredToken"
        ));
    }

    #[test]
    fn io_errors_carry_the_storage_error() {
        let err = classify_response("UploadPart", 503, Some("SlowDown"));
        let io = err.clone().into_io_error();
        let back = S3Error::from_io_error(&io).expect("inside");
        assert!(back.is_retryable());
        assert_eq!(back.to_string(), err.to_string());
        assert!(S3Error::from_io_error(&std::io::Error::other("plain")).is_none());
    }
}
