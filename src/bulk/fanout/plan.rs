//! The plan: the object cut into chunks of whole records, from parallel ranged reads.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::parts::{blocks, capacity};
use super::{plan_key, Chunk, ChunkParts, FanoutError, FanoutProblem, Job, PlanRef};
use crate::bulk::{BulkProblem, BulkProcessor, Target, INSTANCE_ID_KEY};
use crate::format::byte_ranges::ByteRanges;
use crate::format::charset::InputEncoding;
use crate::format::compression::is_gzip;
use crate::format::json_cuts::{json_cuts, JsonRangeScan, JsonRangeScanner};
use crate::format::parquet::ParquetInput;
use crate::format::split::{csv_header_end, csv_window_cut, cuts, Edges, RangeScan, RangeScanner};
use crate::format::DataFormat;
use crate::storage::{ObjectInfo, ObjectStore, PutOptions};

/// Most ranges scanned at once.
const SCAN_THREADS: usize = 8;
/// Bytes read at each target offset to find a cut there from those bytes alone.
const WINDOW: u64 = 1 << 20;
/// At most one window in this many may fail to find its cut (the cut is dropped) before the
/// plan scans the whole body instead.
const UNDECIDED_SHARE: usize = 8;
/// What a scan reads at a time.
const SCAN_BUFFER: usize = 1 << 20;
/// The planner reads at most this much to find the header.
const MAX_HEADER: u64 = 64 << 20;
/// Most chunks in a plan: each chunk becomes at least one part of the join's multipart upload,
/// which S3 caps at 10,000 parts (the rest is room for header, trailer and gathered pieces).
const MAX_CHUNKS: u64 = 9_000;
/// The first (and last) bytes of a Parquet file.
const PARQUET_MAGIC: &[u8] = b"PAR1";
/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// What one chunk wrote (the chunk step's answer; numbers only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// With [`Chunk::parts`]: the parts uploaded into the output's upload (the rest of the
    /// output is in the part object: its head, then its tail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<crate::storage::StoredPart>,
    /// With [`Chunk::parts`]: how many bytes of the part object are the head.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub head: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The input format of a splittable object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Text cut at record ends.
    Text(Text),
    /// A JSON array: cut at the commas between its elements.
    JsonArray,
    /// Parquet: cut between row groups.
    Parquet,
}

/// A text input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
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

/// The target of `job`, the layout of its input and the format of its output, or why it
/// cannot be split (by its format: gzip is found by reading).
pub(super) fn target_of(
    processor: &BulkProcessor,
    job: &Job,
    info: &ObjectInfo,
) -> Result<(Target, Layout, DataFormat), FanoutProblem> {
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
        DataFormat::Csv { delimiter } => Layout::Text(Text::Csv(delimiter)),
        DataFormat::Ndjson => Layout::Text(Text::Lines),
        DataFormat::JsonArray => Layout::JsonArray,
        DataFormat::Parquet => Layout::Parquet,
    };
    // Chunks are cut at byte values of ASCII line ends and quotes, and each decodes on its
    // own: only UTF-8 text is cut. Others are sanitized whole, as gzip is.
    if layout != Layout::Parquet && target.stream.input_encoding != InputEncoding::Utf8 {
        return Err(FanoutProblem::NotSplittable(
            "an input encoding other than UTF-8",
        ));
    }
    if output == DataFormat::Parquet && layout != Layout::Parquet {
        return Err(FanoutProblem::NotSplittable("Parquet output from text"));
    }
    if info.content_encoding.as_deref() == Some("gzip") {
        return Err(FanoutProblem::NotSplittable("gzip"));
    }
    Ok((target, layout, output))
}

/// The first bytes of `job`'s object (the version `info` describes), which tell gzip and
/// Parquet ([`splittable`]).
pub fn magic(
    store: &dyn ObjectStore,
    job: &Job,
    info: &ObjectInfo,
) -> Result<Vec<u8>, FanoutError> {
    read_bytes(store, job, info.version.as_deref(), 0, 4.min(info.size)).map_err(failure(job, None))
}

