//! The fan-out on AWS: the bulk function decides per object whether to sanitize it in chunks
//! ([`fan_out_destinations`]) and starts one Step Functions execution per destination
//! ([`start_jobs`]); the chunk function runs the steps the state machine sends
//! ([`run_task`]). The state machine itself is `terraform/modules/aws-bulk/fanout.asl.json`.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::fanout::{self, FanoutError, FanoutProblem, Job, Task};
use super::BulkProcessor;
use crate::storage::ObjectStore;

/// Why executions could not be started. Names the object, never a value.
#[derive(Debug, thiserror::Error)]
#[error("{bucket}/{key}: cannot start the fan-out: {detail}")]
pub struct StartError {
    /// Input bucket.
    pub bucket: String,
    /// Input key.
    pub key: String,
    /// The Step Functions error (code and message).
    pub detail: String,
    /// Whether a retry may pass (everything but a refusal or a missing state machine).
    pub retryable: bool,
}

/// `StartExecution` errors that a retry cannot cure (the others, such as
/// `ExecutionLimitExceeded` or KMS throttling, may pass later).
const PERMANENT_START_ERRORS: &[&str] = &[
    "AccessDeniedException",
    "InvalidArn",
    "InvalidExecutionInput",
    "InvalidName",
    "KmsAccessDeniedException",
    "KmsInvalidStateException",
    "StateMachineDeleting",
    "StateMachineDoesNotExist",
    "ValidationException",
];

/// The destinations of `bucket/key` to fan out: every destination whose rules match it, when
/// fan-out is configured, the object is at least `FANOUT_THRESHOLD_BYTES` and every one of
/// them can be split; otherwise none (the object is sanitized in one run, which also reports
/// any error of reading it).
pub fn fan_out_destinations(
    store: &dyn ObjectStore,
    processor: &BulkProcessor,
    bucket: &str,
    key: &str,
) -> Vec<Job> {
    let settings = &processor.settings().fanout;
    if settings.state_machine_arn.is_none() || settings.work_bucket.is_none() {
        return Vec::new();
    }
    let Ok(info) = store.info(bucket, key) else {
        return Vec::new();
    };
    if info.size < settings.threshold_bytes {
        return Vec::new();
    }
    let mut jobs = Vec::new();
    let mut head = None;
    for destination in 0..processor.destination_count() {
        let job = Job {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            destination,
            work_prefix: String::new(),
            version: info.version.clone(),
            plan: None,
            error: None,
        };
        if head.is_none() {
            match fanout::magic(store, &job, &info) {
                Ok(bytes) => head = Some(bytes),
                Err(e) => {
                    tracing::warn!(error = %e, size = info.size, "large object sanitized in one run: its first bytes could not be read");
                    return Vec::new();
                }
            }
        }
        let magic = head.as_deref().unwrap_or_default();
        match fanout::splittable(store, processor, &job, &info, magic) {
            Ok(true) => jobs.push(job),
            Ok(false) => {
                tracing::warn!(%bucket, %key, size = info.size, "large object sanitized in one run: its format or encoding cannot be split");
                return Vec::new();
            }
            Err(e) if matches!(*e.problem, FanoutProblem::NoRules) => {}
            Err(_) => return Vec::new(),
        }
    }
    jobs
}

/// The execution name of a job: the same for a repeated delivery of one upload's event
/// (`sequencer` identifies the upload), so a duplicate event starts nothing new.
pub fn execution_name(job: &Job, sequencer: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        &job.bucket,
        &job.key,
        sequencer,
        &job.destination.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("psoxy-{hex}")
}

/// Starts one execution per job on `state_machine_arn`; each job's work objects go under
/// `fanout/<execution name>/`. An execution that already exists (a repeated event) counts as
/// started.
pub async fn start_jobs(
    client: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    jobs: Vec<Job>,
    sequencer: &str,
) -> Result<Vec<String>, StartError> {
    let mut names = Vec::new();
    for mut job in jobs {
        let name = execution_name(&job, sequencer);
        job.work_prefix = format!("fanout/{name}/");
        let fail = |detail: String, retryable: bool| StartError {
            bucket: job.bucket.clone(),
            key: job.key.clone(),
            detail,
            retryable,
        };
        let input = serde_json::to_string(&job).map_err(|e| fail(e.to_string(), false))?;
        let started = client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(&name)
            .input(input)
            .send()
            .await;
        match started {
            Ok(_) => {}
            Err(e) => {
                use aws_sdk_sfn::error::ProvideErrorMetadata;
                let code = e.code().unwrap_or("").to_owned();
                if code != "ExecutionAlreadyExists" {
                    let retryable = !PERMANENT_START_ERRORS.contains(&code.as_str());
                    let message = e.message().unwrap_or("").to_owned();
                    return Err(fail(
                        format!("{code} {message}").trim().to_owned(),
                        retryable,
                    ));
                }
            }
        }
        tracing::info!(bucket = %job.bucket, key = %job.key, destination = job.destination, execution = %name, "fanned out");
        names.push(name);
    }
    Ok(names)
}

