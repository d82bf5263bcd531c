//! One input stream -> one sanitized output stream: the core every shell (CLI, functions,
//! `psoxy watch`) calls.
//!
//! A [`Sanitizer`] is compiled rules with their pseudonymizer and worker pool; its
//! [`Sanitizer::sanitize_stream`] reads a stream (plain or gzip), runs the rules over batches
//! of rows in parallel ([`pipeline`]) and writes the sanitized stream in input order. The
//! paths by format: [`columnar`] (CSV with columnar rules), [`records`] (JSON records, and CSV
//! rows as records), `parquet` (row groups); [`emit`] writes the output (gzip in parallel
//! chunks, counters, JSON framing), [`shuffle`] reorders rows deterministically; [`engine`]
//! picks the sanitizer of an object key under multi-type rules.

use std::io::{Read, Write};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::format::byte_ranges::ByteRanges;
use crate::format::charset::InputEncoding;
use crate::format::compression::{decoded_reader, CountingReader};
use crate::format::parquet::ParquetInput;
use crate::format::{media_type, DataFormat};
use crate::pseudonym::Pseudonymizer;
use crate::rules::{BulkRules, RecordFormat};
use crate::transform::{ColumnarProgram, PlanError, RecordPlan, Unsupported};

mod columnar;
mod emit;
pub mod engine;
mod error;
#[cfg(feature = "parquet")]
mod parquet;
#[cfg(not(feature = "parquet"))]
mod parquet {
    //! Without the `parquet` feature no Parquet input is ever opened
    //! (`crate::format::parquet::ParquetInput` has no values), so there is nothing to sanitize.
    use std::io::Write;

    use super::emit::Emitter;
    use super::{SanitizeError, Sanitizer, StreamOptions};
    use crate::format::parquet::ParquetInput;
    use crate::format::DataFormat;

    impl Sanitizer {
        pub(super) fn parquet_input<W: Write>(
            &self,
            file: Option<ParquetInput>,
            _: DataFormat,
            _: &StreamOptions,
            _: &mut Emitter<'_, W>,
        ) -> Result<(), SanitizeError> {
            match file {
                None => Ok(()),
                Some(never) => match never {},
            }
        }
    }
}
pub mod pipeline;
mod records;
mod shuffle;

pub use engine::{EngineError, RuleEngine};
use error::internal;
pub use error::{InternalError, ReadError, SanitizeError};
pub use shuffle::SHUFFLE_CHUNK;

use emit::{CountingWriter, Emitter, Framing};

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows (CSV, excluding the header; Parquet) or records (NDJSON, JSON array) written.
    pub rows: u64,
    /// Bytes read from the input as stored (compressed size for gzip).
    pub bytes_in: u64,
    /// Bytes written (compressed size when gzipping).
    pub bytes_out: u64,
    /// With [`StreamOptions::deflate_only`]: what the deflate blocks hold.
    pub deflate: Option<DeflateSummary>,
}

