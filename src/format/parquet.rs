//! Parquet input and output, one row group at a time.
//!
//! A Parquet file is read from its footer. A stored object is read in place, by ranged reads
//! ([`ParquetInput::ranged`]: the footer, then each row group's column chunks), so no disk
//! is needed whatever its size; a stream (stdin, a gunzipped input) is first spooled to an
//! unnamed temporary file (deleted when dropped). Row groups are then decoded one by one in
//! batches of at most [`BATCH_ROWS`] rows: memory holds a few batches, never the file.
//!
//! The writer keeps the input's codec and starts a new row group wherever the input did, so
//! row-group sizes follow the input (capped at [`MAX_ROW_GROUP_BYTES`] encoded bytes).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{ChunkReader, Length};

pub use super::byte_ranges::ByteRanges;

/// Rows decoded at a time (a batch is the unit of parallel work).
pub const BATCH_ROWS: usize = 16 * 1024;

/// Largest row group the writer builds before starting another, in encoded bytes.
pub const MAX_ROW_GROUP_BYTES: usize = 256 * 1024 * 1024;

/// A Parquet file that cannot be read or written. Messages come from the parquet crate, which
/// reports structure (offsets, lengths, types), not data.
#[derive(Debug, thiserror::Error)]
pub enum ParquetIoError {
    /// Spooling the input to a temporary file failed.
    #[error("cannot spool the input to a temporary file: {0}")]
    Spool(#[source] std::io::Error),
    /// The parquet crate refused the input (or could not write the output).
    #[error("not a readable Parquet file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow could not convert or display a batch.
    #[error("not a readable Parquet file: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A row group with fewer rows than its metadata says.
    #[error(
        "not a readable Parquet file: row group {group} ended after {read} of {expected} rows"
    )]
    ShortRowGroup {
        /// The row group.
        group: usize,
        /// Rows read.
        read: u64,
        /// Rows its metadata promised.
        expected: u64,
    },
    /// The decoder panicked on malformed data (contained; its message is not kept, it may
    /// quote data).
    #[error("not a readable Parquet file: malformed data in {place}: the Parquet decoder failed (at {})", .panic.location)]
    Decoder {
        /// The part being decoded (`row group 0, from row 1`).
        place: String,
        /// Where the decoder panicked.
        panic: super::decoder_panic::DecoderPanic,
    },
    /// Rows read fine but cannot be shown as JSON (a type Arrow's JSON writer lacks).
    #[error("cannot show the rows as JSON: {0}")]
    AsJson(#[source] arrow_schema::ArrowError),
    /// A cell could not be displayed as text.
    #[error("not a readable Parquet file: {0}")]
    Display(#[from] std::fmt::Error),
    /// A CSV row could not be written.
    #[error("not a readable Parquet file: {0}")]
    Csv(#[from] csv::Error),
    /// The writer's buffer could not be flushed.
    #[error("not a readable Parquet file: {0}")]
    Flush(#[from] std::io::Error),
}

/// An opened Parquet file (spooled or read in place): its schema and row groups.
pub struct ParquetInput {
    source: Source,
    metadata: ArrowReaderMetadata,
}

/// Where a Parquet file's bytes are.
enum Source {
    /// A spooled (or local) file.
    File(File),
    /// A stored object, read by ranges.
    Ranged(RangedObject),
}

/// [`ByteRanges`] as the parquet crate reads files: by offset and length.
#[derive(Clone)]
pub struct RangedObject(Arc<dyn ByteRanges>);

impl RangedObject {
    /// Reads `object` by ranges.
    pub fn new(object: Arc<dyn ByteRanges>) -> Self {
        RangedObject(object)
    }
}

fn external(e: std::io::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

impl Length for RangedObject {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl ChunkReader for RangedObject {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.0.read_range(start, self.0.size()).map_err(external)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut reader = self
            .0
            .read_range(start, start + length as u64)
            .map_err(external)?;
        let mut bytes = Vec::with_capacity(length);
        reader.read_to_end(&mut bytes).map_err(external)?;
        if bytes.len() != length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "read {} of {length} bytes at offset {start}",
                bytes.len()
            )));
        }
        Ok(Bytes::from(bytes))
    }
}

/// One decoded batch and where it sits in the file.
pub struct ParquetBatch {
    /// The rows.
    pub batch: RecordBatch,
    /// 1-based number of the batch's first row in the file (for error messages).
    pub first_row: u64,
    /// The batch is the last of its row group (the writer ends a row group after it).
    pub ends_row_group: bool,
}

impl ParquetInput {
    /// Copies `input` to a temporary file and reads its footer. `Ok(None)` for an empty input.
    pub fn spool(mut input: impl Read) -> Result<Option<Self>, ParquetIoError> {
        let mut file = tempfile::tempfile().map_err(ParquetIoError::Spool)?;
        let copied = std::io::copy(&mut input, &mut file).map_err(ParquetIoError::Spool)?;
        if copied == 0 {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(0))
            .map_err(ParquetIoError::Spool)?;
        Self::open(file).map(Some)
    }

