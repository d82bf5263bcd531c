//! Sanitizing one large object in chunks, storage-agnostic: [`plan`] cuts the object into
//! byte ranges of whole records (and opens the output's multipart upload, giving each chunk a
//! block of its part numbers), [`chunk`] sanitizes one range straight into its block (keeping
//! its first and last bytes for the join) or, for Parquet, into a part object, [`join`] puts
//! the output together (all or nothing: it writes what lies between the chunks' parts and
//! completes the upload, or composes the part objects), and [`abort`] cleans up after a
//! failure. On AWS a Step Functions Distributed Map runs them (the four [`Task`]s, handled by
//! the bulk binary); the steps only need the [`ObjectStore`] trait.
//!
//! The plan holds offsets only, never data: no value reaches the state machine's state or
//! history. The chunks of one object are sanitized with the same rules, salt and settings as
//! a whole run, so the joined output holds the same rows (the same bytes, when rows are not
//! shuffled).

mod error;
mod join;
mod parts;
mod plan;
mod work;

use serde::{Deserialize, Serialize};

pub use error::{FanoutError, FanoutProblem};
pub use join::{abort, join, Joined};
pub use parts::ChunkParts;
pub use plan::{magic, plan, splittable, ChunkReport};
pub use work::chunk;

/// One fanned-out object and destination: the state machine's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Input bucket.
    pub bucket: String,
    /// Input key.
    pub key: String,
    /// Which output (0: the main one; then the additional transforms, in order).
    #[serde(default)]
    pub destination: usize,
    /// Prefix of this job's plan and parts in the work bucket (ends with `/`).
    pub work_prefix: String,
    /// The version of the object that triggered the job ([`crate::storage::ObjectInfo::version`]):
    /// if the object has changed by the time it is planned, the job fails and writes nothing
    /// (the new version's own event sanitizes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The plan, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRef>,
    /// What failed (the state machine's `Catch` puts it here for the abort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

/// Where a plan is stored, and how many chunks it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRef {
    /// Work bucket.
    pub bucket: String,
    /// The plan's key: a JSON array of [`Chunk`]s.
    pub key: String,
    /// Number of chunks.
    pub chunks: u64,
    /// The version of the object planned: every chunk reads this version only, and the join
    /// writes nothing if the object has changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One chunk of a plan: the records in bytes `start..end` of the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Position in the output (0-based).
    pub index: u64,
    /// First byte (0 for the first chunk: it holds the header).
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// Line number of `start`; 0 when the plan did not count lines (it read windows around
    /// the cuts only): the chunk then counts them itself, only if it must name a line.
    pub line: u64,
    /// End of the header (CSV; 0 for NDJSON): given before every chunk but the first.
    pub header_end: u64,
    /// Lines the header spans.
    pub header_lines: u64,
    /// The version of the object planned (as [`PlanRef::version`]; each chunk is an item of
    /// the stored plan, read without the job's plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Of a Parquet object, the row groups `[first, end)` of this chunk (then `start..end` is
    /// the whole object, and there is no header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_groups: Option<[u64; 2]>,
    /// Where the chunk uploads its output: a block of part numbers of the output's own
    /// multipart upload. Without it (Parquet output, or a store without shared uploads) the
    /// chunk writes its output as a part object, which the join copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<ChunkParts>,
}

/// One step of a fan-out, as the state machine sends it (`{"fanout": "plan", "job": ...}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "fanout", rename_all = "lowercase")]
pub enum Task {
    /// Make the plan.
    Plan {
        /// The job.
        job: Job,
    },
    /// Sanitize one chunk.
    Chunk {
        /// The job.
        job: Job,
        /// The chunk (an item of the plan).
        chunk: Chunk,
    },
    /// Join the parts into the output.
    Join {
        /// The job.
        job: Job,
    },
    /// Clean up after a failure.
    Abort {
        /// The job.
        job: Job,
    },
}

impl Task {
    /// Whether `event` is a fan-out step (it has a `fanout` field).
    pub fn is_task(event: &serde_json::Value) -> bool {
        event.get("fanout").is_some()
    }
}

/// Key of a job's plan.
pub fn plan_key(job: &Job) -> String {
    format!("{}plan.json", job.work_prefix)
}

/// Key of a chunk's part object: its whole output, or with [`Chunk::parts`] its head and tail.
pub fn part_key(job: &Job, index: u64) -> String {
    format!("{}part-{index:06}", job.work_prefix)
}

/// Key of what a chunk's part holds (rows, and the CRC-32 and length of a deflate body).
pub fn summary_key(job: &Job, index: u64) -> String {
    format!("{}part-{index:06}.json", job.work_prefix)
}
