//! Why a fan-out step failed: names the object and the chunk, never a value.

use crate::bulk::BulkProblem;
use crate::storage::StoreError;

/// A failed fan-out step.
#[derive(Debug, thiserror::Error)]
#[error("{bucket}/{key}: {}{problem}", chunk.map(|c| format!("chunk {c}: ")).unwrap_or_default())]
pub struct FanoutError {
    /// Input bucket.
    pub bucket: String,
    /// Input key.
    pub key: String,
    /// The chunk, for a chunk's failure.
    pub chunk: Option<u64>,
    /// What failed.
    pub problem: Box<FanoutProblem>,
}

/// What failed in a fan-out step.
#[derive(Debug, thiserror::Error)]
pub enum FanoutProblem {
    /// Reading, sanitizing or writing failed as it would in a whole run.
    #[error(transparent)]
    Bulk(Box<BulkProblem>),
    /// The object cannot be cut into chunks.
    #[error("cannot be sanitized in chunks: {0}")]
    NotSplittable(&'static str),
    /// `FANOUT_WORK_BUCKET` is not set.
    #[error("FANOUT_WORK_BUCKET is not set")]
    NoWorkBucket,
    /// No `fileRules` template matches the key for this destination.
    #[error("no rules match this key")]
    NoRules,
    /// The object is this instance's own output.
    #[error("the object is this instance's own output")]
    OwnOutput,
    /// The header is longer than the planner reads.
    #[error("the header is longer than {0} bytes")]
    HeaderTooLong(u64),
    /// A stored object (the input, a part, the plan) could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a stored object's bytes failed part-way.
    #[error("reading failed: {0}")]
    Io(#[source] std::io::Error),
    /// The plan or a part's summary is not what this version writes.
    #[error("malformed {what}: {source}")]
    Json {
        /// Which object.
        what: &'static str,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The object changed after the fan-out started: nothing is written (the new version's
    /// own event sanitizes it).
    #[error("the object changed during the fan-out: nothing written for this version (the new version is sanitized by its own run)")]
    Changed,
    /// A chunk's part is missing at the join: the chunk did not complete.
    #[error("its part is missing: the chunk did not complete")]
    PartMissing,
    /// A chunk's part is not what its summary says it wrote (another run's part, or a setting
    /// changed between the chunk and the join).
    #[error("its part does not match its summary: {0}")]
    PartMismatch(&'static str),
    /// The JSON array is not JSON (found by the plan's scan).
    #[error(transparent)]
    NotJsonArray(crate::format::json_cuts::NotJsonArray),
    /// The Parquet parts cannot be joined into one file.
    #[error("{source}")]
    ParquetJoin {
        /// Why.
        source: crate::format::parquet_join::ParquetJoinError,
        /// Reading a part failed in a way a retry may cure.
        retryable: bool,
    },
    /// The job has no plan (the join or a chunk ran before the plan).
    #[error("the job has no plan")]
    NoPlan,
    /// A bug: the step's task panicked or was cancelled (its panic message is not kept: it
    /// may quote a value).
    #[error("internal error: the step's task {0}")]
    Internal(&'static str),
}

impl FanoutProblem {
    /// A failed read of the planned version: [`FanoutProblem::Changed`] if the object has
    /// changed, else the storage failure.
    pub(super) fn reading(e: StoreError) -> Self {
        if e.is_changed() {
            FanoutProblem::Changed
        } else {
            FanoutProblem::Store(e)
        }
    }
}

impl From<BulkProblem> for FanoutProblem {
    fn from(problem: BulkProblem) -> Self {
        FanoutProblem::Bulk(Box::new(problem))
    }
}

impl FanoutError {
    /// Whether a retry may pass (storage trouble only).
    pub fn retryable(&self) -> bool {
        match &*self.problem {
            FanoutProblem::Store(e) => e.is_retryable(),
            FanoutProblem::Io(e) => crate::storage::io_failure_is_retryable(e),
            FanoutProblem::Bulk(problem) => match &**problem {
                BulkProblem::Read(e)
                | BulkProblem::Write { source: e, .. }
                | BulkProblem::Complete { source: e, .. } => e.is_retryable(),
                BulkProblem::Sanitize { retryable, .. } => *retryable,
                _ => false,
            },
            FanoutProblem::ParquetJoin { retryable, .. } => *retryable,
            _ => false,
        }
    }
}
