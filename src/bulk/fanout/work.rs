//! One chunk: its records (after the object's header) sanitized into a part object.

use std::io::{Read, Write};

use super::plan::{failure, target_of, ChunkReport};
use super::{part_key, summary_key, Chunk, FanoutError, FanoutProblem, Job};
use crate::bulk::tap::Tap;
use crate::bulk::{BulkProblem, BulkProcessor};
use crate::storage::{ObjectStore, PutOptions};

/// Sanitizes `chunk` of `job` into its part in `work_bucket`, with a summary beside it (rows,
/// and for a gzip output the CRC-32 and length of the part's deflate body). Every chunk but
/// the first is its object's header followed by its records, written without the header
/// line; a gzip output is written as a bare deflate body for the join to frame.
pub fn chunk(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    job: &Job,
    chunk: &Chunk,
    work_bucket: &str,
) -> Result<ChunkReport, FanoutError> {
    let fail = failure(job, Some(chunk.index));
    let info = store
        .info(&job.bucket, &job.key)
        .map_err(|e| fail(e.into()))?;
    let (target, _) = target_of(processor, job, &info).map_err(&fail)?;
    let read = |start, end| {
        store
            .read_range(&job.bucket, &job.key, start, end)
            .map_err(|e| fail(BulkProblem::Read(e).into()))
    };
    let first = chunk.index == 0 || chunk.start == 0;
    let input: Box<dyn Read + Send> = if first {
        read(0, chunk.end)?
    } else {
        Box::new(read(0, chunk.header_end)?.chain(read(chunk.start, chunk.end)?))
    };
    let mut stream = target.stream.clone();
    if !first {
        stream.first_line = chunk.line.saturating_sub(chunk.header_lines).max(1);
        stream.omit_header = true;
    }
    stream.deflate_only = target.gzip;
    let part = part_key(job, chunk.index);
    let mut sink = store
        .write(work_bucket, &part, PutOptions::default())
        .map_err(|source| {
            fail(
                BulkProblem::Write {
                    bucket: work_bucket.to_owned(),
                    key: part.clone(),
                    source,
                }
                .into(),
            )
        })?;
    let (reader, read_record) = Tap::new(input);
    let (mut output, write_record) = Tap::new(&mut sink);
    let stats = target
        .sanitizer
        .sanitize_stream(reader, &mut output, &stream, &mut |_| {})
        .map_err(|source| {
            let retryable = read_record
                .failure()
                .or(write_record.failure())
                .unwrap_or(false);
            fail(BulkProblem::Sanitize { source, retryable }.into())
        })?;
    sink.commit().map_err(|source| {
        fail(
            BulkProblem::Complete {
                bucket: work_bucket.to_owned(),
                key: part.clone(),
                source,
            }
            .into(),
        )
    })?;
    let report = ChunkReport {
        index: chunk.index,
        rows: stats.rows,
        bytes_out: stats.bytes_out,
        deflate: stats.deflate,
    };
    let body = serde_json::to_vec(&report).map_err(|source| {
        fail(FanoutProblem::Json {
            what: "part summary",
            source,
        })
    })?;
    let mut summary = store
        .write(
            work_bucket,
            &summary_key(job, chunk.index),
            PutOptions::default(),
        )
        .map_err(|e| fail(e.into()))?;
    summary
        .write_all(&body)
        .map_err(|e| fail(FanoutProblem::Io(e)))?;
    summary.commit().map_err(|e| fail(e.into()))?;
    Ok(report)
}
