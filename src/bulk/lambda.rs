//! The bulk AWS Lambda shell: an S3 `ObjectCreated` event in, every object it names
//! sanitized into the output bucket(s).
//!
//! [`Function`] is built once per process ([`Function::from_env`]: settings from the
//! environment and the parameter store, rules compiled, S3 client and its connection pool
//! created) and then handles every event the Lambda runtime delivers. Each object runs through
//! [`BulkProcessor::process`] on a blocking thread: the object is streamed from `GetObject`,
//! sanitized in parallel and uploaded in parts, the upload completed only after the last row.
//!
//! Every record of the event is processed, even after one fails; the invocation then fails
//! with an error that names each failed object, the line and the cause (never a value or a
//! secret), typed `Psoxy.Retryable` when only storage trouble (throttling, 5xx, timeouts)
//! failed it and `Psoxy.InvalidInput` otherwise (bad data, bad rules, missing object).

use std::sync::Arc;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};

use super::fanout::{FanoutError, Task};
use super::keys::decode_event_key;
pub use super::run::SetupError;
use super::run::{build_processor, log_failure, run_object};
pub use super::run::{ObjectReport, OutputReport, Report};
use super::step_functions;
use super::{BulkError, BulkProblem, BulkProcessor, BulkSettings};
use crate::settings::aws::AwsStore;
use crate::settings::{SecretStore, StoreLocation};
use crate::storage::s3::{path_style, s3_client};
use crate::storage::S3Store;

/// `errorType` of an invocation that may succeed if retried.
pub const RETRYABLE_ERROR: &str = "Psoxy.Retryable";
/// `errorType` of an invocation that will fail again the same way.
pub const INPUT_ERROR: &str = "Psoxy.InvalidInput";

/// The function's state, shared by every invocation of a process.
#[derive(Clone)]
pub struct Function {
    processor: Arc<BulkProcessor>,
    store: S3Store,
    /// The Step Functions client, when `FANOUT_STATE_MACHINE_ARN` is set.
    sfn: Option<aws_sdk_sfn::Client>,
}

/// An invocation in which at least one object failed.
#[derive(Debug, thiserror::Error)]
#[error("{} of {} objects failed: {}", failures.len(), total, failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
pub struct InvocationError {
    /// The objects that failed.
    pub failures: Vec<BulkError>,
    /// Records in the event.
    pub total: usize,
}

impl InvocationError {
    /// Whether a retry may succeed: every failure is storage trouble.
    pub fn retryable(&self) -> bool {
        self.failures.iter().all(BulkError::retryable)
    }
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> Self {
        (&e).into()
    }
}

impl From<&InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: &InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: if e.retryable() {
                RETRYABLE_ERROR
            } else {
                INPUT_ERROR
            }
            .to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The error of a failed fan-out step, typed for the state machine's retry policy.
pub fn fanout_diagnostic(e: &FanoutError) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: if e.retryable() {
            RETRYABLE_ERROR
        } else {
            INPUT_ERROR
        }
        .to_owned(),
        error_message: e.to_string(),
    }
}

impl Function {
    /// A function over `processor` and `store`.
    pub fn new(processor: BulkProcessor, store: S3Store) -> Self {
        Function {
            processor: Arc::new(processor),
            store,
            sfn: None,
        }
    }

    /// Starts fan-out executions with `client` (large objects; see [`step_functions`]).
    pub fn with_step_functions(mut self, client: aws_sdk_sfn::Client) -> Self {
        self.sfn = Some(client);
        self
    }

