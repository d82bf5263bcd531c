//! The join: the parts put together into the output in one all-or-nothing write, and the
//! work objects deleted; the abort: the work objects deleted after a failure.

use std::io::Read;

use serde::Serialize;

use super::plan::{failure, in_parallel, target_of, ChunkReport};
use super::{part_key, plan_key, summary_key, FanoutError, FanoutProblem, Job};
use crate::bulk::{BulkProblem, BulkProcessor};
use crate::format::gzip_chunks::{gzip_header, gzip_trailer, DeflateChunk, DeflateSummary};
use crate::format::parquet_join::{joined_tail, ParquetPart};
use crate::format::DataFormat;
use crate::storage::{ObjectInfo, ObjectStore, Segment};

/// The output a join wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Joined {
    /// Output bucket.
    pub bucket: String,
    /// Output key.
    pub key: String,
    /// Rows or records written.
    pub rows: u64,
    /// Chunks joined.
    pub chunks: u64,
}

/// Joins the parts of `job` into its output (the output key, type, encoding and metadata of a
/// whole run), then deletes its work objects. A gzip output is one gzip member: the parts are
/// deflate bodies, framed by a header and a trailer with the combined CRC-32.
pub fn join(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    job: &Job,
) -> Result<Joined, FanoutError> {
    let fail = failure(job, None);
    let plan = job
        .plan
        .as_ref()
        .ok_or_else(|| fail(FanoutProblem::NoPlan))?;
    let info = store
        .info(&job.bucket, &job.key)
        .map_err(|e| fail(e.into()))?;
    if plan.version.is_some() && info.version != plan.version {
        // The new version's own run writes the output; writing this one's would overwrite it.
        return Err(fail(FanoutProblem::Changed));
    }
    let (target, _, output) = target_of(processor, job, &info).map_err(&fail)?;
    let array = output == DataFormat::JsonArray;
    // Each Parquet part is a whole file of its row groups: the join keeps their data and
    // writes one footer for all.
    let parquet = output == DataFormat::Parquet;
    let mut parts = Vec::new();
    let mut out = Output {
        segments: Vec::new(),
        bodies: Vec::new(),
        gzip: target.gzip,
    };
    let mut rows = 0;
    if target.gzip {
        out.segments.push(Segment::Bytes(gzip_header().to_vec()));
    }
    // A JSON array's chunks wrote their elements only: the join writes what is around and
    // between them, as a whole run writes it.
    if array {
        out.bytes(b"[").map_err(|e| fail(FanoutProblem::Io(e)))?;
    }
    for index in 0..plan.chunks {
        let fail = failure(job, Some(index));
        let summary = read_summary(store, &plan.bucket, &summary_key(job, index))
            .map_err(|p| match p {
                FanoutProblem::Store(e) if e.is_not_found() => FanoutProblem::PartMissing,
                other => other,
            })
            .map_err(&fail)?;
        let key = part_key(job, index);
        let part = store.info(&plan.bucket, &key).map_err(|e| fail(e.into()))?;
        let mismatch = if summary.index != index {
            Some("the summary is of another chunk")
        } else if summary.bytes_out != part.size {
            Some("the part's size is not the size the chunk wrote")
        } else if summary.deflate.is_some() != target.gzip {
            Some("the part's encoding is not the output's (gzip or not)")
        } else {
            None
        };
        if let Some(why) = mismatch {
            return Err(fail(FanoutProblem::PartMismatch(why)));
        }
        if array && summary.rows > 0 {
            let between: &[u8] = if rows == 0 { b"\n" } else { b",\n" };
            out.bytes(between).map_err(|e| fail(FanoutProblem::Io(e)))?;
        }
        rows += summary.rows;
        if let Some(body) = summary.deflate {
            out.bodies.push(body);
        }
        if parquet {
            parts.push((key, part));
        } else {
            out.segments.push(Segment::Object {
                bucket: plan.bucket.clone(),
                key,
                start: 0,
                end: part.size,
            });
        }
    }
    if parquet {
        let (segments, tail) = parquet_parts(store, job, &plan.bucket, &parts)?;
        out.segments.extend(segments);
        out.segments.push(Segment::Bytes(tail));
    }
    if array {
        let end: &[u8] = if rows == 0 { b"]\n" } else { b"\n]\n" };
        out.bytes(end).map_err(|e| fail(FanoutProblem::Io(e)))?;
    }
    if target.gzip {
        out.segments.push(Segment::Bytes(gzip_trailer(&out.bodies)));
    }
    store
        .compose(
            &target.bucket,
            &target.key,
            target.put.clone(),
            &out.segments,
        )
        .map_err(|source| {
            fail(
                BulkProblem::Complete {
                    bucket: target.bucket.clone(),
                    key: target.key.clone(),
                    source,
                }
                .into(),
            )
        })?;
    clean(store, job, &plan.bucket, plan.chunks);
    Ok(Joined {
        bucket: target.bucket,
        key: target.key,
        rows,
        chunks: plan.chunks,
    })
}

