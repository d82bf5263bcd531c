//! The AWS Lambda shell of the webhook collector: one function for both its event kinds.
//! A function URL or HTTP API request (payload format 2.0) goes through the [`Collector`],
//! which queues the sanitized payload on SQS (`WEBHOOK_OUTPUT`); an SQS event (the queue's
//! trigger, with `ReportBatchItemFailures`) is merged into one object in
//! `WEBHOOK_BATCH_OUTPUT`, and only the messages that failed go back to the queue.

use std::sync::Arc;

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

use super::batch::{merge, write_batch, Message};
use super::collector::Collector;
use super::queue::Queue;
use super::settings::{resolve, WebhookSettings};
use crate::api::lambda::{
    batch_item_failures, function_url_request, function_url_response, is_sqs_event,
    undecodable_body,
};
use crate::api::wire::ProxyResponse;
use crate::settings::aws::AwsStore;
use crate::settings::{Flags, SecretStore, StoreLocation};
use crate::storage::s3::client::{path_style, s3_client};
use crate::storage::{ObjectPrefix, ObjectStore, S3Store};

/// The function, built once per process.
#[derive(Clone)]
pub struct WebhookFunction {
    collector: Result<Collector, Misconfigured>,
    batch: Result<(Arc<dyn ObjectStore + Send>, ObjectPrefix), Misconfigured>,
}

/// What keeps one of the function's two jobs from running (names settings, never values).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Misconfigured(String);

/// An SQS batch that could not be handled at all (the whole batch returns to the queue).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BatchError(String);

impl WebhookFunction {
    /// Builds the function from the process environment and the parameter store it names.
    /// A misconfiguration is logged and answered (500 to requests, an error to SQS events),
    /// naming the setting.
    pub async fn from_env() -> WebhookFunction {
        let env = |name: &str| std::env::var(name).ok();
        let sdk = crate::aws_sdk::sdk_config().await;
        let location = match StoreLocation::from_lookup(&env) {
            Ok(l) => l,
            Err(e) => return WebhookFunction::broken(e.to_string()),
        };
        let remote = location
            .as_ref()
            .map(|loc| (loc, AwsStore::new(loc.kind, &sdk, None)));
        let settings = match resolve(
            &Flags::new(),
            &env,
            remote.as_ref().map(|(l, s)| (*l, s as &dyn SecretStore)),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => return WebhookFunction::broken(e.to_string()),
        };
        let webhook =
            match WebhookSettings::from_settings(&settings, Some(aws_sdk_kms::Client::new(&sdk))) {
                Ok(w) => w,
                Err(e) => return WebhookFunction::broken(e.to_string()),
            };
        let batch = match webhook.batch_output.clone() {
            Some(output) => match output.require("s3", "WEBHOOK_BATCH_OUTPUT") {
                Ok(()) => {
                    let store: Arc<dyn ObjectStore + Send> = Arc::new(S3Store::new(
                        s3_client(&sdk, path_style(&settings)),
                        tokio::runtime::Handle::current(),
                    ));
                    Ok((store, output))
                }
                Err(e) => Err(Misconfigured(e.to_string())),
            },
            None => Err(Misconfigured(
                "setting WEBHOOK_BATCH_OUTPUT is required to merge batches".to_owned(),
            )),
        };
        let queue = webhook.queue_url.clone().map(|url| Queue::Sqs {
            client: aws_sdk_sqs::Client::new(&sdk),
            url,
        });
        let collector = match queue {
            Some(queue) => Collector::new(webhook, queue).map_err(|e| Misconfigured(e.to_string())),
            None => Err(Misconfigured(
                "setting WEBHOOK_OUTPUT is required to collect webhooks".to_owned(),
            )),
        };
        match &collector {
            Ok(c) => tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                rules_sha = c.rules_sha(),
                "webhook collector ready"
            ),
            Err(problem) => tracing::warn!(%problem, "webhook requests cannot be collected"),
        }
        if let Err(problem) = &batch {
            tracing::warn!(%problem, "batches cannot be merged");
        }
        WebhookFunction { collector, batch }
    }

    fn broken(problem: String) -> WebhookFunction {
        tracing::error!(%problem, "the webhook function is misconfigured");
        WebhookFunction {
            collector: Err(Misconfigured(problem.clone())),
            batch: Err(Misconfigured(problem)),
        }
    }

    /// Handles one invocation: an SQS event or an HTTP request.
    pub async fn handle(&self, event: Value) -> Result<Value, BatchError> {
        if is_sqs_event(&event) {
            let event: SqsEvent = serde_json::from_value(event)
                .map_err(|e| BatchError(format!("not an SQS event: {e}")))?;
            return Box::pin(self.batch(event)).await;
        }
        let response = match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
            Ok(req) => match &self.collector {
                Ok(c) => match function_url_request(req) {
                    // Boxed: the collector's future is deep, and a function's `main` holding
                    // it unboxed overflows the compiler's layout query depth.
                    Some(req) => Box::pin(c.handle(req)).await,
                    None => undecodable_body(),
                },
                Err(_) => {
                    ProxyResponse::error(500, "MISCONFIGURED", "the collector is misconfigured")
                }
            },
            Err(_) => ProxyResponse::error(400, "INVALID_REQUEST", "not an HTTP request event"),
        };
        Ok(function_url_response(response))
    }

    async fn batch(&self, event: SqsEvent) -> Result<Value, BatchError> {
        let (store, output) = self.batch.as_ref().map_err(|p| BatchError(p.to_string()))?;
        let messages: Vec<Message> = event
            .records
            .into_iter()
            .map(|r| Message {
                id: r.message_id.unwrap_or_default(),
                body: r.body.unwrap_or_default(),
            })
            .collect();
        let merged = merge(&messages);
        let store = store.clone();
        let output = output.clone();
        let written = tokio::task::spawn_blocking(move || {
            let result = write_batch(store.as_ref(), &output, &merged);
            (merged, result)
        })
        .await
        .map_err(|e| BatchError(format!("the batch writer stopped: {e}")))?;
        let (merged, result) = written;
        let failed: Vec<&String> = match &result {
            Ok(key) => {
                tracing::info!(
                    messages = merged.merged.len(),
                    records = merged.records,
                    failed = merged.failed.len(),
                    key = key.as_deref().unwrap_or(""),
                    "batch written"
                );
                merged.failed.iter().collect()
            }
            Err(e) => {
                tracing::error!(error = %e, messages = messages.len(), "the batch could not be written; every message returns to the queue");
                merged.merged.iter().chain(&merged.failed).collect()
            }
        };
        Ok(batch_item_failures(failed.iter().map(|id| id.as_str())))
    }
}
