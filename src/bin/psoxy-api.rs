//! The API-mode AWS Lambda function behind a function URL (`AWS_IAM` auth): forwards the
//! requests its rules allow to `TARGET_HOST` with the source's credentials and returns the
//! sanitized responses; with `ASYNC_OUTPUT_DESTINATION`, it is also the trigger of the queue of
//! asynchronous requests. Deployed as `bootstrap` (custom runtime, `provided.al2023`); see
//! `docs/api.md` and `docs/settings.md` for its settings.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use psoxy::api::lambda::{handle_event, service_from_env};
use psoxy::logging::init_json_logs;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_json_logs();
    // Settings, rules, clients and the token cache: once per process.
    let service = service_from_env().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let service = service.clone();
        async move {
            handle_event(&service, event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
