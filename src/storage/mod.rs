//! Object storage for the storage-triggered function: streaming reads of input objects and
//! streaming, all-or-nothing writes of sanitized objects, on S3 (see [`s3`]).
//!
//! The sanitizer core is synchronous ([`crate::sanitize::Sanitizer::sanitize_stream`] takes a
//! blocking `Read` and `Write`), so the function runs it on a blocking thread
//! (`tokio::task::spawn_blocking`) with the blocking adapters of [`s3`]: the input is streamed
//! from a GET and the output is uploaded in parts while it is produced, so memory stays bounded
//! whatever the object's size. A failed or abandoned write leaves no object behind.
//!
//! Errors name the bucket and key (never a credential or a data value) and tell whether trying
//! again may help ([`StorageError::is_retryable`]).

use std::collections::HashMap;

pub mod s3;

pub use s3::{
    client_from_env, get_object_reader, head_object, https_client, list_multipart_uploads,
    s3_client, sdk_config, timeout_config, S3ObjectWriter, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, READ_TIMEOUT,
};

/// Metadata of a stored object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectHead {
    /// `Content-Type`, if the object has one.
    pub content_type: Option<String>,
    /// `Content-Encoding` (for example `gzip`), if the object has one.
    pub content_encoding: Option<String>,
    /// User metadata (`x-amz-meta-*`), keys without the prefix.
    pub metadata: HashMap<String, String>,
    /// Size in bytes, as stored.
    pub size: u64,
}

/// How a new object is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// `Content-Type` of the new object.
    pub content_type: Option<String>,
    /// `Content-Encoding` of the new object (for example `gzip`).
    pub content_encoding: Option<String>,
    /// User metadata (`x-amz-meta-*`), keys without the prefix.
    pub metadata: HashMap<String, String>,
}

/// Why a storage operation failed. Every message starts with `s3://bucket/key` and the
/// operation; none holds a credential or object data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
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

impl StorageError {
    /// Whether trying the same operation again may succeed: throttling (`SlowDown`, 503),
    /// server errors (5xx), timeouts, connection and body-read errors. Missing keys or buckets,
    /// access denied and other 4xx are not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StorageError::Throttled { .. }
                | StorageError::Server { .. }
                | StorageError::Timeout { .. }
                | StorageError::Connection { .. }
                | StorageError::Body { .. }
        )
    }

    /// Whether the object (or its bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StorageError::NoSuchKey { .. } | StorageError::NoSuchBucket { .. }
        )
    }

    /// The bucket the failed operation was about.
    pub fn bucket(&self) -> &str {
        match self {
            StorageError::NoSuchKey { bucket, .. }
            | StorageError::NoSuchBucket { bucket, .. }
            | StorageError::AccessDenied { bucket, .. }
            | StorageError::Throttled { bucket, .. }
            | StorageError::Server { bucket, .. }
            | StorageError::Timeout { bucket, .. }
            | StorageError::Connection { bucket, .. }
            | StorageError::Body { bucket, .. }
            | StorageError::Rejected { bucket, .. }
            | StorageError::Other { bucket, .. } => bucket,
        }
    }

    /// The key the failed operation was about (empty for bucket-level operations).
    pub fn key(&self) -> &str {
        match self {
            StorageError::NoSuchKey { key, .. }
            | StorageError::NoSuchBucket { key, .. }
            | StorageError::AccessDenied { key, .. }
            | StorageError::Throttled { key, .. }
            | StorageError::Server { key, .. }
            | StorageError::Timeout { key, .. }
            | StorageError::Connection { key, .. }
            | StorageError::Body { key, .. }
            | StorageError::Rejected { key, .. }
            | StorageError::Other { key, .. } => key,
        }
    }

    /// The `StorageError` inside an `io::Error` returned by [`S3ObjectWriter`]'s `write` or by
    /// the reader of [`get_object_reader`], if it holds one (for example inside
    /// [`crate::sanitize::SanitizeError::Write`]).
    pub fn from_io_error(err: &std::io::Error) -> Option<&StorageError> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<StorageError>())
    }

    /// Wraps this error in an `io::Error` (kind `Other`, or `TimedOut` for timeouts), from which
    /// [`StorageError::from_io_error`] gets it back.
    pub fn into_io_error(self) -> std::io::Error {
        let kind = match self {
            StorageError::Timeout { .. } => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, self)
    }
}
