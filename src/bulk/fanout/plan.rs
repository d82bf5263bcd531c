//! The plan: the object cut into chunks of whole records, from parallel ranged reads.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::{plan_key, Chunk, FanoutError, FanoutProblem, Job, PlanRef};
use crate::bulk::{BulkProblem, BulkProcessor, Target, INSTANCE_ID_KEY};
use crate::format::compression::is_gzip;
use crate::format::split::{csv_header_end, cuts, RangeScan, RangeScanner};
use crate::format::DataFormat;
use crate::storage::{ObjectInfo, ObjectStore, PutOptions};

/// Most ranges scanned at once.
const SCAN_THREADS: usize = 8;
/// What a scan reads at a time.
const SCAN_BUFFER: usize = 1 << 20;
/// The planner reads at most this much to find the header.
const MAX_HEADER: u64 = 64 << 20;
/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// What one chunk wrote (the chunk step's answer; numbers only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// The chunk.
    pub index: u64,
    /// Rows or records written.
    pub rows: u64,
    /// Bytes of the part.
    pub bytes_out: u64,
    /// With a gzip output: what the part's deflate body holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflate: Option<crate::format::gzip_chunks::DeflateSummary>,
}

/// The input format of a splittable object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// CSV with this delimiter: cut at record ends outside quotes; a header.
    Csv(u8),
    /// NDJSON: cut at line ends; no header.
    Lines,
}

pub(super) fn failure(job: &Job, chunk: Option<u64>) -> impl Fn(FanoutProblem) -> FanoutError + '_ {
    move |problem| FanoutError {
        bucket: job.bucket.clone(),
        key: job.key.clone(),
        chunk,
        problem: Box::new(problem),
    }
}

/// The target of `job` and the layout of its input, or why it cannot be split (by its
/// format: gzip is found by reading).
pub(super) fn target_of(
    processor: &BulkProcessor,
    job: &Job,
    info: &ObjectInfo,
) -> Result<(Target, Layout), FanoutProblem> {
    if info.metadata.get(INSTANCE_ID_KEY) == Some(&processor.settings().instance_id) {
        return Err(FanoutProblem::OwnOutput);
    }
    let target = processor
        .target(job.destination, &job.bucket, &job.key, info)
        .map_err(FanoutProblem::Bulk)?
        .ok_or(FanoutProblem::NoRules)?;
    let input = target
        .sanitizer
        .resolve_format(&target.stream)
        .map_err(|e| FanoutProblem::from(BulkProblem::from(e)))?;
    let output = target
        .sanitizer
        .resolve_output_format(&target.stream)
        .map_err(|e| FanoutProblem::from(BulkProblem::from(e)))?;
    let layout = match input {
        DataFormat::Csv { delimiter } => Layout::Csv(delimiter),
        DataFormat::Ndjson => Layout::Lines,
        DataFormat::JsonArray => return Err(FanoutProblem::NotSplittable("a JSON array")),
        DataFormat::Parquet => return Err(FanoutProblem::NotSplittable("Parquet")),
    };
    if matches!(output, DataFormat::JsonArray | DataFormat::Parquet) {
        return Err(FanoutProblem::NotSplittable(
            "the output is a JSON array or Parquet",
        ));
    }
    if info.content_encoding.as_deref() == Some("gzip") {
        return Err(FanoutProblem::NotSplittable("gzip"));
    }
    Ok((target, layout))
}

/// Whether `job`'s object can be sanitized in chunks (its format, and no gzip).
pub fn splittable(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    job: &Job,
    info: &ObjectInfo,
) -> Result<bool, FanoutError> {
    let fail = failure(job, None);
    match target_of(processor, job, info) {
        Ok(_) => {}
        Err(FanoutProblem::NotSplittable(_)) => return Ok(false),
        Err(e) => return Err(fail(e)),
    }
    let head = read_bytes(store, job, 0, 2.min(info.size)).map_err(&fail)?;
    Ok(!is_gzip(&head))
}