pub use crate::format::gzip_chunks::DeflateSummary;

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
    /// The number of the input's first line (0 or 1: a whole input). A fan-out chunk is its
    /// object's header followed by later records: numbering it from the right line makes
    /// errors name the object's lines.
    pub first_line: u64,
    /// Writes no CSV header line (the fan-out chunks after the first).
    pub omit_header: bool,
    /// With `gzip_output`, writes only the deflate blocks of the gzip member (no header, no
    /// end), and reports their CRC-32 and length in [`Stats::deflate`]: the fan-out join puts
    /// such bodies together into one gzip member.
    pub deflate_only: bool,
    /// The fan-out chunk this input is (0: a whole input, or the first chunk): seeds the row
    /// shuffle with the object's name, so that no two chunks of an object are shuffled alike.
    pub chunk: u64,
    /// Of a Parquet input, only the row groups in this range (a fan-out chunk); `None`: all.
    pub row_groups: Option<std::ops::Range<usize>>,
    /// With a JSON-array output, writes the elements only, each after the first following
    /// `,` and a line break (no `[`, no `]`, no line breaks next to them): a fan-out chunk's
    /// share of the array, which the join frames.
    pub array_elements: bool,
    /// Of a JSON-array input, the piece this input is (a fan-out chunk's share: after and
    /// before commas of the array); the default: the whole array.
    pub array_piece: crate::format::json_array::ArrayPiece,
    /// The character encoding of a text input (CSV, NDJSON, JSON); Parquet is not decoded.
    pub input_encoding: InputEncoding,
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

    /// The format this input will be read as. Parquet is refused when this build has no
    /// Parquet support (the `parquet` feature).
    pub fn resolve_format(&self, opts: &StreamOptions) -> Result<DataFormat, PlanError> {
        let format = self.format_by_rules(opts)?;
        if format == DataFormat::Parquet && !cfg!(feature = "parquet") {
            return Err(Unsupported::ParquetNotBuilt(crate::features::NotBuilt::parquet()).into());
        }
        Ok(format)
    }

    /// The format the rules and options mean for this input.
    fn format_by_rules(&self, opts: &StreamOptions) -> Result<DataFormat, PlanError> {
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

    /// Sanitizes `input` (plain or gzip, in [`StreamOptions::input_encoding`], BOM dropped)
    /// into `output`. `progress` is called after
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
        let json_out = Framing::of_output(output_format, opts.array_elements);
        let (counting, bytes_in) = CountingReader::new(input);
        let encoding = match format {
            DataFormat::Parquet => InputEncoding::Utf8,
            _ => opts.input_encoding,
        };
        let decoded = decoded_reader(counting, encoding).map_err(ReadError::Io)?;
        let mut out = Emitter {
            out: CountingWriter::new(
                output,
                opts.gzip_output && !output_format.compresses_itself(),
                opts.deflate_only,
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
                opts,
                &mut out,
            )?,
            (SingleRules::Record(plan, _), DataFormat::JsonArray) => self.record_json(
                plan,
                decoded,
                Framing::Array,
                json_out.unwrap_or(Framing::Array),
                opts,
                &mut out,
            )?,
            (SingleRules::Record(plan, _), DataFormat::Csv { delimiter }) => {
                self.record_csv(plan, decoded, delimiter, json_out, opts, &mut out)?
            }
            (_, DataFormat::Parquet) => {
                let file = ParquetInput::spool(decoded)?;
                self.parquet_input(file, output_format, opts, &mut out)?
            }
            (SingleRules::Columnar(_), DataFormat::Ndjson | DataFormat::JsonArray) => {
                unreachable!("rejected by resolve_format")
            }
        }
        out.finish()
    }

    /// Sanitizes a stored Parquet object read in place (`object`: its footer, then each row
    /// group by ranged reads; nothing is spooled to disk) into `output`. The input must resolve
    /// to Parquet ([`Sanitizer::resolve_format`]); otherwise as [`Sanitizer::sanitize_stream`].
    pub fn sanitize_parquet_object(
        &self,
        object: Arc<dyn ByteRanges>,
        output: impl Write,
        opts: &StreamOptions,
        progress: &mut dyn FnMut(&Stats),
    ) -> Result<Stats, SanitizeError> {
        let output_format = self.resolve_output_format(opts)?;
        let bytes_in = Arc::new(AtomicU64::new(object.size()));
        let mut out = Emitter {
            out: CountingWriter::new(
                output,
                opts.gzip_output && !output_format.compresses_itself(),
                opts.deflate_only,
            ),
            stats: Stats::default(),
            bytes_in,
            progress,
        };
        self.parquet_input(ParquetInput::ranged(object)?, output_format, opts, &mut out)?;
        out.finish()
    }

    fn max_in_flight(&self) -> usize {
        self.threads * 3 + 2
    }
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

/// A build without the `parquet` feature (the README's quick first build) refuses Parquet by
/// name and says how to get it; text formats are unaffected.
#[cfg(all(test, not(feature = "parquet")))]
mod without_parquet {
    use super::*;
    use crate::rules::parse_rules_yaml;

    #[test]
    fn parquet_is_refused_naming_the_feature() {
        let p = Pseudonymizer::salted("salt");
        let rules = parse_rules_yaml("columnsToRedact: [SALARY]\n").unwrap();
        let sanitizer = Sanitizer::new(&rules, Arc::new(p), 1).unwrap();
        let parquet = StreamOptions {
            object_key: "hris.parquet".into(),
            ..Default::default()
        };
        let e = sanitizer
            .sanitize_stream(&b"PAR1"[..], Vec::new(), &parquet, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs the `parquet` feature"), "{e}");
        let csv = StreamOptions {
            object_key: "hris.csv".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        sanitizer
            .sanitize_stream(&b"NAME,SALARY\nAda,1\n"[..], &mut out, &csv, &mut |_| {})
            .unwrap();
        assert_eq!(out, b"NAME\nAda\n");
    }
}
