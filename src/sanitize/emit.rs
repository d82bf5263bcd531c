//! Writing a sanitized stream: batches in input order, gzip in parallel chunks (each batch
//! deflated by its worker, the pieces joined into one member), the counters and progress, and
//! the framing of JSON records (NDJSON lines or one array).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{internal, SanitizeError, Stats};
use crate::format::csv::writer;
use crate::format::gzip_chunks::{DeflateChunk, DeflateSummary, GzipChunkWriter};
use crate::format::DataFormat;

/// How JSON records are laid out in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// NDJSON: one record per line.
    Lines,
    /// One JSON array, written one element per line.
    Array,
    /// The elements of a JSON array as [`Framing::Array`] writes them, each after the first
    /// following a `,` and a line break, without the brackets around them or the line breaks
    /// inside those: a fan-out chunk's share of an array, which the join frames.
    Elements,
}

impl Framing {
    /// How records of `format` are laid out (`None`: not JSON); with `elements`, an array's
    /// elements only ([`Framing::Elements`]).
    pub(super) fn of_output(format: DataFormat, elements: bool) -> Option<Framing> {
        match format {
            DataFormat::Ndjson => Some(Framing::Lines),
            DataFormat::JsonArray if elements => Some(Framing::Elements),
            DataFormat::JsonArray => Some(Framing::Array),
            DataFormat::Csv { .. } | DataFormat::Parquet => None,
        }
    }

    /// Writes what comes before the first record; returns the record count so far (0).
    pub(super) fn start<W: Write>(self, out: &mut Emitter<'_, W>) -> Result<u64, SanitizeError> {
        if self == Framing::Array {
            out.emit(b"[", 0)?;
        }
        Ok(0)
    }

    /// Before the `n`th record (0-based) of a batch: separates it from the previous one.
    pub(super) fn separate(self, buf: &mut Vec<u8>, n: u64) {
        if n > 0 {
            match self {
                Framing::Lines => buf.push(b'\n'),
                Framing::Array | Framing::Elements => buf.extend_from_slice(b",\n"),
            }
        }
    }

    /// After the last record of a batch of `n`.
    pub(super) fn end_batch(self, buf: &mut Vec<u8>, n: u64) {
        if self == Framing::Lines && n > 0 {
            buf.push(b'\n');
        }
    }

    /// Writes a batch in order; `records` counts what was written before it.
    pub(super) fn emit_batch<W: Write>(
        self,
        out: &mut Emitter<'_, W>,
        output: &BatchOutput,
        n: u64,
        records: &mut u64,
    ) -> Result<(), SanitizeError> {
        if n > 0 {
            match (self, *records) {
                (Framing::Array, 0) => out.emit(b"\n", 0)?,
                (Framing::Array, _) | (Framing::Elements, 1..) => out.emit(b",\n", 0)?,
                (Framing::Lines, _) | (Framing::Elements, 0) => {}
            }
        }
        *records += n;
        out.emit_output(output, n)
    }

    /// Writes what comes after the last record.
    pub(super) fn finish<W: Write>(
        self,
        out: &mut Emitter<'_, W>,
        records: u64,
    ) -> Result<(), SanitizeError> {
        match self {
            Framing::Lines | Framing::Elements => Ok(()),
            Framing::Array => out.emit(if records == 0 { b"]\n" } else { b"\n]\n" }, 0),
        }
    }
}

/// The header line of a CSV output.
pub(super) fn csv_header<I>(crlf: bool, names: I) -> Result<Vec<u8>, SanitizeError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut w = writer(crlf, 256);
    w.write_record(names).map_err(internal)?;
    w.into_inner().map_err(|e| internal(e.into_error()))
}

/// A CSV cell for a JSON value: strings as they are, null/missing empty, others as JSON.
pub(super) fn json_cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes output batches, keeps the counters and reports progress.
pub(super) struct Emitter<'p, W: Write> {
    pub(super) out: CountingWriter<W>,
    pub(super) stats: Stats,
    pub(super) bytes_in: Arc<AtomicU64>,
    pub(super) progress: &'p mut dyn FnMut(&Stats),
}

