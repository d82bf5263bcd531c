//! CSV/TSV: a batching reader and a minimal-quoting writer.
//!
//! The reader does not parse fields: it only finds where records end (a scan for quotes and
//! line ends that follows the csv crate's quoting rules) and hands out batches of whole records
//! as raw bytes. Workers parse their batch ([`CsvBatch::for_each_record`]), so the thread that
//! reads the input is not the bottleneck.
//!
//! A UTF-8 byte-order mark is dropped at the very start of the input only, as the csv crate does
//! when it reads a whole file: one anywhere else (say, at the start of a later batch) is data.

use std::io::Read;

use bytes::{Buf, Bytes, BytesMut};
use csv::{ByteRecord, Terminator};

/// A run of whole records, as raw CSV text, parsed by whoever transforms it.
pub struct CsvBatch {
    /// The 1-based line the batch's first byte is on.
    pub first_line: u64,
    /// A slice of the reader's buffer (shared, not copied).
    bytes: Bytes,
    delimiter: u8,
}

/// Reads the header, then batches of whole records, from decoded CSV text.
pub struct CsvBatchReader<R: Read> {
    input: R,
    /// Read but not yet handed out; starts at a record boundary. Batches are split off its
    /// front without copying.
    buf: BytesMut,
    /// Where the record scan resumes in `buf`, and the records found so far.
    scan_from: usize,
    scanned_records: usize,
    eof: bool,
    delimiter: u8,
    /// Line of `buf[0]`.
    next_line: u64,
    header: Vec<String>,
    crlf: bool,
}

/// A CSV input that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvReadError {
    /// The header row is not UTF-8.
    #[error("line 1: header is not valid UTF-8")]
    HeaderNotUtf8,
    /// A quoted field is still open at the end of the input.
    #[error("line {line}: a quoted field opens on this line and is never closed")]
    UnclosedQuote {
        /// Line of the opening quote.
        line: u64,
    },
    /// The underlying reader failed (includes gzip errors).
    #[error("{}{source}", line_prefix(*.line))]
    Read {
        /// Line of the failure, when known.
        line: Option<u64>,
        /// What failed.
        source: std::io::Error,
    },
    /// The csv parser refused a record.
    #[error("{}{source}", line_prefix(*.line))]
    Parse {
        /// Line of the failure, when known.
        line: Option<u64>,
        /// The parser's error (it names positions, not values).
        source: csv::Error,
    },
}

