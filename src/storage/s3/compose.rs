//! Putting one object together from stored pieces, server-side: a multipart upload whose parts
//! are copies of the pieces (`UploadPartCopy`), completed only when every part is in and
//! aborted on any failure. Small pieces (under S3's 5 MiB part minimum) and inline bytes are
//! gathered into uploaded parts, so any sizes compose; large pieces never pass through here.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use aws_sdk_s3::Client;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::task::JoinSet;

use super::error::classify;
use super::metadata::metadata;
use super::multipart::MIN_PART_SIZE;
use super::shared;
use super::S3Error;
use crate::storage::{PutOptions, Segment};

/// Largest range copied into one part (S3 allows 5 GiB).
const MAX_COPY: u64 = 4 << 30;
/// Parts sent at once.
const PARTS_IN_FLIGHT: usize = 8;

/// Characters of a key kept as they are in `x-amz-copy-source` (everything else is encoded).
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where one part's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PartSource {
    /// A byte range `start..end` of a stored object, copied by S3.
    Copy {
        bucket: String,
        key: String,
        start: u64,
        end: u64,
    },
    /// Bytes uploaded from here.
    Upload(Vec<u8>),
}

/// Deletes `bucket/key`; a missing object is not an error.
pub async fn delete_object(client: &Client, bucket: &str, key: &str) -> Result<(), S3Error> {
    match client.delete_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchKey") => Ok(()),
        Err(e) => Err(classify("DeleteObject", bucket, key, e)),
    }
}

/// Writes `bucket/key` as the concatenation of `segments` with one multipart upload; nothing
/// is visible unless every part succeeded. An empty concatenation (which no multipart upload
/// can complete: it needs a part) is written with one `PutObject` of no bytes.
pub async fn compose(
    client: &Client,
    bucket: &str,
    key: &str,
    options: &PutOptions,
    segments: &[Segment],
) -> Result<(), S3Error> {
    let empty = segments.iter().all(|s| match s {
        Segment::Bytes(bytes) => bytes.is_empty(),
        Segment::Object { start, end, .. } => end <= start,
    });
    if empty {
        return client
            .put_object()
            .bucket(bucket)
            .key(key)
            .set_content_type(options.content_type.clone())
            .set_content_encoding(options.content_encoding.clone())
            .set_metadata(metadata(&options.metadata))
            .body(ByteStream::from_static(b""))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutObject", bucket, key, e));
    }
    let upload = shared::open(client, bucket, key, options).await?;
    let result = upload_parts(client, bucket, key, &upload.id, segments).await;
    let result = match result {
        Ok(parts) => shared::complete_parts(client, &upload, parts).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        if let Err(e) = shared::abort(client, &upload).await {
            tracing::warn!(error = %e, "could not abort the composing upload");
        }
    }
    result
}

/// Plans the parts and sends them, at most [`PARTS_IN_FLIGHT`] at once; returns them in order.
/// On a failure, the parts still being sent are waited for before it returns, so that the
/// upload's abort comes after them (a part that lands after an abort would be kept).
async fn upload_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    segments: &[Segment],
) -> Result<Vec<CompletedPart>, S3Error> {
    let mut tasks = JoinSet::new();
    let result = send_parts(client, bucket, key, upload_id, segments, &mut tasks).await;
    if result.is_err() {
        while tasks.join_next().await.is_some() {}
    }
    result
}

/// The body of [`upload_parts`]: sends every part through `tasks`.
async fn send_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    segments: &[Segment],
    tasks: &mut JoinSet<Result<CompletedPart, S3Error>>,
) -> Result<Vec<CompletedPart>, S3Error> {
    let mut done = Vec::new();
    let mut number = 0i32;
    let mut planner = PartPlanner::default();
    let mut send = |source: PartSource, tasks: &mut JoinSet<_>| {
        number += 1;
        let (client, bucket, key, upload_id) = (
            client.clone(),
            bucket.to_owned(),
            key.to_owned(),
            upload_id.to_owned(),
        );
        let part = number;
        tasks.spawn(
            async move { send_part(&client, &bucket, &key, &upload_id, part, source).await },
        );
    };
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        for step in planner.add(segment, last) {
            let source = match step {
                Step::Part(source) => source,
                Step::Fetch {
                    bucket: b,
                    key: k,
                    start,
                    end,
                } => {
                    let bytes = fetch(client, &b, &k, start, end).await?;
                    match planner.fetched(bytes) {
                        Some(source) => source,
                        None => continue,
                    }
                }
            };
            while tasks.len() >= PARTS_IN_FLIGHT {
                done.push(joined(tasks.join_next().await, bucket, key)?);
            }
            send(source, tasks);
        }
    }
    if let Some(source) = planner.finish() {
        send(source, tasks);
    }
    while let Some(result) = tasks.join_next().await {
        done.push(joined(Some(result), bucket, key)?);
    }
    done.sort_by_key(|p| p.part_number());
    Ok(done)
}

