//! The object storage the bulk processor reads and writes, as a small blocking interface:
//! implemented over S3 for the function and over local folders for `psoxy watch`.

use std::io::{Read, Write};

pub use crate::storage::{ObjectHead as ObjectInfo, PutOptions};

/// A storage failure; `retryable` for throttling, server errors and timeouts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// What failed (names the bucket and key, never credentials).
    pub message: String,
    /// Whether trying again may succeed.
    pub retryable: bool,
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

impl From<crate::storage::StorageError> for StoreError {
    fn from(e: crate::storage::StorageError) -> Self {
        StoreError {
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    }
}