    /// Reads the footer of a Parquet file.
    pub fn open(file: File) -> Result<Self, ParquetIoError> {
        let metadata = decoding("the footer", || {
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        })??;
        Ok(ParquetInput {
            source: Source::File(file),
            metadata,
        })
    }

    /// Reads the footer of a stored object in place (ranged reads; nothing is spooled).
    /// `Ok(None)` for an empty object.
    pub fn ranged(object: Arc<dyn ByteRanges>) -> Result<Option<Self>, ParquetIoError> {
        if object.size() == 0 {
            return Ok(None);
        }
        let ranged = RangedObject(object);
        let metadata = decoding("the footer", || {
            ArrowReaderMetadata::load(&ranged, ArrowReaderOptions::new())
        })??;
        Ok(Some(ParquetInput {
            source: Source::Ranged(ranged),
            metadata,
        }))
    }

    /// Whether a read of a stored object failed in a way a retry may cure.
    pub fn storage_failed(&self) -> bool {
        match &self.source {
            Source::Ranged(r) => r.0.failed_retryably(),
            Source::File(_) => false,
        }
    }

    /// The file's schema as Arrow sees it (from the embedded Arrow schema when there is one,
    /// so dictionary-encoded strings stay dictionaries).
    pub fn schema(&self) -> SchemaRef {
        self.metadata.schema().clone()
    }

    /// The codec of the file's first column chunk (what the output will use); uncompressed for
    /// a file without row groups.
    pub fn codec(&self) -> Compression {
        let md = self.metadata.metadata();
        if md.num_row_groups() == 0 || md.row_group(0).num_columns() == 0 {
            return Compression::UNCOMPRESSED;
        }
        md.row_group(0).column(0).compression()
    }

    /// Stored (compressed) sizes of the row groups, in order.
    pub fn row_group_bytes(&self) -> Vec<u64> {
        let md = self.metadata.metadata();
        (0..md.num_row_groups())
            .map(|i| md.row_group(i).compressed_size().max(0) as u64)
            .collect()
    }

    /// Row counts of the row groups, in order.
    pub fn row_group_rows(&self) -> Vec<u64> {
        let md = self.metadata.metadata();
        (0..md.num_row_groups())
            .map(|i| md.row_group(i).num_rows().max(0) as u64)
            .collect()
    }

    /// Returns a function yielding the file's batches in order, row group by row group.
    pub fn batches(
        &self,
    ) -> Result<impl FnMut() -> Result<Option<ParquetBatch>, ParquetIoError> + Send, ParquetIoError>
    {
        self.group_batches(0..usize::MAX)
    }

    /// As [`ParquetInput::batches`], of the row groups in `groups` only (a fan-out chunk); rows
    /// are numbered as in the whole file.
    pub fn group_batches(
        &self,
        groups: std::ops::Range<usize>,
    ) -> Result<impl FnMut() -> Result<Option<ParquetBatch>, ParquetIoError> + Send, ParquetIoError>
    {
        let source = match &self.source {
            Source::File(f) => Source::File(f.try_clone().map_err(ParquetIoError::Spool)?),
            Source::Ranged(r) => Source::Ranged(r.clone()),
        };
        let metadata = self.metadata.clone();
        let rows = self.row_group_rows();
        let end = groups.end.min(rows.len());
        let mut group = groups.start.min(end);
        let mut read_in_group = 0u64;
        let mut first_row = 1 + rows[..group].iter().sum::<u64>();
        let mut reader: Option<ParquetRecordBatchReader> = None;
        Ok(move || loop {
            if group >= end {
                return Ok(None);
            }
            if read_in_group >= rows[group] {
                group += 1;
                read_in_group = 0;
                reader = None;
                continue;
            }
            let r = match reader.as_mut() {
                Some(r) => r,
                None => {
                    let place = format!("row group {group}");
                    let built = match &source {
                        Source::File(file) => {
                            let f = file.try_clone().map_err(ParquetIoError::Spool)?;
                            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                                f,
                                metadata.clone(),
                            )
                            .with_row_groups(vec![group])
                            .with_batch_size(BATCH_ROWS);
                            decoding(&place, || builder.build())??
                        }
                        Source::Ranged(r) => {
                            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                                r.clone(),
                                metadata.clone(),
                            )
                            .with_row_groups(vec![group])
                            .with_batch_size(BATCH_ROWS);
                            decoding(&place, || builder.build())??
                        }
                    };
                    reader.insert(built)
                }
            };
            let place = format!("row group {group}, from row {first_row}");
            let Some(batch) = decoding(&place, || r.next())?.transpose()? else {
                return Err(ParquetIoError::ShortRowGroup {
                    group,
                    read: read_in_group,
                    expected: rows[group],
                });
            };
            let n = batch.num_rows() as u64;
            read_in_group += n;
            let out = ParquetBatch {
                batch,
                first_row,
                ends_row_group: read_in_group >= rows[group],
            };
            first_row += n;
            return Ok(Some(out));
        })
    }
}

