//! The webhook collector end to end on loopback: tokens signed with the fixture keys (and with
//! a KMS key in moto), the forgery catalogue refused with nothing queued, valid webhooks from
//! two keys queued sanitized and merged into one gzipped NDJSON object in the S3 test server,
//! and SQS (moto) as the queue.
#![cfg(feature = "aws")]

mod common;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/s3_server.rs"]
mod s3_server;
#[path = "support/webhook_tokens.rs"]
mod tokens;

use std::io::Read;
use std::path::Path;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use psoxy::api::wire::ProxyRequest;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::settings::{Flags, Settings};
use psoxy::storage::{ObjectPrefix, S3Store};
use psoxy::webhook::batch::{merge, write_batch, Message};
use psoxy::webhook::queue::{waiting_messages, Queue};
use psoxy::webhook::{webhook_settings, Collector, WebhookSettings};
use serde_json::{json, Value};
use tokens::{claims, fixture, now, payload, sign, ALICE, ISSUER};

const SALT: &str = "webhook-test-salt";

fn settings(
    pairs: Vec<(&'static str, String)>,
    kms: Option<aws_sdk_kms::Client>,
) -> WebhookSettings {
    let lookup = move |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    WebhookSettings::from_settings(
        &Settings::from_sources(&webhook_settings(), &Flags::new(), &lookup),
        kms,
    )
    .unwrap()
}

fn base_settings() -> Vec<(&'static str, String)> {
    vec![
        ("PSOXY_SALT", SALT.into()),
        ("RULES", fixture("rules.yaml")),
        ("AUTH_ISSUER", ISSUER.into()),
        (
            "ACCEPTED_AUTH_KEYS",
            format!(
                "base64:{},base64:{}",
                fixture("issuer-a.spki.b64"),
                fixture("issuer-b.spki.b64")
            ),
        ),
    ]
}

fn folder_collector(dir: &Path) -> Collector {
    Collector::new(
        settings(base_settings(), None),
        Queue::Folder(dir.to_path_buf()),
    )
    .unwrap()
}

fn post(
    token: Option<&str>,
    body: &[u8],
    content_type: Option<&str>,
    query: Option<&str>,
) -> ProxyRequest {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("authorization".to_owned(), format!("Bearer {t}")));
    }
    if let Some(c) = content_type {
        headers.push(("content-type".to_owned(), c.to_owned()));
    }
    ProxyRequest {
        method: "POST".into(),
        path: "/".into(),
        query: query.map(str::to_owned),
        headers,
        body: body.to_vec().into(),
        client_ip: Some("127.0.0.1".into()),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Every forgery is refused with its status and code, names no value, and queues nothing.
#[tokio::test]
async fn forgeries_are_refused_and_nothing_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let collector = folder_collector(dir.path());
    let body = payload("u-1").to_string();
    let good = sign("issuer-a.pem", Algorithm::RS256, &claims("u-1"));
    let parts: Vec<&str> = good.split('.').collect();
    let none_token = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let hmac_token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("u-1"),
        &EncodingKey::from_secret(fixture("issuer-a.spki.b64").as_bytes()),
    )
    .unwrap();
    let hmac_der_token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("u-1"),
        &EncodingKey::from_secret(
            &base64::engine::general_purpose::STANDARD
                .decode(fixture("issuer-a.spki.b64"))
                .unwrap(),
        ),
    )
    .unwrap();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims("u-2").to_string().as_bytes()),
        parts[2]
    );
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("u-1");
        f(&mut c);
        sign("issuer-a.pem", Algorithm::RS256, &c)
    };
    let expired = with(&|c| c["exp"] = json!(now() - 600));
    let future_iat = with(&|c| c["iat"] = json!(now() + 600));
    let too_long = with(&|c| c["exp"] = json!(now() + 366 * 86400));
    let no_exp = with(&|c| {
        c.as_object_mut().unwrap().remove("exp");
    });
    let no_iat = with(&|c| {
        c.as_object_mut().unwrap().remove("iat");
    });
    let no_sub = with(&|c| {
        c.as_object_mut().unwrap().remove("sub");
    });
    let wrong_iss = with(&|c| c["iss"] = json!("https://evil.example"));
    let stranger = sign("stranger.pem", Algorithm::RS256, &claims("u-1"));
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024));
    let mut get = post(Some(&good), body.as_bytes(), None, None);
    get.method = "GET".into();

    let cases: Vec<(&str, ProxyRequest, u16, &str)> = vec![
        (
            "no token",
            post(None, body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "alg: none",
            post(Some(&none_token), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "HS256 keyed with the public key (base64 text)",
            post(Some(&hmac_token), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "HS256 keyed with the public key (DER)",
            post(Some(&hmac_der_token), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "unknown key",
            post(Some(&stranger), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "tampered claims",
            post(
                Some(&tampered),
                payload("u-2").to_string().as_bytes(),
                None,
                None,
            ),
            401,
            "UNAUTHORIZED",
        ),
        (
            "expired",
            post(Some(&expired), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "iat in the future",
            post(Some(&future_iat), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "exp beyond 365 days",
            post(Some(&too_long), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "missing exp",
            post(Some(&no_exp), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "missing iat",
            post(Some(&no_iat), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "wrong issuer",
            post(Some(&wrong_iss), body.as_bytes(), None, None),
            401,
            "UNAUTHORIZED",
        ),
        (
            "claim mismatch (payload)",
            post(
                Some(&good),
                payload("u-2").to_string().as_bytes(),
                None,
                None,
            ),
            401,
            "CLAIMS_MISMATCH",
        ),
        (
            "claim mismatch (query)",
            post(Some(&good), body.as_bytes(), None, Some("actor=u-2")),
            401,
            "CLAIMS_MISMATCH",
        ),
        (
            "missing claim",
            post(Some(&no_sub), body.as_bytes(), None, None),
            401,
            "CLAIMS_MISMATCH",
        ),
        (
            "wrong content type",
            post(Some(&good), body.as_bytes(), Some("text/plain"), None),
            400,
            "UNSUPPORTED_CONTENT_TYPE",
        ),
        (
            "non-UTF-8 charset",
            post(
                Some(&good),
                body.as_bytes(),
                Some("application/json; charset=iso-8859-1"),
                None,
            ),
            400,
            "UNSUPPORTED_CONTENT_TYPE",
        ),
        (
            "oversized body",
            post(Some(&good), big.as_bytes(), None, None),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "invalid JSON",
            post(
                Some(&good),
                b"{\"actor\": {\"id\": \"u-1\", \"email\": \"alice@acme.example\"",
                None,
                None,
            ),
            400,
            "INVALID_PAYLOAD",
        ),
        (
            "invalid NDJSON line",
            post(
                Some(&good),
                b"{\"actor\":{\"id\":\"u-1\"}}\n{alice@acme.example}\n",
                Some("application/x-ndjson"),
                None,
            ),
            400,
            "INVALID_PAYLOAD",
        ),
        ("GET", get, 405, "METHOD_NOT_ALLOWED"),
    ];
    println!("| forgery | status | X-Psoxy-Error |\n|---|---|---|");
    for (label, request, status, code) in cases {
        let answer = collector.handle(request).await;
        println!(
            "| {label} | {} | {} |",
            answer.status,
            answer.header("x-psoxy-error").unwrap_or("")
        );
        assert_eq!(answer.status, status, "{label}");
        assert_eq!(answer.header("x-psoxy-error"), Some(code), "{label}");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains(ALICE) && !text.contains("u-1") && !text.contains("u-2"),
            "{label}: {text}"
        );
        assert!(
            waiting_messages(dir.path()).unwrap().is_empty(),
            "{label}: something was queued"
        );
    }
}

/// Webhooks signed by either accepted key (RS256 and PS256, one NDJSON body) are queued
/// sanitized, and one batch merges them into one gzipped NDJSON object whose records equal the
/// sanitized payloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_from_two_keys_are_batched_into_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let collector = folder_collector(dir.path());
    let from_a = sign("issuer-a.pem", Algorithm::RS256, &claims("u-1"));
    let from_b = sign("issuer-b.pem", Algorithm::PS256, &claims("u-2"));
    let answers = [
        collector
            .handle(post(
                Some(&from_a),
                payload("u-1").to_string().as_bytes(),
                Some("application/json; charset=utf-8"),
                Some("actor=u-1"),
            ))
            .await,
        collector
            .handle(post(
                Some(&from_b),
                format!("{}\n{}\n", payload("u-2"), payload("u-2")).as_bytes(),
                Some("application/x-ndjson"),
                None,
            ))
            .await,
    ];
    for a in &answers {
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert!(a.body.is_empty());
    }
    let files = waiting_messages(dir.path()).unwrap();
    assert_eq!(files.len(), 2);
    let messages: Vec<Message> = files
        .iter()
        .enumerate()
        .map(|(i, f)| Message {
            id: format!("m{i}"),
            body: std::fs::read_to_string(f).unwrap(),
        })
        .collect();
    for m in &messages {
        assert!(
            !m.body.contains(ALICE) && !m.body.contains("private notes"),
            "{}",
            m.body
        );
    }
    let merged = merge(&messages);
    assert_eq!(merged.records, 3);
    assert!(merged.failed.is_empty());

    let s3 = s3_server::start();
    s3.create_bucket("sanitized-webhooks").await;
    let store = S3Store::new(s3.client.clone(), tokio::runtime::Handle::current());
    let output =
        ObjectPrefix::parse("s3://sanitized-webhooks/hooks", "WEBHOOK_BATCH_OUTPUT").unwrap();
    let key = tokio::task::spawn_blocking(move || {
        write_batch(&store, &output, &merged).map(|k| (k, merged))
    })
    .await
    .unwrap()
    .unwrap();
    let (key, merged) = key;
    let key = key.unwrap();
    assert!(
        key.starts_with("hooks/") && key.ends_with(".ndjson.gz"),
        "{key}"
    );
    let object = s3
        .client
        .get_object()
        .bucket("sanitized-webhooks")
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_encoding(), Some("gzip"));
    let gz = object.body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.as_bytes(), merged.ndjson.as_slice());

    let p = Pseudonymizer::new(&PseudonymSettings {
        salt: SALT.into(),
        ..Default::default()
    })
    .unwrap();
    let expected = |actor: &str| {
        json!({
            "event": "meeting.ended",
            "actor": {"id": actor, "email": p.token(ALICE).unwrap()},
            "attendees": [p.token("bob@acme.example").unwrap(), p.token(ALICE).unwrap()],
            "minutes": 30
        })
    };
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut want = vec![expected("u-1"), expected("u-2"), expected("u-2")];
    let mut got = records.clone();
    let order = |v: &Value| v.to_string();
    want.sort_by_key(order);
    got.sort_by_key(order);
    assert_eq!(got, want);
}

/// Keys kept in KMS (moto): a token signed by KMS `Sign` is accepted, the JWKS lists the
/// key, and the sanitized payload is queued on SQS (moto).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_keys_and_an_sqs_queue() {
    let sdk = moto::sdk_config();
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key_id = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name("sanitized-webhooks-to-batch")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let mut pairs = base_settings();
    pairs.retain(|(n, _)| *n != "ACCEPTED_AUTH_KEYS");
    pairs.push(("ACCEPTED_AUTH_KEYS", format!("aws-kms:{key_id}")));
    let collector = Collector::new(
        settings(pairs, Some(kms.clone())),
        Queue::Sqs {
            client: sqs.clone(),
            url: queue_url.clone(),
        },
    )
    .unwrap();

    // The issuer signs with KMS: header.claims, RSASSA-PKCS1-v1_5 SHA-256 (RS256).
    let signing_input = format!(
        "{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims("u-1").to_string().as_bytes())
    );
    let signature = kms
        .sign()
        .key_id(&key_id)
        .message(aws_sdk_kms::primitives::Blob::new(signing_input.as_bytes()))
        .message_type(aws_sdk_kms::types::MessageType::Raw)
        .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap();
    let token = format!(
        "{signing_input}.{}",
        b64(signature.signature().unwrap().as_ref())
    );
    let answer = collector
        .handle(post(
            Some(&token),
            payload("u-1").to_string().as_bytes(),
            None,
            None,
        ))
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    // A key that is not the KMS key is refused.
    let stranger = sign("stranger.pem", Algorithm::RS256, &claims("u-1"));
    let refused = collector
        .handle(post(
            Some(&stranger),
            payload("u-1").to_string().as_bytes(),
            None,
            None,
        ))
        .await;
    assert_eq!(refused.status, 401);

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies.len(), 1);
    let record: Value = serde_json::from_str(bodies[0].trim()).unwrap();
    assert_eq!(record["actor"]["id"], "u-1");
    assert!(record["actor"]["email"].as_str().unwrap().starts_with("t~"));
    assert!(record.get("comment").is_none());

    // The JWKS lists the KMS key; the discovery document points at it.
    let mut get = post(None, b"", None, None);
    get.method = "GET".into();
    get.path = "/.well-known/jwks.json".into();
    let jwks = collector.handle(get.clone()).await;
    assert_eq!(jwks.status, 200);
    let jwks: Value = serde_json::from_slice(&jwks.body).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["e"], "AQAB");
    get.path = "/.well-known/openid-configuration".into();
    let discovery: Value = serde_json::from_slice(&collector.handle(get).await.body).unwrap();
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
}

/// CORS: a preflight from a listed origin is answered with that one origin; others are
/// refused; the JWKS of inline keys has canonical `n` and `e`.
#[tokio::test]
async fn cors_and_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = base_settings();
    pairs.push((
        "ALLOW_ORIGINS",
        "https://tools.acme.example, https://other.example".into(),
    ));
    let collector =
        Collector::new(settings(pairs, None), Queue::Folder(dir.path().into())).unwrap();
    let mut preflight = post(None, b"", None, None);
    preflight.method = "OPTIONS".into();
    preflight
        .headers
        .push(("origin".into(), "https://tools.acme.example".into()));
    let answer = collector.handle(preflight.clone()).await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://tools.acme.example")
    );
    assert!(answer
        .header("access-control-allow-headers")
        .unwrap()
        .contains("X-Psoxy-Authorization"));
    preflight.headers[0].1 = "https://evil.example".into();
    assert_eq!(collector.handle(preflight).await.status, 403);

    let mut get = post(None, b"", None, None);
    get.method = "GET".into();
    get.path = "/webhooks/.well-known/jwks.json".into();
    let jwks: Value = serde_json::from_slice(&collector.handle(get).await.body).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(k["n"].as_str().unwrap())
            .unwrap();
        assert_eq!(n.len(), 256, "2048-bit modulus without a leading zero");
        assert_ne!(n[0], 0);
        assert_eq!(k["e"], "AQAB");
        assert_eq!(k["kty"], "RSA");
    }
}

