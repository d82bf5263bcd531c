//! Reading objects: their metadata, and a streaming read whose body is pulled through a
//! blocking `Read`. Reads ask for the stored bytes (no decompressive transcoding): a
//! gzip-encoded object is read as gzip, and the sanitizer detects it by its magic bytes.

use std::io::{self, Read};

use bytes::Bytes;
use google_cloud_storage::client::Storage;
use google_cloud_storage::model_ext::{ObjectHighlights, ReadRange};
use google_cloud_storage::read_object::ReadObjectResponse;
use tokio::runtime::Handle;

use super::error::{classify, GcsError};
use super::{bucket_path, metadata::received_metadata};
use crate::storage::ObjectInfo;

/// Opens a streaming read of `bucket/key` (the client library resumes an interrupted read
/// where it stopped).
pub async fn open(
    client: &Storage,
    bucket: &str,
    key: &str,
) -> Result<ReadObjectResponse, GcsError> {
    open_range(client, bucket, key, None, None).await
}

/// As [`open`], for the bytes `start..end` only when `range` is given, and of the generation
/// `version` only when it is given (`ifGenerationMatch`: a changed object fails with
/// [`GcsError::Changed`]).
pub async fn open_range(
    client: &Storage,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
    version: Option<&str>,
) -> Result<ReadObjectResponse, GcsError> {
    let mut request = client
        .read_object(bucket_path(bucket), key)
        .with_automatic_decompression(false);
    if let Some(version) = version {
        let generation: i64 = version.parse().map_err(|_| GcsError::Changed {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })?;
        request = request.set_if_generation_match(generation);
    }
    if let Some((start, end)) = range {
        request = request.set_read_range(ReadRange::segment(start, end.saturating_sub(start)));
    }
    request
        .send()
        .await
        .map_err(|e| classify("read", bucket, key, &e))
}

/// The metadata of the object a read is streaming.
pub fn object_info(object: &ObjectHighlights) -> ObjectInfo {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ObjectInfo {
        content_type: text(&object.content_type),
        content_encoding: text(&object.content_encoding),
        metadata: received_metadata(&object.metadata),
        size: u64::try_from(object.size).unwrap_or(0),
        version: (object.generation != 0).then(|| object.generation.to_string()),
    }
}

/// A blocking reader over a streaming read. It blocks on the runtime of `handle`: read it from
/// a blocking thread (`tokio::task::spawn_blocking`), never from an async task. Its errors are
/// `io::Error`s holding a [`GcsError`].
pub struct ObjectReader {
    response: ReadObjectResponse,
    chunk: Bytes,
    handle: Handle,
    bucket: String,
    key: String,
}

impl ObjectReader {
    /// A reader over `response`, which reads `bucket/key`.
    pub fn new(response: ReadObjectResponse, handle: Handle, bucket: &str, key: &str) -> Self {
        ObjectReader {
            response,
            chunk: Bytes::new(),
            handle,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.chunk.is_empty() {
            match self.handle.block_on(self.response.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    return Err(classify("read", &self.bucket, &self.key, &e).into_io_error())
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