    /// Builds the function from the process environment, as in Lambda: settings from the
    /// environment, then the parameter store named by `PATH_TO_INSTANCE_CONFIG` /
    /// `PATH_TO_SHARED_CONFIG`; AWS clients configured by the usual AWS variables
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SSM`, ... point them elsewhere).
    pub async fn from_env() -> Result<Self, SetupError> {
        let env = |name: &str| std::env::var(name).ok();
        let sdk = crate::aws_sdk::sdk_config().await;
        let location = StoreLocation::from_lookup(&env)?;
        let remote = location
            .as_ref()
            .map(|loc| (loc, AwsStore::new(loc.kind, &sdk, None)));
        let (processor, settings) = build_processor(
            &env,
            remote.as_ref().map(|(l, s)| (*l, s as &dyn SecretStore)),
            None,
        )
        .await?;
        let store = S3Store::new(
            s3_client(&sdk, path_style(&settings)),
            tokio::runtime::Handle::current(),
        );
        let fanout = processor.settings().fanout.state_machine_arn.is_some();
        let function = Function::new(processor, store);
        Ok(if fanout {
            function.with_step_functions(aws_sdk_sfn::Client::new(&sdk))
        } else {
            function
        })
    }

    /// Resolves the settings (`env` first, then `remote`) and compiles them, with `threads`
    /// workers (0: every core).
    pub async fn processor(
        env: &dyn Fn(&str) -> Option<String>,
        remote: Option<(&StoreLocation, &dyn SecretStore)>,
        threads: usize,
    ) -> Result<BulkProcessor, SetupError> {
        Ok(build_processor(env, remote, Some(threads)).await?.0)
    }

    /// The settings in use.
    pub fn settings(&self) -> &BulkSettings {
        self.processor.settings()
    }

    /// Handles one event: every record, in order, each object on a blocking thread.
    pub async fn handle(&self, event: S3Event) -> Result<Report, InvocationError> {
        let total = event.records.len();
        let mut report = Report::default();
        let mut failures = Vec::new();
        for record in event.records {
            match self.handle_record(record).await {
                Ok(Some(object)) => report.objects.push(object),
                Ok(None) => {}
                Err(e) => {
                    log_failure(&e);
                    failures.push(e);
                }
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(InvocationError { failures, total })
        }
    }

    async fn handle_record(
        &self,
        record: S3EventRecord,
    ) -> Result<Option<ObjectReport>, BulkError> {
        let bucket = record.s3.bucket.name.clone().unwrap_or_default();
        let raw_key = record.s3.object.key.clone().unwrap_or_default();
        let invalid = |problem: BulkProblem| BulkError {
            bucket: bucket.clone(),
            key: raw_key.clone(),
            problem: Box::new(problem),
        };
        if bucket.is_empty() || raw_key.is_empty() {
            return Err(invalid(BulkProblem::NoObject));
        }
        let key = decode_event_key(&raw_key).map_err(|e| invalid(e.into()))?;
        let event_name = record.event_name.as_deref().unwrap_or("");
        if !event_name.is_empty() && !event_name.contains("ObjectCreated") {
            tracing::info!(%bucket, %key, event = event_name, "ignored: not an ObjectCreated event");
            return Ok(Some(ObjectReport {
                bucket,
                key,
                status: "ignored",
                outputs: Vec::new(),
            }));
        }

        if let Some(report) = self
            .fan_out(&bucket, &key, record.s3.object.sequencer.as_deref())
            .await
            .map_err(|e| {
                invalid(BulkProblem::StartFanout {
                    detail: e.detail,
                    retryable: e.retryable,
                })
            })?
        {
            return Ok(Some(report));
        }
        run_object(self.processor.clone(), self.store.clone(), bucket, key)
            .await
            .map(Some)
    }

    /// Starts the fan-out of a large object (see [`step_functions::fan_out_destinations`]);
    /// `None` when it is sanitized here.
    async fn fan_out(
        &self,
        bucket: &str,
        key: &str,
        sequencer: Option<&str>,
    ) -> Result<Option<ObjectReport>, step_functions::StartError> {
        let (Some(client), Some(arn)) = (
            &self.sfn,
            self.processor.settings().fanout.state_machine_arn.clone(),
        ) else {
            return Ok(None);
        };
        let (processor, store) = (self.processor.clone(), self.store.clone());
        let (b, k) = (bucket.to_owned(), key.to_owned());
        let jobs = tokio::task::spawn_blocking(move || {
            step_functions::fan_out_destinations(&store, &processor, &b, &k)
        })
        .await
        .unwrap_or_default();
        if jobs.is_empty() {
            return Ok(None);
        }
        // A new upload has a new sequencer; without one, the time tells uploads apart.
        let sequencer = sequencer.map(str::to_owned).unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos().to_string()
        });
        step_functions::start_jobs(client, &arn, jobs, &sequencer).await?;
        Ok(Some(ObjectReport {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status: "fanned-out",
            outputs: Vec::new(),
        }))
    }

    /// Runs one step of a fan-out execution (this is the chunk function).
    pub async fn handle_task(&self, task: Task) -> Result<serde_json::Value, FanoutError> {
        let result =
            step_functions::run_task(self.processor.clone(), self.store.clone(), task).await;
        if let Err(e) = &result {
            tracing::error!(
                bucket = %e.bucket,
                key = %e.key,
                chunk = e.chunk,
                retryable = e.retryable(),
                error = %e.problem,
                "fan-out step failed"
            );
        }
        result
    }
}
