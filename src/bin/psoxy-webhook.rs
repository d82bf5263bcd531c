//! The webhook collector's AWS Lambda function: behind a function URL or an HTTP API it
//! verifies, sanitizes and queues webhooks on SQS; triggered by that queue it merges batches
//! into gzipped NDJSON objects in the output bucket. Deployed as `bootstrap` (custom runtime,
//! `provided.al2023`); see `docs/webhook.md` for its settings.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use psoxy::logging::init_json_logs;
use psoxy::webhook::lambda::WebhookFunction;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_json_logs();
    // Settings, rules, keys and clients: once per process.
    let function = WebhookFunction::from_env().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = function.clone();
        async move { function.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
