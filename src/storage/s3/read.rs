//! Reading objects: `HeadObject`, and a streaming `GetObject` whose body is read through a
//! blocking `Read`.

use std::collections::HashMap;
use std::io::{self, Read};

use aws_sdk_s3::Client;
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use super::error::classify;
use super::metadata::received_metadata;
use super::S3Error;
use crate::error_text::error_chain;
use crate::storage::ObjectInfo;

/// Reads an object's metadata (a `HeadObject` request).
pub async fn head_object(client: &Client, bucket: &str, key: &str) -> Result<ObjectInfo, S3Error> {
    let out = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify("HeadObject", bucket, key, e))?;
    Ok(object_head(
        out.content_type(),
        out.content_encoding(),
        out.metadata(),
        out.content_length(),
        out.e_tag(),
    ))
}

/// The head of an object from the fields a `HeadObject` or `GetObject` answer carries.
fn object_head(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    metadata: Option<&HashMap<String, String>>,
    content_length: Option<i64>,
    e_tag: Option<&str>,
) -> ObjectInfo {
    ObjectInfo {
        content_type: content_type.map(str::to_owned),
        content_encoding: content_encoding.map(str::to_owned),
        metadata: received_metadata(metadata),
        size: content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        version: e_tag.map(str::to_owned),
    }
}

/// Streams an object: returns its head and a blocking `Read` over its body, which pulls the
/// body from the connection as it is read (a `SyncIoBridge` over the body's `AsyncRead`) and
/// never holds the whole object.
///
/// The reader blocks on the runtime this function ran on: read it from a blocking thread
/// (`tokio::task::spawn_blocking`), never from an async task (reading there panics). Errors
/// while reading are `io::Error`s holding a [`S3Error::Body`] (see
/// [`S3Error::from_io_error`]). The body is raw: a gzip-encoded object is read as gzip.
pub async fn get_object_reader(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<(ObjectInfo, Box<dyn Read + Send>), S3Error> {
    get_range_reader(client, bucket, key, None, None).await
}

/// As [`get_object_reader`], for the bytes `start..end` only when `range` is given (a `Range`
/// header; `end` past the object's end reads to its end; the head's size is then the length
/// of the range), and of the version with ETag `version` only when it is given (`If-Match`:
/// a changed object fails with [`S3Error::is_changed`]).
pub async fn get_range_reader(
    client: &Client,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
    version: Option<&str>,
) -> Result<(ObjectInfo, Box<dyn Read + Send>), S3Error> {
    if let Some((start, end)) = range {
        if end <= start {
            return Ok((ObjectInfo::default(), Box::new(io::empty())));
        }
    }
    let handle = Handle::try_current().map_err(|_| S3Error::Other {
        operation: "GetObject",
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        detail: "not running on a tokio runtime".into(),
    })?;
    let request = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_if_match(version.map(str::to_owned));
    let out = match range {
        None => request.send().await,
        Some((start, end)) => {
            ranged(request.range(format!("bytes={start}-{}", end - 1)))
                .send()
                .await
        }
    }
    .map_err(|e| classify("GetObject", bucket, key, e))?;
    let head = object_head(
        out.content_type(),
        out.content_encoding(),
        out.metadata(),
        out.content_length(),
        out.e_tag(),
    );
    let reader = BodyReader {
        inner: SyncIoBridge::new_with_handle(out.body.into_async_read(), handle),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    Ok((head, Box::new(reader)))
}

/// A blocking reader over an object's body that names the object in its errors.
struct BodyReader<R> {
    inner: R,
    bucket: String,
    key: String,
}

impl<R: Read> Read for BodyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            io::Error::new(
                kind,
                S3Error::Body {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    detail: error_chain(&e),
                },
            )
        })
    }
}

/// A ranged `GetObject`: the object's whole checksum, which some servers send with a part of
/// it, cannot check a part, so the SDK is told not to try (S3 itself sends none for a range).
pub(super) fn ranged(
    request: aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder,
) -> aws_sdk_s3::client::customize::CustomizableOperation<
    aws_sdk_s3::operation::get_object::GetObjectOutput,
    aws_sdk_s3::operation::get_object::GetObjectError,
    aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder,
> {
    request.customize().config_override(
        aws_sdk_s3::config::Builder::default().response_checksum_validation(
            aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
        ),
    )
}