/// Whether `job`'s object, which starts with `head` ([`magic`]), can be sanitized in chunks:
/// its format; text that is not gzip; Parquet that is stored as Parquet, not gzipped, in a
/// store that reads ranges.
pub fn splittable(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    job: &Job,
    info: &ObjectInfo,
    head: &[u8],
) -> Result<bool, FanoutError> {
    let layout = match target_of(processor, job, info) {
        Ok((_, layout, _)) => layout,
        Err(FanoutProblem::NotSplittable(_)) => return Ok(false),
        Err(e) => return Err(failure(job, None)(e)),
    };
    Ok(match layout {
        Layout::Text(_) | Layout::JsonArray => !is_gzip(head),
        Layout::Parquet => {
            head == PARQUET_MAGIC && store.range_source(&job.bucket, &job.key, info).is_some()
        }
    })
}

fn read_bytes(
    store: &dyn ObjectStore,
    job: &Job,
    version: Option<&str>,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, FanoutProblem> {
    let mut bytes = Vec::new();
    store
        .read_range(&job.bucket, &job.key, version, start, end)
        .map_err(FanoutProblem::reading)?
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
    if job.version.is_some() && info.version != job.version {
        return Err(fail(FanoutProblem::Changed));
    }
    let (target, layout, output) = target_of(processor, job, &info).map_err(&fail)?;
    let chunk_bytes = chunk_bytes.max(info.size.div_ceil(MAX_CHUNKS)).max(1);
    let object = Planned {
        store,
        job,
        version: info.version.as_deref(),
        size: info.size,
    };
    let mut chunks = match layout {
        Layout::Text(text) => {
            let (header_end, header_lines) = header(&object, text).map_err(&fail)?;
            cut(&object, text, header_end, header_lines, chunk_bytes).map_err(&fail)?
        }
        Layout::JsonArray => array_cut(&object, chunk_bytes).map_err(&fail)?,
        Layout::Parquet => row_group_chunks(store, job, &info, chunk_bytes).map_err(&fail)?,
    };
    // Text and JSON outputs are uploaded by the chunks straight into the output's upload;
    // Parquet parts are whole files, which the join takes apart.
    let largest = chunks.iter().map(|c| c.end - c.start).max().unwrap_or(0);
    let upload = match blocks(chunks.len() as u64) {
        Some(numbers)
            if output != DataFormat::Parquet && room(&numbers) / OUTPUT_GROWTH >= largest =>
        {
            let opened = store
                .open_upload(&target.bucket, &target.key, target.put.clone())
                .map_err(|e| fail(e.into()))?;
            if let Some(upload) = &opened {
                for (chunk, numbers) in chunks.iter_mut().zip(numbers) {
                    chunk.parts = Some(ChunkParts {
                        upload: upload.clone(),
                        numbers,
                    });
                }
            }
            opened
        }
        _ => None,
    };
    let stored = store_plan(store, job, work_bucket, &chunks);
    if let (Err(_), Some(upload)) = (&stored, &upload) {
        if let Err(e) = store.abort_upload(upload) {
            tracing::warn!(error = %e, "could not abort the output's upload");
        }
    }
    let key = stored.map_err(&fail)?;
    Ok(PlanRef {
        bucket: work_bucket.to_owned(),
        key,
        chunks: chunks.len() as u64,
        version: info.version,
    })
}

/// How many times its input a chunk's output may grow to (pseudonyms are longer than most
/// values) and still fit in its block of part numbers; with larger chunks the join copies.
const OUTPUT_GROWTH: u64 = 8;

/// The most output a chunk can upload into its block (all blocks are alike).
fn room(numbers: &[[u32; 2]]) -> u64 {
    numbers
        .first()
        .map_or(0, |[first, end]| capacity((end - first - 1) as usize))
}

/// Stores the plan (its chunks, a JSON array) in `work_bucket`; returns its key.
fn store_plan(
    store: &dyn ObjectStore,
    job: &Job,
    work_bucket: &str,
    chunks: &[Chunk],
) -> Result<String, FanoutProblem> {
    let key = plan_key(job);
    let body = serde_json::to_vec(chunks).map_err(|source| FanoutProblem::Json {
        what: "plan",
        source,
    })?;
    let options = PutOptions {
        content_type: Some("application/json".into()),
        ..PutOptions::default()
    };
    let mut sink = store.write(work_bucket, &key, options)?;
    sink.write_all(&body).map_err(FanoutProblem::Io)?;
    sink.commit()?;
    Ok(key)
}

/// The object being planned: one version of it, and its size.
struct Planned<'a> {
    store: &'a dyn ObjectStore,
    job: &'a Job,
    version: Option<&'a str>,
    size: u64,
}

