//! One input stream -> one sanitized output stream: the core every shell (CLI, function) calls.

use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use crate::format::compression::{decoded_reader, CountingReader};
use crate::format::csv::{writer, CsvBatchReader, CsvFields, CsvReadError};
use crate::format::gzip_chunks::{DeflateChunk, GzipChunkWriter};
use crate::format::parquet::ParquetIoError;
use crate::format::{json_batches, media_type, DataFormat, JsonSyntax};
use crate::pseudonym::Pseudonymizer;
use crate::rules::{BulkRules, RecordFormat};
use crate::transform::columnar::{cell_text, java_trim_bytes, require_width};
use crate::transform::{
    BatchError, ColumnarProgram, PlanError, RecordPlan, RowError, RowProblem, Unsupported,
};
use pipeline::{run_ordered, WorkerPanic};

pub mod engine;
mod parquet;
pub mod pipeline;

pub use engine::{EngineError, RuleEngine};

/// Rows shuffled together (Psoxy's chunk size): row order can't leak beyond a chunk.
pub const SHUFFLE_CHUNK: usize = 500;

/// Why an input could not be sanitized. Messages name the line and column, never a value or a
/// secret. The caller adds the object's name.
#[derive(Debug, thiserror::Error)]
pub enum SanitizeError {
    /// The rules cannot be applied to this input.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A row or record is bad.
    #[error(transparent)]
    Row(#[from] RowError),
    /// A Parquet row or batch is bad.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The input could not be read (I/O, gzip, CSV structure, Parquet).
    #[error("cannot read input: {0}")]
    Read(#[from] ReadError),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] std::io::Error),
    /// A bug: a worker panicked, or an in-memory writer failed.
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),
}

/// Why the input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The stream failed, or its gzip is broken.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The CSV structure is broken.
    #[error(transparent)]
    Csv(#[from] CsvReadError),
    /// Not a readable Parquet file.
    #[error(transparent)]
    Parquet(#[from] ParquetIoError),
}

/// A failure that is a bug, not a property of the input.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// A worker panicked (its message).
    #[error("worker panicked: {0}")]
    Panic(String),
    /// The CSV writer failed on memory.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// The JSON writer failed on memory.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An in-memory buffer could not be taken back from its writer.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Arrow failed on a batch already read (reordering rows).
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The Parquet writer was used after it finished.
    #[error("no Parquet writer")]
    NoParquetWriter,
}

impl From<WorkerPanic> for SanitizeError {
    fn from(p: WorkerPanic) -> Self {
        InternalError::Panic(p.0).into()
    }
}

impl From<ParquetIoError> for SanitizeError {
    fn from(e: ParquetIoError) -> Self {
        ReadError::from(e).into()
    }
}

impl From<CsvReadError> for SanitizeError {
    fn from(e: CsvReadError) -> Self {
        ReadError::from(e).into()
    }
}

/// An in-memory writer's error, as a bug.
fn internal(e: impl Into<InternalError>) -> SanitizeError {
    SanitizeError::Internal(e.into())
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows (CSV, excluding the header; Parquet) or records (NDJSON, JSON array) written.
    pub rows: u64,
    /// Bytes read from the input as stored (compressed size for gzip).
    pub bytes_in: u64,
    /// Bytes written (compressed size when gzipping).
    pub bytes_out: u64,
}

/// Per-input options.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// The input's name or object key: seeds the row shuffle and picks the format by extension.
    pub object_key: String,
    /// Format override; `None` decides from the rules and `object_key`.
    pub format: Option<DataFormat>,
    /// Shuffle rows within 500-row chunks (columnar rules only), deterministically.
    pub shuffle: bool,
    /// Gzip the output.
    pub gzip_output: bool,
    /// The input's Content-Type, when stored with it: `format: AUTO` looks at it first.
    pub content_type: Option<String>,
    /// The output format; `None` writes the input's. Record rules can write NDJSON or a JSON
    /// array from any input, and CSV from CSV; columnar rules write CSV.
    pub output_format: Option<DataFormat>,
}

