//! Streaming readers and writers: compression, character encodings and BOM handling, CSV/TSV,
//! NDJSON and JSON-array batching, Parquet row groups.

pub mod byte_ranges;
pub mod charset;
pub mod compression;
pub mod csv;
pub mod decoder_panic;
pub mod gzip_chunks;
pub mod json_array;
pub mod json_cuts;
mod json_syntax;
pub mod ndjson;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "parquet")]
pub mod parquet_join;
#[cfg(not(feature = "parquet"))]
mod parquet_off;
#[cfg(not(feature = "parquet"))]
pub use parquet_off::{parquet, parquet_join};
pub mod split;

pub use json_syntax::JsonSyntax;

use std::io::BufRead;

use ndjson::{NdjsonBatch, NdjsonBatchReader};

/// Batches of JSON records, whichever way they are laid out in the input.
pub type JsonBatches<'a> = Box<dyn FnMut() -> std::io::Result<Option<NdjsonBatch>> + Send + 'a>;

/// How JSON records are laid out in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// NDJSON: one record per line.
    Lines,
    /// The elements of a JSON array (or of a piece of one).
    Array(json_array::ArrayPiece),
}

/// Reads JSON records from `input`, laid out as `layout` (NDJSON blank lines included, for the
/// caller to skip). `first_line` is the number of the input's first line (1 for a whole input;
/// a fan-out chunk starts later).
pub fn json_batches<'a>(
    input: Box<dyn BufRead + Send + 'a>,
    layout: JsonLayout,
    first_line: u64,
) -> JsonBatches<'a> {
    if let JsonLayout::Array(piece) = layout {
        let mut r = json_array::JsonArrayBatchReader::piece(input, piece, first_line);
        Box::new(move || r.next_batch())
    } else {
        let mut r = NdjsonBatchReader::starting_at(input, first_line);
        Box::new(move || r.next_batch())
    }
}

/// The media type of a Content-Type, lower case, without parameters (`; charset=...`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The data format of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Delimited text with a header row (`,` for CSV, `\t` for TSV, or the rules' delimiter).
    Csv {
        /// Field delimiter byte.
        delimiter: u8,
    },
    /// One JSON value per line.
    Ndjson,
    /// One JSON array whose elements are the records.
    JsonArray,
    /// Apache Parquet (read and written one row group at a time).
    Parquet,
}

impl DataFormat {
    /// Infers the format from a file name's extension, ignoring a trailing `.gz`.
    /// `.csv` -> CSV, `.tsv` -> TSV, `.ndjson` / `.jsonl` -> NDJSON, `.json` -> JSON array,
    /// `.parquet` -> Parquet; anything else -> `None`.
    pub fn from_name(name: &str) -> Option<DataFormat> {
        let lower = name.to_ascii_lowercase();
        let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
        let ext = stem.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "csv" => Some(DataFormat::Csv { delimiter: b',' }),
            "tsv" => Some(DataFormat::Csv { delimiter: b'\t' }),
            "ndjson" | "jsonl" => Some(DataFormat::Ndjson),
            "json" => Some(DataFormat::JsonArray),
            "parquet" => Some(DataFormat::Parquet),
            _ => None,
        }
    }

    /// The Content-Type of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            DataFormat::Csv { delimiter: b'\t' } => "text/tab-separated-values",
            DataFormat::Csv { .. } => "text/csv",
            DataFormat::Ndjson => "application/x-ndjson",
            DataFormat::JsonArray => "application/json",
            DataFormat::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// Whether the format compresses its own content (Parquet): such output is never wrapped
    /// in gzip, whatever the compression setting.
    pub fn compresses_itself(self) -> bool {
        self == DataFormat::Parquet
    }

    /// The format a Content-Type names, for `format: AUTO`: `text/csv` -> CSV,
    /// `text/tab-separated-values` -> TSV, `ndjson` / `jsonl` types -> NDJSON, any type
    /// naming `parquet` -> Parquet; anything else
    /// (including `application/json`, which AUTO considers only after the extension) -> `None`.
    pub fn from_content_type(content_type: &str) -> Option<DataFormat> {
        let t = media_type(content_type);
        if t.contains("parquet") {
            Some(DataFormat::Parquet)
        } else if t.contains("ndjson") || t.contains("jsonl") || t.contains("json-seq") {
            Some(DataFormat::Ndjson)
        } else if t == "text/csv" {
            Some(DataFormat::Csv { delimiter: b',' })
        } else if t == "text/tab-separated-values" {
            Some(DataFormat::Csv { delimiter: b'\t' })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_name() {
        assert_eq!(
            DataFormat::from_name("a/b/HRIS.CSV"),
            Some(DataFormat::Csv { delimiter: b',' })
        );
        assert_eq!(
            DataFormat::from_name("x.tsv.gz"),
            Some(DataFormat::Csv { delimiter: b'\t' })
        );
        assert_eq!(DataFormat::from_name("e.jsonl"), Some(DataFormat::Ndjson));
        assert_eq!(
            DataFormat::from_name("e.ndjson.gz"),
            Some(DataFormat::Ndjson)
        );
        assert_eq!(DataFormat::from_name("readme"), None);
        assert_eq!(
            DataFormat::from_name("a.json.gz"),
            Some(DataFormat::JsonArray)
        );
        assert_eq!(
            DataFormat::from_content_type("application/x-ndjson; charset=utf-8"),
            Some(DataFormat::Ndjson)
        );
        assert_eq!(
            DataFormat::from_content_type("text/csv"),
            Some(DataFormat::Csv { delimiter: b',' })
        );
        assert_eq!(DataFormat::from_content_type("application/json"), None);
        assert_eq!(
            DataFormat::from_name("x.PARQUET"),
            Some(DataFormat::Parquet)
        );
        assert_eq!(
            DataFormat::from_content_type("application/vnd.apache.parquet"),
            Some(DataFormat::Parquet)
        );
        assert_eq!(
            DataFormat::from_content_type("application/x-parquet"),
            Some(DataFormat::Parquet)
        );
    }
}
