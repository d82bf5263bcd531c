//! The webhook collector (Psoxy's fourth mode): in-house tools `POST` JSON events with a bearer
//! JWT; the collector verifies the token ([`jwt`], [`keys`], [`spki`]), binds its claims to the
//! payload ([`claims`]), sanitizes the payload with the rules' transforms (the shared
//! [`crate::transform`] engine) and queues it ([`queue`]); the batch handler merges queued
//! messages into gzipped NDJSON objects ([`batch`]). [`collector`] is the request flow both
//! shells share; [`lambda`] is the AWS function (function URL and SQS events in one binary),
//! [`cloud_run`] the two Cloud Run services (the collector, its queue a GCS prefix, and the
//! batch service Cloud Scheduler calls), [`server`] the collector on this machine (`psoxy
//! serve --webhook-rules`), with a folder as its queue.

pub mod batch;
pub mod claims;
#[cfg(feature = "gcp")]
pub mod cloud_run;
pub mod collector;
pub mod cors;
pub mod jwt;
pub mod keys;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod queue;
pub mod server;
pub mod settings;
pub mod spki;

pub use batch::{merge, write_batch, Merged, Message};
pub use collector::{Collector, CollectorSetupError, Refusal};
pub use settings::{webhook_settings, WebhookSettings, WebhookSettingsError};
