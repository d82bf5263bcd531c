//! The join: the parts put together into the output in one all-or-nothing write, and the
//! work objects deleted; the abort: the work objects deleted after a failure.

use std::io::{Read, Write};

use serde::Serialize;

use super::parts::HEAD_BYTES;
use super::plan::{failure, in_parallel, in_parallel_or, target_of, ChunkReport};
use super::{part_key, plan_key, summary_key, Chunk, FanoutError, FanoutProblem, Job, PlanRef};
use crate::bulk::{BulkProblem, BulkProcessor};
use crate::format::gzip_chunks::{gzip_header, gzip_trailer, DeflateChunk, DeflateSummary};
use crate::format::parquet_join::{joined_tail, ParquetPart};
use crate::format::DataFormat;
use crate::storage::{
    ObjectInfo, ObjectStore, PutOptions, Segment, SharedUpload, StoreError, StoredPart,
    MIN_SHARED_PART,
};

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
/// deflate bodies, framed by a header and a trailer with the combined CRC-32. When the chunks
/// uploaded their output into the output's upload ([`Chunk::parts`]), the join writes only
/// what lies between them and completes it; otherwise it composes the part objects.
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
    let chunks = read_plan(store, plan).map_err(&fail)?;
    if chunks.len() as u64 != plan.chunks {
        return Err(fail(FanoutProblem::PartMismatch(
            "the stored plan does not have the plan's chunks",
        )));
    }
    let upload = chunks
        .first()
        .and_then(|c| c.parts.as_ref())
        .map(|p| &p.upload);
    let array = output == DataFormat::JsonArray;
    // Each Parquet part is a whole file of its row groups: the join keeps their data and
    // writes one footer for all.
    let parquet = output == DataFormat::Parquet;
    let indexes: Vec<u64> = (0..plan.chunks).collect();
    let summaries = in_parallel_or(
        &indexes,
        |index| {
            read_json::<ChunkReport>(
                store,
                &plan.bucket,
                &summary_key(job, index),
                "part summary",
            )
            .map_err(|p| match p {
                FanoutProblem::Store(e) if e.is_not_found() => FanoutProblem::PartMissing,
                other => other,
            })
            .map_err(failure(job, Some(index)))
        },
        || fail(FanoutProblem::PartMissing),
    )?;
    let mut pieces = Vec::new();
    let mut out = Output {
        pieces: Vec::new(),
        bodies: Vec::new(),
        gzip: target.gzip,
    };
    let mut rows = 0;
    if target.gzip {
        out.pieces.push(Piece::Bytes(gzip_header().to_vec()));
    }
    // A JSON array's chunks wrote their elements only: the join writes what is around and
    // between them, as a whole run writes it.
    if array {
        out.bytes(b"[").map_err(|e| fail(FanoutProblem::Io(e)))?;
    }
    for (index, summary) in (0..).zip(&summaries) {
        let fail = failure(job, Some(index));
        let chunk = &chunks[index as usize];
        let mismatch = if summary.index != index || chunk.index != index {
            Some("the summary is of another chunk")
        } else if summary.deflate.is_some() != target.gzip {
            Some("the part's encoding is not the output's (gzip or not)")
        } else if chunk.parts.as_ref().map(|p| &p.upload) != upload {
            Some("the chunks are not of one upload")
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
        out.pieces.push(Piece::Chunk(index));
    }
    if array {
        let end: &[u8] = if rows == 0 { b"]\n" } else { b"\n]\n" };
        out.bytes(end).map_err(|e| fail(FanoutProblem::Io(e)))?;
    }
    if target.gzip {
        let trailer = gzip_trailer(&out.bodies);
        out.pieces.push(Piece::Bytes(trailer));
    }
    match upload {
        Some(upload) => {
            let parts = Parts {
                store,
                job,
                bucket: &plan.bucket,
                chunks: &chunks,
                summaries: &summaries,
            };
            parts.complete(upload, out.pieces, &target.put)?;
        }
        None => {
            let mut parts = Vec::new();
            for piece in out.pieces {
                match piece {
                    Piece::Bytes(bytes) => pieces.push(Segment::Bytes(bytes)),
                    Piece::Chunk(index) => {
                        let fail = failure(job, Some(index));
                        let key = part_key(job, index);
                        let part = store.info(&plan.bucket, &key).map_err(|e| fail(e.into()))?;
                        if summaries[index as usize].bytes_out != part.size {
                            return Err(fail(FanoutProblem::PartMismatch(
                                "the part's size is not the size the chunk wrote",
                            )));
                        }
                        if parquet {
                            parts.push((key, part));
                        } else {
                            pieces.push(Segment::Object {
                                bucket: plan.bucket.clone(),
                                key,
                                start: 0,
                                end: part.size,
                            });
                        }
                    }
                }
            }
            if parquet {
                let (segments, tail) = parquet_parts(store, job, &plan.bucket, &parts)?;
                pieces.extend(segments);
                pieces.push(Segment::Bytes(tail));
            }
            store
                .compose(&target.bucket, &target.key, target.put.clone(), &pieces)
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
        }
    }
    clean(store, job, &plan.bucket, plan.chunks);
    Ok(Joined {
        bucket: target.bucket,
        key: target.key,
        rows,
        chunks: plan.chunks,
    })
}

