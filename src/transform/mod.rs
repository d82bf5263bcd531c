//! Rules compiled into plans.
//!
//! A plan is built once per object (columnar plans need the header) and then run per row or
//! record without branching on rule structure: [`ColumnarPlan`] maps each output column to a
//! source column and a precompiled cell operation; [`RecordPlan`] is an ordered list of parsed
//! JSONPaths with their operation, plus an optional compiled output schema filter.

pub mod batch;
mod cell;
pub mod columnar;
pub mod record;
pub mod schema;

pub use batch::{BatchError, ColumnarBatchPlan, RecordBatchPlan};
pub use columnar::ColumnarPlan;
pub use record::{RecordError, RecordPlan};
pub use schema::CompiledSchema;

/// A rules file that cannot be applied (to this file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    #[error("invalid regular expression in {at}: {message}")]
    BadRegex {
        /// Where in the rules.
        at: String,
        /// The regex engine's message.
        message: String,
    },
    /// A JSONPath in the rules does not parse.
    #[error("invalid JSONPath in {at}: {message}")]
    BadPath {
        /// Where in the rules.
        at: String,
        /// The parser's message.
        message: String,
    },
    /// A rule needs a setting that is not configured.
    #[error("{0}")]
    MissingSetting(String),
    /// The rules do not apply to this kind of input.
    #[error("{0}")]
    Unsupported(String),
    /// A `$ref` in the schema points nowhere.
    #[error("outputSchemaFilter: {0}")]
    BadSchema(String),
}

/// A row or record that cannot be sanitized. Never carries a data value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}{}: {message}", column_clause(.column))]
pub struct RowError {
    /// 1-based line (CSV: line where the row starts; NDJSON: the record's line).
    pub line: u64,
    /// The column or JSONPath concerned, when there is one.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

fn column_clause(c: &Option<String>) -> String {
    match c {
        Some(c) => format!(", column `{c}`"),
        None => String::new(),
    }
}
