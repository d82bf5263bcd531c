//! One stored object -> its sanitized outputs (the main one and any additional transforms).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::keys::{content_type, output_key, KeyError};
use super::settings::BulkSettings;
use super::tap::Tap;
use crate::format::byte_ranges::ByteRanges;
use crate::format::DataFormat;
use crate::pseudonym::{PseudonymError, Pseudonymizer};
use crate::sanitize::{EngineError, RuleEngine, SanitizeError, Sanitizer, Stats, StreamOptions};
use crate::storage::{ObjectInfo, ObjectStore, PutOptions, StoreError};
use crate::transform::PlanError;

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
#[derive(Debug, thiserror::Error)]
#[error("{bucket}/{key}: {problem}")]
pub struct BulkError {
    /// Input bucket.
    pub bucket: String,
    /// Input key.
    pub key: String,
    /// What failed (line and column for bad input).
    pub problem: Box<BulkProblem>,
}

/// What failed for one object.
#[derive(Debug, thiserror::Error)]
pub enum BulkProblem {
    /// The fan-out of a large object could not be started.
    #[error("cannot start the fan-out: {detail}")]
    StartFanout {
        /// The Step Functions error (code and message).
        detail: String,
        /// Whether a retry may pass.
        retryable: bool,
    },
    /// A fan-out job names a destination that does not exist.
    #[error("no destination {0}")]
    NoDestination(usize),
    /// The event record does not name an object.
    #[error("event record names no bucket or no key")]
    NoObject,
    /// The event's key does not decode.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The input could not be examined or read.
    #[error(transparent)]
    Read(StoreError),
    /// An output could not be started.
    #[error("cannot write {bucket}/{key}: {source}")]
    Write {
        /// The output's bucket.
        bucket: String,
        /// The output's key.
        key: String,
        /// Why.
        source: StoreError,
    },
    /// An output could not be completed.
    #[error("cannot complete {bucket}/{key}: {source}")]
    Complete {
        /// The output's bucket.
        bucket: String,
        /// The output's key.
        key: String,
        /// Why.
        source: StoreError,
    },
    /// No rules could be chosen for the key.
    #[error(transparent)]
    Rules(#[from] EngineError),
    /// The rules do not apply to this object (its format).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The data could not be sanitized; `retryable` when the storage under it failed.
    #[error("{source}")]
    Sanitize {
        /// Why (line and column for bad data).
        source: SanitizeError,
        /// Whether the storage failed (reading or writing), and a retry may pass.
        retryable: bool,
    },
    /// A bug: the processing task panicked or was cancelled (see [`join_failure`]; the panic's
    /// own message is not kept: it may quote a value).
    #[error("internal error: the processing task {0}")]
    Internal(&'static str),
}

/// What became of a task that did not return, in words that hold no value: a panic's message
/// may quote the data being processed, so it is neither shown nor kept.
pub fn join_failure(e: &tokio::task::JoinError) -> &'static str {
    if e.is_panic() {
        "panicked"
    } else {
        "was cancelled"
    }
}

impl BulkError {
    /// Whether a retry may succeed (storage trouble) or not (bad input, bad rules).
    pub fn retryable(&self) -> bool {
        match &*self.problem {
            BulkProblem::Read(e)
            | BulkProblem::Write { source: e, .. }
            | BulkProblem::Complete { source: e, .. } => e.is_retryable(),
            BulkProblem::Sanitize { retryable, .. } => *retryable,
            BulkProblem::StartFanout { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// One output of one object: where it goes, the sanitizer that writes it and how.
pub struct Target {
    /// The output's bucket.
    pub bucket: String,
    /// The output's key.
    pub key: String,
    /// The `fileRules` template that chose the rules.
    pub template: String,
    /// The compiled rules.
    pub sanitizer: Arc<Sanitizer>,
    /// The options of the sanitizing run.
    pub stream: StreamOptions,
    /// How the output is stored (type, encoding, metadata).
    pub put: PutOptions,
    /// Whether the output is gzipped.
    pub gzip: bool,
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
        let fail = |problem: BulkProblem| BulkError {
            bucket: bucket.to_string(),
            key: key.to_string(),
            problem: Box::new(problem),
        };
        let info = store
            .info(bucket, key)
            .map_err(|e| fail(BulkProblem::Read(e)))?;
        if info.metadata.get(INSTANCE_ID_KEY) == Some(&self.settings.instance_id) {
            return Ok(Outcome::LoopGuard);
        }
        let mut written = Vec::new();
        let mut skipped = Vec::new();
        for index in 0..self.destinations.len() {
            let Some(target) =
                self.target(index, bucket, key, &info)
                    .map_err(|problem| BulkError {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                        problem,
                    })?
            else {
                let dest = &self.destinations[index];
                skipped.push(format!("{}/{}", dest.bucket, dest.prefix));
                continue;
            };
            let started = Instant::now();
            let in_place = self.parquet_in_place(store, bucket, key, &info, &target)?;
            let mut sink = store
                .write(&target.bucket, &target.key, target.put.clone())
                .map_err(|source| {
                    fail(BulkProblem::Write {
                        bucket: target.bucket.clone(),
                        key: target.key.clone(),
                        source,
                    })
                })?;
            let (mut output, write_record) = Tap::new(&mut sink);
            let stats = match in_place {
                // Parquet is read where it is stored, by ranges: no spooling, no disk.
                Some(object) => target
                    .sanitizer
                    .sanitize_parquet_object(
                        object.clone(),
                        &mut output,
                        &target.stream,
                        &mut |_| {},
                    )
                    .map_err(|source| {
                        let retryable =
                            object.failed_retryably() || write_record.failure().unwrap_or(false);
                        fail(BulkProblem::Sanitize { source, retryable })
                    })?,
                None => {
                    let reader = store
                        .read(bucket, key)
                        .map_err(|e| fail(BulkProblem::Read(e)))?;
                    let (reader, read_record) = Tap::new(reader);
                    target
                        .sanitizer
                        .sanitize_stream(reader, &mut output, &target.stream, &mut |_| {})
                        .map_err(|source| {
                            // Only a failure of the storage itself may pass on a retry; bad
                            // data, bad rules and bugs fail the same way every time.
                            let retryable = read_record
                                .failure()
                                .or(write_record.failure())
                                .unwrap_or(false);
                            fail(BulkProblem::Sanitize { source, retryable })
                        })?
                }
            };
            sink.commit().map_err(|source| {
                fail(BulkProblem::Complete {
                    bucket: target.bucket.clone(),
                    key: target.key.clone(),
                    source,
                })
            })?;
            written.push(Written {
                bucket: target.bucket,
                key: target.key,
                template: target.template,
                stats,
                duration: started.elapsed(),
            });
        }
        Ok(Outcome::Done { written, skipped })
    }

    /// A Parquet input the store can read by ranges, as such: not spooled to disk, so its size
    /// is not bounded by the function's ephemeral storage. `None` for other formats, for a
    /// store without ranged reads, and for a Parquet file inside gzip (streamed and spooled).
    fn parquet_in_place(
        &self,
        store: &dyn ObjectStore,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
        target: &Target,
    ) -> Result<Option<Arc<dyn ByteRanges>>, BulkError> {
        let fail = |e| BulkError {
            bucket: bucket.to_string(),
            key: key.to_string(),
            problem: Box::new(BulkProblem::Read(e)),
        };
        let parquet = matches!(
            target.sanitizer.resolve_format(&target.stream),
            Ok(DataFormat::Parquet)
        );
        if !parquet || info.size < 12 {
            return Ok(None);
        }
        let Some(object) = store.range_source(bucket, key, info) else {
            return Ok(None);
        };
        let mut magic = [0u8; 4];
        let read = store
            .read_range(bucket, key, info.version.as_deref(), 0, 4)
            .map_err(fail)?
            .read_exact(&mut magic);
        Ok((read.is_ok() && &magic == b"PAR1").then_some(object))
    }

    /// How many destinations there are (the main output, then the additional transforms).
    pub fn destination_count(&self) -> usize {
        self.destinations.len()
    }

    /// Where and how `bucket/key` is written for destination `index`: `None` when no
    /// `fileRules` template of that destination matches the key.
    pub fn target(
        &self,
        index: usize,
        bucket: &str,
        key: &str,
        info: &ObjectInfo,
    ) -> Result<Option<Target>, Box<BulkProblem>> {
        let Some(dest) = self.destinations.get(index) else {
            return Err(Box::new(BulkProblem::NoDestination(index)));
        };
        let Some((template, sanitizer)) =
            dest.engine.for_key(key).map_err(|e| Box::new(e.into()))?
        else {
            return Ok(None);
        };
        let out_key = if index == 0 {
            output_key(
                key,
                &self.settings.input_base_path,
                &self.settings.output_base_path,
            )
        } else {
            let relative = key
                .strip_prefix(self.settings.input_base_path.as_str())
                .unwrap_or(key);
            format!("{}{relative}", dest.prefix)
        };
        let stream = StreamOptions {
            object_key: key.to_string(),
            format: None,
            shuffle: self.settings.shuffle,
            gzip_output: dest.compress,
            content_type: info.content_type.clone(),
            output_format: self.settings.output_format,
            input_encoding: self.settings.input_encoding,
            ..Default::default()
        };
        let written_format = sanitizer
            .resolve_output_format(&stream)
            .map_err(|e| Box::new(e.into()))?;
        // Parquet compresses itself: it is never wrapped in gzip.
        let gzip = dest.compress && !written_format.compresses_itself();
        let put = PutOptions {
            content_type: Some(match self.settings.output_format {
                Some(format) => format.content_type().to_string(),
                None => content_type(info.content_type.as_deref(), key),
            }),
            content_encoding: gzip.then(|| "gzip".to_string()),
            metadata: self.metadata(bucket, key, &dest.rules_sha),
        };
        Ok(Some(Target {
            bucket: dest.bucket.clone(),
            key: out_key,
            template,
            sanitizer,
            stream,
            put,
            gzip,
        }))
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

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panic_message_is_never_kept_or_shown() {
        let task = tokio::spawn(async { panic!("alice@example.com is not valid") });
        let e = task.await.unwrap_err();
        assert_eq!(join_failure(&e), "panicked");
        let shown = BulkProblem::Internal(join_failure(&e)).to_string();
        assert_eq!(shown, "internal error: the processing task panicked");
        assert!(std::error::Error::source(&BulkProblem::Internal("panicked")).is_none());
    }

    use super::*;
    use crate::settings::{Flags, Settings};
    use crate::storage::{ObjectInfo, ObjectSink};
    use std::io::{Read, Write};
    use std::sync::Mutex;

    /// Stored objects by (bucket, key).
    type Objects = Arc<Mutex<HashMap<(String, String), (Vec<u8>, PutOptions)>>>;

    /// An in-memory store for exercising the processor's logic (S3 itself is tested against
    /// a real server in the integration tests).
    #[derive(Default)]
    struct MemoryStore {
        objects: Objects,
    }

    struct MemorySink {
        target: (String, String),
        buf: Vec<u8>,
        options: PutOptions,
        objects: Objects,
    }

    impl Write for MemorySink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.buf.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl ObjectSink for MemorySink {
        fn commit(self: Box<Self>) -> Result<(), StoreError> {
            self.objects
                .lock()
                .unwrap()
                .insert(self.target, (self.buf, self.options));
            Ok(())
        }
    }

    impl ObjectStore for MemoryStore {
        fn info(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
            let objects = self.objects.lock().unwrap();
            let (_, opts) = objects
                .get(&(bucket.to_string(), key.to_string()))
                .ok_or(StoreError::UnknownBucket("missing".into()))?;
            Ok(ObjectInfo {
                content_type: opts.content_type.clone(),
                content_encoding: None,
                metadata: opts.metadata.clone(),
                ..Default::default()
            })
        }
        fn read(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
            let objects = self.objects.lock().unwrap();
            let (bytes, _) = objects
                .get(&(bucket.to_string(), key.to_string()))
                .cloned()
                .unwrap_or_default();
            Ok(Box::new(std::io::Cursor::new(bytes)))
        }
        fn read_range(
            &self,
            bucket: &str,
            key: &str,
            _version: Option<&str>,
            start: u64,
            end: u64,
        ) -> Result<Box<dyn Read + Send>, StoreError> {
            let mut all = Vec::new();
            self.read(bucket, key)?.read_to_end(&mut all).unwrap();
            let end = (end as usize).min(all.len());
            let start = (start as usize).min(end);
            Ok(Box::new(std::io::Cursor::new(all[start..end].to_vec())))
        }
        fn write(
            &self,
            bucket: &str,
            key: &str,
            options: PutOptions,
        ) -> Result<Box<dyn ObjectSink>, StoreError> {
            Ok(Box::new(MemorySink {
                target: (bucket.to_string(), key.to_string()),
                buf: Vec::new(),
                options,
                objects: self.objects.clone(),
            }))
        }
    }

    fn processor(extra: &[(&str, &str)]) -> BulkProcessor {
        let mut map: HashMap<String, String> = HashMap::from([
            ("PSOXY_SALT".into(), "salt".into()),
            ("RULES".into(), "columnsToPseudonymize: [ID]\n".into()),
            ("OUTPUT_BUCKET".into(), "out".into()),
            ("INPUT_BASE_PATH".into(), "in/".into()),
            ("OUTPUT_BASE_PATH".into(), "done/".into()),
            ("PSOXY_INSTANCE_ID".into(), "hris-1".into()),
        ]);
        map.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let settings = Settings::from_sources(&crate::bulk::bulk_settings(), &Flags::new(), &|k| {
            map.get(k).cloned()
        });
        BulkProcessor::new(BulkSettings::from_settings(&settings).unwrap(), 1).unwrap()
    }

    #[test]
    fn writes_mapped_key_with_metadata_and_guards_loops() {
        let store = MemoryStore::default();
        store.objects.lock().unwrap().insert(
            ("up".into(), "in/x/hris.csv".into()),
            (b"ID,N\n1,a\n".to_vec(), PutOptions::default()),
        );
        let p = processor(&[("COMPRESS_OUTPUT_ALWAYS", "false")]);
        let Outcome::Done { written, skipped } = p.process(&store, "up", "in/x/hris.csv").unwrap()
        else {
            panic!()
        };
        assert!(skipped.is_empty());
        assert_eq!(
            (written[0].bucket.as_str(), written[0].key.as_str()),
            ("out", "done/x/hris.csv")
        );
        assert_eq!(written[0].stats.rows, 1);
        let objects = store.objects.lock().unwrap().clone();
        let (bytes, opts) = &objects[&("out".to_string(), "done/x/hris.csv".to_string())];
        assert_eq!(
            bytes,
            b"ID,N\n\"{\"\"hash\"\":\"\"0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc\"\"}\",a\n"
        );
        assert_eq!(opts.content_type.as_deref(), Some("text/csv"));
        assert_eq!(opts.content_encoding, None);
        assert_eq!(
            opts.metadata["psoxy-original-object-key"],
            "up/in/x/hris.csv"
        );
        assert_eq!(opts.metadata["psoxy-instance-id"], "hris-1");
        assert_eq!(
            opts.metadata["psoxy-salt-sha"],
            "pRwka918R7CEI6El1noIhIMJzqBGYUvvqXYHyMvxl2Y"
        );
        assert_eq!(opts.metadata["psoxy-rules-sha"].len(), 64);
        // Our own output, if it lands where we are triggered, is not processed again.
        assert!(matches!(
            p.process(&store, "out", "done/x/hris.csv").unwrap(),
            Outcome::LoopGuard
        ));
    }

    #[test]
    fn a_bad_rule_fails_when_the_processor_is_built() {
        let map: HashMap<String, String> = HashMap::from([
            ("PSOXY_SALT".into(), "salt".into()),
            (
                "RULES".into(),
                "fieldsToTransform:\n  GH:\n    transforms:\n      - filter: '('\n".into(),
            ),
            ("OUTPUT_BUCKET".into(), "out".into()),
        ]);
        let settings = Settings::from_sources(&crate::bulk::bulk_settings(), &Flags::new(), &|k| {
            map.get(k).cloned()
        });
        let err = BulkProcessor::new(BulkSettings::from_settings(&settings).unwrap(), 1)
            .err()
            .expect("a regex that does not compile fails at start")
            .to_string();
        assert!(
            err.starts_with(
                "rules for `*`: invalid regular expression in fieldsToTransform.GH.transforms[0]"
            ),
            "{err}"
        );
    }

    #[test]
    fn gzip_by_default_and_errors_are_classified() {
        let store = MemoryStore::default();
        store.objects.lock().unwrap().insert(
            ("up".into(), "in/a.csv".into()),
            (b"ID,N\n1\n".to_vec(), PutOptions::default()),
        );
        let err = processor(&[])
            .process(&store, "up", "in/a.csv")
            .unwrap_err();
        assert!(!err.retryable());
        assert_eq!(
            err.to_string(),
            "up/in/a.csv: line 2: row 2 has 1 fields, header has 2"
        );
        assert!(
            store.objects.lock().unwrap().keys().all(|(b, _)| b == "up"),
            "no output after an error"
        );
        store.objects.lock().unwrap().insert(
            ("up".into(), "in/b.csv".into()),
            (b"ID\n1\n".to_vec(), PutOptions::default()),
        );
        processor(&[]).process(&store, "up", "in/b.csv").unwrap();
        let (bytes, opts) =
            store.objects.lock().unwrap()[&("out".to_string(), "done/b.csv".to_string())].clone();
        assert_eq!(opts.content_encoding.as_deref(), Some("gzip"));
        assert!(bytes.starts_with(&[0x1f, 0x8b]));
        let missing = processor(&[])
            .process(&store, "up", "in/none.csv")
            .unwrap_err();
        assert!(missing.to_string().starts_with("up/in/none.csv"));
    }
}