impl<W: Write> Emitter<'_, W> {
    /// Whether workers should compress their batches ([`BatchOutput::pack`]).
    pub(super) fn gzip(&self) -> bool {
        self.out.gzip()
    }

    pub(super) fn emit(&mut self, bytes: &[u8], rows: u64) -> Result<(), SanitizeError> {
        self.out.write_all(bytes).map_err(SanitizeError::Write)?;
        self.counted(rows)
    }

    pub(super) fn emit_output(
        &mut self,
        output: &BatchOutput,
        rows: u64,
    ) -> Result<(), SanitizeError> {
        self.out
            .write_output(output)
            .map_err(SanitizeError::Write)?;
        self.counted(rows)
    }

    pub(super) fn counted(&mut self, rows: u64) -> Result<(), SanitizeError> {
        self.stats.rows += rows;
        self.stats.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        self.stats.bytes_out = self.out.count();
        (self.progress)(&self.stats);
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<Stats, SanitizeError> {
        self.stats.deflate = self.out.finish().map_err(SanitizeError::Write)?;
        self.stats.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        self.stats.bytes_out = self.out.count();
        Ok(self.stats)
    }
}

/// Output sink: optional gzip, counting the bytes that reach the underlying writer.
pub(super) struct CountingWriter<W: Write> {
    inner: Option<Sink<W>>,
    count: Arc<AtomicU64>,
}

pub(super) enum Sink<W: Write> {
    Plain(Counted<W>),
    /// One gzip member assembled from chunks compressed by the workers (or here).
    Gzip(GzipChunkWriter<Counted<W>>),
}

/// What a worker hands back for one batch: its bytes, or, when the output is gzipped, those
/// bytes already compressed (so compression runs in parallel, not on the writing thread).
pub(super) enum BatchOutput {
    Plain(Vec<u8>),
    Deflated(DeflateChunk),
}

impl BatchOutput {
    pub(super) fn pack(bytes: Vec<u8>, gzip: bool) -> Result<Self, SanitizeError> {
        Ok(if gzip {
            BatchOutput::Deflated(DeflateChunk::compress(&bytes).map_err(SanitizeError::Write)?)
        } else {
            BatchOutput::Plain(bytes)
        })
    }
}

pub(super) struct Counted<W> {
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
    /// `deflate_only` (with `gzip`): the member's deflate blocks only.
    pub(super) fn new(inner: W, gzip: bool, deflate_only: bool) -> Self {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner,
            count: count.clone(),
        };
        let sink = if gzip {
            Sink::Gzip(if deflate_only {
                GzipChunkWriter::body_only(counted)
            } else {
                GzipChunkWriter::new(counted)
            })
        } else {
            Sink::Plain(counted)
        };
        CountingWriter {
            inner: Some(sink),
            count,
        }
    }

    pub(super) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub(super) fn gzip(&self) -> bool {
        matches!(self.inner, Some(Sink::Gzip(_)))
    }

    pub(super) fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.inner.as_mut() {
            Some(Sink::Plain(w)) => w.write_all(bytes),
            Some(Sink::Gzip(w)) => w.write_bytes(bytes),
            None => Err(std::io::Error::other("output already finished")),
        }
    }

    pub(super) fn write_output(&mut self, output: &BatchOutput) -> std::io::Result<()> {
        match (self.inner.as_mut(), output) {
            (_, BatchOutput::Plain(bytes)) => self.write_all(bytes),
            (Some(Sink::Gzip(w)), BatchOutput::Deflated(chunk)) => w.write_chunk(chunk),
            _ => Err(std::io::Error::other("compressed batch for a plain output")),
        }
    }

    /// Ends the output; what the deflate blocks hold when only those were written.
    pub(super) fn finish(&mut self) -> std::io::Result<Option<DeflateSummary>> {
        match self.inner.take() {
            Some(Sink::Plain(mut w)) => w.flush().map(|()| None),
            Some(Sink::Gzip(w)) => {
                let (mut inner, summary) = w.finish_with_summary()?;
                inner.flush()?;
                Ok(summary)
            }
            None => Ok(None),
        }
    }
}
