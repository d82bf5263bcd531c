//! Storage-triggered bulk sanitization: one stored object -> its sanitized outputs.
//!
//! [`BulkProcessor`] is built once per process from [`BulkSettings`] and processes objects
//! through the blocking [`ObjectStore`] interface, implemented over S3 (the function) and
//! local folders ([`local::LocalStore`], used by `psoxy watch`); [`s3::S3Store`] is the S3 one.

pub mod keys;
pub mod local;
mod process;
pub mod s3;
pub mod settings;
pub mod store;
mod tap;

pub use process::{BulkError, BulkProcessor, BulkSetupError, Outcome, Written, INSTANCE_ID_KEY};
pub use settings::{AdditionalTransform, BulkSettings, SettingsError, SETTING_NAMES};
pub use store::{ObjectInfo, ObjectSink, ObjectStore, PutOptions, StoreError};