/// Runs a parquet-crate call over input data (`what`: the part being decoded), turning a panic
/// in it (the crate asserts on some malformed files) into an error.
fn decoding<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, ParquetIoError> {
    super::decoder_panic::contain(f).map_err(|panic| ParquetIoError::Decoder {
        place: what.to_owned(),
        panic,
    })
}

/// Writes Parquet with the input's codec, ending row groups where the caller says; encoded
/// bytes are handed back after each row group so they can be streamed out.
pub struct ParquetOutput {
    writer: ArrowWriter<Vec<u8>>,
}

impl ParquetOutput {
    /// A writer for `schema` compressing with `codec`.
    pub fn new(schema: SchemaRef, codec: Compression) -> Result<Self, ParquetIoError> {
        let props = WriterProperties::builder()
            .set_compression(codec)
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
            .build();
        Ok(ParquetOutput {
            writer: ArrowWriter::try_new(Vec::new(), schema, Some(props))?,
        })
    }

    /// Buffers `batch`; when `end_row_group`, closes the row group. Returns the encoded bytes
    /// ready to be written out (empty until a row group closes).
    pub fn write(
        &mut self,
        batch: &RecordBatch,
        end_row_group: bool,
    ) -> Result<Vec<u8>, ParquetIoError> {
        self.writer.write(batch)?;
        if end_row_group {
            self.writer.flush()?;
            self.writer.sync()?;
        }
        Ok(std::mem::take(self.writer.inner_mut()))
    }

    /// Writes the footer; returns the remaining bytes.
    pub fn finish(self) -> Result<Vec<u8>, ParquetIoError> {
        Ok(self.writer.into_inner()?)
    }
}

/// Calls `f` with the text of each row's cells in turn (values as Arrow displays them, nulls
/// empty), reusing one buffer of cells.
fn for_each_row_text(
    batch: &RecordBatch,
    mut f: impl FnMut(&[String]) -> Result<(), ParquetIoError>,
) -> Result<(), ParquetIoError> {
    let options = FormatOptions::default().with_null("");
    let formatters: Vec<ArrayFormatter<'_>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref() as &dyn Array, &options))
        .collect::<Result<_, _>>()?;
    let mut cells = vec![String::new(); formatters.len()];
    for row in 0..batch.num_rows() {
        for (cell, fmt) in cells.iter_mut().zip(&formatters) {
            use std::fmt::Write as _;
            cell.clear();
            write!(cell, "{}", fmt.value(row))?;
        }
        f(&cells)?;
    }
    Ok(())
}

/// The text of every cell of `batch`, row by row: values as Arrow displays them, nulls empty.
pub fn rows_as_text(batch: &RecordBatch) -> Result<Vec<Vec<String>>, ParquetIoError> {
    let mut rows = Vec::with_capacity(batch.num_rows());
    for_each_row_text(batch, |cells| {
        rows.push(cells.to_vec());
        Ok(())
    })?;
    Ok(rows)
}

/// Appends `batch` as CSV rows (no header) to `out`: values as Arrow displays them, nulls empty.
pub fn write_csv_rows(
    batch: &RecordBatch,
    out: &mut csv::Writer<Vec<u8>>,
) -> Result<(), ParquetIoError> {
    for_each_row_text(batch, |cells| Ok(out.write_record(cells)?))
}

/// `batch` as NDJSON: one JSON object per row, `\n`-terminated, nulls written as `null`.
pub fn json_lines(batch: &RecordBatch) -> Result<Vec<u8>, arrow_schema::ArrowError> {
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow_json::writer::LineDelimited>(Vec::with_capacity(
        batch.num_rows() * 128,
    ));
    writer.write(batch)?;
    writer.finish()?;
    Ok(writer.into_inner())
}

impl ParquetInput {
    /// The first batches of the file holding at least `rows` rows (or all of them).
    pub fn head(&self, rows: usize) -> Result<Vec<RecordBatch>, ParquetIoError> {
        let mut next = self.batches()?;
        let mut out = Vec::new();
        let mut seen = 0;
        while seen < rows {
            let Some(b) = next()? else { break };
            seen += b.batch.num_rows();
            out.push(b.batch);
        }
        Ok(out)
    }

