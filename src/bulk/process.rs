//! One stored object -> its sanitized outputs (the main one and any additional transforms).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::keys::{content_type, output_key};
use super::settings::BulkSettings;
use super::store::{ObjectStore, PutOptions, StoreError};
use crate::engine::{EngineError, RuleEngine};
use crate::pseudonym::{PseudonymError, Pseudonymizer};
use crate::sanitize::{SanitizeError, Stats, StreamOptions};

/// Metadata key marking objects this instance wrote (the loop guard).
pub const INSTANCE_ID_KEY: &str = "psoxy-instance-id";

/// One output written.
#[derive(Debug, Clone)]
pub struct Written {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// The `fileRules` template that chose the rules (`*` for single rules).
    pub template: String,
    /// Rows and bytes.
    pub stats: Stats,
    /// Time taken.
    pub duration: Duration,
}

/// What happened to one input object.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Written to every destination whose rules match (possibly none: see `skipped`).
    Done {
        /// Outputs written.
        written: Vec<Written>,
        /// Destinations skipped because no `fileRules` template matched the key.
        skipped: Vec<String>,
    },
    /// Not processed: it carries this instance's own `psoxy-instance-id` (our own output).
    LoopGuard,
}

/// Why an object could not be processed: names the object and the place, never a value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{bucket}/{key}: {message}")]
pub struct BulkError {
    /// Input bucket.
    pub bucket: String,
    /// Input key.
    pub key: String,
    /// What failed (line and column for bad input).
    pub message: String,
    /// Whether a retry may succeed (storage trouble) or not (bad input, bad rules).
    pub retryable: bool,
}

struct Destination {
    bucket: String,
    prefix: String,
    engine: RuleEngine,
    rules_sha: String,
    compress: bool,
}

/// Compiled settings, built once per process and reused for every object.
pub struct BulkProcessor {
    settings: BulkSettings,
    destinations: Vec<Destination>,
    salt_sha: String,
}

impl BulkProcessor {
    /// Compiles the rules of every destination. `threads == 0` uses every core.
    pub fn new(settings: BulkSettings, threads: usize) -> Result<Self, BulkSetupError> {
        let pseudonymizer = Arc::new(Pseudonymizer::new(&settings.pseudonym)?);
        let mut destinations = vec![Destination {
            bucket: settings.output_bucket.clone(),
            prefix: settings.output_base_path.clone(),
            engine: RuleEngine::new(settings.rules.clone(), pseudonymizer.clone(), threads)?,
            rules_sha: settings.rules_sha.clone(),
            compress: settings.compress_output,
        }];
        for extra in &settings.additional {
            destinations.push(Destination {
                bucket: extra.bucket.clone(),
                prefix: extra.path_within_bucket.clone(),
                engine: RuleEngine::new(extra.rules.clone(), pseudonymizer.clone(), threads)?,
                rules_sha: extra.rules_sha.clone(),
                compress: extra.compress_output,
            });
        }
        Ok(BulkProcessor {
            salt_sha: pseudonymizer.salt_fingerprint(),
            settings,
            destinations,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &BulkSettings {
        &self.settings
    }

    /// Sanitizes `bucket/key` into every destination. Each output is written through a sink
    /// that is committed only after its last row; on any error the sink is dropped (aborted)
    /// and the error names the object, line and column.
    pub fn process(
        &self,
        store: &dyn ObjectStore,
        bucket: &str,
        key: &str,
    ) -> Result<Outcome, BulkError> {
        let fail = |message: String, retryable: bool| BulkError {
            bucket: bucket.to_string(),
            key: key.to_string(),
            message,
            retryable,
        };
        let info = store
            .info(bucket, key)
            .map_err(|e| fail(e.message, e.retryable))?;
        if info.metadata.get(INSTANCE_ID_KEY) == Some(&self.settings.instance_id) {
            return Ok(Outcome::LoopGuard);
        }
        let relative = key
            .strip_prefix(self.settings.input_base_path.as_str())
            .unwrap_or(key);
        let mut written = Vec::new();
        let mut skipped = Vec::new();
        for dest in &self.destinations {
            let Some((template, sanitizer)) = dest
                .engine
                .for_key(key)
                .map_err(|e| fail(e.to_string(), false))?
            else {
                skipped.push(format!("{}/{}", dest.bucket, dest.prefix));
                continue;
            };
            let out_key = if std::ptr::eq(dest, &self.destinations[0]) {
                output_key(
                    key,
                    &self.settings.input_base_path,
                    &self.settings.output_base_path,
                )
            } else {
                format!("{}{relative}", dest.prefix)
            };
            let options = PutOptions {
                content_type: Some(content_type(info.content_type.as_deref(), key)),
                content_encoding: dest.compress.then(|| "gzip".to_string()),
                metadata: self.metadata(bucket, key, &dest.rules_sha),
            };
            let stream = StreamOptions {
                object_key: key.to_string(),
                format: None,
                shuffle: self.settings.shuffle,
                gzip_output: dest.compress,
            };
            let started = Instant::now();
            let reader = store
                .read(bucket, key)
                .map_err(|e| fail(e.message, e.retryable))?;
            let mut sink = store.write(&dest.bucket, &out_key, options).map_err(|e| {
                fail(
                    format!("cannot write {}/{out_key}: {}", dest.bucket, e.message),
                    e.retryable,
                )
            })?;
            let stats = sanitizer
                .sanitize_stream(reader, &mut sink, &stream, &mut |_| {})
                .map_err(|e| {
                    let retryable = matches!(e, SanitizeError::Read(_) | SanitizeError::Write(_));
                    fail(e.to_string(), retryable)
                })?;
            sink.commit().map_err(|e: StoreError| {
                fail(
                    format!("cannot complete {}/{out_key}: {}", dest.bucket, e.message),
                    e.retryable,
                )
            })?;
            written.push(Written {
                bucket: dest.bucket.clone(),
                key: out_key,
                template,
                stats,
                duration: started.elapsed(),
            });
        }
        Ok(Outcome::Done { written, skipped })
    }

    fn metadata(&self, bucket: &str, key: &str, rules_sha: &str) -> HashMap<String, String> {
        HashMap::from([
            (
                "psoxy-version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
            (
                "psoxy-original-object-key".to_string(),
                format!("{bucket}/{key}"),
            ),
            ("psoxy-rules-sha".to_string(), rules_sha.to_string()),
            ("psoxy-salt-sha".to_string(), self.salt_sha.clone()),
            (
                INSTANCE_ID_KEY.to_string(),
                self.settings.instance_id.clone(),
            ),
        ])
    }
}

/// Settings that cannot be turned into a processor.
#[derive(Debug, thiserror::Error)]
pub enum BulkSetupError {
    /// Pseudonym settings are invalid.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
    /// Rules do not compile.
    #[error(transparent)]
    Engine(#[from] EngineError),
}
