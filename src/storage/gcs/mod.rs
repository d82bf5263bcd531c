//! Google Cloud Storage: the client ([`client`]), streaming reads ([`read`]), all-or-nothing
//! resumable writes ([`upload`]), error classification ([`error`]), custom metadata
//! ([`metadata`]), listing and deleting over the JSON API ([`objects`]), and [`GcsStore`], the [`ObjectStore`] the Cloud Run bulk service uses. Built
//! on Google's official client library (`google-cloud-storage`).
//!
//! The blocking adapters are meant for a blocking thread (`spawn_blocking`), where the
//! synchronous sanitizer runs; they drive their requests on the runtime they were made in.

pub mod client;
pub mod error;
pub mod metadata;
pub mod objects;
pub mod read;
pub mod upload;

use std::io::Read;

use google_cloud_storage::client::Storage;
use tokio::runtime::Handle;

pub use client::{storage_client, ClientError, EMULATOR_HOST};
pub use error::GcsError;
pub use objects::GcsObjects;
pub use upload::ResumableWriter;

use super::{ObjectInfo, ObjectSink, ObjectStore, PutOptions, StoreError};

/// The client library's name for a bucket: `projects/_/buckets/<name>`.
pub(crate) fn bucket_path(bucket: &str) -> String {
    format!("projects/_/buckets/{bucket}")
}

/// The client library's default upload piece (8 MiB): a multiple of GCS's 256 KiB.
pub const DEFAULT_UPLOAD_BUFFER: usize = 8 * 1024 * 1024;

/// GCS as an [`ObjectStore`]. Its methods block on `handle`: call them from a blocking thread,
/// never from an async task.
#[derive(Clone)]
pub struct GcsStore {
    client: Storage,
    handle: Handle,
    upload_buffer: usize,
    objects: Option<GcsObjects>,
}

impl GcsStore {
    /// A store over `client` that runs its requests on `handle`.
    pub fn new(client: Storage, handle: Handle) -> Self {
        GcsStore {
            client,
            handle,
            upload_buffer: DEFAULT_UPLOAD_BUFFER,
            objects: None,
        }
    }

    /// Lets the store list and delete objects, through `objects`.
    pub fn with_objects(mut self, objects: GcsObjects) -> Self {
        self.objects = Some(objects);
        self
    }

    fn objects(&self, operation: &'static str) -> Result<&GcsObjects, StoreError> {
        self.objects
            .as_ref()
            .ok_or(StoreError::Unsupported { operation })
    }

    /// Changes the size of the pieces uploads send (rounded up to a multiple of 256 KiB);
    /// memory held by one output is about this plus four 1 MiB chunks.
    pub fn with_upload_buffer(mut self, bytes: usize) -> Self {
        const QUANTUM: usize = 256 * 1024;
        self.upload_buffer = bytes.max(1).div_ceil(QUANTUM) * QUANTUM;
        self
    }
}

impl ObjectStore for GcsStore {
    fn range_source(
        &self,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
    ) -> Option<std::sync::Arc<dyn crate::format::byte_ranges::ByteRanges>> {
        Some(super::range_source(self, bucket, key, info))
    }

    fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        // The storage client has no metadata-only call over HTTP: open the read, keep its
        // metadata, and close it before the body is read.
        let response = self
            .handle
            .block_on(read::open(&self.client, bucket, key))?;
        Ok(read::object_info(&response.object()))
    }

    fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let response = self
            .handle
            .block_on(read::open(&self.client, bucket, key))?;
        Ok(Box::new(read::ObjectReader::new(
            response,
            self.handle.clone(),
            bucket,
            key,
        )))
    }

    fn read_range(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        start: u64,
        end: u64,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        if end <= start {
            return Ok(Box::new(std::io::empty()));
        }
        let response = self.handle.block_on(read::open_range(
            &self.client,
            bucket,
            key,
            Some((start, end)),
            version,
        ))?;
        Ok(Box::new(read::ObjectReader::new(
            response,
            self.handle.clone(),
            bucket,
            key,
        )))
    }

    fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<String>, StoreError> {
        let objects = self.objects("list")?;
        Ok(self.handle.block_on(objects.list(bucket, prefix, max))?)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let objects = self.objects("delete")?;
        Ok(self.handle.block_on(objects.delete(bucket, key))?)
    }

    fn write(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
    ) -> Result<Box<dyn ObjectSink>, StoreError> {
        Ok(Box::new(GcsSink(ResumableWriter::new(
            self.handle.clone(),
            self.client.clone(),
            bucket,
            key,
            options,
            self.upload_buffer,
        ))))
    }
}

/// An output object on GCS: uploads while it is written; committing finalizes the object,
/// dropping it uncommitted abandons the upload.
struct GcsSink(ResumableWriter);

impl std::io::Write for GcsSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl ObjectSink for GcsSink {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.0.finish()?)
    }
}