/// The pieces of a Parquet output made of `parts` (key, stored part): each part's data, read
/// in place, and the joined file's tail. The parts' footers are read in parallel.
fn parquet_parts(
    store: &dyn ObjectStore,
    job: &Job,
    bucket: &str,
    parts: &[(String, ObjectInfo)],
) -> Result<(Vec<Segment>, Vec<u8>), FanoutError> {
    let indexes: Vec<u64> = (0..parts.len() as u64).collect();
    let read = in_parallel(&indexes, |i| {
        let (key, info) = &parts[i as usize];
        let object = store
            .range_source(bucket, key, info)
            .ok_or(FanoutProblem::NotSplittable(
                "this store cannot read ranges",
            ))?;
        ParquetPart::read(object.clone()).map_err(|source| FanoutProblem::ParquetJoin {
            source,
            // A part rewritten meanwhile (a chunk delivered twice writes the same bytes
            // again): a retry reads it afresh.
            retryable: object.failed_retryably() || object.changed(),
        })
    })
    .map_err(failure(job, None))?;
    let segments = read
        .iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (part, (key, _)))| {
            let data = part.data(i == 0);
            Segment::Object {
                bucket: bucket.to_owned(),
                key: key.clone(),
                start: data.start,
                end: data.end,
            }
        })
        .collect();
    let tail = joined_tail(&read).map_err(|source| {
        failure(job, None)(FanoutProblem::ParquetJoin {
            source,
            retryable: false,
        })
    })?;
    Ok((segments, tail))
}

/// The output being put together: its pieces, and with gzip what each deflate body holds.
struct Output {
    segments: Vec<Segment>,
    bodies: Vec<DeflateSummary>,
    gzip: bool,
}

impl Output {
    /// Adds bytes written by the join itself (deflated, with gzip).
    fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.gzip {
            let (deflate, summary) = DeflateChunk::compress(bytes)?.into_parts();
            self.segments.push(Segment::Bytes(deflate));
            self.bodies.push(summary);
        } else {
            self.segments.push(Segment::Bytes(bytes.to_vec()));
        }
        Ok(())
    }
}

fn read_summary(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<ChunkReport, FanoutProblem> {
    let mut bytes = Vec::new();
    store
        .read(bucket, key)?
        .read_to_end(&mut bytes)
        .map_err(FanoutProblem::Io)?;
    serde_json::from_slice(&bytes).map_err(|source| FanoutProblem::Json {
        what: "part summary",
        source,
    })
}

/// Deletes the plan, the parts and their summaries (what exists of them); a failure to delete
/// is logged (the work bucket's lifecycle rule removes what is left).
fn clean(store: &dyn ObjectStore, job: &Job, bucket: &str, chunks: u64) {
    let keys = (0..chunks)
        .flat_map(|i| [part_key(job, i), summary_key(job, i)])
        .chain([plan_key(job)]);
    for key in keys {
        if let Err(e) = store.delete(bucket, &key) {
            tracing::warn!(error = %e, "could not delete a fan-out work object");
        }
    }
}

/// After a failed step: logs the failure (object, and the state machine's error and cause,
/// which name the chunk and line, never a value) and deletes the job's work objects. No output
/// was written: the join writes all or nothing.
pub fn abort(store: &dyn ObjectStore, job: &Job, work_bucket: &str) {
    let cause = job
        .error
        .as_ref()
        .and_then(|e| e.get("Cause"))
        .and_then(|c| c.as_str())
        .unwrap_or("");
    let error = job
        .error
        .as_ref()
        .and_then(|e| e.get("Error"))
        .and_then(|c| c.as_str())
        .unwrap_or("");
    tracing::error!(
        bucket = %job.bucket,
        key = %job.key,
        error,
        cause,
        "fan-out failed: no output written"
    );
    let chunks = job.plan.as_ref().map_or(0, |p| p.chunks);
    let bucket = job.plan.as_ref().map_or(work_bucket, |p| p.bucket.as_str());
    clean(store, job, bucket, chunks);
}