/// The stored size of each row group of a Parquet object, from its footer.
fn row_group_sizes(object: std::sync::Arc<dyn ByteRanges>) -> Result<Vec<u64>, FanoutProblem> {
    let input = ParquetInput::ranged(object.clone()).map_err(|e| {
        if object.changed() {
            return FanoutProblem::Changed;
        }
        FanoutProblem::from(BulkProblem::Sanitize {
            retryable: object.failed_retryably(),
            source: e.into(),
        })
    })?;
    Ok(input.map(|i| i.row_group_bytes()).unwrap_or_default())
}

/// Parquet's chunks: consecutive row groups of about `chunk_bytes` stored bytes together
/// (from the footer, read by ranges; a row group is never split).
fn row_group_chunks(
    store: &dyn ObjectStore,
    job: &Job,
    info: &ObjectInfo,
    chunk_bytes: u64,
) -> Result<Vec<Chunk>, FanoutProblem> {
    let object =
        store
            .range_source(&job.bucket, &job.key, info)
            .ok_or(FanoutProblem::NotSplittable(
                "this store cannot read ranges",
            ))?;
    let sizes = row_group_sizes(object)?;
    let mut groups = vec![0usize];
    let mut held = 0u64;
    for (i, size) in sizes.iter().enumerate() {
        if held >= chunk_bytes {
            groups.push(i);
            held = 0;
        }
        held += size;
    }
    groups.push(sizes.len());
    Ok(groups
        .windows(2)
        .enumerate()
        .map(|(index, pair)| Chunk {
            index: index as u64,
            start: 0,
            end: info.size,
            line: 0,
            header_end: 0,
            header_lines: 0,
            version: info.version.clone(),
            row_groups: Some([pair[0] as u64, pair[1] as u64]),
            parts: None,
        })
        .collect())
}

