//! The API-mode AWS Lambda function behind a function URL (`AWS_IAM` auth): forwards the
//! requests its rules allow to `TARGET_HOST` with the source's credentials and returns the
//! sanitized responses. Deployed as `bootstrap` (custom runtime, `provided.al2023`); see
//! `docs/api.md` and `docs/settings.md` for its settings.

use lambda_http::{service_fn, Error, Request};
use psoxy::api::lambda::{finish_answer, lambda_response, proxy_request, service_from_env};
use psoxy::logging::init_json_logs;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_json_logs();
    // Settings, rules, clients and the token cache: once per process.
    let service = service_from_env().await;
    lambda_http::run(service_fn(move |req: Request| {
        let service = service.clone();
        async move {
            let req = proxy_request(req);
            let accept_encoding = req.header("accept-encoding").map(str::to_owned);
            let answer = service.handle(req).await;
            Ok::<_, Error>(lambda_response(finish_answer(
                answer,
                accept_encoding.as_deref(),
            )))
        }
    }))
    .await
}
