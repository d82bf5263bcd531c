//! Why an input could not be sanitized: errors that keep their source and say where.

use crate::format::csv::CsvReadError;
use crate::format::parquet::ParquetIoError;
#[cfg(feature = "parquet")]
use crate::transform::BatchError;
use crate::transform::{PlanError, RowError};

use super::pipeline::WorkerPanic;

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
    #[cfg(feature = "parquet")]
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
    /// Not a readable Parquet file (or Parquet is not built in).
    #[error(transparent)]
    Parquet(#[from] ParquetIoError),
}

/// A failure that is a bug, not a property of the input.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// A worker panicked. Its message is not kept: it may quote the value being transformed.
    #[error("a worker panicked")]
    Panic,
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
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The Parquet writer was used after it finished.
    #[cfg(feature = "parquet")]
    #[error("no Parquet writer")]
    NoParquetWriter,
}

impl From<WorkerPanic> for SanitizeError {
    fn from(_: WorkerPanic) -> Self {
        InternalError::Panic.into()
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
pub(super) fn internal(e: impl Into<InternalError>) -> SanitizeError {
    SanitizeError::Internal(e.into())
}