/// The end of the header (after any BOM) and the lines it spans; `(0, 0)` for NDJSON.
fn header(object: &Planned, text: Text) -> Result<(u64, u64), FanoutProblem> {
    let Text::Csv(delimiter) = text else {
        return Ok((0, 0));
    };
    let size = object.size;
    let mut want = (1u64 << 20).min(size);
    loop {
        let head = read_bytes(object.store, object.job, object.version, 0, want)?;
        if is_gzip(&head) {
            return Err(FanoutProblem::NotSplittable("gzip"));
        }
        // A whole run drops two BOMs: the decoder one, then the CSV reader one.
        let mut bom = 0;
        while bom < 2 * BOM.len() && head[bom..].starts_with(BOM) {
            bom += BOM.len();
        }
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

/// Cuts the body near every `chunk_bytes`, and makes the chunks. Each cut is first looked for
/// in a window of [`WINDOW`] bytes at its target offset, all windows read in parallel; only if
/// some window cannot tell where a record ends (CSV without quotes there, a record longer than
/// the window) is the whole body scanned, range by range in parallel.
fn cut(
    object: &Planned,
    text: Text,
    header_end: u64,
    header_lines: u64,
    chunk_bytes: u64,
) -> Result<Vec<Chunk>, FanoutProblem> {
    let size = object.size;
    let starts: Vec<u64> = (header_end..size).step_by(chunk_bytes as usize).collect();
    let windowed = in_parallel(&starts[1.min(starts.len())..], |t| {
        window_cut(object, text, t)
    })?;
    let undecided = windowed.iter().filter(|c| c.is_none()).count();
    // A few windows that cannot tell (a short one at the object's end, a stretch without
    // quotes) only lose their cut: two chunks become one. Many mean a text without quotes,
    // which is scanned.
    let found: Vec<(u64, u64)> = match undecided * UNDECIDED_SHARE <= windowed.len() {
        // Line numbers unknown (0): a chunk counts its own only if it must name a line.
        true => windowed.into_iter().flatten().map(|c| (c, 0)).collect(),
        false => {
            let scans = in_parallel(&starts, |start| {
                scan_range(object, text, start, (start + chunk_bytes).min(size))
            })?;
            cuts(&starts, &scans, header_lines + 1)
                .into_iter()
                .map(|c| (c.offset, c.line))
                .collect()
        }
    };
    Ok(chunks_at(object, found, 0, (header_end, header_lines)))
}

/// The chunks that start at `cuts` (offset, line; in order, those out of order or at the end
/// dropped) and at 0: each ends `gap` bytes before the next starts (a JSON array's comma), the
/// last at the object's end.
fn chunks_at(
    object: &Planned,
    cuts: impl IntoIterator<Item = (u64, u64)>,
    gap: u64,
    (header_end, header_lines): (u64, u64),
) -> Vec<Chunk> {
    let size = object.size;
    let mut bounds = vec![(0u64, 1u64)];
    for (offset, line) in cuts {
        if offset < size && offset > bounds[bounds.len() - 1].0 + gap {
            bounds.push((offset, line));
        }
    }
    bounds
        .iter()
        .enumerate()
        .map(|(i, &(start, line))| Chunk {
            index: i as u64,
            start,
            end: bounds.get(i + 1).map_or(size, |b| b.0 - gap),
            line,
            header_end,
            header_lines,
            version: object.version.map(str::to_owned),
            row_groups: None,
            parts: None,
        })
        .collect()
}

/// `f` of every item, at most [`SCAN_THREADS`] at once; the results in order, or the first
/// failure.
pub(super) fn in_parallel<T: Send>(
    items: &[u64],
    f: impl Fn(u64) -> Result<T, FanoutProblem> + Sync,
) -> Result<Vec<T>, FanoutProblem> {
    in_parallel_or(items, f, || {
        FanoutProblem::NotSplittable("a range was not scanned")
    })
}

/// [`in_parallel`] with any error; `unfinished` is the error of an item left without a
/// result (a worker that panicked).
pub(super) fn in_parallel_or<T: Send, E: Send>(
    items: &[u64],
    f: impl Fn(u64) -> Result<T, E> + Sync,
    unfinished: impl Fn() -> E,
) -> Result<Vec<T>, E> {
    let slots: Vec<std::sync::Mutex<Option<Result<T, E>>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..SCAN_THREADS.min(items.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&item) = items.get(k) else {
                    break;
                };
                let result = f(item);
                if let Ok(mut slot) = slots[k].lock() {
                    *slot = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(unfinished()))
        })
        .collect()
}

/// Bytes counted by one reader of [`newlines_before`].
const COUNT_RANGE: u64 = 64 << 20;

/// The `\n` bytes before `end` in one version of `job`'s object (of `size` bytes), counted by
/// parallel ranged reads: the line numbers of a chunk cut from windows, when it must name one.
pub(super) fn newlines_before(
    store: &dyn ObjectStore,
    job: &Job,
    version: Option<&str>,
    size: u64,
    end: u64,
) -> Result<u64, FanoutProblem> {
    let object = Planned {
        store,
        job,
        version,
        size,
    };
    let starts: Vec<u64> = (0..end).step_by(COUNT_RANGE as usize).collect();
    let scans = in_parallel(&starts, |start| {
        scan_range(&object, Text::Lines, start, (start + COUNT_RANGE).min(end))
    })?;
    Ok(scans.iter().map(|scan| scan.newlines).sum())
}

/// The first record end after `target` found from the [`WINDOW`] bytes there alone (see
/// [`csv_window_cut`]; NDJSON: the first line end), or `None` if the window cannot tell.
fn window_cut(object: &Planned, text: Text, target: u64) -> Result<Option<u64>, FanoutProblem> {
    let from = target.saturating_sub(1);
    let to = (target + WINDOW + 1).min(object.size);
    let bytes = read_bytes(object.store, object.job, object.version, from, to)?;
    if bytes.len() as u64 != to - from {
        return Err(shorter_than_its_size());
    }
    let Some((&before, mut window)) = bytes.split_first().filter(|_| target > 0) else {
        return Ok(None);
    };
    let mut after = None;
    if to < object.size {
        if let Some((&last, rest)) = window.split_last() {
            after = Some(last);
            window = rest;
        }
    }
    let cut = match text {
        Text::Lines => memchr::memchr(b'\n', window).map(|i| i + 1),
        Text::Csv(delimiter) => {
            let edges = Edges {
                before: Some(before),
                after,
            };
            csv_window_cut(window, edges, delimiter)
        }
    };
    Ok(cut.map(|c| target + c as u64))
}