fn joined(
    result: Option<Result<Result<CompletedPart, S3Error>, tokio::task::JoinError>>,
    bucket: &str,
    key: &str,
) -> Result<CompletedPart, S3Error> {
    match result {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(S3Error::Other {
            operation: "UploadPartCopy",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            // Not the panic's message: it is not ours to show.
            detail: if e.is_panic() {
                "part task panicked".into()
            } else {
                "part task cancelled".into()
            },
        }),
        None => Err(S3Error::Other {
            operation: "UploadPartCopy",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            detail: "no part task".into(),
        }),
    }
}

/// Reads `start..end` of an object into memory (at most one part's worth).
async fn fetch(
    client: &Client,
    bucket: &str,
    key: &str,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, S3Error> {
    let request = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(format!("bytes={start}-{}", end - 1));
    let out = super::read::ranged(request)
        .send()
        .await
        .map_err(|e| classify("GetObject", bucket, key, e))?;
    let body = out.body.collect().await.map_err(|e| S3Error::Body {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(body.into_bytes().to_vec())
}

async fn send_part(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    source: PartSource,
) -> Result<CompletedPart, S3Error> {
    let e_tag = match source {
        PartSource::Upload(bytes) => client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| classify("UploadPart", bucket, key, e))?
            .e_tag()
            .map(str::to_owned),
        PartSource::Copy {
            bucket: from_bucket,
            key: from_key,
            start,
            end,
        } => client
            .upload_part_copy()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(format!(
                "{from_bucket}/{}",
                utf8_percent_encode(&from_key, KEY_SAFE)
            ))
            .copy_source_range(format!("bytes={start}-{}", end - 1))
            .send()
            .await
            .map_err(|e| classify("UploadPartCopy", bucket, key, e))?
            .copy_part_result()
            .and_then(|r| r.e_tag())
            .map(str::to_owned),
    };
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(e_tag)
        .build())
}

/// What the planner needs next.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Send this part.
    Part(PartSource),
    /// Read these bytes and hand them to [`PartPlanner::fetched`].
    Fetch {
        bucket: String,
        key: String,
        start: u64,
        end: u64,
    },
}

/// Turns segments into parts: stored ranges of at least 5 MiB are copied, everything smaller
/// is gathered (in order) into uploaded parts of at least 5 MiB. Only the last part may be
/// smaller, as S3 requires.
#[derive(Debug, Default)]
struct PartPlanner {
    pending: Vec<u8>,
}

impl PartPlanner {
    fn add(&mut self, segment: &Segment, last: bool) -> Vec<Step> {
        let min = MIN_PART_SIZE as u64;
        let mut steps = Vec::new();
        match segment {
            Segment::Bytes(bytes) => {
                self.pending.extend_from_slice(bytes);
                if self.pending.len() as u64 >= min {
                    steps.push(Step::Part(PartSource::Upload(std::mem::take(
                        &mut self.pending,
                    ))));
                }
            }
            Segment::Object {
                bucket,
                key,
                start: first,
                end: size,
            } => {
                let fetch = |start, end| Step::Fetch {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    start,
                    end,
                };
                let size = size.max(first);
                let mut offset = *first;
                if !self.pending.is_empty() {
                    // Top the gathered bytes up to a whole part from this segment's start.
                    offset = (first + (min - self.pending.len() as u64)).min(*size);
                    if offset > *first {
                        steps.push(fetch(*first, offset));
                    }
                }
                let rest = size - offset;
                if rest == 0 {
                    return steps;
                }
                if rest >= min || (last && self.pending.is_empty() && offset == *first) {
                    let pieces = rest.div_ceil(MAX_COPY);
                    let piece = rest.div_ceil(pieces);
                    let mut start = offset;
                    while start < *size {
                        let end = (start + piece).min(*size);
                        steps.push(Step::Part(PartSource::Copy {
                            bucket: bucket.clone(),
                            key: key.clone(),
                            start,
                            end,
                        }));
                        start = end;
                    }
                } else {
                    steps.push(fetch(offset, *size));
                }
            }
        }
        steps
    }

    /// Takes fetched bytes; a part when they complete one.
    fn fetched(&mut self, bytes: Vec<u8>) -> Option<PartSource> {
        self.pending.extend_from_slice(&bytes);
        (self.pending.len() >= MIN_PART_SIZE)
            .then(|| PartSource::Upload(std::mem::take(&mut self.pending)))
    }

