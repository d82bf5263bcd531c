//! Storage-triggered bulk sanitization: one stored object -> its sanitized outputs.
//!
//! [`BulkProcessor`] is built once per process from [`BulkSettings`] and processes objects
//! through the blocking [`ObjectStore`](crate::storage::ObjectStore) interface only, so any
//! backend of [`crate::storage`] (S3 for the function, local folders for `psoxy watch`) serves.
//! [`run`] runs one object as every shell does (a blocking thread, a log line per output, a
//! report). The shells: [`lambda`] (AWS Lambda: every record of an S3 event) and
//! `cloud_run` (Cloud Run: one Eventarc event per request). [`replay`] sends objects already
//! stored to the deployed function again (`psoxy replay`); [`smoke`] is what `psoxy smoke`
//! uploads and checks.

#[cfg(feature = "gcp")]
pub mod cloud_run;
pub mod fanout;
pub mod keys;
#[cfg(feature = "aws")]
pub mod lambda;
mod process;
pub mod replay;
pub mod run;
pub mod settings;
pub mod smoke;
#[cfg(feature = "aws")]
pub mod step_functions;
mod tap;

pub use process::{
    join_failure, BulkError, BulkProblem, BulkProcessor, BulkSetupError, Outcome, Target, Written,
    INSTANCE_ID_KEY,
};
pub use settings::bulk_settings;
pub use settings::{AdditionalTransform, BulkSettings, BulkSettingsError, FanoutSettings};
