//! Helpers for driving the storage-triggered function against the test S3 server: S3 event
//! notifications as S3 sends them, and a [`Function`] built from settings given as pairs.
#![allow(dead_code)]

use std::collections::HashMap;

use aws_lambda_events::event::s3::S3Event;
use psoxy::bulk::lambda::Function;
use psoxy::storage::S3Store;

use super::s3_server::{client_for, TestS3};

/// Encodes a key as S3 event notifications do (the library's encoder, which `psoxy replay`
/// uses).
use psoxy::bulk::replay::replay_event;

/// An `ObjectCreated:Put` notification naming each `(bucket, key)` (keys given decoded): the
/// records the library's replay sends, sequencer `01`.
pub fn event(objects: &[(&str, &str)]) -> S3Event {
    let records: Vec<serde_json::Value> = objects
        .iter()
        .map(|(bucket, key)| {
            let object = psoxy::storage::ListedObject {
                key: key.to_string(),
                size: 1,
                last_modified: None,
            };
            replay_event(bucket, &object, "01")["Records"][0].take()
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("S3 event")
}

/// A function over the test server with the settings `pairs` (nothing from the process
/// environment), two worker threads.
pub async fn function(s3: &TestS3, pairs: &[(&str, &str)]) -> Function {
    function_via(&s3.endpoint, pairs).await
}

/// A function whose S3 client talks to `endpoint` (for example a proxy in front of the test
/// server) with the server's credentials, settings `pairs`, two worker threads.
pub async fn function_via(endpoint: &str, pairs: &[(&str, &str)]) -> Function {
    function_with(
        S3Store::new(client_for(endpoint), tokio::runtime::Handle::current()),
        pairs,
    )
    .await
}

/// A function over `store` (any client, part size, parts in flight) with settings `pairs`
/// (nothing from the process environment), two worker threads.
pub async fn function_with(store: S3Store, pairs: &[(&str, &str)]) -> Function {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let processor = Function::processor(&|k| map.get(k).cloned(), None, 2)
        .await
        .expect("settings");
    Function::new(processor, store)
}

/// Puts an object with optional Content-Type / Content-Encoding and user metadata.
pub async fn put(
    s3: &TestS3,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    metadata: &[(&str, &str)],
) {
    let mut req = s3
        .client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .set_content_type(content_type.map(str::to_owned))
        .set_content_encoding(content_encoding.map(str::to_owned));
    for (k, v) in metadata {
        req = req.metadata(*k, *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// An object's body and head, or `None` when it does not exist.
pub async fn get(
    s3: &TestS3,
    bucket: &str,
    key: &str,
) -> Option<(Vec<u8>, psoxy::storage::ObjectInfo)> {
    let head = match psoxy::storage::s3::head_object(&s3.client, bucket, key).await {
        Ok(h) => h,
        Err(e) if e.is_not_found() => return None,
        Err(e) => panic!("head {bucket}/{key}: {e}"),
    };
    let out = s3
        .client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get");
    let body = out
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec();
    Some((body, head))
}

/// Keys stored in `bucket`.
pub async fn keys(s3: &TestS3, bucket: &str) -> Vec<String> {
    let out = s3
        .client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// What the function writes (before gzip) for `input` stored at `key`, sanitized with `rules`
/// (YAML) and `salt`: the shared sanitizer, run as the function runs it (rows shuffled).
pub fn expected_object(rules: &str, salt: &str, key: &str, input: &[u8]) -> Vec<u8> {
    let rules = psoxy::rules::load_rules_bytes(rules.as_bytes()).expect("rules");
    let p = std::sync::Arc::new(
        psoxy::pseudonym::Pseudonymizer::new(&psoxy::pseudonym::PseudonymSettings {
            salt: salt.into(),
            ..Default::default()
        })
        .expect("pseudonymizer"),
    );
    let sanitizer = psoxy::sanitize::Sanitizer::new(&rules, p, 2).expect("sanitizer");
    let mut out = Vec::new();
    let opts = psoxy::sanitize::StreamOptions {
        object_key: key.into(),
        format: None,
        shuffle: true,
        gzip_output: false,
        content_type: None,
        output_format: None,
        ..Default::default()
    };
    sanitizer
        .sanitize_stream(input, &mut out, &opts, &mut |_| {})
        .expect("sanitize");
    out
}
