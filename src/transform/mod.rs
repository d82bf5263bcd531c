//! Rules compiled into plans, and the one engine of JSON value operations.
//!
//! Everything that can be checked without data is compiled once, when a shell starts:
//!
//! * [`ops`]: every transform (`redact`, `pseudonymize`, ... `encryptIp`) as a small type,
//!   used by bulk records and API responses alike; [`program`]: an ordered list of them with
//!   their JSONPaths (and `applyOnlyWhen`);
//! * [`record`]: bulk `RecordRules` -> a [`RecordPlan`] (program, then `outputSchemaFilter`);
//!   [`response`]: an API endpoint -> a [`ResponsePlan`] (`responseSchema`, then program);
//!   [`schema`]: the one schema filter both use;
//! * [`columnar`]: `ColumnarRules` -> a [`ColumnarProgram`] (names normalized, regexes
//!   compiled), bound to each file's header into a [`ColumnarPlan`] (what depends on the
//!   header: column indexes, the output header); [`cell`] holds the `fieldsToTransform` steps;
//! * [`batch`]: both plans applied to Arrow batches (Parquet), with the schema-level analysis
//!   of which columns record paths can reach.

pub mod augment;
#[cfg(feature = "parquet")]
pub mod batch;
mod cell;
pub mod columnar;
pub mod ops;
pub mod program;
pub mod record;
pub mod response;
pub mod schema;

#[cfg(feature = "parquet")]
pub use batch::{BatchError, ColumnarBatchPlan, RecordBatchPlan};
pub use columnar::{ColumnarPlan, ColumnarProgram};
pub use program::{Program, StepError};
pub use record::RecordPlan;
pub use response::{ResponsePlan, ResponsePlanError};
pub use schema::CompiledSchema;

use crate::format::JsonSyntax;
use crate::jsonpath::JsonPathError;
use ops::ValueError;

/// Rules that cannot be applied (to this file). Names the rule key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A column the rules require is not in the file's header.
    #[error(
        "column `{column}` named in {rule} is not in the file's header (columns: {available})"
    )]
    MissingColumn {
        /// The column as the rules name it.
        column: String,
        /// The rule key naming it.
        rule: &'static str,
        /// The header's columns, comma separated.
        available: String,
    },
    /// Two output columns would have the same name.
    #[error("rules produce two output columns named `{0}`")]
    DuplicateOutputColumn(String),
    /// A regular expression in the rules does not compile.
    #[error("invalid regular expression in {at}: {source}")]
    BadRegex {
        /// Where in the rules.
        at: String,
        /// The regex engine's error.
        source: regex::Error,
    },
    /// A JSONPath in the rules does not parse.
    #[error("invalid JSONPath in {at}: {source}")]
    BadPath {
        /// Where in the rules.
        at: String,
        /// The parser's error.
        source: JsonPathError,
    },
    /// A bulk `tokenize` without an encryption key.
    #[error("transforms[{index}] ({op}) needs an encryption key: set PSOXY_ENCRYPTION_KEY or --encryption-key")]
    RecordNeedsKey {
        /// The transform's index.
        index: usize,
        /// Its name.
        op: &'static str,
    },
    /// An API transform making reversible tokens without an encryption key.
    #[error("transforms[{index}] ({op}) makes reversible tokens and needs an encryption key: set PSOXY_ENCRYPTION_KEY")]
    ResponseNeedsKey {
        /// The transform's index.
        index: usize,
        /// Its method.
        op: &'static str,
    },
    /// A `$ref` of a schema points nowhere.
    #[error("outputSchemaFilter: `$ref: {0}` names no definition")]
    UnknownDefinition(String),
    /// A `$ref` of another form.
    #[error(
        "outputSchemaFilter: `$ref: {0}` is not supported (use `#` or `#/definitions/<name>`)"
    )]
    UnsupportedReference(String),
    /// An `if` / `then` / `else` that cannot be evaluated (SPEC-API-PARITY 3.10.3).
    #[error("responseSchema: {0}")]
    Conditional(&'static str),
    /// The rules do not apply to this kind of input or output.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The worker threads cannot be started.
    #[error("cannot start worker threads: {0}")]
    Threads(#[source] rayon::ThreadPoolBuildError),
}

/// Rules that do not apply to an input's or output's kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// Multi-type rules given where one file's rules are needed.
    #[error("multi-type rules (fileRules) pick rules per object; pass the rules of one file")]
    MultiType,
    /// Columnar rules for JSON input.
    #[error(
        "columnar rules apply to CSV/TSV input, not JSON; use record rules (transforms) for JSON"
    )]
    ColumnarJsonInput,
    /// Columnar rules writing JSON.
    #[error("columnar rules write CSV (or Parquet from Parquet); use record rules (transforms) to write JSON")]
    ColumnarJsonOutput,
    /// Parquet output from another format.
    #[error("Parquet output needs Parquet input (its types come from the input's schema)")]
    ParquetOutput,
    /// CSV output from JSON records.
    #[error("CSV output needs CSV or Parquet input (JSON records have no fixed columns); write NDJSON or a JSON array")]
    CsvFromJson,
    /// A Parquet column that has no text form.
    #[error("column `{column}` is of type {data_type}; only scalar columns (strings, numbers, booleans, dates, times) can be pseudonymized or transformed")]
    NotScalar {
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// Parquet input or output in a build without the `parquet` feature.
    #[error(transparent)]
    ParquetNotBuilt(crate::features::NotBuilt),
    /// An `outputSchemaFilter` that does not describe the rows of a Parquet output.
    #[error("outputSchemaFilter must describe an object for Parquet output")]
    SchemaNotObject,
}

/// A row or record that cannot be sanitized. Never carries a data value.
#[derive(Debug, thiserror::Error)]
#[error("line {line}{}: {problem}", column_clause(.column))]
pub struct RowError {
    /// 1-based line (CSV: line where the row starts; NDJSON: the record's line).
    pub line: u64,
    /// The column or JSONPath concerned, when there is one.
    pub column: Option<String>,
    /// What is wrong.
    pub problem: RowProblem,
}

/// What is wrong with a row or record.
#[derive(Debug, thiserror::Error)]
pub enum RowProblem {
    /// A CSV row shorter than the header.
    #[error("row {line} has {fields} fields, header has {header}")]
    TooFewFields {
        /// The row's line.
        line: u64,
        /// Its fields.
        fields: usize,
        /// The header's fields.
        header: usize,
    },
    /// A cell that is not UTF-8.
    #[error("value is not valid UTF-8")]
    NotUtf8,
    /// A record that is not JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(JsonSyntax),
    /// A record that is not an object.
    #[error("a record must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    /// A value a transform cannot take.
    #[error(transparent)]
    Value(#[from] ValueError),
}

impl RowError {
    /// A transform's failure on the record at `line`, naming the path.
    pub fn at_step(line: u64, e: StepError) -> RowError {
        RowError {
            line,
            column: Some(e.path),
            problem: RowProblem::Value(e.source),
        }
    }
}

fn column_clause(c: &Option<String>) -> String {
    match c {
        Some(c) => format!(", column `{c}`"),
        None => String::new(),
    }
}
