//! The storage-triggered AWS Lambda function: sanitizes every object named by an S3
//! `ObjectCreated` event into the output bucket, or starts the fan-out of a large one. The
//! same binary is the fan-out's chunk function: an event with a `fanout` field is a step of
//! the state machine (plan, chunk, join, abort). Deployed as `bootstrap` (custom runtime,
//! `provided.al2023`); see `docs/bulk.md` for its settings.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use psoxy::bulk::fanout::Task;
use psoxy::bulk::lambda::{fanout_diagnostic, Function, INPUT_ERROR};
use psoxy::logging::init_json_logs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_json_logs();
    // Settings, rules, AWS clients: once per process, reused by every invocation.
    let function = match Function::from_env().await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return Err(e.into());
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        instance = %function.settings().instance_id,
        rules_sha = %function.settings().rules_sha,
        "ready"
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let function = function.clone();
        async move { handle(&function, event.payload).await }
    }))
    .await
}

/// An S3 event, or a step of a fan-out.
async fn handle(
    function: &Function,
    event: serde_json::Value,
) -> Result<serde_json::Value, Diagnostic> {
    let malformed = |e: serde_json::Error| Diagnostic {
        error_type: INPUT_ERROR.to_owned(),
        // serde's message may quote the event; its kind and place never do.
        error_message: format!(
            "not an S3 event or a fan-out step ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    };
    if Task::is_task(&event) {
        let task: Task = serde_json::from_value(event).map_err(malformed)?;
        return function
            .handle_task(task)
            .await
            .map_err(|e| fanout_diagnostic(&e));
    }
    let event: S3Event = serde_json::from_value(event).map_err(malformed)?;
    let report = function.handle(event).await.map_err(Diagnostic::from)?;
    serde_json::to_value(report).map_err(|e| Diagnostic {
        error_type: INPUT_ERROR.to_owned(),
        error_message: format!("cannot write the report: {e}"),
    })
}
