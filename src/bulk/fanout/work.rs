//! One chunk: its records (after the object's header) sanitized into a part object.

use std::io::{Read, Write};

use super::parts::{write_parts, Written};
use super::plan::{failure, newlines_before, target_of, ChunkReport, Layout};
use super::{part_key, summary_key, Chunk, FanoutError, FanoutProblem, Job};
use crate::bulk::tap::Tap;
use crate::bulk::{BulkProblem, BulkProcessor};
use crate::format::json_array::ArrayPiece;
use crate::format::DataFormat;
use crate::sanitize::{ReadError, SanitizeError, Stats};
use crate::storage::{ObjectStore, PutOptions};

/// Sanitizes `chunk` of `job` into its part object in `work_bucket`, with a summary beside it
/// (rows, for a gzip output the CRC-32 and length of the output's deflate body, and the parts
/// uploaded). With [`Chunk::parts`] the output goes into the output's upload as it is made,
/// and the part object keeps only its first [`HEAD_BYTES`](super::parts::HEAD_BYTES) and its
/// tail. Every chunk but the first is its object's header followed by its records, written
/// without the header line; a gzip output is written as a bare deflate body for the join to
/// frame.
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
    let (target, layout, output) = target_of(processor, job, &info).map_err(&fail)?;
    if chunk.version.is_some() && info.version != chunk.version {
        return Err(fail(FanoutProblem::Changed));
    }
    let read = |start, end| {
        store
            .read_range(&job.bucket, &job.key, chunk.version.as_deref(), start, end)
            .map_err(|e| match FanoutProblem::reading(e) {
                FanoutProblem::Store(e) => fail(BulkProblem::Read(e).into()),
                changed => fail(changed),
            })
    };
    let mut stream = target.stream.clone();
    stream.deflate_only = target.gzip;
    stream.chunk = chunk.index;
    stream.array_elements = output == DataFormat::JsonArray;
    let part = part_key(job, chunk.index);
    let written_as = |source| {
        fail(
            BulkProblem::Write {
                bucket: work_bucket.to_owned(),
                key: part.clone(),
                source,
            }
            .into(),
        )
    };
    let committed_as = |source| {
        fail(
            BulkProblem::Complete {
                bucket: work_bucket.to_owned(),
                key: part.clone(),
                source,
            }
            .into(),
        )
    };
    let sanitize = |output: &mut dyn Write| -> Result<Stats, FanoutError> {
        let mut stream = stream.clone();
        let (mut output, write_record) = Tap::new(output);
        Ok(match chunk.row_groups {
            // Parquet: its row groups, read in place (the version checked above).
            Some([first_group, end_group]) => {
                stream.row_groups = Some(first_group as usize..end_group as usize);
                stream.omit_header = chunk.index > 0;
                let object = store
                    .range_source(&job.bucket, &job.key, &info)
                    .ok_or_else(|| {
                        fail(FanoutProblem::NotSplittable(
                            "this store cannot read ranges",
                        ))
                    })?;
                target
                    .sanitizer
                    .sanitize_parquet_object(object.clone(), &mut output, &stream, &mut |_| {})
                    .map_err(|source| {
                        if object.changed() {
                            return fail(FanoutProblem::Changed);
                        }
                        let retryable =
                            object.failed_retryably() || write_record.failure().unwrap_or(false);
                        fail(BulkProblem::Sanitize { source, retryable }.into())
                    })?
            }
            None => {
                let first = chunk.index == 0 || chunk.start == 0;
                let array = layout == Layout::JsonArray;
                if array {
                    stream.array_piece = ArrayPiece {
                        after_comma: !first,
                        before_comma: chunk.end < info.size,
                    };
                }
                // The first chunk starts at 0; later ones after the header, if there is one (a
                // JSON array's chunk is its elements between commas of the array).
                let input = || -> Result<Box<dyn Read + Send>, FanoutError> {
                    Ok(if first || chunk.header_end == 0 {
                        read(chunk.start, chunk.end)?
                    } else {
                        Box::new(read(0, chunk.header_end)?.chain(read(chunk.start, chunk.end)?))
                    })
                };
                if !first {
                    stream.first_line = chunk.line.saturating_sub(chunk.header_lines).max(1);
                    stream.omit_header = true;
                }
                let (reader, read_record) = Tap::new(input()?);
                target
                    .sanitizer
                    .sanitize_stream(reader, &mut output, &stream, &mut |_| {})
                    .map_err(|source| {
                        let retryable = read_record
                            .failure()
                            .or(write_record.failure())
                            .unwrap_or(false);
                        if retryable || first || chunk.line > 0 || !names_a_line(&source) {
                            return fail(BulkProblem::Sanitize { source, retryable }.into());
                        }
                        // The plan did not count lines: count them, and meet the error again
                        // with the object's line numbers (the same version: the same error). If
                        // reading fails on the way, the first error stands, as it was.
                        let counted = newlines_before(
                            store,
                            job,
                            chunk.version.as_deref(),
                            info.size,
                            chunk.start,
                        )
                        .map_err(&fail);
                        let numbered = counted.and_then(|newlines| {
                            let line = newlines + 1;
                            let mut stream = stream.clone();
                            stream.first_line = line.saturating_sub(chunk.header_lines).max(1);
                            let (reader, read) = Tap::new(input()?);
                            let again = target.sanitizer.sanitize_stream(
                                reader,
                                std::io::sink(),
                                &stream,
                                &mut |_| {},
                            );
                            Ok(again
                                .err()
                                .filter(|e| read.failure().is_none() && names_a_line(e)))
                        });
                        let source = match numbered {
                            Ok(Some(numbered)) => numbered,
                            _ => source,
                        };
                        fail(
                            BulkProblem::Sanitize {
                                source,
                                retryable: false,
                            }
                            .into(),
                        )
                    })?
            }
        })
    };
    let (stats, written) = match &chunk.parts {
        None => {
            let mut sink = store
                .write(work_bucket, &part, PutOptions::default())
                .map_err(written_as)?;
            let stats = sanitize(&mut sink)?;
            sink.commit().map_err(committed_as)?;
            (stats, Written::default())
        }
        // The output goes into the output's upload; the chunk's head and tail are kept in
        // its part object for the join.
        Some(parts) => {
            let (stats, written) = write_parts(store, parts, sanitize);
            let written = written.map_err(|source| {
                fail(
                    BulkProblem::Write {
                        bucket: parts.upload.bucket.clone(),
                        key: parts.upload.key.clone(),
                        source,
                    }
                    .into(),
                )
            })?;
            let stats = stats?;
            let mut sink = store
                .write(work_bucket, &part, PutOptions::default())
                .map_err(written_as)?;
            sink.write_all(&written.kept)
                .map_err(|e| fail(FanoutProblem::Io(e)))?;
            sink.commit().map_err(committed_as)?;
            (stats, written)
        }
    };
    let report = ChunkReport {
        index: chunk.index,
        rows: stats.rows,
        bytes_out: stats.bytes_out,
        deflate: stats.deflate,
        parts: written.parts,
        head: written.head as u64,
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

/// Whether a sanitizer error names a line of the input (a bad row or record, broken CSV), so
/// that numbering it by the object's lines is worth counting them.
fn names_a_line(e: &SanitizeError) -> bool {
    matches!(
        e,
        SanitizeError::Row(_) | SanitizeError::Read(ReadError::Csv(_))
    )
}
