//! Object storage: the small blocking interface the bulk processor reads and writes through
//! ([`ObjectStore`], [`ObjectSink`]), and its implementations: S3 ([`s3`], for the function)
//! GCS ([`gcs`], for the Cloud Run service) and local folders ([`local`], for `psoxy watch`).
//!
//! The sanitizer core is synchronous (it takes a blocking `Read` and `Write`), so the function
//! runs it on a blocking thread with the blocking adapters of [`s3`]: the input is streamed from
//! a GET and the output is uploaded in parts while it is produced, so memory stays bounded
//! whatever the object's size. A failed or abandoned write leaves no object behind.
//!
//! Errors name the bucket and key (never a credential or a data value) and tell whether trying
//! again may help ([`StoreError::is_retryable`]).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;

#[cfg(feature = "gcp")]
pub mod gcs;
pub mod local;
pub mod s3;

#[cfg(feature = "gcp")]
pub use gcs::{GcsError, GcsStore};
pub use local::{AtomicFile, LocalStore};
pub use s3::{S3Error, S3Store};

/// Metadata of a stored object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
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

/// A storage failure. Names the object, never a credential or a value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// S3 failed or refused.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// GCS failed or refused.
    #[cfg(feature = "gcp")]
    #[error(transparent)]
    Gcs(#[from] GcsError),
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Local {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A local store has no folder for this bucket.
    #[error("no folder is configured for bucket `{0}`")]
    UnknownBucket(String),
    /// A key that would leave its bucket's folder (`..`, an absolute path).
    #[error("key `{0}` leaves its folder")]
    KeyOutsideBucket(String),
}

impl StoreError {
    /// Whether trying again may succeed (throttling, server errors, timeouts, broken
    /// connections); missing objects, refusals and local files are not retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::S3(e) => e.is_retryable(),
            #[cfg(feature = "gcp")]
            StoreError::Gcs(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// Whether an I/O failure of a store's reader or writer may pass on a retry: the store says so
/// for its own errors (carried inside the `io::Error`); otherwise transport-like kinds are
/// retryable and the rest are not.
pub fn io_failure_is_retryable(e: &std::io::Error) -> bool {
    if let Some(s3) = S3Error::from_io_error(e) {
        return s3.is_retryable();
    }
    #[cfg(feature = "gcp")]
    if let Some(gcs) = GcsError::from_io_error(e) {
        return gcs.is_retryable();
    }
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        TimedOut
            | ConnectionReset
            | ConnectionAborted
            | ConnectionRefused
            | BrokenPipe
            | WouldBlock
    )
}

/// An output being written. Nothing is visible until [`ObjectSink::commit`]; dropping it
/// without committing discards what was written (aborts the upload).
pub trait ObjectSink: Write + Send {
    /// Makes the object visible.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Blocking object storage.
pub trait ObjectStore: Sync {
    /// Metadata of an object.
    fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError>;
    /// A streaming reader of an object's bytes.
    fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError>;
    /// A new object, visible only once committed.
    fn write(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
    ) -> Result<Box<dyn ObjectSink>, StoreError>;
}