/// The chunks of a stored plan.
fn read_plan(store: &dyn ObjectStore, plan: &PlanRef) -> Result<Vec<Chunk>, FanoutProblem> {
    read_json(store, &plan.bucket, &plan.key, "plan")
}

/// One piece of the output, in order: bytes the join writes, or a chunk's output.
enum Piece {
    Bytes(Vec<u8>),
    Chunk(u64),
}

/// A part the join writes: its number and bytes.
type PartWrite = (u32, Vec<u8>);

/// Chunks read and parts written at once by the join of a shared upload.
const JOIN_WINDOW: usize = 8;
/// What the join gathers after a chunk that uploaded no part before it writes it as a part.
const FLUSH_BYTES: usize = 16 << 20;

/// The chunks of a plan whose output went into the output's upload.
struct Parts<'a> {
    store: &'a dyn ObjectStore,
    job: &'a Job,
    bucket: &'a str,
    chunks: &'a [Chunk],
    summaries: &'a [ChunkReport],
}

impl Parts<'_> {
    /// Writes the parts between the chunks' (the bytes of `pieces` and each chunk's head and
    /// tail) and completes `upload`; if no chunk uploaded a part, the output is small: the
    /// upload is aborted and the output written whole.
    fn complete(
        &self,
        upload: &SharedUpload,
        pieces: Vec<Piece>,
        put: &PutOptions,
    ) -> Result<(), FanoutError> {
        let size: u64 = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Bytes(bytes) => bytes.len() as u64,
                Piece::Chunk(index) => self.summaries[*index as usize].bytes_out,
            })
            .sum();
        match self.write_parts(upload, pieces, put) {
            // A join run again after it completed the upload (its answer lost, or its step
            // retried before it cleaned up) finds the upload gone: the output it wrote is
            // there. (Only the abort aborts the upload, after the execution failed.)
            Err(e) if !e.retryable() && self.completed_before(upload, size, put) => {
                tracing::info!("the output's upload was completed by an earlier run of the join");
                Ok(())
            }
            other => other,
        }
    }

    /// Whether the output of `upload` exists with the `size` and metadata this join writes.
    fn completed_before(&self, upload: &SharedUpload, size: u64, put: &PutOptions) -> bool {
        self.store
            .info(&upload.bucket, &upload.key)
            .is_ok_and(|info| {
                info.size == size && (info.metadata.is_empty() || info.metadata == put.metadata)
            })
    }

    /// [`complete`](Self::complete), once.
    fn write_parts(
        &self,
        upload: &SharedUpload,
        pieces: Vec<Piece>,
        put: &PutOptions,
    ) -> Result<(), FanoutError> {
        let fail = failure(self.job, None);
        let last = self
            .chunks
            .last()
            .and_then(|c| c.parts.as_ref())
            .map_or(1, |p| p.numbers[1]);
        let mut stored: Vec<StoredPart> = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut pieces = pieces.into_iter().peekable();
        while pieces.peek().is_some() {
            // The next window of pieces: its chunks' kept bytes read in parallel.
            let mut window = Vec::new();
            let mut chunks = Vec::new();
            while let Some(piece) = pieces.next_if(|_| chunks.len() < JOIN_WINDOW) {
                if let Piece::Chunk(index) = piece {
                    chunks.push(index);
                }
                window.push(piece);
            }
            let kept = in_parallel_or(
                &chunks,
                |index| self.kept(index).map_err(failure(self.job, Some(index))),
                || fail(FanoutProblem::PartMissing),
            )?;
            let mut kept = kept.into_iter();
            let mut writes: Vec<PartWrite> = Vec::new();
            for piece in window {
                let index = match piece {
                    Piece::Bytes(bytes) => {
                        pending.extend_from_slice(&bytes);
                        continue;
                    }
                    Piece::Chunk(index) => index,
                };
                let bytes = kept.next().unwrap_or_default();
                let summary = &self.summaries[index as usize];
                let before = self.chunks[index as usize]
                    .parts
                    .as_ref()
                    .map_or(0, |p| p.numbers[0]);
                let (head, tail) = bytes.split_at(summary.head as usize);
                pending.extend_from_slice(head);
                if summary.parts.is_empty() {
                    pending.extend_from_slice(tail);
                    if pending.len() >= FLUSH_BYTES {
                        // The chunk's numbers are free: the gathered bytes go there.
                        writes.push((before + 1, std::mem::take(&mut pending)));
                    }
                } else {
                    writes.push((before, std::mem::replace(&mut pending, tail.to_vec())));
                    stored.extend(summary.parts.iter().cloned());
                }
            }
            stored.extend(self.upload(upload, writes)?);
        }
        if stored.is_empty() {
            if let Err(e) = self.store.abort_upload(upload) {
                tracing::warn!(error = %e, "could not abort the output's upload");
            }
            let mut sink = self
                .store
                .write(&upload.bucket, &upload.key, put.clone())
                .map_err(|e| fail(e.into()))?;
            sink.write_all(&pending)
                .map_err(|e| fail(FanoutProblem::Io(e)))?;
            return sink
                .commit()
                .map_err(|source| self.completing(upload, source));
        }
        if !pending.is_empty() {
            stored.extend(self.upload(upload, vec![(last, pending)])?);
        }
        stored.sort_by_key(|p| p.number);
        self.store
            .complete_upload(upload, &stored)
            .map_err(|source| self.completing(upload, source))
    }

    /// The head and tail chunk `index` kept, checked against its summary.
    fn kept(&self, index: u64) -> Result<Vec<u8>, FanoutProblem> {
        let summary = &self.summaries[index as usize];
        let mut bytes = Vec::new();
        self.store
            .read(self.bucket, &part_key(self.job, index))
            .map_err(|e| match e {
                e if e.is_not_found() => FanoutProblem::PartMissing,
                e => e.into(),
            })?
            .read_to_end(&mut bytes)
            .map_err(FanoutProblem::Io)?;
        let [first, end] = self.chunks[index as usize]
            .parts
            .as_ref()
            .map_or([0, 0], |p| p.numbers);
        let uploaded: u64 = summary.parts.iter().map(|p| p.size).sum();
        let numbered = summary.parts.iter().map(|p| p.number);
        let mismatch = if summary.bytes_out != bytes.len() as u64 + uploaded {
            Some("the part's size is not the size the chunk wrote")
        } else if summary.head > bytes.len() as u64
            || (!summary.parts.is_empty() && summary.head != HEAD_BYTES as u64)
        {
            Some("the chunk's head is not what the join expects")
        } else if numbered.clone().any(|n| n <= first || n >= end)
            || numbered.clone().zip(numbered.skip(1)).any(|(a, b)| a >= b)
        {
            Some("the chunk's parts are not numbered in its block")
        } else if summary
            .parts
            .iter()
            .any(|p| p.size < MIN_SHARED_PART as u64)
        {
            Some("a chunk's part is smaller than a part may be")
        } else {
            None
        };
        match mismatch {
            Some(why) => Err(FanoutProblem::PartMismatch(why)),
            None => Ok(bytes),
        }
    }

    /// Uploads `writes` (number, bytes) in parallel.
    fn upload(
        &self,
        upload: &SharedUpload,
        writes: Vec<PartWrite>,
    ) -> Result<Vec<StoredPart>, FanoutError> {
        let numbers: Vec<u64> = (0..writes.len() as u64).collect();
        let slots: Vec<std::sync::Mutex<Option<PartWrite>>> = writes
            .into_iter()
            .map(|w| std::sync::Mutex::new(Some(w)))
            .collect();
        in_parallel(&numbers, |i| {
            let (number, bytes) = slots[i as usize]
                .lock()
                .ok()
                .and_then(|mut s| s.take())
                .unwrap_or_default();
            Ok(self.store.upload_part(upload, number, bytes)?)
        })
        .map_err(failure(self.job, None))
    }

    fn completing(&self, upload: &SharedUpload, source: StoreError) -> FanoutError {
        failure(self.job, None)(
            BulkProblem::Complete {
                bucket: upload.bucket.clone(),
                key: upload.key.clone(),
                source,
            }
            .into(),
        )
    }
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
    pieces: Vec<Piece>,
    bodies: Vec<DeflateSummary>,
    gzip: bool,
}