/// A compiled rule set with its pseudonymizer and thread pool, reusable across inputs.
pub struct Sanitizer {
    rules: SingleRules,
    pseudonymizer: Arc<Pseudonymizer>,
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
}

enum SingleRules {
    Columnar(Box<ColumnarProgram>),
    Record(RecordPlan, RecordFormat),
}

/// The worker pool of `threads` threads (`0`: every core).
pub fn worker_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, PlanError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("psoxy-worker-{i}"))
        .build()
        .map(Arc::new)
        .map_err(PlanError::Threads)
}

impl Sanitizer {
    /// Compiles `rules` (columnar or record rules; multi-type rules are resolved per object by
    /// [`RuleEngine`]), with a pool of `threads` workers (`0`: every core).
    pub fn new(
        rules: &BulkRules,
        pseudonymizer: Arc<Pseudonymizer>,
        threads: usize,
    ) -> Result<Self, PlanError> {
        Sanitizer::with_pool(rules, pseudonymizer, worker_pool(threads)?)
    }

    /// Compiles `rules`, running on `pool` (shared by the sanitizers of one engine).
    pub fn with_pool(
        rules: &BulkRules,
        pseudonymizer: Arc<Pseudonymizer>,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self, PlanError> {
        let rules = match rules {
            BulkRules::Columnar(c) => SingleRules::Columnar(Box::new(ColumnarProgram::compile(c)?)),
            BulkRules::Record(r) => {
                SingleRules::Record(RecordPlan::compile(r, &pseudonymizer)?, r.format)
            }
            BulkRules::MultiType(_) => return Err(Unsupported::MultiType.into()),
        };
        Ok(Sanitizer {
            rules,
            pseudonymizer,
            threads: pool.current_num_threads(),
            pool,
        })
    }

    /// The pseudonymizer in use.
    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.pseudonymizer
    }

    /// The format this input will be read as.
    pub fn resolve_format(&self, opts: &StreamOptions) -> Result<DataFormat, PlanError> {
        let by_name = DataFormat::from_name(&opts.object_key);
        match &self.rules {
            SingleRules::Columnar(c) => {
                let rules_delim = c.delimiter();
                match opts.format.or(by_name) {
                    Some(DataFormat::Ndjson | DataFormat::JsonArray) => {
                        Err(Unsupported::ColumnarJsonInput.into())
                    }
                    Some(DataFormat::Parquet) => Ok(DataFormat::Parquet),
                    Some(DataFormat::Csv { delimiter }) => Ok(DataFormat::Csv {
                        delimiter: if opts.format.is_none() {
                            rules_delim.unwrap_or(delimiter)
                        } else {
                            delimiter
                        },
                    }),
                    None => Ok(DataFormat::Csv {
                        delimiter: rules_delim.unwrap_or(b','),
                    }),
                }
            }
            SingleRules::Record(_, format) => match (opts.format, format) {
                (Some(f), _) => Ok(f),
                (None, RecordFormat::Ndjson) => Ok(DataFormat::Ndjson),
                (None, RecordFormat::Csv) => Ok(DataFormat::Csv { delimiter: b',' }),
                (None, RecordFormat::JsonArray) => Ok(DataFormat::JsonArray),
                (None, RecordFormat::Auto) => {
                    Ok(auto_format(opts.content_type.as_deref(), by_name))
                }
                (None, RecordFormat::Parquet) => Ok(DataFormat::Parquet),
            },
        }
    }

