//! Storage-triggered bulk sanitization: one stored object -> its sanitized outputs.
//!
//! [`BulkProcessor`] is built once per process from [`BulkSettings`] and processes objects
//! through the blocking [`ObjectStore`] interface, implemented over S3 (the function) and
//! local folders ([`local::LocalStore`], used by `psoxy watch`).

pub mod keys;
pub mod local;
mod process;
pub mod settings;
pub mod store;

pub use process::{BulkError, BulkProcessor, BulkSetupError, Outcome, Written, INSTANCE_ID_KEY};
pub use settings::{AdditionalTransform, BulkSettings, SettingsError};
pub use store::{ObjectInfo, ObjectSink, ObjectStore, PutOptions, StoreError};