    /// The column names and the first `rows` rows (or all), cells as [`rows_as_text`] writes
    /// them: a preview as a table.
    pub fn head_table(
        &self,
        rows: usize,
    ) -> Result<(Vec<String>, Vec<Vec<String>>), ParquetIoError> {
        let header = self
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut table = Vec::new();
        for batch in self.head(rows)? {
            table.extend(rows_as_text(&batch)?);
        }
        table.truncate(rows);
        Ok((header, table))
    }

    /// The first `rows` rows (or all) as NDJSON, as [`json_lines`] writes them: a preview as
    /// records.
    pub fn head_json(&self, rows: usize) -> Result<Vec<u8>, ParquetIoError> {
        let mut text = Vec::new();
        let mut left = rows;
        for batch in self.head(rows)? {
            let take = batch.num_rows().min(left);
            text.extend(json_lines(&batch.slice(0, take)).map_err(ParquetIoError::AsJson)?);
            left -= take;
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + n)),
                Arc::new(StringArray::from_iter(
                    (from..from + n).map(|i| (i % 3 != 0).then(|| format!("v{i}"))),
                )),
            ],
        )
        .unwrap()
    }

    #[test]
    fn row_groups_and_codec_survive_a_round_trip() {
        let first = batch(0, BATCH_ROWS as i64 + 10);
        let mut w = ParquetOutput::new(first.schema(), Compression::SNAPPY).unwrap();
        let mut bytes = w.write(&first, true).unwrap();
        assert!(
            bytes.starts_with(b"PAR1"),
            "a closed row group is handed back at once"
        );
        bytes.extend(w.write(&batch(100_000, 5), false).unwrap());
        bytes.extend(w.write(&batch(100_005, 5), true).unwrap());
        bytes.extend(w.finish().unwrap());

        let input = ParquetInput::spool(&bytes[..]).unwrap().unwrap();
        assert_eq!(input.row_group_rows(), [BATCH_ROWS as u64 + 10, 10]);
        assert_eq!(input.codec(), Compression::SNAPPY);
        let mut next = input.batches().unwrap();
        let mut seen = Vec::new();
        while let Some(b) = next().unwrap() {
            seen.push((b.first_row, b.batch.num_rows(), b.ends_row_group));
        }
        assert_eq!(
            seen,
            [
                (1, BATCH_ROWS, false),
                (BATCH_ROWS as u64 + 1, 10, true),
                (BATCH_ROWS as u64 + 11, 10, true)
            ]
        );
        let rows = rows_as_text(&input.head(1).unwrap()[0]).unwrap();
        assert_eq!(rows[0], ["0", ""]);
        assert_eq!(rows[1], ["1", "v1"]);
    }

    /// A file of `groups`, one row group each, as bytes.
    fn file_of(groups: &[RecordBatch]) -> Vec<u8> {
        let mut w = ParquetOutput::new(batch(0, 0).schema(), Compression::SNAPPY).unwrap();
        let mut bytes = Vec::new();
        for g in groups {
            bytes.extend(w.write(g, true).unwrap());
        }
        bytes.extend(w.finish().unwrap());
        bytes
    }

    #[test]
    fn previews_stop_at_the_rows_asked_for_across_row_groups() {
        let bytes = file_of(&[batch(0, 3), batch(3, 3)]);
        let input = ParquetInput::spool(&bytes[..]).unwrap().unwrap();
        assert_eq!(input.row_group_rows(), [3, 3]);
        let (header, rows) = input.head_table(4).unwrap();
        assert_eq!(header, ["n", "s"]);
        assert_eq!(rows, [["0", ""], ["1", "v1"], ["2", "v2"], ["3", ""]]);
        let json = String::from_utf8(input.head_json(4).unwrap()).unwrap();
        let ns: Vec<&str> = json.lines().collect();
        assert_eq!(ns.len(), 4, "{json}");
        assert_eq!(ns[0], "{\"n\":0,\"s\":null}");
        assert_eq!(ns[3], "{\"n\":3,\"s\":null}");
        assert_eq!(input.head_table(9).unwrap().1.len(), 6);
        assert_eq!(
            input.head_json(9).unwrap().split(|b| *b == b'\n').count(),
            7
        );
    }

    #[test]
    fn a_file_without_rows_previews_its_header() {
        let bytes = file_of(&[]);
        let input = ParquetInput::spool(&bytes[..]).unwrap().unwrap();
        let (header, rows) = input.head_table(10).unwrap();
        assert_eq!(header, ["n", "s"]);
        assert!(rows.is_empty());
        assert!(input.head_json(10).unwrap().is_empty());
    }

    #[test]
    fn empty_and_foreign_inputs() {
        assert!(ParquetInput::spool(&b""[..]).unwrap().is_none());
        let err = ParquetInput::spool(&b"EMPLOYEE_ID\nE1\n"[..])
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("not a readable Parquet file"),
            "{err}"
        );
    }
}