    /// The format this input will be written as (see [`StreamOptions::output_format`]).
    pub fn resolve_output_format(&self, opts: &StreamOptions) -> Result<DataFormat, PlanError> {
        let input = self.resolve_format(opts)?;
        let Some(wanted) = opts.output_format else {
            return Ok(input);
        };
        match (&self.rules, input, wanted) {
            (_, DataFormat::Parquet, DataFormat::Parquet) => Ok(wanted),
            (_, _, DataFormat::Parquet) => Err(Unsupported::ParquetOutput.into()),
            (SingleRules::Columnar(_), DataFormat::Parquet, DataFormat::Csv { .. }) => {
                Ok(DataFormat::Csv { delimiter: b',' })
            }
            (SingleRules::Columnar(_), _, DataFormat::Csv { .. }) => Ok(input),
            (SingleRules::Columnar(_), _, _) => Err(Unsupported::ColumnarJsonOutput.into()),
            (SingleRules::Record(..), DataFormat::Parquet, DataFormat::Csv { .. }) => {
                Ok(DataFormat::Csv { delimiter: b',' })
            }
            (SingleRules::Record(..), DataFormat::Csv { .. }, DataFormat::Csv { .. }) => Ok(input),
            (SingleRules::Record(..), _, DataFormat::Csv { .. }) => {
                Err(Unsupported::CsvFromJson.into())
            }
            (SingleRules::Record(..), _, json) => Ok(json),
        }
    }

    /// Sanitizes `input` (plain or gzip, BOM dropped) into `output`. `progress` is called after
    /// each batch is written. Output written before an error must be discarded by the caller
    /// (write to a temporary file / multipart upload and commit only on `Ok`).
    pub fn sanitize_stream(
        &self,
        input: impl Read + Send,
        output: impl Write,
        opts: &StreamOptions,
        progress: &mut dyn FnMut(&Stats),
    ) -> Result<Stats, SanitizeError> {
        let format = self.resolve_format(opts)?;
        let output_format = self.resolve_output_format(opts)?;
        let json_out = match output_format {
            DataFormat::Csv { .. } | DataFormat::Parquet => None,
            DataFormat::Ndjson => Some(Framing::Lines),
            DataFormat::JsonArray => Some(Framing::Array),
        };
        let (counting, bytes_in) = CountingReader::new(input);
        let decoded = decoded_reader(counting).map_err(ReadError::Io)?;
        let mut out = Emitter {
            out: CountingWriter::new(
                output,
                opts.gzip_output && !output_format.compresses_itself(),
            ),
            stats: Stats::default(),
            bytes_in,
            progress,
        };
        match (&self.rules, format) {
            (SingleRules::Columnar(rules), DataFormat::Csv { delimiter }) => {
                self.columnar_csv(rules, decoded, delimiter, opts, &mut out)?
            }
            (SingleRules::Record(plan, _), DataFormat::Ndjson) => self.record_json(
                plan,
                decoded,
                Framing::Lines,
                json_out.unwrap_or(Framing::Lines),
                &mut out,
            )?,
            (SingleRules::Record(plan, _), DataFormat::JsonArray) => self.record_json(
                plan,
                decoded,
                Framing::Array,
                json_out.unwrap_or(Framing::Array),
                &mut out,
            )?,
            (SingleRules::Record(plan, _), DataFormat::Csv { delimiter }) => {
                self.record_csv(plan, decoded, delimiter, json_out, &mut out)?
            }
            (_, DataFormat::Parquet) => self.parquet(decoded, output_format, opts, &mut out)?,
            (SingleRules::Columnar(_), DataFormat::Ndjson | DataFormat::JsonArray) => {
                unreachable!("rejected by resolve_format")
            }
        }
        out.finish()
    }

    fn max_in_flight(&self) -> usize {
        self.threads * 3 + 2
    }