fn line_prefix(line: Option<u64>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

impl CsvReadError {
    fn from_csv(e: csv::Error, first_line: u64) -> Self {
        let line = e.position().map(|p| p.line() + first_line - 1);
        CsvReadError::Parse { line, source: e }
    }
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Most records per batch, and the bytes after which a batch ends at the next record end.
const BATCH_ROWS: usize = 2000;
const BATCH_BYTES: usize = 4 << 20;
/// The least room a read is given.
const READ_BYTES: usize = 64 << 10;
/// Size of each new read buffer (several batches are split from one).
const ALLOCATION_BYTES: usize = 1 << 20;

impl CsvBatch {
    /// Parses the batch, calling `f(line, record)` for each record (one record buffer, reused).
    /// Returns how many records there were.
    pub fn for_each_record<E: From<CsvReadError>>(
        &self,
        mut f: impl FnMut(u64, &ByteRecord) -> Result<(), E>,
    ) -> Result<u64, E> {
        // The csv crate drops a BOM at the start of what it reads, as at the start of a file.
        // A batch is never the start of the input (the reader drops that BOM itself), so a BOM
        // here is data: a blank line in front keeps the crate from dropping it, and positions
        // and lines are taken back by that line.
        let (prefix, first_line): (&[u8], u64) = if self.bytes.starts_with(BOM) {
            (b"\n", self.first_line - 1)
        } else {
            (b"", self.first_line)
        };
        let mut reader = csv_reader(Read::chain(prefix, &self.bytes[..]), self.delimiter);
        let mut record = ByteRecord::new();
        let mut line = self.first_line;
        let mut counted = 0usize;
        let mut n = 0;
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| E::from(CsvReadError::from_csv(e, first_line)))?
        {
            let start = first_content_byte(
                &self.bytes,
                record
                    .position()
                    .map_or(counted, |p| {
                        (p.byte() as usize).saturating_sub(prefix.len())
                    })
                    .clamp(counted, self.bytes.len()),
            );
            line += newlines(&self.bytes[counted..start]);
            counted = start;
            f(line, &record)?;
            n += 1;
        }
        Ok(n)
    }

    /// The records with their lines, owned (for callers that keep rows).
    pub fn into_rows(self) -> Result<Vec<(u64, ByteRecord)>, CsvReadError> {
        let mut rows = Vec::new();
        self.for_each_record(|line, record| {
            rows.push((line, record.clone()));
            Ok::<_, CsvReadError>(())
        })?;
        Ok(rows)
    }
}

impl<R: Read> CsvBatchReader<R> {
    /// Reads the header row (the first non-empty record). An empty input has an empty header
    /// and no rows.
    pub fn new(input: R, delimiter: u8) -> Result<Self, CsvReadError> {
        Self::starting_at(input, delimiter, 1)
    }

    /// As [`CsvBatchReader::new`], numbering the input's first line `first_line` (a fan-out
    /// chunk: its header is given first, its records are later lines of the whole object).
    pub fn starting_at(input: R, delimiter: u8, first_line: u64) -> Result<Self, CsvReadError> {
        let mut reader = CsvBatchReader {
            input,
            buf: BytesMut::new(),
            scan_from: 0,
            scanned_records: 0,
            eof: false,
            delimiter,
            next_line: first_line.max(1),
            header: Vec::new(),
            crlf: false,
        };
        reader.skip_bom()?;
        while let Some(first) = reader.take_batch(1)? {
            let crlf = first.bytes.ends_with(b"\r\n");
            let Some((_, record)) = first.into_rows()?.into_iter().next() else {
                continue; // blank lines before the header
            };
            reader.crlf = crlf;
            reader.header = record
                .iter()
                .map(|f| std::str::from_utf8(f).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| CsvReadError::HeaderNotUtf8)?;
            break;
        }
        Ok(reader)
    }

    /// Drops a BOM at the very start of the input.
    fn skip_bom(&mut self) -> Result<(), CsvReadError> {
        while self.buf.len() < BOM.len() && !self.eof {
            self.fill()?;
        }
        if self.buf.starts_with(BOM) {
            self.buf.advance(BOM.len());
        }
        Ok(())
    }

    /// The header's raw (untrimmed) names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Whether the header ended in CRLF (the output keeps that line ending).
    pub fn crlf(&self) -> bool {
        self.crlf
    }

    /// The next batch of whole records, or `None` at the end of input.
    pub fn next_batch(&mut self) -> Result<Option<CsvBatch>, CsvReadError> {
        self.take_batch(BATCH_ROWS)
    }

    /// The next `max_records` records (or fewer: up to the first record end past
    /// `BATCH_BYTES`, or the end of input). Batch boundaries depend only on the content, never
    /// on how the input's reads happen to be sized, so a shuffled output is reproducible.
    fn take_batch(&mut self, max_records: usize) -> Result<Option<CsvBatch>, CsvReadError> {
        loop {
            match scan_records(
                &self.buf,
                self.scan_from,
                self.delimiter,
                &mut self.scanned_records,
                max_records,
                BATCH_BYTES,
            ) {
                Ok(end) => return Ok(Some(self.split(end))),
                Err(resume) => self.scan_from = resume,
            }
            if self.eof {
                if let Some(open) = unclosed_quote(&self.buf, self.scan_from, self.delimiter) {
                    // The csv crate would read the rest of the input as one cell, which could
                    // carry later rows into a column passed in clear.
                    return Err(CsvReadError::UnclosedQuote {
                        line: self.next_line + newlines(&self.buf[..open]),
                    });
                }
                return Ok((!self.buf.is_empty()).then(|| self.split(self.buf.len())));
            }
            self.fill()?;
        }
    }

    /// Hands out `buf[..end]` as a batch; the rest stays.
    fn split(&mut self, end: usize) -> CsvBatch {
        let bytes = self.buf.split_to(end).freeze();
        let first_line = self.next_line;
        self.next_line += newlines(&bytes);
        self.scan_from = 0;
        self.scanned_records = 0;
        CsvBatch {
            first_line,
            bytes,
            delimiter: self.delimiter,
        }
    }

    fn fill(&mut self) -> Result<(), CsvReadError> {
        let len = self.buf.len();
        // Reads go into the spare room of the current allocation, which batches are split
        // from. When it runs short, a new one (`ALLOCATION_BYTES`, or twice what is held)
        // receives the unfinished record: one copy of a partial record per allocation, none
        // per batch.
        if self.buf.capacity() - len < READ_BYTES {
            self.buf.reserve(ALLOCATION_BYTES.max(len));
        }
        // A read asks for `READ_BYTES`, or as much as is held when that is more: a record
        // longer than a read (a huge cell) is read in doubling steps, so the rescans from its
        // start add up to a constant times its size, not its square. The room is zeroed
        // first, so asking for no more than that keeps the zeroing in line with the reading.
        let room = (self.buf.capacity() - len).min(READ_BYTES.max(len));
        self.buf.resize(len + room, 0);
        let read = loop {
            match self.input.read(&mut self.buf[len..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(n) => {
                self.buf.truncate(len + n);
                self.eof = n == 0;
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(len);
                Err(CsvReadError::Read {
                    line: Some(self.next_line + newlines(&self.buf)),
                    source: e,
                })
            }
        }
    }
}

/// At the end of the input, the position of a `"` that opens a field and is never closed, if
/// any, scanning from `from` (a position outside any quoted field).
fn unclosed_quote(buf: &[u8], from: usize, delimiter: u8) -> Option<usize> {
    let mut records = 0;
    let Err(stop) = scan_records(buf, from, delimiter, &mut records, usize::MAX, usize::MAX) else {
        return None;
    };
    // The scan stops early only at a trailing `\r` or at a quoted field it could not finish.
    if buf.get(stop) != Some(&b'"') {
        return None;
    }
    let mut k = stop + 1;
    loop {
        let Some(offset) = memchr::memchr(b'"', &buf[k..]) else {
            return Some(stop); // no closing quote before the end
        };
        let quote = k + offset;
        match buf.get(quote + 1) {
            Some(b'"') => k = quote + 2, // an escaped quote
            _ => return None,            // the closing quote (at the end, or before more text)
        }
    }
}

/// Finds where a batch of records starting at `buf[0]` ends, scanning from `i` (a position
/// outside any quoted field, as returned by a previous call). Follows the csv crate's rules: a
/// record ends at `\n`, `\r\n` or a lone `\r` outside quotes; a `"` opens a quoted field only at
/// the start of a field, where `""` is an escaped quote. Counts record ends in `records`.
///
/// `Ok(end)`: the batch is `buf[..end]` (`max_records` ends seen, or the first end at or after
/// `max_bytes`). `Err(resume)`: more input is needed; scan again from `resume`.
fn scan_records(
    buf: &[u8],
    mut i: usize,
    delimiter: u8,
    records: &mut usize,
    max_records: usize,
    max_bytes: usize,
) -> Result<usize, usize> {
    while i < buf.len() {
        let Some(offset) = memchr::memchr3(b'"', b'\n', b'\r', &buf[i..]) else {
            return Err(buf.len());
        };
        let j = i + offset;
        match buf[j] {
            b'"' => {
                let field_start =
                    j == 0 || matches!(buf[j - 1], b'\n' | b'\r') || buf[j - 1] == delimiter;
                if !field_start {
                    i = j + 1; // a literal quote inside an unquoted field
                    continue;
                }
                let mut k = j + 1;
                loop {
                    let Some(offset) = memchr::memchr(b'"', &buf[k..]) else {
                        return Err(j);
                    };
                    let quote = k + offset;
                    match buf.get(quote + 1) {
                        None => return Err(j), // escaped or closing: not known yet
                        Some(b'"') => k = quote + 2,
                        Some(_) => {
                            i = quote + 1;
                            break;
                        }
                    }
                }
            }
            b'\r' if j + 1 == buf.len() => return Err(j), // a CRLF split by a read
            b'\r' if buf[j + 1] == b'\n' => i = j + 1,    // the `\n` ends the record
            _ => {
                let end = j + 1;
                *records += 1;
                if *records >= max_records || end >= max_bytes {
                    return Ok(end);
                }
                i = end;
            }
        }
    }
    Err(buf.len())
}

/// The fields of one record parsed by [`CsvRecords`]: ranges of the batch's text, or of a
/// scratch buffer for quoted fields that needed unescaping. Reused from record to record.
#[derive(Debug, Default)]
pub struct CsvFields {
    spans: Vec<FieldSpan>,
    scratch: String,
}

#[derive(Debug, Clone, Copy)]
enum FieldSpan {
    Text(usize, usize),
    Scratch(usize, usize),
}

impl CsvFields {
    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the record has no fields (never true for a parsed record).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `i` of the record, given the text it was parsed from.
    pub fn get<'a>(&'a self, text: &'a str, i: usize) -> Option<&'a str> {
        Some(match *self.spans.get(i)? {
            FieldSpan::Text(a, b) => &text[a..b],
            FieldSpan::Scratch(a, b) => &self.scratch[a..b],
        })
    }
}

/// Parses the records of a batch's text without copying unquoted fields. Reads exactly what
/// the csv crate reads (tested against it): fields split at the delimiter, records ended by
/// `\n`, `\r\n` or `\r`, blank lines skipped, a `"` at a field's start opens a quoted field in
/// which `""` is a quote, and text after a closing quote is kept.
pub struct CsvRecords<'a> {
    text: &'a str,
    pos: usize,
    line: u64,
    delimiter: u8,
}

impl<'a> CsvRecords<'a> {
    /// Records of `text`, whose first byte is on line `first_line`. `delimiter` is ASCII.
    pub fn new(text: &'a str, first_line: u64, delimiter: u8) -> Self {
        debug_assert!(delimiter.is_ascii());
        CsvRecords {
            text,
            pos: 0,
            line: first_line,
            delimiter,
        }
    }

    /// Parses the next record into `fields` and returns the line it starts on; `None` at the
    /// end of the text.
    pub fn next_into(&mut self, fields: &mut CsvFields) -> Option<u64> {
        let bytes = self.text.as_bytes();
        // Blank lines (and the `\n` of a CRLF) between records.
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let line = self.line;
        fields.spans.clear();
        fields.scratch.clear();
        loop {
            let end_of_field = if bytes[self.pos] == b'"' {
                self.quoted_field(fields)
            } else {
                let start = self.pos;
                let end = memchr::memchr3(self.delimiter, b'\r', b'\n', &bytes[start..])
                    .map_or(bytes.len(), |o| start + o);
                fields.spans.push(FieldSpan::Text(start, end));
                end
            };
            match bytes.get(end_of_field) {
                Some(&b) if b == self.delimiter => {
                    self.pos = end_of_field + 1;
                    if self.pos == bytes.len() {
                        fields.spans.push(FieldSpan::Text(self.pos, self.pos));
                        return Some(line);
                    }
                }
                Some(b'\n') => {
                    self.pos = end_of_field + 1;
                    self.line += 1;
                    return Some(line);
                }
                Some(_) => {
                    // `\r`, alone or as the start of `\r\n` (the `\n` is skipped next time).
                    self.pos = end_of_field + 1;
                    return Some(line);
                }
                None => {
                    self.pos = bytes.len();
                    return Some(line);
                }
            }
        }
    }

    /// A field starting with `"` at `self.pos`; returns where it ends (at a delimiter, line
    /// end or the end of the text).
    fn quoted_field(&mut self, fields: &mut CsvFields) -> usize {
        let bytes = self.text.as_bytes();
        let open = self.pos;
        let mut from = open + 1;
        // The common case: no escaped quote, and the closing quote ends the field.
        if let Some(o) = memchr::memchr(b'"', &bytes[from..]) {
            let close = from + o;
            let after = bytes.get(close + 1).copied();
            if after != Some(b'"') && self.ends_field(after) {
                self.line += newlines(&bytes[from..close]);
                fields.spans.push(FieldSpan::Text(from, close));
                return close + 1;
            }
        }
        let start = fields.scratch.len();
        loop {
            match memchr::memchr(b'"', &bytes[from..]) {
                None => {
                    // Unterminated: the field runs to the end of the text.
                    self.line += newlines(&bytes[from..]);
                    fields.scratch.push_str(&self.text[from..]);
                    fields
                        .spans
                        .push(FieldSpan::Scratch(start, fields.scratch.len()));
                    return bytes.len();
                }
                Some(o) => {
                    let quote = from + o;
                    self.line += newlines(&bytes[from..quote]);
                    fields.scratch.push_str(&self.text[from..quote]);
                    if bytes.get(quote + 1) == Some(&b'"') {
                        fields.scratch.push('"');
                        from = quote + 2;
                        continue;
                    }
                    // Closed: anything up to the field's end is kept as written.
                    let rest = quote + 1;
                    let end = memchr::memchr3(self.delimiter, b'\r', b'\n', &bytes[rest..])
                        .map_or(bytes.len(), |o| rest + o);
                    fields.scratch.push_str(&self.text[rest..end]);
                    fields
                        .spans
                        .push(FieldSpan::Scratch(start, fields.scratch.len()));
                    return end;
                }
            }
        }
    }

    fn ends_field(&self, next: Option<u8>) -> bool {
        match next {
            None | Some(b'\r') | Some(b'\n') => true,
            Some(b) => b == self.delimiter,
        }
    }
}

/// The bytes that make [`write_field`] quote a field.
static NEEDS_QUOTES: [bool; 256] = {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\r' as usize] = true;
    table[b'\n' as usize] = true;
    table
};

/// Appends `field` to a CSV line with `,` as the delimiter, quoted only when it holds a
/// delimiter, a quote or a line break (quotes doubled), as the csv crate's writer does.
pub fn write_field(out: &mut Vec<u8>, field: &str) {
    let bytes = field.as_bytes();
    if !needs_quotes(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    let mut from = 0;
    for quote in memchr::memchr_iter(b'"', bytes) {
        out.extend_from_slice(&bytes[from..=quote]);
        out.push(b'"');
        from = quote + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

/// Whether a field holds a byte that forces quoting (`,`, `"`, `\r`, `\n`).
///
/// Tests eight bytes at a time (SWAR: a byte of `x ^ c` is zero where `x` holds `c`), then
/// the tail through [`NEEDS_QUOTES`].
#[inline]
fn needs_quotes(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const fn splat(b: u8) -> u64 {
        ONES * b as u64
    }
    // Non-zero exactly when some byte of `v` is zero.
    #[inline]
    fn zero_byte(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGHS
    }
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_ne_bytes(eight);
        let hits = zero_byte(x ^ splat(b','))
            | zero_byte(x ^ splat(b'"'))
            | zero_byte(x ^ splat(b'\r'))
            | zero_byte(x ^ splat(b'\n'));
        if hits != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| NEEDS_QUOTES[usize::from(b)])
}

/// Whether every field parsed from `text` can be written as it is, unquoted, with `,` as the
/// delimiter: true when the delimiter is `,` and `text` holds no `"`. Then no field was quoted,
/// and an unquoted field ends at any delimiter or line break, so none holds a byte that forces
/// quoting.
pub fn quote_free(text: &str, delimiter: u8) -> bool {
    delimiter == b',' && memchr::memchr(b'"', text.as_bytes()).is_none()
}

impl CsvBatch {
    /// [`quote_free`] for this batch's text.
    pub fn quote_free(&self, text: &str) -> bool {
        quote_free(text, self.delimiter)
    }

    /// The batch as text, when it is all valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// The record parser over [`CsvBatch::text`].
    pub fn records<'a>(&self, text: &'a str) -> CsvRecords<'a> {
        CsvRecords::new(text, self.first_line, self.delimiter)
    }
}

/// Where a record whose position the csv crate reports as `start` really begins: the crate
/// places a record after a CRLF (or blank lines) on the line ends before it.
fn first_content_byte(bytes: &[u8], mut start: usize) -> usize {
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    start
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

fn csv_reader<R: Read>(bytes: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
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

    /// Rows as (line, cells).
    type Rows = Vec<(u64, Vec<String>)>;

    /// Header, CRLF flag and the rows of each batch, reading `read_size` bytes at a time.
    fn batches(data: &[u8], read_size: usize) -> (Vec<String>, bool, Vec<Rows>) {
        try_batches(data, read_size).unwrap()
    }

    /// Whether the input ends inside a quoted field, by a byte-at-a-time reading of the csv
    /// crate's rules (an oracle independent of the reader's scan).
    fn ends_in_open_quote(data: &[u8]) -> bool {
        #[derive(PartialEq)]
        enum State {
            FieldStart,
            Unquoted,
            Quoted,
            QuoteInQuoted,
        }
        let mut state = State::FieldStart;
        for &b in data {
            state = match (state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') | (State::FieldStart, b'"') => State::Quoted,
                (_, b',' | b'\n' | b'\r') => State::FieldStart,
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, _) => State::Unquoted,
            };
        }
        state == State::Quoted
    }

    fn try_batches(
        data: &[u8],
        read_size: usize,
    ) -> Result<(Vec<String>, bool, Vec<Rows>), CsvReadError> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = CsvBatchReader::new(Trickle(data, read_size), b',')?;
        let mut out = Vec::new();
        while let Some(batch) = r.next_batch()? {
            let rows = batch.into_rows()?;
            out.push(
                rows.into_iter()
                    .map(|(line, rec)| {
                        let cells = rec
                            .iter()
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect();
                        (line, cells)
                    })
                    .collect(),
            );
        }
        Ok((r.header().to_vec(), r.crlf(), out))
    }

    #[test]
    fn header_rows_lines_and_crlf() {
        let data = b"a,b\r\n1,\"x\r\ny\"\r\n3,4\r\n";
        for read_size in [1, 2, 3, 7, 64 << 10] {
            let (header, crlf, out) = batches(data, read_size);
            assert_eq!(header, ["a", "b"]);
            assert!(crlf);
            assert_eq!(
                out.concat(),
                vec![
                    (2, vec!["1".into(), "x\r\ny".into()]),
                    (4, vec!["3".into(), "4".into()])
                ],
                "read size {read_size}"
            );
        }
    }

    #[test]
    fn empty_input() {
        let mut r = CsvBatchReader::new(&b""[..], b',').unwrap();
        assert!(r.header().is_empty());
        assert!(!r.crlf());
        assert!(r.next_batch().unwrap().is_none());
    }

    /// Whatever the input and however it arrives, the batches hold exactly the records the csv
    /// crate reads from the whole text, on the same lines.
    #[test]
    fn batches_agree_with_the_csv_crate() {
        let samples: [&[u8]; 9] = [
            b"h1,h2\n\"a\"\"b\",c\n\"\",\"\"\"\"\"\n",
            b"h\n5'10\",x\"y\nnext,\"q\nq\"\n",
            b"h\n\"closed\"tail,\"x\"\"\ny\"\n",
            b"h\rone\rtwo\r\"three\rstill\"\r",
            b"h\r\n\r\n\r\na,b\r\n\"\r\n\"\r\nlast",
            b"\n\nh1,h2\n1,2\n",
            b"h\n\"unterminated,\n1\n2\n",
            b"h,i\n,\"\"\n\"\",\n",
            b"h\n\"\"\"\n\"\n",
        ];
        for data in samples {
            let mut expected = Vec::new();
            let mut reader = csv_reader(data, b',');
            let mut rec = ByteRecord::new();
            let mut crate_rows = Vec::new();
            while reader.read_byte_record(&mut rec).unwrap() {
                let start = first_content_byte(data, rec.position().unwrap().byte() as usize);
                let line = 1 + newlines(&data[..start]);
                crate_rows.push((
                    line,
                    rec.iter()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect::<Vec<_>>(),
                ));
            }
            let header = crate_rows.first().map(|r| r.1.clone()).unwrap_or_default();
            expected.extend(crate_rows.into_iter().skip(1));
            for read_size in [1, 2, 5, 64 << 10] {
                if ends_in_open_quote(data) {
                    let result = try_batches(data, read_size);
                    assert!(
                        matches!(result, Err(CsvReadError::UnclosedQuote { .. })),
                        "{:?}",
                        String::from_utf8_lossy(data)
                    );
                    continue;
                }
                let (got_header, _, out) = batches(data, read_size);
                assert_eq!(got_header, header, "{:?}", String::from_utf8_lossy(data));
                assert_eq!(
                    out.concat(),
                    expected,
                    "{:?} read {read_size}",
                    String::from_utf8_lossy(data)
                );
            }
        }
    }

    #[test]
    fn a_huge_quoted_cell_is_one_field() {
        let mut data = b"h,i\n\"".to_vec();
        data.extend(std::iter::repeat_n(b'x', 64 << 20));
        data.extend_from_slice(b"\",2\n3,4\n");
        let mut r = CsvBatchReader::new(&data[..], b',').unwrap();
        let mut rows = Vec::new();
        while let Some(batch) = r.next_batch().unwrap() {
            rows.extend(batch.into_rows().unwrap());
        }
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1.get(0).map(<[u8]>::len), Some(64 << 20));
        assert_eq!((rows[0].0, rows[1].0), (2, 3));
    }

    #[test]
    fn batch_boundaries_follow_the_content() {
        let mut data = b"h\n".to_vec();
        for i in 0..5000 {
            data.extend_from_slice(format!("{i},\"x\ny\"\n").as_bytes());
        }
        let sizes = |read_size| -> Vec<usize> {
            batches(&data, read_size).2.iter().map(Vec::len).collect()
        };
        assert_eq!(sizes(64 << 10), vec![2000, 2000, 1000]);
        assert_eq!(sizes(3), vec![2000, 2000, 1000]);
        let lines: Vec<u64> = batches(&data, 100)
            .2
            .concat()
            .iter()
            .map(|r| r.0)
            .take(3)
            .collect();
        assert_eq!(lines, vec![2, 4, 6]);
    }

    /// Text made of the characters that matter to CSV, and a few others.
    fn csv_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                "a", "bc", "é", ",", "\"", "\r", "\n", " ", "\t", "\"\"", "\u{feff}",
            ]),
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    fn crate_records(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut reader = csv_reader(text.as_bytes(), b',');
        let mut rec = ByteRecord::new();
        let mut rows = Vec::new();
        while reader.read_byte_record(&mut rec).unwrap() {
            let start =
                first_content_byte(text.as_bytes(), rec.position().unwrap().byte() as usize);
            let line = 1 + newlines(&text.as_bytes()[..start]);
            rows.push((
                line,
                rec.iter()
                    .map(|c| String::from_utf8(c.to_vec()).unwrap())
                    .collect(),
            ));
        }
        rows
    }

    use proptest::prelude::*;

    proptest! {
        /// The record parser reads what the csv crate reads, on the same lines.
        #[test]
        fn record_parser_matches_the_csv_crate(text in csv_text()) {
            // (The crate drops a BOM at the start of its input; batches never start there.)
            prop_assume!(!text.starts_with('\u{feff}'));
            let mut records = CsvRecords::new(&text, 1, b',');
            let mut fields = CsvFields::default();
            let mut ours = Vec::new();
            while let Some(line) = records.next_into(&mut fields) {
                let cells = (0..fields.len()).map(|i| fields.get(&text, i).unwrap().to_string()).collect();
                ours.push((line, cells));
            }
            prop_assert_eq!(ours, crate_records(&text));
        }

        /// Batches (any read size) hold the records the csv crate reads from the whole text.
        #[test]
        fn batches_match_the_csv_crate(
            bom in proptest::bool::ANY,
            text in csv_text(),
            read_size in 1usize..9,
        ) {
            let body = format!("h\n{text}");
            let input = if bom { format!("\u{feff}{body}") } else { body.clone() };
            if ends_in_open_quote(body.as_bytes()) {
                let result = try_batches(input.as_bytes(), read_size);
                let unclosed = matches!(result, Err(CsvReadError::UnclosedQuote { .. }));
                prop_assert!(unclosed, "expected an unclosed-quote error");
                return Ok(());
            }
            let (header, _, out) = batches(input.as_bytes(), read_size);
            let mut expected = crate_records(&input).into_iter();
            prop_assert_eq!(Some(header), expected.next().map(|(_, cells)| cells));
            prop_assert_eq!(out.concat(), expected.collect::<Vec<_>>());
        }

        /// `write_field` writes what the csv crate's writer writes.
        #[test]
        fn field_writer_matches_the_csv_crate(record in proptest::collection::vec(csv_text(), 1..4)) {
            for crlf in [false, true] {
                let mut w = writer(crlf, 0);
                w.write_record(&record).unwrap();
                let expected = w.into_inner().unwrap();
                let mut ours = Vec::new();
                for (i, field) in record.iter().enumerate() {
                    if i > 0 {
                        ours.push(b',');
                    }
                    write_field(&mut ours, field);
                }
                if record.len() == 1 && record[0].is_empty() {
                    ours.extend_from_slice(b"\"\"");
                }
                ours.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&expected));
            }
        }
    }

    #[test]
    fn a_bom_is_dropped_at_the_start_of_the_input_only() {
        // At the start: dropped, so a quote after it opens a quoted field.
        let (header, _, rows) = batches("\u{feff}\"a,b\",c\n1,2\n".as_bytes(), 2);
        assert_eq!(header, vec!["a,b", "c"]);
        assert_eq!(
            rows.concat(),
            vec![(2, vec!["1".to_string(), "2".to_string()])]
        );
        // Anywhere else it is data, also at the start of a batch (each record is one batch
        // here: the header batch, then rows), in every parser, on the right lines.
        let input = "h\n\u{feff}6,x\n\r\u{feff}\n\u{feff}\"q\",z\n";
        let expected = crate_records(input);
        let (header, _, rows) = batches(input.as_bytes(), 1);
        assert_eq!(header, vec!["h"]);
        let rows = rows.concat();
        assert_eq!(rows, expected[1..].to_vec());
        assert_eq!(rows[0], (2, vec!["\u{feff}6".to_string(), "x".to_string()]));
        assert_eq!(rows[1], (3, vec!["\u{feff}".to_string()]));
        assert_eq!(
            rows[2],
            (4, vec!["\u{feff}\"q\"".to_string(), "z".to_string()])
        );
        // The zero-copy parser agrees on each batch's text.
        let mut reader = CsvBatchReader::new(input.as_bytes(), b',').unwrap();
        let mut fast = Vec::new();
        while let Some(batch) = reader.take_batch(1).unwrap() {
            let text = batch.text().unwrap();
            let mut records = batch.records(text);
            let mut fields = CsvFields::default();
            while let Some(line) = records.next_into(&mut fields) {
                let cells = (0..fields.len()).map(|i| fields.get(text, i).unwrap().to_string());
                fast.push((line, cells.collect::<Vec<_>>()));
            }
        }
        assert_eq!(fast, rows);
        // A BOM-only line after a blank one is the header, not skipped.
        let (header, _, _) = batches(b"\r\xef\xbb\xbf", 1);
        assert_eq!(header, vec!["\u{feff}"]);
    }

    #[test]
    fn a_quote_left_open_at_the_end_is_found() {
        let open = |text: &str| unclosed_quote(text.as_bytes(), 0, b',');
        assert_eq!(open("a,\"b\n"), Some(2));
        assert_eq!(
            open("a,\"b\"\"\n"),
            Some(2),
            "an escaped quote does not close"
        );
        assert_eq!(open("x\ny,\"b\nc\nd"), Some(4));
        assert_eq!(open("a,\"b\""), None);
        assert_eq!(open("a,\"b\"\"\""), None);
        assert_eq!(open("a,\"b\"x\n"), None, "text after the closing quote");
        assert_eq!(open("a,b\"c\n"), None, "a quote inside an unquoted field");
        assert_eq!(open("\"a\nb\"\n"), None, "a closed multi-line cell");
        assert_eq!(open("a,b\r"), None);
        assert_eq!(open(""), None);
    }

    #[test]
    fn reader_names_the_line_of_an_unclosed_quote() {
        let text = "EMAIL,NAME\na@x.com,Al\nb@x.com,\"Bo\nc@x.com,Cy\n";
        let mut reader = CsvBatchReader::new(text.as_bytes(), b',').unwrap();
        let err = std::iter::from_fn(|| reader.next_batch().transpose())
            .find_map(Result::err)
            .expect("an error");
        assert_eq!(
            err.to_string(),
            "line 3: a quoted field opens on this line and is never closed"
        );
        let header_only = CsvBatchReader::new("A,\"B\n".as_bytes(), b',');
        assert!(matches!(
            header_only,
            Err(CsvReadError::UnclosedQuote { line: 1 })
        ));
    }

    #[test]
    fn quoting_test_finds_each_special_byte_at_each_position() {
        let by_table = |bytes: &[u8]| bytes.iter().any(|&b| NEEDS_QUOTES[usize::from(b)]);
        for len in 0..24 {
            // Bytes one off the specials and high bytes probe the SWAR borrow logic.
            for filler in [b'a', b'-', b'+', b'!', b'#', 0x0B, 0x0E, 0x80, 0xFF, 0x2D] {
                let plain = vec![filler; len];
                assert_eq!(needs_quotes(&plain), by_table(&plain), "{plain:?}");
                for at in 0..len {
                    for special in [b',', b'"', b'\r', b'\n'] {
                        let mut bytes = plain.clone();
                        bytes[at] = special;
                        assert!(needs_quotes(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn writer_quotes_minimally() {
        let mut w = writer(false, 0);
        w.write_record(["a", "b,c", "say \"hi\"", ""]).unwrap();
        assert_eq!(w.into_inner().unwrap(), b"a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }
}
