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

use crate::format::byte_ranges::ByteRanges;

#[cfg(feature = "gcp")]
pub mod gcs;
pub mod local;
pub mod prefix;
#[cfg(feature = "aws")]
pub mod s3;

#[cfg(feature = "gcp")]
pub use gcs::{GcsError, GcsStore};
pub use local::{AtomicFile, LocalStore};
pub use prefix::{NotAPrefix, ObjectPrefix, WrongStore};
#[cfg(feature = "aws")]
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
    /// This version of the object, when the store names versions (S3: the ETag; GCS: the
    /// generation; a local file: its size and modification time). A read of this version
    /// ([`ObjectStore::read_range`]) fails if the object has changed since.
    pub version: Option<String>,
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
    #[cfg(feature = "aws")]
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
    /// The store cannot do this (GCS has no fan-out support yet).
    #[error("{operation} is not supported by this store")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
    },
    /// A local store has no folder for this bucket.
    #[error("no folder is configured for bucket `{0}`")]
    UnknownBucket(String),
    /// Copying into a composed object failed.
    #[error("cannot compose {bucket}/{key}: {source}")]
    Compose {
        /// The composed object's bucket.
        bucket: String,
        /// The composed object's key.
        key: String,
        /// Why.
        source: std::io::Error,
    },
    /// The object is no longer the version a read asked for (a local file).
    #[error("{bucket}/{key}: the object changed while it was being read")]
    Changed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A key that would leave its bucket's folder (`..`, an absolute path).
    #[error("key `{0}` leaves its folder")]
    KeyOutsideBucket(String),
    /// The blocking task running store calls panicked or was cancelled ([`blocking`]).
    #[error("a storage task failed: {0}")]
    Task(String),
    /// Reading an object's bytes failed part-way.
    #[error("{bucket}/{key}: reading the object failed: {source}")]
    Read {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether trying again may succeed (throttling, server errors, timeouts, broken
    /// connections); missing objects, refusals and local files are not retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            #[cfg(feature = "aws")]
            StoreError::S3(e) => e.is_retryable(),
            #[cfg(feature = "gcp")]
            StoreError::Gcs(e) => e.is_retryable(),
            StoreError::Compose { source, .. } | StoreError::Read { source, .. } => {
                io_failure_is_retryable(source)
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the object (or its bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            #[cfg(feature = "aws")]
            StoreError::S3(e) => e.is_not_found(),
            #[cfg(feature = "gcp")]
            StoreError::Gcs(e) => matches!(e, GcsError::NotFound { .. }),
            StoreError::Local { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// Whether a read of one version failed because the object has changed since (S3 `412
    /// PreconditionFailed` to `If-Match`, GCS `412` to `ifGenerationMatch`).
    pub fn is_changed(&self) -> bool {
        match self {
            #[cfg(feature = "aws")]
            StoreError::S3(e) => e.is_changed(),
            #[cfg(feature = "gcp")]
            StoreError::Gcs(e) => matches!(e, GcsError::Changed { .. }),
            StoreError::Changed { .. } => true,
            _ => false,
        }
    }
}

/// Whether an I/O failure of a store's reader or writer may pass on a retry: the store says so
/// for its own errors (carried inside the `io::Error`); otherwise transport-like kinds are
/// retryable and the rest are not.
pub fn io_failure_is_retryable(e: &std::io::Error) -> bool {
    #[cfg(feature = "aws")]
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

/// Writes `bytes` as the whole object `bucket/key` (blocking): visible only once committed,
/// discarded on any error.
pub fn put_object(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    options: PutOptions,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let mut sink = store.write(bucket, key, options)?;
    sink.write_all(bytes).map_err(|source| StoreError::Local {
        path: key.into(),
        source,
    })?;
    sink.commit()
}

/// Runs `work` (blocking store calls: [`put_object`], [`get_object`], ...) on a blocking
/// thread, from async code; a task that panicked or was cancelled is [`StoreError::Task`].
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, as S3 reports it.
    pub last_modified: Option<std::time::SystemTime>,
}

/// Reads the whole object `bucket/key` (blocking): for small objects (queued jobs and
/// messages), never for inputs, which are streamed.
pub fn get_object(store: &dyn ObjectStore, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    store
        .read(bucket, key)?
        .read_to_end(&mut bytes)
        .map_err(|source| StoreError::Read {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
        })?;
    Ok(bytes)
}

/// Writes `plain` gzipped as the whole object `bucket/key`, with `Content-Encoding: gzip`
/// (blocking; see [`put_object`]).
pub fn put_gzipped(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    mut options: PutOptions,
    plain: &[u8],
) -> Result<(), StoreError> {
    let bytes = crate::format::compression::gzip(plain).map_err(|source| StoreError::Local {
        path: key.into(),
        source,
    })?;
    options.content_encoding = Some("gzip".into());
    put_object(store, bucket, key, options, &bytes)
}

/// One piece of an object put together by [`ObjectStore::compose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes given here (a gzip header or trailer: small).
    Bytes(Vec<u8>),
    /// Bytes `start..end` of a stored object (`0..size`: all of it).
    Object {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The first byte taken.
        start: u64,
        /// The end of the bytes taken (exclusive; at most the object's size).
        end: u64,
    },
}

/// A multipart upload of one object whose parts several writers upload (each chunk of a
/// fan-out uploads its own, by number), completed once from the parts' numbers and tags:
/// [`ObjectStore::open_upload`]. It names the upload, never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SharedUpload {
    /// The object's bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The store's name of the upload (S3: the upload id).
    pub id: String,
}

/// One part of a [`SharedUpload`] as stored: what completing the upload needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredPart {
    /// Its number (parts are joined in ascending numbers; numbers may have gaps).
    pub number: u32,
    /// Its size in bytes.
    pub size: u64,
    /// The store's tag of the part (S3: its ETag).
    pub tag: String,
}

/// The smallest part of a [`SharedUpload`] but its last (S3's minimum: 5 MiB).
pub const MIN_SHARED_PART: usize = 5 << 20;

/// The highest part number of a [`SharedUpload`] (S3's limit).
pub const MAX_PART_NUMBER: u32 = 10_000;

/// A stored object read by ranges, owned (it outlives the call that made it): how Parquet is
/// read in place ([`crate::format::byte_ranges::ByteRanges`]). Remembers whether a read failed in
/// a way a retry may cure.
struct StoredObject<S> {
    store: S,
    bucket: String,
    key: String,
    size: u64,
    /// The version read (every range is of this version: a change fails the read).
    version: Option<String>,
    retryable_failure: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Whether a read found the object changed.
    changed: std::sync::atomic::AtomicBool,
}

/// A reader that records whether it failed in a way a retry may cure.
struct RecordingReader {
    inner: Box<dyn Read + Send>,
    retryable_failure: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Read for RecordingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if io_failure_is_retryable(e) {
                self.retryable_failure
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        })
    }
}