    fn columnar_csv<W: Write>(
        &self,
        program: &ColumnarProgram,
        input: Box<dyn BufRead + Send + '_>,
        delimiter: u8,
        opts: &StreamOptions,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let mut reader = CsvBatchReader::new(input, delimiter)?;
        if reader.header().is_empty() {
            return Ok(()); // empty input -> empty output
        }
        let plan = program.bind(reader.header())?;
        let crlf = reader.crlf();
        out.emit(&csv_header(crlf, plan.output_header())?, 0)?;
        let shuffle_seed = opts
            .shuffle
            .then(|| shuffle_seed(&self.pseudonymizer, &opts.object_key));
        let p = &*self.pseudonymizer;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || reader.next_batch().map_err(SanitizeError::from),
            |seq, batch| {
                // Row i of the batch is bytes ends[i-1]..ends[i] of `bytes` (kept only to shuffle).
                let mut ends: Vec<usize> = Vec::new();
                let (bytes, n) = if let Some(text) = batch.text() {
                    let terminator: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                    // Pseudonyms (43 characters) usually make a row longer: room for twice
                    // the input avoids growing the buffer on typical HR rows.
                    let mut bytes = Vec::with_capacity(2 * text.len());
                    let mut fields = CsvFields::default();
                    let mut scratch = String::new();
                    let mut records = batch.records(text);
                    let quote_free = batch.quote_free(text);
                    let mut n = 0u64;
                    while let Some(line) = records.next_into(&mut fields) {
                        plan.transform_text_row(
                            &fields,
                            text,
                            quote_free,
                            line,
                            p,
                            terminator,
                            &mut bytes,
                            &mut scratch,
                        )?;
                        if shuffle_seed.is_some() {
                            ends.push(bytes.len());
                        }
                        n += 1;
                    }
                    (bytes, n)
                } else {
                    // Not all UTF-8: the general path, which names the cell that is not.
                    let mut cells: Vec<String> = Vec::with_capacity(plan.width());
                    let mut w = writer(crlf, 256 << 10);
                    let n = batch.for_each_record(|line, record| {
                        plan.transform_row(record, line, p, &mut cells)?;
                        w.write_record(cells.iter().map(String::as_bytes))
                            .map_err(internal)?;
                        if shuffle_seed.is_some() {
                            w.flush().map_err(SanitizeError::Write)?;
                            ends.push(w.get_ref().len());
                        }
                        Ok::<_, SanitizeError>(())
                    })?;
                    let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
                    (bytes, n)
                };
                let bytes = match &shuffle_seed {
                    Some(seed) => shuffled(&bytes, &ends, seed, seq),
                    None => bytes,
                };
                Ok((BatchOutput::pack(bytes, gzip)?, n))
            },
            |(output, n)| out.emit_output(&output, n),
        )
    }

    /// JSON records in (NDJSON lines or a JSON array's elements), JSON records out, streamed.
    fn record_json<W: Write>(
        &self,
        plan: &RecordPlan,
        input: Box<dyn BufRead + Send + '_>,
        input_framing: Framing,
        output_framing: Framing,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let mut next = json_batches(input, input_framing == Framing::Array);
        let p = &*self.pseudonymizer;
        let mut records = output_framing.start(out)?;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || next().map_err(|e| ReadError::Io(e).into()),
            |_, batch| {
                let mut buf = Vec::with_capacity(batch.data.len() + batch.data.len() / 4);
                let mut n = 0;
                for (line, text) in batch.iter() {
                    if input_framing == Framing::Lines && text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    output_framing.separate(&mut buf, n);
                    sanitize_json_record(plan, p, line, text, &mut buf)?;
                    n += 1;
                }
                output_framing.end_batch(&mut buf, n);
                Ok((BatchOutput::pack(buf, gzip)?, n))
            },
            |(output, n)| output_framing.emit_batch(out, &output, n, &mut records),
        )?;
        output_framing.finish(out, records)
    }

    fn record_csv<W: Write>(
        &self,
        plan: &RecordPlan,
        input: Box<dyn BufRead + Send + '_>,
        delimiter: u8,
        json_out: Option<Framing>,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let mut reader = CsvBatchReader::new(input, delimiter)?;
        if reader.header().is_empty() {
            if let Some(framing) = json_out {
                let records = framing.start(out)?;
                framing.finish(out, records)?;
            }
            return Ok(());
        }
        let header: Vec<String> = reader
            .header()
            .iter()
            .map(|h| String::from_utf8_lossy(java_trim_bytes(h.as_bytes())).into_owned())
            .collect();
        let columns: Vec<String> = match plan.output_properties() {
            Some(props) => header
                .iter()
                .filter(|h| props.contains(h))
                .cloned()
                .collect(),
            None => header.clone(),
        };
        let crlf = reader.crlf();
        let mut records = match json_out {
            None => {
                out.emit(&csv_header(crlf, &columns)?, 0)?;
                0
            }
            Some(framing) => framing.start(out)?,
        };
        let p = &*self.pseudonymizer;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || reader.next_batch().map_err(SanitizeError::from),
            |_, batch| {
                if let Some(framing) = json_out {
                    let mut buf = Vec::with_capacity(256 << 10);
                    let mut n = 0;
                    batch.for_each_record(|line, record| {
                        framing.separate(&mut buf, n);
                        let value = csv_record_value(plan, p, &header, record, line)?;
                        serde_json::to_writer(&mut buf, &value).map_err(internal)?;
                        n += 1;
                        Ok::<_, SanitizeError>(())
                    })?;
                    framing.end_batch(&mut buf, n);
                    return Ok((BatchOutput::pack(buf, gzip)?, n));
                }
                let mut w = writer(crlf, 0);
                let mut cells: Vec<String> = Vec::with_capacity(columns.len());
                let n = batch.for_each_record(|line, record| {
                    let value = csv_record_value(plan, p, &header, record, line)?;
                    cells.clear();
                    cells.extend(columns.iter().map(|c| json_cell(value.get(c))));
                    w.write_record(&cells).map_err(internal)
                })?;
                let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
                Ok((BatchOutput::pack(bytes, gzip)?, n))
            },
            |(output, n)| match json_out {
                Some(framing) => framing.emit_batch(out, &output, n, &mut records),
                None => out.emit_output(&output, n),
            },
        )?;
        match json_out {
            Some(framing) => framing.finish(out, records),
            None => Ok(()),
        }
    }
}

