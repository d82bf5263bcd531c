//! Multipart uploads that several writers fill ([`crate::storage::SharedUpload`]): opened
//! once, each part uploaded by whoever holds its bytes (the fan-out's chunks upload their
//! parts straight into the output's upload), completed once from the parts' numbers and
//! ETags, or aborted.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::error::classify;
use super::metadata::metadata;
use super::S3Error;
use crate::storage::{PutOptions, SharedUpload, StoredPart};

/// Opens a multipart upload of `bucket/key` with the object's type, encoding and metadata.
pub async fn open(
    client: &Client,
    bucket: &str,
    key: &str,
    options: &PutOptions,
) -> Result<SharedUpload, S3Error> {
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .set_content_type(options.content_type.clone())
        .set_content_encoding(options.content_encoding.clone())
        .set_metadata(metadata(&options.metadata))
        .send()
        .await
        .map_err(|e| classify("CreateMultipartUpload", bucket, key, e))?;
    let id = created
        .upload_id()
        .map(str::to_owned)
        .ok_or_else(|| S3Error::Other {
            operation: "CreateMultipartUpload",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            detail: "no upload id returned".into(),
        })?;
    Ok(SharedUpload {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        id,
    })
}

/// Uploads `bytes` as part `number` of `upload`.
pub async fn upload_part(
    client: &Client,
    upload: &SharedUpload,
    number: u32,
    bytes: Vec<u8>,
) -> Result<StoredPart, S3Error> {
    let size = bytes.len() as u64;
    let (bucket, key) = (&upload.bucket, &upload.key);
    let sent = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload.id)
        .part_number(part_number(number))
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| classify("UploadPart", bucket, key, e))?;
    let tag = sent.e_tag().ok_or_else(|| S3Error::Other {
        operation: "UploadPart",
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        detail: "no ETag returned".into(),
    })?;
    Ok(StoredPart {
        number,
        size,
        tag: tag.to_owned(),
    })
}

/// Completes `upload` from `parts` (ascending numbers).
pub async fn complete(
    client: &Client,
    upload: &SharedUpload,
    parts: &[StoredPart],
) -> Result<(), S3Error> {
    let parts = parts
        .iter()
        .map(|p| {
            CompletedPart::builder()
                .part_number(part_number(p.number))
                .e_tag(&p.tag)
                .build()
        })
        .collect();
    complete_parts(client, upload, parts).await
}

/// Completes `upload` from `parts` as S3 answered them (ascending numbers).
pub(super) async fn complete_parts(
    client: &Client,
    upload: &SharedUpload,
    parts: Vec<CompletedPart>,
) -> Result<(), S3Error> {
    client
        .complete_multipart_upload()
        .bucket(&upload.bucket)
        .key(&upload.key)
        .upload_id(&upload.id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify("CompleteMultipartUpload", &upload.bucket, &upload.key, e))
}

/// Aborts `upload`; one already completed or aborted (`NoSuchUpload`) is not an error.
pub async fn abort(client: &Client, upload: &SharedUpload) -> Result<(), S3Error> {
    match client
        .abort_multipart_upload()
        .bucket(&upload.bucket)
        .key(&upload.key)
        .upload_id(&upload.id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchUpload") => Ok(()),
        Err(e) => Err(classify(
            "AbortMultipartUpload",
            &upload.bucket,
            &upload.key,
            e,
        )),
    }
}

/// S3's part number (1..=10 000 fits).
fn part_number(number: u32) -> i32 {
    i32::try_from(number).unwrap_or(i32::MAX)
}
