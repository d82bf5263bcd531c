//! CSV/TSV: a batching reader over `csv::ByteRecord`s and a minimal-quoting writer.

use std::io::BufRead;

use csv::{ByteRecord, Terminator};

/// Rows handed to one worker at a time.
pub struct CsvBatch {
    /// The rows with the 1-based line each starts on.
    pub rows: Vec<(u64, ByteRecord)>,
}

/// Reads the header, then batches of rows, from decoded CSV text.
pub struct CsvBatchReader<R: BufRead> {
    reader: csv::Reader<R>,
    header: Vec<String>,
    crlf: bool,
}

/// A CSV input that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvReadError {
    /// The header row is not UTF-8.
    #[error("line 1: header is not valid UTF-8")]
    HeaderNotUtf8,
    /// The underlying reader failed (includes gzip errors).
    #[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Read {
        /// Line of the failure, when known.
        line: Option<u64>,
        /// What failed.
        message: String,
    },
}

impl From<csv::Error> for CsvReadError {
    fn from(e: csv::Error) -> Self {
        let line = e.position().map(|p| p.line());
        let message = match e.into_kind() {
            csv::ErrorKind::Io(io) => io.to_string(),
            other => format!("{other:?}"),
        };
        CsvReadError::Read { line, message }
    }
}

/// Most rows per batch, and the approximate most bytes per batch.
const BATCH_ROWS: usize = 2000;
const BATCH_BYTES: usize = 4 << 20;

impl<R: BufRead> CsvBatchReader<R> {
    /// Reads the header row. An empty input has an empty header and no rows.
    pub fn new(mut input: R, delimiter: u8) -> Result<Self, CsvReadError> {
        let crlf = first_line_is_crlf(&mut input).map_err(|e| CsvReadError::Read {
            line: Some(1),
            message: e.to_string(),
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(input);
        let mut first = ByteRecord::new();
        let header = if reader.read_byte_record(&mut first)? {
            first
                .iter()
                .map(|f| std::str::from_utf8(f).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| CsvReadError::HeaderNotUtf8)?
        } else {
            Vec::new()
        };
        Ok(CsvBatchReader {
            reader,
            header,
            crlf,
        })
    }

    /// The header's raw (untrimmed) names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Whether the input's first line ended in CRLF (the output keeps that line ending).
    pub fn crlf(&self) -> bool {
        self.crlf
    }

    /// The next batch of rows, or `None` at the end of input.
    pub fn next_batch(&mut self) -> Result<Option<CsvBatch>, CsvReadError> {
        let mut rows = Vec::with_capacity(BATCH_ROWS);
        let mut bytes = 0;
        while rows.len() < BATCH_ROWS && bytes < BATCH_BYTES {
            let mut record = ByteRecord::new();
            if !self.reader.read_byte_record(&mut record)? {
                break;
            }
            // The csv crate counts a CRLF's `\n` only once the next record has started, so
            // rows after a CRLF-terminated row report one line less than where they start.
            let reported = record.position().map_or(0, |p| p.line());
            let line = reported + u64::from(self.crlf);
            bytes += record.as_slice().len() + record.len();
            rows.push((line, record));
        }
        Ok(if rows.is_empty() {
            None
        } else {
            Some(CsvBatch { rows })
        })
    }
}

/// Looks at the buffered start of the input: does the first line end with `\r\n`?
fn first_line_is_crlf<R: BufRead>(input: &mut R) -> std::io::Result<bool> {
    let buf = input.fill_buf()?;
    Ok(match memchr(b'\n', buf) {
        Some(i) => i > 0 && buf[i - 1] == b'\r',
        None => false,
    })
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

/// A CSV writer into memory with `,`, minimal quoting and the given line ending.
pub fn writer(crlf: bool, capacity: usize) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(if crlf {
            Terminator::CRLF
        } else {
            Terminator::Any(b'\n')
        })
        .from_writer(Vec::with_capacity(capacity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rows_lines_and_crlf() {
        let data = b"a,b\r\n1,\"x\r\ny\"\r\n3,4\r\n";
        let mut r = CsvBatchReader::new(&data[..], b',').unwrap();
        assert_eq!(r.header(), ["a", "b"]);
        assert!(r.crlf());
        let batch = r.next_batch().unwrap().unwrap();
        let lines: Vec<u64> = batch.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 4]);
        assert!(r.next_batch().unwrap().is_none());
    }

    #[test]
    fn empty_input() {
        let mut r = CsvBatchReader::new(&b""[..], b',').unwrap();
        assert!(r.header().is_empty());
        assert!(!r.crlf());
        assert!(r.next_batch().unwrap().is_none());
    }

    #[test]
    fn writer_quotes_minimally() {
        let mut w = writer(false, 0);
        w.write_record(["a", "b,c", "say \"hi\"", ""]).unwrap();
        assert_eq!(w.into_inner().unwrap(), b"a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }
}
