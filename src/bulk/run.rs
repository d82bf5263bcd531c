//! One object through the processor, as every bulk shell runs it: on a blocking thread (the
//! sanitizer is synchronous), with one log line per output written, and a report of what was
//! done.

use std::sync::Arc;

use serde::Serialize;

use super::settings::bulk_settings;
use super::{BulkError, BulkProblem, BulkProcessor, BulkSettings, Outcome};
use crate::settings::{Flags, RemoteError, SecretStore, SettingError, Settings, StoreLocation};
use crate::storage::ObjectStore;

/// A bulk shell cannot start: settings missing or invalid, rules that do not compile, or the
/// secret store unreadable. Names the setting, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Where the settings are is itself misconfigured (`SECRETS_STORE`).
    #[error("psoxy cannot start: {0}")]
    Location(#[from] SettingError),
    /// The secret store could not be read.
    #[error("psoxy cannot start: {0}")]
    Remote(#[from] RemoteError),
    /// A setting is missing or invalid.
    #[error("psoxy cannot start: {0}")]
    Settings(#[from] super::BulkSettingsError),
    /// The rules or pseudonym settings do not compile.
    #[error("psoxy cannot start: {0}")]
    Compile(#[from] super::BulkSetupError),
}

/// Resolves the bulk settings (`env` first, then `remote`) and compiles them into a processor
/// with `threads` workers (0: every core; `None`: `PSOXY_THREADS`). Returns the settings too
/// (a shell reads its own from them).
pub async fn build_processor(
    env: &dyn Fn(&str) -> Option<String>,
    remote: Option<(&StoreLocation, &dyn SecretStore)>,
    threads: Option<usize>,
) -> Result<(BulkProcessor, Settings), SetupError> {
    let settings = Settings::resolve(&bulk_settings(), &Flags::new(), env, remote).await?;
    let bulk = BulkSettings::from_settings(&settings)?;
    let threads = threads.unwrap_or(bulk.threads);
    Ok((BulkProcessor::new(bulk, threads)?, settings))
}

/// What one invocation did (the function's response).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// One entry per record of the event, in order.
    pub objects: Vec<ObjectReport>,
}

/// What happened to one object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ObjectReport {
    /// Input bucket.
    pub bucket: String,
    /// Input key (decoded).
    pub key: String,
    /// `sanitized`, `own-output` (the loop guard) or `ignored` (not an ObjectCreated event).
    pub status: &'static str,
    /// Outputs written.
    pub outputs: Vec<OutputReport>,
}

/// One output object written.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputReport {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// Rows or records written.
    pub rows: u64,
    /// Bytes read (as stored).
    pub bytes_in: u64,
    /// Bytes written (as stored).
    pub bytes_out: u64,
    /// Milliseconds taken.
    pub duration_ms: u64,
}

/// Sanitizes `bucket/key` from `store` with `processor` on a blocking thread, logs each output
/// and reports them.
pub async fn run_object<S>(
    processor: Arc<BulkProcessor>,
    store: S,
    bucket: String,
    key: String,
) -> Result<ObjectReport, BulkError>
where
    S: ObjectStore + Clone + Send + 'static,
{
    let (b, k) = (bucket.clone(), key.clone());
    let outcome = tokio::task::spawn_blocking(move || processor.process(&store, &b, &k))
        .await
        .map_err(|e| BulkError {
            bucket: bucket.clone(),
            key: key.clone(),
            problem: Box::new(BulkProblem::Internal(super::join_failure(&e))),
        })??;
    let (status, outputs) = match outcome {
        Outcome::LoopGuard => {
            tracing::info!(%bucket, %key, "skipped: written by this instance");
            ("own-output", Vec::new())
        }
        Outcome::Done { written, skipped } => {
            for dest in skipped {
                tracing::info!(%bucket, %key, destination = %dest, "no fileRules template matches this key; nothing written there");
            }
            let outputs = written
                .into_iter()
                .map(|w| {
                    let out = OutputReport {
                        bucket: w.bucket,
                        key: w.key,
                        rows: w.stats.rows,
                        bytes_in: w.stats.bytes_in,
                        bytes_out: w.stats.bytes_out,
                        duration_ms: u64::try_from(w.duration.as_millis()).unwrap_or(u64::MAX),
                    };
                    tracing::info!(
                        bucket = %bucket,
                        key = %key,
                        output_bucket = %out.bucket,
                        output_key = %out.key,
                        rules = %w.template,
                        rows = out.rows,
                        bytes_in = out.bytes_in,
                        bytes_out = out.bytes_out,
                        duration_ms = out.duration_ms,
                        "sanitized"
                    );
                    out
                })
                .collect();
            ("sanitized", outputs)
        }
    };
    Ok(ObjectReport {
        bucket,
        key,
        status,
        outputs,
    })
}

/// Logs a failed object: its name, whether a retry may help, and the error (names and
/// positions, never a value).
pub fn log_failure(e: &BulkError) {
    tracing::error!(
        bucket = %e.bucket,
        key = %e.key,
        retryable = e.retryable(),
        error = %e.problem,
        "object failed"
    );
}