impl<S: ObjectStore + Send + 'static> ByteRanges for StoredObject<S> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_range(&self, start: u64, end: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let reader = self
            .store
            .read_range(&self.bucket, &self.key, self.version.as_deref(), start, end)
            .map_err(|e| {
                if e.is_retryable() {
                    self.retryable_failure
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                if e.is_changed() {
                    self.changed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                std::io::Error::other(e)
            })?;
        Ok(Box::new(RecordingReader {
            inner: reader,
            retryable_failure: self.retryable_failure.clone(),
        }))
    }
    fn failed_retryably(&self) -> bool {
        self.retryable_failure
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    fn changed(&self) -> bool {
        self.changed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The version `info` describes of `bucket/key` of `store` (a clone) as [`ByteRanges`].
pub fn range_source<S: ObjectStore + Clone + Send + 'static>(
    store: &S,
    bucket: &str,
    key: &str,
    info: &ObjectInfo,
) -> std::sync::Arc<dyn ByteRanges> {
    std::sync::Arc::new(StoredObject {
        store: store.clone(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: info.size,
        version: info.version.clone(),
        retryable_failure: Default::default(),
        changed: Default::default(),
    })
}

/// Blocking object storage.
pub trait ObjectStore: Sync {
    /// The version `info` describes of `bucket/key` as owned [`ByteRanges`], when the store
    /// can read ranges on its own (`None`: the caller streams the object instead).
    fn range_source(
        &self,
        _bucket: &str,
        _key: &str,
        _info: &ObjectInfo,
    ) -> Option<std::sync::Arc<dyn ByteRanges>> {
        None
    }
    /// Metadata of an object.
    fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError>;
    /// A streaming reader of an object's bytes.
    fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError>;
    /// A streaming reader of the bytes `start..end` of an object (`end` past the object's end
    /// reads to its end). With a `version` (an [`ObjectInfo::version`]), of that version only:
    /// if the object has changed since, the read fails ([`StoreError::is_changed`]).
    fn read_range(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        start: u64,
        end: u64,
    ) -> Result<Box<dyn Read + Send>, StoreError>;
    /// The keys of the objects directly under `prefix` in `bucket` (not those in "folders"
    /// below it, nor a local store's hidden temporary files), in key order, at most `max`.
    fn list(&self, _bucket: &str, _prefix: &str, _max: usize) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Unsupported { operation: "list" })
    }
    /// Deletes an object; deleting one that does not exist succeeds.
    fn delete(&self, _bucket: &str, _key: &str) -> Result<(), StoreError> {
        Err(StoreError::Unsupported {
            operation: "delete",
        })
    }
    /// Writes `bucket/key` as the concatenation of `segments`, all or nothing. This default
    /// streams every stored segment through [`ObjectStore::write`]; S3 overrides it with
    /// server-side copies.
    fn compose(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
        segments: &[Segment],
    ) -> Result<(), StoreError> {
        let mut sink = self.write(bucket, key, options)?;
        let failed = |source: std::io::Error| StoreError::Compose {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
        };
        for segment in segments {
            match segment {
                Segment::Bytes(bytes) => sink.write_all(bytes).map_err(failed)?,
                Segment::Object {
                    bucket,
                    key,
                    start,
                    end,
                } => {
                    let mut reader = self.read_range(bucket, key, None, *start, *end)?;
                    std::io::copy(&mut reader, &mut sink).map_err(failed)?;
                }
            }
        }
        sink.commit()
    }
    /// Opens a [`SharedUpload`] of `bucket/key`: nothing is visible until
    /// [`complete_upload`](Self::complete_upload). `None` when the store has none (the fan-out
    /// then joins with [`compose`](Self::compose)).
    fn open_upload(
        &self,
        _bucket: &str,
        _key: &str,
        _options: PutOptions,
    ) -> Result<Option<SharedUpload>, StoreError> {
        Ok(None)
    }
    /// Stores `bytes` as part `number` of `upload` (replacing a part of that number).
    fn upload_part(
        &self,
        _upload: &SharedUpload,
        _number: u32,
        _bytes: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        Err(StoreError::Unsupported {
            operation: "upload_part",
        })
    }
    /// Makes `upload` the object: `parts` (ascending numbers) joined in order. Every part but
    /// the last must hold at least [`MIN_SHARED_PART`] bytes.
    fn complete_upload(
        &self,
        _upload: &SharedUpload,
        _parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        Err(StoreError::Unsupported {
            operation: "complete_upload",
        })
    }
    /// Discards `upload` and its parts; one already gone is not an error.
    fn abort_upload(&self, _upload: &SharedUpload) -> Result<(), StoreError> {
        Err(StoreError::Unsupported {
            operation: "abort_upload",
        })
    }
    /// A new object, visible only once committed.
    fn write(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
    ) -> Result<Box<dyn ObjectSink>, StoreError>;
}
