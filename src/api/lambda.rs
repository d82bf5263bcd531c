//! The AWS Lambda shell of the proxy: settings from the environment and the parameter store
//! once per process, then every invocation through the shared [`ApiService`]: a function URL
//! request (payload format 2.0) is answered; an SQS event (the queue of asynchronous requests,
//! `ASYNC_API_REQUEST_QUEUE_URL`) runs each request's async leg, and only the requests whose
//! outcome could not be written return to the queue (`batchItemFailures`).
//! [`function_url_request`] and [`function_url_response`] are shared with the webhook
//! function.

use std::sync::Arc;

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use serde_json::{json, Value};

use super::compression::{compress, Shell};
use super::deferred::{AsyncJob, AsyncQueue};
use super::error::ProxyError;
use super::flow::ApiService;
use super::settings::resolve;
use super::wire::{ProxyRequest, ProxyResponse};
use crate::settings::Flags;
use crate::storage::s3::client::s3_client;
use crate::storage::{ObjectStore, S3Store};

/// Builds the service from the process environment and, when `PATH_TO_INSTANCE_CONFIG` /
/// `PATH_TO_SHARED_CONFIG` are set, the parameter store. A configuration problem gives a
/// [`ApiService::Misconfigured`] that answers health checks with 412 (and is logged). With
/// `ASYNC_OUTPUT_DESTINATION`, asynchronous requests go to the SQS queue
/// `ASYNC_API_REQUEST_QUEUE_URL` and their answers to S3.
pub async fn service_from_env() -> ApiService {
    let env = |name: &str| std::env::var(name).ok();
    let service = ApiService::from_resolved(resolve(&Flags::new(), &env).await);
    let ApiService::Ready(handler) = service else {
        return service;
    };
    if !handler.needs_storage() {
        return ApiService::Ready(handler);
    }
    if let Err(e) = handler.require_store("s3") {
        let problem = e.to_string();
        tracing::error!(%problem, "the proxy is misconfigured");
        return ApiService::Misconfigured { problem };
    }
    let sdk = crate::aws_sdk::sdk_config().await;
    let store: Arc<dyn ObjectStore + Send> = Arc::new(S3Store::new(
        s3_client(&sdk, handler.s3_path_style()),
        tokio::runtime::Handle::current(),
    ));
    // The queue's URL, when asynchronous requests are on.
    let queue_url = handler
        .async_settings()
        .map(|(_, queue)| queue.map(str::to_owned));
    let queue = match queue_url {
        Some(Some(url)) => Some(AsyncQueue::Sqs {
            client: aws_sdk_sqs::Client::new(&sdk),
            url,
        }),
        Some(None) => {
            let problem =
                "setting ASYNC_API_REQUEST_QUEUE_URL is required with ASYNC_OUTPUT_DESTINATION"
                    .to_owned();
            tracing::error!(%problem, "the proxy is misconfigured");
            return ApiService::Misconfigured { problem };
        }
        None => None,
    };
    let handler = handler.with_outputs(store, queue);
    ApiService::Ready(handler)
}

/// An SQS batch that could not be read at all (the whole batch returns to the queue).
#[derive(Debug, thiserror::Error)]
#[error("not an SQS event: {0}")]
pub struct EventError(#[source] serde_json::Error);

/// Whether an invocation's event is an SQS batch.
pub fn is_sqs_event(event: &Value) -> bool {
    event
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// The answer to an SQS batch (the event source mapping reports batch item failures): the
/// messages `failed` names return to the queue, the others are deleted.
pub fn batch_item_failures<'a>(failed: impl IntoIterator<Item = &'a str>) -> Value {
    let items: Vec<Value> = failed
        .into_iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    json!({"batchItemFailures": items})
}

/// Handles one invocation of the API function: a function URL request, or a batch of
/// asynchronous requests.
pub async fn handle_event(service: &ApiService, event: Value) -> Result<Value, EventError> {
    if is_sqs_event(&event) {
        let batch: SqsEvent = serde_json::from_value(event).map_err(EventError)?;
        let mut failures = Vec::new();
        for record in batch.records {
            let id = record.message_id.unwrap_or_default();
            let job = serde_json::from_str::<AsyncJob>(record.body.as_deref().unwrap_or(""));
            let done = match job {
                Ok(job) => service.run_async(job).await.map_err(|e| e.to_string()),
                Err(e) => Err(format!(
                    "not an asynchronous request ({})",
                    crate::format::JsonSyntax::of(&e).kind()
                )),
            };
            if let Err(problem) = done {
                tracing::error!(message = %id, %problem, "an asynchronous request returns to the queue");
                failures.push(id);
            }
        }
        return Ok(batch_item_failures(failures.iter().map(String::as_str)));
    }
    let answer = match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
        Ok(request) => match function_url_request(request) {
            Some(req) => {
                let accept_encoding = req.header("accept-encoding").map(str::to_owned);
                finish_answer(service.handle(req).await, accept_encoding.as_deref())
            }
            None => undecodable_body(),
        },
        Err(_) => ProxyResponse::error(400, "BAD_REQUEST", "not a function URL request event"),
    };
    Ok(function_url_response(answer))
}