impl Output {
    /// Adds bytes written by the join itself (deflated, with gzip).
    fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.gzip {
            let (deflate, summary) = DeflateChunk::compress(bytes)?.into_parts();
            self.pieces.push(Piece::Bytes(deflate));
            self.bodies.push(summary);
        } else {
            self.pieces.push(Piece::Bytes(bytes.to_vec()));
        }
        Ok(())
    }
}

/// The JSON object `bucket/key` (`what` it is, for errors).
fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    what: &'static str,
) -> Result<T, FanoutProblem> {
    let mut bytes = Vec::new();
    store
        .read(bucket, key)?
        .read_to_end(&mut bytes)
        .map_err(FanoutProblem::Io)?;
    serde_json::from_slice(&bytes).map_err(|source| FanoutProblem::Json { what, source })
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
    // The output's upload, with the parts the chunks uploaded into it.
    let upload = job
        .plan
        .as_ref()
        .map(|plan| read_plan(store, plan))
        .transpose()
        .map(|chunks| {
            chunks
                .and_then(|c| c.into_iter().next())
                .and_then(|c| c.parts)
        });
    match upload {
        Ok(Some(parts)) => {
            if let Err(e) = store.abort_upload(&parts.upload) {
                tracing::warn!(error = %e, "could not abort the output's upload");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the plan to abort its upload"),
    }
    clean(store, job, bucket, chunks);
}