/// One CSV row as a JSON object keyed by column name, with the record plan applied.
fn csv_record_value(
    plan: &RecordPlan,
    p: &Pseudonymizer,
    header: &[String],
    record: &csv::ByteRecord,
    line: u64,
) -> Result<serde_json::Value, SanitizeError> {
    require_width(record.len(), header.len(), line)?;
    let mut object = serde_json::Map::with_capacity(header.len());
    for (name, raw) in header.iter().zip(record.iter()) {
        let text = cell_text(raw, line, name)?;
        object.insert(name.clone(), serde_json::Value::String(text.to_string()));
    }
    let mut value = serde_json::Value::Object(object);
    plan.apply(&mut value, p)
        .map_err(|e| RowError::at_step(line, e))?;
    Ok(value)
}

/// How JSON records are laid out in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// NDJSON: one record per line.
    Lines,
    /// One JSON array, written one element per line.
    Array,
}

impl Framing {
    /// Writes what comes before the first record; returns the record count so far (0).
    fn start<W: Write>(self, out: &mut Emitter<'_, W>) -> Result<u64, SanitizeError> {
        if self == Framing::Array {
            out.emit(b"[", 0)?;
        }
        Ok(0)
    }

    /// Before the `n`th record (0-based) of a batch: separates it from the previous one.
    fn separate(self, buf: &mut Vec<u8>, n: u64) {
        if n > 0 {
            match self {
                Framing::Lines => buf.push(b'\n'),
                Framing::Array => buf.extend_from_slice(b",\n"),
            }
        }
    }

    /// After the last record of a batch of `n`.
    fn end_batch(self, buf: &mut Vec<u8>, n: u64) {
        if self == Framing::Lines && n > 0 {
            buf.push(b'\n');
        }
    }

