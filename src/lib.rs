#![warn(missing_docs)]
//! psoxy: a streaming pseudonymizing sanitizer for HR and collaboration data.
//!
//! Data flows one way: read -> sanitize -> write, and every entry point is a thin shell over
//! the same core (see `ARCHITECTURE.md` for the map and two traces through it):
//!
//! * the core: [`pseudonym`] (hashes, emails, encodings, reversible tokens), [`jsonpath`]
//!   (the Jayway subset), [`pattern`] (rule regexes), [`rules`] (models of every rule shape),
//!   [`transform`] (rules compiled into plans, and the one engine of JSON value operations),
//!   [`format`] (streaming readers and writers), [`sanitize`] (one input stream -> one
//!   sanitized stream, in parallel);
//! * the services: [`settings`] (every setting declared once, one lookup), [`storage`] (the
//!   object-store trait: S3, GCS, local folders), `aws_sdk` and `gcp_sdk` (the AWS and
//!   Google client configuration), [`logging`];
//! * the modes: [`bulk`] (one stored object -> its sanitized outputs; the bulk Lambda shell)
//!   and [`api`] (the proxy; its Lambda and `psoxy serve` shells), [`webhook`] (the webhook
//!   collector and its batch handler);
//! * [`cli`]: the `psoxy` command line.

pub mod api;
#[cfg(feature = "aws")]
pub mod aws_sdk;
pub mod bulk;
pub mod cli;
pub mod error_text;
pub mod features;
pub mod format;
#[cfg(feature = "gcp")]
pub mod gcp_sdk;
pub mod http_server;
pub mod jsonpath;
pub mod logging;
pub mod pattern;
pub mod pseudonym;
pub mod rules;
pub mod sanitize;
pub mod settings;
pub mod storage;
pub mod transform;
pub mod webhook;
