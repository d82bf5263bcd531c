//! The storage-triggered AWS Lambda function: sanitizes every object named by an S3
//! `ObjectCreated` event into the output bucket. Deployed as `bootstrap` (custom runtime,
//! `provided.al2023`); see `docs/bulk.md` for its settings.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, LambdaEvent};
use psoxy::bulk::lambda::Function;
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let function = function.clone();
        async move { function.handle(event.payload).await }
    }))
    .await
}
