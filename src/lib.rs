#![warn(missing_docs)]
//! psoxy: a streaming pseudonymizing sanitizer for HR and collaboration data.
//!
//! Data flows one way: read -> sanitize -> write. Every entry point (the CLI, the
//! storage-triggered function, the HTTP proxy) is a thin shell over the same core:
//! [`rules`] are loaded and compiled by [`transform`] into plans that [`pipeline`] runs over
//! the streaming readers and writers of [`format`], producing the pseudonyms of [`pseudonym`].
//! [`storage`] streams objects from and to S3 for the storage-triggered function.

pub mod api;
pub mod bulk;
pub mod cli;
pub mod config;
pub mod engine;
pub mod format;
pub mod function;
pub mod jsonpath;
pub mod pipeline;
pub mod pseudonym;
pub mod rules;
pub mod sanitize;
pub mod storage;
pub mod transform;