    /// Writes a batch in order; `records` counts what was written before it.
    fn emit_batch<W: Write>(
        self,
        out: &mut Emitter<'_, W>,
        output: &BatchOutput,
        n: u64,
        records: &mut u64,
    ) -> Result<(), SanitizeError> {
        if self == Framing::Array && n > 0 {
            out.emit(if *records == 0 { b"\n" } else { b",\n" }, 0)?;
        }
        *records += n;
        out.emit_output(output, n)
    }

    /// Writes what comes after the last record.
    fn finish<W: Write>(self, out: &mut Emitter<'_, W>, records: u64) -> Result<(), SanitizeError> {
        match self {
            Framing::Lines => Ok(()),
            Framing::Array => out.emit(if records == 0 { b"]\n" } else { b"\n]\n" }, 0),
        }
    }
}

/// The header line of a CSV output.
fn csv_header<I>(crlf: bool, names: I) -> Result<Vec<u8>, SanitizeError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut w = writer(crlf, 256);
    w.write_record(names).map_err(internal)?;
    w.into_inner().map_err(|e| internal(e.into_error()))
}

/// A CSV cell for a JSON value: strings as they are, null/missing empty, others as JSON.
fn json_cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What kind of JSON value `v` is, for error messages (never the value itself).
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Seed material for one object's shuffle: secret (the salt) and specific to the object.
fn shuffle_seed(p: &Pseudonymizer, object_key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"psoxy-row-shuffle\0");
    h.update(p.settings().salt.as_bytes());
    h.update(b"\0");
    h.update(object_key.as_bytes());
    h.finalize().into()
}

/// Reorders the rows of a batch (`bytes`, row i ending at `ends[i]`), shuffling each 500-row
/// chunk with a generator seeded by (object seed, batch number, chunk number): the same input
/// always gives the same bytes, whatever the number of threads.
fn shuffled(bytes: &[u8], ends: &[usize], seed: &[u8; 32], batch_seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for i in shuffle_order(ends.len(), seed, batch_seq) {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        out.extend_from_slice(&bytes[start..ends[i]]);
    }
    out
}

/// The row order of a shuffled batch of `rows` rows: each 500-row chunk permuted by a
/// generator seeded by (object seed, batch number, chunk number).
fn shuffle_order(rows: usize, seed: &[u8; 32], batch_seq: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows).collect();
    for (chunk_no, chunk) in order.chunks_mut(SHUFFLE_CHUNK).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(batch_seq.to_le_bytes());
        h.update((chunk_no as u64).to_le_bytes());
        let mut rng = rand_chacha::ChaCha8Rng::from_seed(h.finalize().into());
        chunk.shuffle(&mut rng);
    }
    order
}

/// Writes output batches, keeps the counters and reports progress.
struct Emitter<'p, W: Write> {
    out: CountingWriter<W>,
    stats: Stats,
    bytes_in: Arc<AtomicU64>,
    progress: &'p mut dyn FnMut(&Stats),
}

impl<W: Write> Emitter<'_, W> {
    /// Whether workers should compress their batches ([`BatchOutput::pack`]).
    fn gzip(&self) -> bool {
        self.out.gzip()
    }

    fn emit(&mut self, bytes: &[u8], rows: u64) -> Result<(), SanitizeError> {
        self.out.write_all(bytes).map_err(SanitizeError::Write)?;
        self.counted(rows)
    }

    fn emit_output(&mut self, output: &BatchOutput, rows: u64) -> Result<(), SanitizeError> {
        self.out
            .write_output(output)
            .map_err(SanitizeError::Write)?;
        self.counted(rows)
    }

    fn counted(&mut self, rows: u64) -> Result<(), SanitizeError> {
        self.stats.rows += rows;
        self.stats.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        self.stats.bytes_out = self.out.count();
        (self.progress)(&self.stats);
        Ok(())
    }

    fn finish(mut self) -> Result<Stats, SanitizeError> {
        self.out.finish().map_err(SanitizeError::Write)?;
        self.stats.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        self.stats.bytes_out = self.out.count();
        Ok(self.stats)
    }
}