/// Streams bytes `start..end` (and the byte on each side) through a scanner.
fn scan_range(
    object: &Planned,
    layout: Text,
    start: u64,
    end: u64,
) -> Result<RangeScan, FanoutProblem> {
    let from = start.saturating_sub(1);
    let to = (end + 1).min(object.size);
    let new_scanner = |before| match layout {
        Text::Csv(delimiter) => RangeScanner::csv(delimiter, before),
        Text::Lines => RangeScanner::lines(),
    };
    let mut before = None;
    let mut skip = start > from; // the byte before the range comes first
    let mut scanner: Option<RangeScanner> = None;
    let mut remaining = end - start; // bytes of the range itself
    let mut after = None;
    read_pieces(object, from, to, |mut bytes| {
        if skip {
            before = Some(bytes[0]);
            bytes = &bytes[1..];
            skip = false;
        }
        let scanner = scanner.get_or_insert_with(|| new_scanner(before));
        let take = (bytes.len() as u64).min(remaining) as usize;
        scanner.feed(&bytes[..take]);
        remaining -= take as u64;
        if take < bytes.len() {
            after = Some(bytes[take]);
        }
    })?;
    Ok(scanner.unwrap_or_else(|| new_scanner(before)).finish(after))
}

/// Reads bytes `from..to` of the version planned, handing them to `f` a piece (never empty,
/// at most [`SCAN_BUFFER`] bytes) at a time; a read that ends early fails.
fn read_pieces(
    object: &Planned,
    from: u64,
    to: u64,
    mut f: impl FnMut(&[u8]),
) -> Result<(), FanoutProblem> {
    let job = object.job;
    let mut reader = object
        .store
        .read_range(&job.bucket, &job.key, object.version, from, to)
        .map_err(FanoutProblem::reading)?;
    let mut buf = vec![0u8; SCAN_BUFFER];
    let mut left = to - from;
    while left > 0 {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Err(shorter_than_its_size()),
            Ok(n) => n.min(left as usize),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FanoutProblem::Io(e)),
        };
        f(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// A read that gave fewer bytes than the object's size promises.
fn shorter_than_its_size() -> FanoutProblem {
    FanoutProblem::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the object is shorter than its size",
    ))
}

/// A JSON array's chunks: the whole text scanned, range by range in parallel, and cut at the
/// first comma between two elements after every `chunk_bytes` (the comma itself is in neither
/// chunk: a chunk is its elements, read as a piece of the array between two of its commas).
/// Text that is not JSON fails the plan, naming its line.
fn array_cut(object: &Planned, chunk_bytes: u64) -> Result<Vec<Chunk>, FanoutProblem> {
    let size = object.size;
    let head = read_bytes(object.store, object.job, object.version, 0, size.min(4))?;
    if is_gzip(&head) {
        return Err(FanoutProblem::NotSplittable("gzip"));
    }
    let bom = if head.starts_with(BOM) {
        BOM.len() as u64
    } else {
        0
    };
    let starts: Vec<u64> = (bom..size).step_by(chunk_bytes as usize).collect();
    let scans = in_parallel(&starts, |start| {
        scan_json(object, start, (start + chunk_bytes).min(size))
    })?;
    let cuts = json_cuts(&starts, &scans).map_err(FanoutProblem::NotJsonArray)?;
    // Each chunk ends before the comma after which the next starts.
    Ok(chunks_at(
        object,
        cuts.iter().map(|c| (c.offset, c.line)),
        1,
        (0, 0),
    ))
}

/// Streams bytes `start..end` of a JSON text through a [`JsonRangeScanner`].
fn scan_json(object: &Planned, start: u64, end: u64) -> Result<JsonRangeScan, FanoutProblem> {
    let mut scanner = JsonRangeScanner::new();
    read_pieces(object, start, end, |bytes| scanner.feed(bytes))?;
    Ok(scanner.finish())
}