    /// The last part, from what is left.
    fn finish(&mut self) -> Option<PartSource> {
        (!self.pending.is_empty()).then(|| PartSource::Upload(std::mem::take(&mut self.pending)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn object(name: &str, size: u64) -> Segment {
        Segment::Object {
            bucket: "b".into(),
            key: name.into(),
            start: 0,
            end: size,
        }
    }

    /// Runs the planner with fetches answered by zero bytes; returns the part sizes and whether
    /// each was copied.
    fn plan(segments: &[Segment]) -> Vec<(u64, bool)> {
        let mut planner = PartPlanner::default();
        let mut parts = Vec::new();
        let mut push = |p: PartSource| match p {
            PartSource::Copy { start, end, .. } => parts.push((end - start, true)),
            PartSource::Upload(b) => parts.push((b.len() as u64, false)),
        };
        for (i, s) in segments.iter().enumerate() {
            for step in planner.add(s, i + 1 == segments.len()) {
                match step {
                    Step::Part(p) => push(p),
                    Step::Fetch { start, end, .. } => {
                        if let Some(p) = planner.fetched(vec![0; (end - start) as usize]) {
                            push(p)
                        }
                    }
                }
            }
        }
        if let Some(p) = planner.finish() {
            push(p);
        }
        parts
    }

    #[test]
    fn large_pieces_are_copied_small_ones_gathered() {
        let parts = plan(&[
            object("a", 20 * MIB),
            object("b", 30 * MIB),
            object("c", MIB),
        ]);
        assert_eq!(parts, vec![(20 * MIB, true), (30 * MIB, true), (MIB, true)]);
        // A gzip header before, a trailer after: the first part gathers the header and the
        // start of `a`; the trailer joins the small last object.
        let parts = plan(&[
            Segment::Bytes(vec![0; 10]),
            object("a", 20 * MIB),
            object("b", 2 * MIB),
            Segment::Bytes(vec![0; 10]),
        ]);
        assert_eq!(
            parts,
            vec![
                (5 * MIB, false),
                (15 * MIB + 10, true),
                (2 * MIB + 10, false)
            ]
        );
        // Small pieces in a row make parts of at least 5 MiB.
        let parts = plan(&[
            object("a", 3 * MIB),
            object("b", 3 * MIB),
            object("c", 3 * MIB),
        ]);
        assert_eq!(parts, vec![(5 * MIB, false), (4 * MIB, false)]);
        let total: u64 = parts.iter().map(|p| p.0).sum();
        assert_eq!(total, 9 * MIB);
        // Every part but the last is at least 5 MiB, whatever the sizes.
        for sizes in [[1, 9, 1, 6], [5, 5, 5, 1], [0, 7, 0, 3], [4, 1, 20, 2]] {
            let segments: Vec<_> = sizes.iter().map(|s| object("x", s * MIB + 7)).collect();
            let parts = plan(&segments);
            let total: u64 = parts.iter().map(|p| p.0).sum();
            assert_eq!(total, sizes.iter().map(|s| s * MIB + 7).sum::<u64>());
            for p in &parts[..parts.len() - 1] {
                assert!(p.0 >= 5 * MIB, "{sizes:?}: {parts:?}");
            }
        }
    }

    #[test]
    fn a_segment_can_start_inside_its_object() {
        // Bytes 4.. of each object (a Parquet part without its magic): copied from there, or
        // fetched from there when gathered.
        let mut planner = PartPlanner::default();
        let segment = |size| Segment::Object {
            bucket: "b".into(),
            key: "k".into(),
            start: 4,
            end: size,
        };
        let steps = planner.add(&segment(8 * MIB), false);
        assert_eq!(
            steps,
            vec![Step::Part(PartSource::Copy {
                bucket: "b".into(),
                key: "k".into(),
                start: 4,
                end: 8 * MIB
            })]
        );
        assert_eq!(
            planner.add(&Segment::Bytes(vec![1]), false),
            Vec::<Step>::new()
        );
        let steps = planner.add(&segment(8 * MIB), true);
        assert_eq!(
            steps[0],
            Step::Fetch {
                bucket: "b".into(),
                key: "k".into(),
                start: 4,
                end: 4 + 5 * MIB - 1
            }
        );
        // Nothing taken from an empty range.
        assert!(PartPlanner::default().add(&segment(4), true).is_empty());
    }

    #[test]
    fn copy_source_keys_are_encoded() {
        assert_eq!(
            utf8_percent_encode("fanout/a b/part+1.csv", KEY_SAFE).to_string(),
            "fanout/a%20b/part%2B1.csv"
        );
    }
}