/// `psoxy serve --webhook-rules`: the collector on this machine, its queue a folder, batches
/// merged into a gzipped NDJSON file; a forged token is refused and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psoxy_serve_collects_webhooks_into_local_batches() {
    let out = tempfile::tempdir().unwrap();
    let mut child = common::psoxy()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--batch-seconds",
            "1",
            "--webhook-rules",
        ])
        .arg(common::fixture("webhook/rules.yaml"))
        .arg("--webhook-output")
        .arg(out.path())
        .env("PSOXY_SALT", SALT)
        .env("AUTH_ISSUER", ISSUER)
        .env(
            "ACCEPTED_AUTH_KEYS",
            format!("base64:{}", fixture("issuer-b.spki.b64")),
        )
        .env("RUST_LOG", "trace")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (first, addr, stderr) = common::serve_started(&mut child);
    assert!(
        first.contains("webhook collector: tokens checked"),
        "{first}"
    );
    let client = reqwest::Client::new();
    let send = |token: String, body: String| {
        client
            .post(format!("http://{addr}/hooks"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let good = sign("issuer-b.pem", Algorithm::RS512, &claims("u-9"));
    let answer = send(good, payload("u-9").to_string()).await.unwrap();
    assert_eq!(answer.status(), 200);
    let forged = sign("issuer-a.pem", Algorithm::RS256, &claims("u-9"));
    let answer = send(forged, payload("u-9").to_string()).await.unwrap();
    assert_eq!(answer.status(), 401);

    // The batch loop merges within a second or two.
    let mut batch = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        batch = std::fs::read_dir(out.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".ndjson.gz"));
        if batch.is_some() {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let batch = batch.expect("a batch file");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&batch).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["actor"]["id"], "u-9");
    assert!(!text.contains(ALICE));
    assert!(waiting_messages(&out.path().join(".queue"))
        .unwrap()
        .is_empty());
    // No payload value and no key material in the log, even at trace level.
    let log: String = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [
        ALICE,
        "private notes",
        SALT,
        &fixture("issuer-b.spki.b64")[..40],
    ] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }
}
