//! GCS failures: the error type, and the classification of the client library's errors into
//! it (retryable or not) from the HTTP status and the kind of failure.

use crate::error_text::error_chain;

/// Why a GCS operation failed. Every message starts with `gs://bucket/key` and the operation;
/// none holds a credential or object data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GcsError {
    /// The object (or its bucket) does not exist.
    #[error("gs://{bucket}/{key}: {operation}: no such object")]
    NotFound {
        /// The operation, e.g. `read`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        key: String,
    },
    /// The request was refused (HTTP 401 or 403: a missing permission or bad credentials).
    #[error("gs://{bucket}/{key}: {operation}: access denied (HTTP {status})")]
    AccessDenied {
        /// The operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        key: String,
        /// The HTTP status.
        status: u16,
    },
    /// A failure that may pass on a retry: throttling (429), a server error (5xx), a timeout,
    /// a broken connection.
    #[error("gs://{bucket}/{key}: {operation}: {detail}")]
    Transient {
        /// The operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        key: String,
        /// What failed (the status or the transport's error).
        detail: String,
    },
    /// Any other failure (a refused request, a precondition, a bad response).
    #[error("gs://{bucket}/{key}: {operation}: {detail}")]
    Other {
        /// The operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        key: String,
        /// What failed.
        detail: String,
    },
    /// A read of one generation failed: the object has changed since (HTTP 412).
    #[error("gs://{bucket}/{key}: the object changed while it was being read")]
    Changed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The output was abandoned before it was complete: its upload was never finalized, so
    /// no object exists.
    #[error("gs://{bucket}/{key}: upload abandoned before its last byte; no object was created")]
    Abandoned {
        /// The bucket.
        bucket: String,
        /// The object name.
        key: String,
    },
}

impl GcsError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, GcsError::Transient { .. })
    }

    /// The `GcsError` inside an `io::Error` made by [`GcsError::into_io_error`], if any.
    pub fn from_io_error(err: &std::io::Error) -> Option<&GcsError> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<GcsError>())
    }

    /// Wraps this error in an `io::Error`, from which [`GcsError::from_io_error`] gets it back.
    pub fn into_io_error(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

/// Turns a client library error into a [`GcsError`] naming the operation, bucket and object.
pub(super) fn classify(
    operation: &'static str,
    bucket: &str,
    key: &str,
    e: &google_cloud_storage::Error,
) -> GcsError {
    let (bucket, key) = (bucket.to_owned(), key.to_owned());
    match e.http_status_code() {
        Some(404) => {
            return GcsError::NotFound {
                operation,
                bucket,
                key,
            }
        }
        Some(412) => return GcsError::Changed { bucket, key },
        Some(status @ (401 | 403)) => {
            return GcsError::AccessDenied {
                operation,
                bucket,
                key,
                status,
            }
        }
        Some(status @ (408 | 429 | 500..=599)) => {
            return GcsError::Transient {
                operation,
                bucket,
                key,
                detail: format!("HTTP {status}{}", service_message(e)),
            }
        }
        Some(status) => {
            return GcsError::Other {
                operation,
                bucket,
                key,
                detail: format!("HTTP {status}{}", service_message(e)),
            }
        }
        None => {}
    }
    let detail = error_chain(e);
    if e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport() || e.is_exhausted() {
        GcsError::Transient {
            operation,
            bucket,
            key,
            detail,
        }
    } else {
        GcsError::Other {
            operation,
            bucket,
            key,
            detail,
        }
    }
}

/// `: <message>` of the service's error, when it sent one (GCS messages name the bucket and
/// object, never their contents).
fn service_message(e: &google_cloud_storage::Error) -> String {
    e.status()
        .map(|s| s.message.trim())
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_when_transient() {
        let transient = GcsError::Transient {
            operation: "read",
            bucket: "b".into(),
            key: "k".into(),
            detail: "HTTP 503".into(),
        };
        assert!(transient.is_retryable());
        let io = transient.into_io_error();
        assert!(GcsError::from_io_error(&io).is_some_and(GcsError::is_retryable));
        let missing = GcsError::NotFound {
            operation: "read",
            bucket: "b".into(),
            key: "a b+c.csv".into(),
        };
        assert!(!missing.is_retryable());
        assert_eq!(
            missing.to_string(),
            "gs://b/a b+c.csv: read: no such object"
        );
    }
}