/// Parses one JSON record (at `line`), applies the record plan and appends it to `buf`.
fn sanitize_json_record(
    plan: &RecordPlan,
    p: &Pseudonymizer,
    line: u64,
    text: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), SanitizeError> {
    let mut value: serde_json::Value = serde_json::from_slice(text).map_err(|e| RowError {
        line,
        column: None,
        problem: RowProblem::InvalidJson(JsonSyntax::of(&e)),
    })?;
    if !value.is_object() {
        // Rules address fields of an object; anything else would pass through untouched.
        return Err(RowError {
            line,
            column: None,
            problem: RowProblem::NotAnObject(json_kind(&value)),
        }
        .into());
    }
    plan.apply(&mut value, p)
        .map_err(|e| RowError::at_step(line, e))?;
    serde_json::to_writer(&mut *buf, &value).map_err(internal)
}

/// `format: AUTO` (SPEC 2.2): the Content-Type when it names a format, else the extension
/// (`.gz` dropped), else `application/json` means a JSON array, else NDJSON.
fn auto_format(content_type: Option<&str>, by_name: Option<DataFormat>) -> DataFormat {
    content_type
        .and_then(DataFormat::from_content_type)
        .or(by_name)
        .or_else(|| {
            content_type
                .filter(|t| media_type(t) == "application/json")
                .map(|_| DataFormat::JsonArray)
        })
        .unwrap_or(DataFormat::Ndjson)
}

/// Output sink: optional gzip, counting the bytes that reach the underlying writer.
struct CountingWriter<W: Write> {
    inner: Option<Sink<W>>,
    count: Arc<AtomicU64>,
}

enum Sink<W: Write> {
    Plain(Counted<W>),
    /// One gzip member assembled from chunks compressed by the workers (or here).
    Gzip(GzipChunkWriter<Counted<W>>),
}

/// What a worker hands back for one batch: its bytes, or, when the output is gzipped, those
/// bytes already compressed (so compression runs in parallel, not on the writing thread).
enum BatchOutput {
    Plain(Vec<u8>),
    Deflated(DeflateChunk),
}

impl BatchOutput {
    fn pack(bytes: Vec<u8>, gzip: bool) -> Result<Self, SanitizeError> {
        Ok(if gzip {
            BatchOutput::Deflated(DeflateChunk::compress(&bytes).map_err(SanitizeError::Write)?)
        } else {
            BatchOutput::Plain(bytes)
        })
    }
}

struct Counted<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> CountingWriter<W> {
    fn new(inner: W, gzip: bool) -> Self {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner,
            count: count.clone(),
        };
        let sink = if gzip {
            Sink::Gzip(GzipChunkWriter::new(counted))
        } else {
            Sink::Plain(counted)
        };
        CountingWriter {
            inner: Some(sink),
            count,
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn gzip(&self) -> bool {
        matches!(self.inner, Some(Sink::Gzip(_)))
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.inner.as_mut() {
            Some(Sink::Plain(w)) => w.write_all(bytes),
            Some(Sink::Gzip(w)) => w.write_bytes(bytes),
            None => Err(std::io::Error::other("output already finished")),
        }
    }

    fn write_output(&mut self, output: &BatchOutput) -> std::io::Result<()> {
        match (self.inner.as_mut(), output) {
            (_, BatchOutput::Plain(bytes)) => self.write_all(bytes),
            (Some(Sink::Gzip(w)), BatchOutput::Deflated(chunk)) => w.write_chunk(chunk),
            _ => Err(std::io::Error::other("compressed batch for a plain output")),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self.inner.take() {
            Some(Sink::Plain(mut w)) => w.flush(),
            Some(Sink::Gzip(w)) => w.finish()?.flush(),
            None => Ok(()),
        }
    }
}