/// Runs one step the state machine sent, on a blocking thread; its answer is the step's
/// result (offsets and counts only).
pub async fn run_task<S>(
    processor: Arc<BulkProcessor>,
    store: S,
    task: Task,
) -> Result<serde_json::Value, FanoutError>
where
    S: ObjectStore + Clone + Send + 'static,
{
    let job = match &task {
        Task::Plan { job } | Task::Chunk { job, .. } | Task::Join { job } | Task::Abort { job } => {
            job.clone()
        }
    };
    let failed = |problem: FanoutProblem| FanoutError {
        bucket: job.bucket.clone(),
        key: job.key.clone(),
        chunk: None,
        problem: Box::new(problem),
    };
    let settings = processor.settings().fanout.clone();
    let work_bucket = settings.work_bucket.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let work = || work_bucket.clone().ok_or(FanoutProblem::NoWorkBucket);
        let to_json = |v: Result<serde_json::Value, serde_json::Error>| {
            v.map_err(|source| FanoutProblem::Json {
                what: "answer",
                source,
            })
        };
        match task {
            Task::Plan { job } => {
                let work = work().map_err(|p| fanout_error(&job, p))?;
                let plan = fanout::plan(&store, &processor, &job, &work, settings.chunk_bytes)?;
                tracing::info!(bucket = %job.bucket, key = %job.key, chunks = plan.chunks, "planned");
                to_json(serde_json::to_value(plan)).map_err(|p| fanout_error(&job, p))
            }
            Task::Chunk { job, chunk } => {
                let work = job
                    .plan
                    .as_ref()
                    .map(|p| p.bucket.clone())
                    .ok_or(FanoutProblem::NoPlan)
                    .map_err(|p| fanout_error(&job, p))?;
                let report = fanout::chunk(&store, &processor, &job, &chunk, &work)?;
                tracing::info!(bucket = %job.bucket, key = %job.key, chunk = chunk.index, rows = report.rows, "chunk sanitized");
                to_json(serde_json::to_value(report)).map_err(|p| fanout_error(&job, p))
            }
            Task::Join { job } => {
                let joined = fanout::join(&store, &processor, &job)?;
                tracing::info!(bucket = %job.bucket, key = %job.key, output_bucket = %joined.bucket, output_key = %joined.key, rows = joined.rows, chunks = joined.chunks, "sanitized");
                to_json(serde_json::to_value(joined)).map_err(|p| fanout_error(&job, p))
            }
            Task::Abort { job } => {
                let work = work().unwrap_or_default();
                fanout::abort(&store, &job, &work);
                Ok(serde_json::json!({ "aborted": true }))
            }
        }
    })
    .await;
    match joined {
        Ok(result) => result,
        Err(e) => Err(failed(FanoutProblem::Internal(crate::bulk::join_failure(
            &e,
        )))),
    }
}

fn fanout_error(job: &Job, problem: FanoutProblem) -> FanoutError {
    FanoutError {
        bucket: job.bucket.clone(),
        key: job.key.clone(),
        chunk: None,
        problem: Box::new(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_stable_short_and_distinct() {
        let job = Job {
            bucket: "in".into(),
            key: "hris/a b.csv".into(),
            destination: 0,
            work_prefix: String::new(),
            version: None,
            plan: None,
            error: None,
        };
        let a = execution_name(&job, "0055AED6DCD90281E5");
        assert_eq!(a, execution_name(&job, "0055AED6DCD90281E5"));
        assert_ne!(a, execution_name(&job, "0055AED6DCD90281E6"));
        let other = Job {
            destination: 1,
            ..job.clone()
        };
        assert_ne!(a, execution_name(&other, "0055AED6DCD90281E5"));
        assert!(a.len() <= 80 && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }
}
