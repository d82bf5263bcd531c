//! S3: the client ([`client`]), listing ([`list`]), streaming reads ([`read`]), all-or-nothing multipart writes
//! ([`multipart`]), error classification ([`error`]), user metadata ([`metadata`]), and
//! [`S3Store`], the [`ObjectStore`] the bulk function uses.
//!
//! The async functions run on a tokio runtime. The blocking adapters (the reader of
//! [`get_object_reader`] and [`S3ObjectWriter`]) are meant for a blocking thread
//! (`spawn_blocking`), where the synchronous sanitizer runs; they drive their requests on the
//! runtime they were created in.

pub mod client;
pub mod compose;
pub mod error;
pub mod list;
pub mod metadata;
pub mod multipart;
pub mod read;
pub mod shared;

use std::io::Read;

use aws_sdk_s3::Client;
use tokio::runtime::Handle;

pub use client::{client_from_env, env_client, path_style, s3_client};
pub use error::S3Error;
pub use list::list_objects;
pub use multipart::{
    list_multipart_uploads, S3ObjectWriter, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PART_SIZE, MAX_PARTS,
    MIN_PART_SIZE,
};
pub use read::{get_object_reader, get_range_reader, head_object};

use super::{
    ObjectInfo, ObjectSink, ObjectStore, PutOptions, Segment, SharedUpload, StoreError, StoredPart,
};

/// S3 as an [`ObjectStore`]: `HeadObject`, a streaming `GetObject` and the multipart
/// [`S3ObjectWriter`]. Its methods block on `handle`: call them from a blocking thread
/// (`tokio::task::spawn_blocking`), never from an async task.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    handle: Handle,
    part_size: usize,
    max_in_flight: usize,
}

impl S3Store {
    /// A store over `client` that runs its requests on `handle`, writing
    /// [`DEFAULT_PART_SIZE`] parts with at most [`DEFAULT_MAX_IN_FLIGHT`] uploading at once.
    pub fn new(client: Client, handle: Handle) -> Self {
        S3Store {
            client,
            handle,
            part_size: DEFAULT_PART_SIZE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// Changes the part size (clamped to S3's 5 MiB minimum) and the parts in flight; memory
    /// held by one output is at most about `(max_in_flight + 1) * part_size`.
    pub fn with_parts(mut self, part_size: usize, max_in_flight: usize) -> Self {
        self.part_size = part_size;
        self.max_in_flight = max_in_flight;
        self
    }

    /// The client in use.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl ObjectStore for S3Store {
    fn range_source(
        &self,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
    ) -> Option<std::sync::Arc<dyn crate::format::byte_ranges::ByteRanges>> {
        Some(super::range_source(self, bucket, key, info))
    }

    fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        Ok(self
            .handle
            .block_on(head_object(&self.client, bucket, key))?)
    }

    fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let (_, reader) = self
            .handle
            .block_on(get_object_reader(&self.client, bucket, key))?;
        Ok(reader)
    }

    fn read_range(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        start: u64,
        end: u64,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let (_, reader) = self.handle.block_on(get_range_reader(
            &self.client,
            bucket,
            key,
            Some((start, end)),
            version,
        ))?;
        Ok(reader)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        Ok(self
            .handle
            .block_on(compose::delete_object(&self.client, bucket, key))?)
    }

    fn compose(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
        segments: &[Segment],
    ) -> Result<(), StoreError> {
        Ok(self.handle.block_on(compose::compose(
            &self.client,
            bucket,
            key,
            &options,
            segments,
        ))?)
    }

    fn open_upload(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
    ) -> Result<Option<SharedUpload>, StoreError> {
        let opened = self
            .handle
            .block_on(shared::open(&self.client, bucket, key, &options))?;
        Ok(Some(opened))
    }

    fn upload_part(
        &self,
        upload: &SharedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        Ok(self
            .handle
            .block_on(shared::upload_part(&self.client, upload, number, bytes))?)
    }

    fn complete_upload(
        &self,
        upload: &SharedUpload,
        parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        Ok(self
            .handle
            .block_on(shared::complete(&self.client, upload, parts))?)
    }

    fn abort_upload(&self, upload: &SharedUpload) -> Result<(), StoreError> {
        Ok(self.handle.block_on(shared::abort(&self.client, upload))?)
    }

    fn write(
        &self,
        bucket: &str,
        key: &str,
        options: PutOptions,
    ) -> Result<Box<dyn ObjectSink>, StoreError> {
        Ok(Box::new(S3Sink(S3ObjectWriter::new(
            self.handle.clone(),
            self.client.clone(),
            bucket.to_owned(),
            key.to_owned(),
            options,
            self.part_size,
            self.max_in_flight,
        ))))
    }
}

/// An output object on S3: parts upload while it is written; committing completes the upload,
/// dropping it uncommitted aborts it.
struct S3Sink(S3ObjectWriter);

impl std::io::Write for S3Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl ObjectSink for S3Sink {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.0.finish()?)
    }
}