fn read_bytes(
    store: &dyn ObjectStore,
    job: &Job,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, FanoutProblem> {
    let mut bytes = Vec::new();
    store
        .read_range(&job.bucket, &job.key, start, end)?
        .read_to_end(&mut bytes)
        .map_err(FanoutProblem::Io)?;
    Ok(bytes)
}

/// Plans `job`: cuts its object into chunks of about `chunk_bytes` at record ends, and stores
/// the chunks (a JSON array) in `work_bucket`.
pub fn plan(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    job: &Job,
    work_bucket: &str,
    chunk_bytes: u64,
) -> Result<PlanRef, FanoutError> {
    let fail = failure(job, None);
    let info = store
        .info(&job.bucket, &job.key)
        .map_err(|e| fail(e.into()))?;
    let (_, layout) = target_of(processor, job, &info).map_err(&fail)?;
    let size = info.size;
    let (header_end, header_lines) = header(store, job, layout, size).map_err(&fail)?;
    let chunks = cut(
        store,
        job,
        layout,
        size,
        header_end,
        header_lines,
        chunk_bytes.max(1),
    )
    .map_err(&fail)?;
    let key = plan_key(job);
    let body = serde_json::to_vec(&chunks).map_err(|source| {
        fail(FanoutProblem::Json {
            what: "plan",
            source,
        })
    })?;
    let options = PutOptions {
        content_type: Some("application/json".into()),
        ..PutOptions::default()
    };
    let mut sink = store
        .write(work_bucket, &key, options)
        .map_err(|e| fail(e.into()))?;
    sink.write_all(&body)
        .map_err(|e| fail(FanoutProblem::Io(e)))?;
    sink.commit().map_err(|e| fail(e.into()))?;
    Ok(PlanRef {
        bucket: work_bucket.to_owned(),
        key,
        chunks: chunks.len() as u64,
    })
}

/// The end of the header (after any BOM) and the lines it spans; `(0, 0)` for NDJSON.
fn header(
    store: &dyn ObjectStore,
    job: &Job,
    layout: Layout,
    size: u64,
) -> Result<(u64, u64), FanoutProblem> {
    let Layout::Csv(delimiter) = layout else {
        return Ok((0, 0));
    };
    let mut want = (1u64 << 20).min(size);
    loop {
        let head = read_bytes(store, job, 0, want)?;
        if is_gzip(&head) {
            return Err(FanoutProblem::NotSplittable("gzip"));
        }
        let bom = if head.starts_with(BOM) { BOM.len() } else { 0 };
        let at_end = want >= size;
        if let Some(end) = csv_header_end(&head[bom..], delimiter, at_end) {
            let end = bom + end;
            let lines = memchr::memchr_iter(b'\n', &head[..end]).count() as u64;
            return Ok((end as u64, lines));
        }
        if at_end {
            return Ok((size, 0)); // no header: one chunk
        }
        if want >= MAX_HEADER {
            return Err(FanoutProblem::HeaderTooLong(MAX_HEADER));
        }
        want = (want * 2).min(size).min(MAX_HEADER);
    }
}

/// Scans the body in ranges of `chunk_bytes`, in parallel, and makes the chunks.
fn cut(
    store: &dyn ObjectStore,
    job: &Job,
    layout: Layout,
    size: u64,
    header_end: u64,
    header_lines: u64,
    chunk_bytes: u64,
) -> Result<Vec<Chunk>, FanoutProblem> {
    let starts: Vec<u64> = (header_end..size).step_by(chunk_bytes as usize).collect();
    let mut scans: Vec<Option<Result<RangeScan, FanoutProblem>>> =
        (0..starts.len()).map(|_| None).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<&mut Option<Result<RangeScan, FanoutProblem>>>> =
        scans.iter_mut().map(std::sync::Mutex::new).collect();
    std::thread::scope(|scope| {
        for _ in 0..SCAN_THREADS.min(starts.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&start) = starts.get(k) else {
                    break;
                };
                let end = (start + chunk_bytes).min(size);
                let result = scan_range(store, job, layout, start, end, size);
                if let Ok(mut slot) = slots[k].lock() {
                    **slot = Some(result);
                }
            });
        }
    });
    drop(slots);
    let scans = scans
        .into_iter()
        .map(|s| s.unwrap_or(Err(FanoutProblem::NotSplittable("a range was not scanned"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut bounds = vec![(0u64, 1u64)];
    for cut in cuts(&starts, &scans, header_lines + 1) {
        if cut.offset < size && cut.offset > bounds[bounds.len() - 1].0 {
            bounds.push((cut.offset, cut.line));
        }
    }
    Ok(bounds
        .iter()
        .enumerate()
        .map(|(i, &(start, line))| Chunk {
            index: i as u64,
            start,
            end: bounds.get(i + 1).map_or(size, |b| b.0),
            line,
            header_end,
            header_lines,
        })
        .collect())
}

/// Streams bytes `start..end` (and the byte on each side) through a scanner.
fn scan_range(
    store: &dyn ObjectStore,
    job: &Job,
    layout: Layout,
    start: u64,
    end: u64,
    size: u64,
) -> Result<RangeScan, FanoutProblem> {
    let from = start.saturating_sub(1);
    let to = (end + 1).min(size);
    let mut reader = store.read_range(&job.bucket, &job.key, from, to)?;
    let mut buf = vec![0u8; SCAN_BUFFER];
    let mut before = None;
    let mut skip = start - from; // the byte before the range
    let mut scanner: Option<RangeScanner> = None;
    let mut remaining = end - start; // bytes of the range itself
    let mut after = None;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FanoutProblem::Io(e)),
        };
        let mut bytes = &buf[..n];
        if skip > 0 && !bytes.is_empty() {
            before = Some(bytes[0]);
            bytes = &bytes[1..];
            skip = 0;
        }
        let scanner = scanner.get_or_insert_with(|| match layout {
            Layout::Csv(delimiter) => RangeScanner::csv(delimiter, before),
            Layout::Lines => RangeScanner::lines(),
        });
        let take = (bytes.len() as u64).min(remaining) as usize;
        scanner.feed(&bytes[..take]);
        remaining -= take as u64;
        if take < bytes.len() {
            after = Some(bytes[take]);
        }
    }
    if remaining > 0 {
        return Err(FanoutProblem::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the object is shorter than its size",
        )));
    }
    let scanner = scanner.unwrap_or_else(|| match layout {
        Layout::Csv(delimiter) => RangeScanner::csv(delimiter, before),
        Layout::Lines => RangeScanner::lines(),
    });
    Ok(scanner.finish(after))
}