/// The proxy's view of a function URL (or HTTP API) request, payload format 2.0; the client's
/// address is the source IP the platform saw (never a header the caller could set, unless
/// `TRUST_FORWARDED_FOR`). `None` when a body said to be base64 is not.
pub fn function_url_request(req: ApiGatewayV2httpRequest) -> Option<ProxyRequest> {
    let body = match req.body {
        Some(b) if req.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .ok()?
            .into(),
        Some(b) => bytes::Bytes::from(b),
        None => bytes::Bytes::new(),
    };
    let http = &req.request_context.http;
    Some(ProxyRequest {
        method: http.method.as_str().to_owned(),
        path: req
            .raw_path
            .or_else(|| http.path.clone())
            .unwrap_or_else(|| "/".into()),
        query: req.raw_query_string.filter(|q| !q.is_empty()),
        headers: req
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
        client_ip: http.source_ip.clone(),
    })
}

/// The answer to an event whose body is not the base64 it says it is.
pub fn undecodable_body() -> ProxyResponse {
    ProxyResponse::error(400, "BAD_REQUEST", "the request body is not valid base64")
}

/// The function's answer in payload format 2.0: a text body as it is, any other body in
/// base64 (`isBase64Encoded`); repeated headers joined with commas.
pub fn function_url_response(r: ProxyResponse) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in r.headers {
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name, Value::String(value));
            }
        }
    }
    let (body, binary) = match String::from_utf8(r.body) {
        Ok(text) => (text, false),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            true,
        ),
    };
    json!({
        "statusCode": r.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": binary,
    })
}

/// Largest answer a synchronous Lambda invocation may return (6 MB, the whole payload), less
/// room for the status and headers.
pub const MAX_LAMBDA_BODY: usize = 6 * 1024 * 1024 - 64 * 1024;

/// The answer as the function returns it: gzipped when the caller's `Accept-Encoding`
/// contains `gzip` (Psoxy's rule), and refused with `RESPONSE_TOO_LARGE` when it would still
/// be over the Lambda response limit (binary bodies travel as base64).
pub fn finish_answer(mut r: ProxyResponse, accept_encoding: Option<&str>) -> ProxyResponse {
    compress(&mut r, accept_encoding, Shell::Lambda);
    let binary = std::str::from_utf8(&r.body).is_err();
    let size = if binary {
        r.body.len().div_ceil(3) * 4
    } else {
        r.body.len()
    };
    if size > MAX_LAMBDA_BODY {
        tracing::warn!(
            bytes = r.body.len(),
            "answer over the Lambda response limit"
        );
        let mut refused = ProxyError::AnswerTooLarge.response();
        refused.headers.extend(
            r.headers
                .into_iter()
                .filter(|(n, _)| n.starts_with("x-psoxy-") && n != "x-psoxy-error"),
        );
        return refused;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_item_failures_are_in_the_shape_lambda_reads() {
        assert_eq!(
            batch_item_failures(["m-1", "m-2"]),
            json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
        );
        assert_eq!(batch_item_failures([]), json!({"batchItemFailures": []}));
    }

    fn answer(body: Vec<u8>) -> ProxyResponse {
        ProxyResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-psoxy-rules-sha".into(), "abc".into()),
            ],
            body,
        }
    }

    #[test]
    fn large_answers_are_gzipped_or_refused() {
        // 7 MB of repetitive JSON: over the limit plain, far under it gzipped.
        let big = format!("[{}]", vec!["{\"id\":\"x\"}"; 700_000].join(",")).into_bytes();
        assert!(big.len() > MAX_LAMBDA_BODY);
        let gzipped = finish_answer(answer(big.clone()), Some("gzip"));
        assert_eq!(gzipped.status, 200);
        assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
        let refused = finish_answer(answer(big), None);
        assert_eq!(refused.status, 500);
        assert_eq!(refused.header("x-psoxy-error"), Some("RESPONSE_TOO_LARGE"));
        assert_eq!(refused.header("x-psoxy-rules-sha"), Some("abc"));
        // Random bytes do not compress: refused even when gzip is accepted (base64 inflates).
        let mut noise = Vec::with_capacity(5 * 1024 * 1024);
        let mut x: u32 = 1;
        while noise.len() < 5 * 1024 * 1024 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.extend_from_slice(&x.to_le_bytes());
        }
        let refused = finish_answer(answer(noise), Some("gzip"));
        assert_eq!(refused.header("x-psoxy-error"), Some("RESPONSE_TOO_LARGE"));
    }
}
