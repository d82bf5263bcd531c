//! The Cloud Run services whose queues are GCS prefixes, as they run on Cloud Run: the real
//! `psoxy-gcp` binary as an HTTP server on loopback, its storage a real GCS emulator
//! (fake-gcs-server), the source a real HTTP upstream.
//!
//! - The webhook collector (`psoxy-gcp webhook`) queues sanitized webhooks as objects, refuses
//!   forgeries without queueing anything, and the batch service (`psoxy-gcp webhook-batch`,
//!   which Cloud Scheduler calls) merges them into one gzipped NDJSON object.
//! - The API service's asynchronous requests: `Prefer: respond-async` is answered 202 and the
//!   job queued as an object; the Eventarc event of that object, posted back to the service,
//!   runs the job and leaves the answer (or the failure record) where `Location` said; side
//!   outputs land in GCS.
#![cfg(feature = "gcp")]

mod common;
#[path = "support/gcs.rs"]
mod gcs;
#[path = "support/http_stub.rs"]
mod http_stub;
#[path = "support/secret_manager.rs"]
mod secret_manager;
#[path = "support/cloud_run_service.rs"]
mod service;
#[path = "support/webhook_tokens.rs"]
mod tokens;

use base64::Engine;
use common::{gunzip, repo};
use http_stub::{Reply, Stub};
use jsonwebtoken::Algorithm;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use secret_manager::FakeSecretManager;
use serde_json::{json, Value};
use service::{binary_event, http, Service};
use tokens::{claims, fixture, payload, sign, ALICE, ISSUER};

const SALT: &str = "cloud-run-queues-salt-51c2";
const FINALIZED: &str = "google.cloud.storage.object.v1.finalized";
/// Google's front end appends the caller's address to `X-Forwarded-For`.
const VIA_GFE: &str = "203.0.113.7, 35.191.0.1";

fn token(key: &str, alg: Algorithm, sub: &str) -> String {
    sign(key, alg, &claims(sub))
}

/// The objects of `bucket` under `prefix`.
async fn listed(bucket: &str, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = gcs::list(bucket)
        .await
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Valid webhooks from two keys are queued as objects (sanitized), forgeries are refused
/// with nothing queued, and one call of the batch service merges the queue into one object;
/// a message that is not NDJSON is moved aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_queued_in_gcs_and_batched_by_the_batch_service() {
    gcs::create_bucket("hooks-queue").await;
    gcs::create_bucket("hooks-out").await;
    let storage = [
        ("STORAGE_EMULATOR_HOST", gcs::host().to_owned()),
        ("WEBHOOK_OUTPUT", "gs://hooks-queue/queue/".to_owned()),
    ];
    let mut env = vec![
        ("PSOXY_SALT", SALT.to_owned()),
        ("RULES", fixture("rules.yaml")),
        ("AUTH_ISSUER", ISSUER.to_owned()),
        (
            "ACCEPTED_AUTH_KEYS",
            format!(
                "base64:{},base64:{}",
                fixture("issuer-a.spki.b64").trim(),
                fixture("issuer-b.spki.b64").trim()
            ),
        ),
    ];
    env.extend(storage.clone());
    let collector = Service::start("webhook", &env);
    let post = |token: Option<String>, body: String, content_type: &str, query: &str| {
        let mut req = http()
            .post(format!("{}/{query}", collector.url))
            .header("content-type", content_type)
            .header("x-forwarded-for", VIA_GFE)
            .body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.send()
    };

    // Forgeries first: each refused, nothing queued.
    let good = token("issuer-a.pem", Algorithm::RS256, "u-1");
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let forgeries = [
        (
            "alg none",
            Some(format!("{}.{}.", b64(br#"{"alg":"none"}"#), parts[1])),
            "application/json",
            401,
        ),
        (
            "unknown key",
            Some(token("stranger.pem", Algorithm::RS256, "u-1")),
            "application/json",
            401,
        ),
        (
            "claim mismatch",
            Some(token("issuer-a.pem", Algorithm::RS256, "u-9")),
            "application/json",
            401,
        ),
        ("no token", None, "application/json", 401),
        ("content type", Some(good.clone()), "text/plain", 400),
    ];
    for (what, token, content_type, status) in forgeries {
        let resp = post(token, payload("u-1").to_string(), content_type, "")
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{what}: {}", collector.log_text());
    }
    assert!(
        listed("hooks-queue", "queue/").await.is_empty(),
        "nothing queued"
    );

    // Two issuers' keys (rotation); JSON with a query parameter, and NDJSON.
    let from_a = post(
        Some(good),
        payload("u-1").to_string(),
        "application/json; charset=utf-8",
        "?actor=u-1",
    )
    .await
    .unwrap();
    assert_eq!(from_a.status(), 200, "{}", collector.log_text());
    let from_b = post(
        Some(token("issuer-b.pem", Algorithm::PS256, "u-2")),
        format!("{}\n{}\n", payload("u-2"), payload("u-2")),
        "application/x-ndjson",
        "",
    )
    .await
    .unwrap();
    assert_eq!(from_b.status(), 200, "{}", collector.log_text());
    let queued = listed("hooks-queue", "queue/").await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    for name in &queued {
        let text = String::from_utf8(gcs::get("hooks-queue", name).await).unwrap();
        assert!(
            !text.contains(ALICE) && !text.contains("private notes"),
            "only sanitized bytes are queued: {text}"
        );
    }
    // A message that is not NDJSON (it cannot come from the collector) is moved aside.
    gcs::put(
        "hooks-queue",
        "queue/00000000000000000000000-bad.ndjson",
        b"not json".to_vec(),
        None,
    )
    .await;

    let batch = Service::start(
        "webhook-batch",
        &[
            storage[0].clone(),
            storage[1].clone(),
            ("WEBHOOK_BATCH_OUTPUT", "gs://hooks-out/webhooks".to_owned()),
        ],
    );
    let run = || http().post(format!("{}/", batch.url)).send();
    let resp = run().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", batch.log_text());
    let report: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(report["messages"], 2, "{report}");
    assert_eq!(report["records"], 3, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    let batches = listed("hooks-out", "webhooks/").await;
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(report["batches"], json!(batches), "{report}");
    assert_eq!(report["backlog"], false, "{report}");
    assert!(batches[0].ends_with(".ndjson.gz"));
    let resource = gcs::resource("hooks-out", &batches[0]).await;
    assert_eq!(resource["contentEncoding"], "gzip", "{resource}");
    let text = String::from_utf8(gunzip(&gcs::get("hooks-out", &batches[0]).await)).unwrap();

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
    let mut got: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut want = vec![expected("u-1"), expected("u-2"), expected("u-2")];
    got.sort_by_key(Value::to_string);
    want.sort_by_key(Value::to_string);
    assert_eq!(got, want);
    assert_eq!(
        listed("hooks-queue", "queue/").await,
        ["queue/failed/00000000000000000000000-bad.ndjson"],
        "merged messages are deleted, the bad one moved aside"
    );

    // Nothing waiting: nothing written.
    let again: Value =
        serde_json::from_slice(&run().await.unwrap().bytes().await.unwrap()).unwrap();
    assert_eq!(again["messages"], 0, "{again}");
    assert_eq!(listed("hooks-out", "webhooks/").await.len(), 1);
    let batch_only = http().get(format!("{}/", batch.url)).send().await.unwrap();
    assert_eq!(batch_only.status(), 405);

    for log in [collector.log_text(), batch.log_text()] {
        for secret in [SALT, ALICE, "private notes"] {
            assert!(
                !log.contains(secret),
                "no secret or payload value in the log"
            );
        }
    }
}

/// The collector is public on Cloud Run: it will not start without its own token check, nor
/// with a key it could only read on AWS.
#[test]
fn the_public_collector_needs_its_token_check() {
    for (setting, value, says) in [
        (
            "REQUIRE_AUTHORIZATION_HEADER",
            "false",
            "REQUIRE_AUTHORIZATION_HEADER",
        ),
        ("ACCEPTED_AUTH_KEYS", "aws-kms:alias/hooks", "aws-kms"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_psoxy-gcp"))
            .args(["webhook", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PSOXY_SALT", SALT)
            .env("RULES", "endpoints: [{}]")
            .env("WEBHOOK_OUTPUT", "gs://hooks-queue/queue/")
            .env(setting, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{setting}={value} must stop it");
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(log.contains(says), "{log}");
    }
}

/// `Prefer: respond-async` on Cloud Run: 202 with `Location`, the job queued as an object;
/// its Eventarc event runs it and writes the answer (or the failure record) there, then
/// deletes the job. Side outputs are written to GCS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asynchronous_requests_run_from_their_queued_objects() {
    let upstream = Stub::start(|req| {
        if req.uri.starts_with("/v2/users/missing/meetings") {
            Reply::json(404, r#"{"code":1001}"#)
        } else if req.uri.starts_with("/v2/users") {
            Reply::json(
                200,
                r#"{"users":[{"id":"u1","email":"alice@acme.com","first_name":"Alice"}]}"#,
            )
        } else {
            Reply::json(404, "{}")
        }
    })
    .await;
    for bucket in ["async-jobs", "async-out", "side-out"] {
        gcs::create_bucket(bucket).await;
    }
    let fake = FakeSecretManager::start("psoxy-async").await;
    fake.put("PSOXY_CR_TEST_PSOXY_SALT", SALT);
    fake.put("PSOXY_CR_TEST_ACCESS_TOKEN", "zoom-access-token");
    fake.put("PSOXY_CR_TEST_PSOXY_ENCRYPTION_KEY", "async-encryption-key");
    let service = Service::start(
        "api",
        &[
            (
                "RULES",
                std::fs::read_to_string(repo("transforms/api/zoom.yaml")).unwrap(),
            ),
            ("TARGET_HOST", upstream.url()),
            (
                "SOURCE_AUTH_STRATEGY_IDENTIFIER",
                "oauth2_access_token".into(),
            ),
            ("SECRET_MANAGER_ENDPOINT", fake.stub.url()),
            ("GCE_METADATA_HOST", fake.host()),
            ("STORAGE_EMULATOR_HOST", gcs::host().to_owned()),
            ("ASYNC_OUTPUT_DESTINATION", "gs://async-out/answers".into()),
            (
                "ASYNC_API_REQUEST_QUEUE_URL",
                "gs://async-jobs/jobs/".into(),
            ),
            ("SIDE_OUTPUT_SANITIZED", "gs://side-out/side".into()),
        ],
    );
    let get = |path: &str, prefer: bool| {
        let mut req = http()
            .get(format!("{}{path}", service.url))
            .header("x-forwarded-for", VIA_GFE);
        if prefer {
            req = req.header("prefer", "respond-async");
        }
        req.send()
    };
    let event = |name: String| {
        let target = format!("{}/_psoxy/async", service.url);
        async move { binary_event(&target, "async-jobs", &name, FINALIZED).await }
    };

    // The synchronous answer, and its side output.
    let sync = get("/v2/users?page_size=1", false).await.unwrap();
    assert_eq!(sync.status(), 200, "{}", service.log_text());
    let sync: Value = serde_json::from_slice(&sync.bytes().await.unwrap()).unwrap();
    assert!(!sync.to_string().contains("alice@acme.com"));
    let side = listed("side-out", "side/").await;
    assert_eq!(side.len(), 1, "{side:?}");
    let side_body: Value =
        serde_json::from_slice(&gunzip(&gcs::get("side-out", &side[0]).await)).unwrap();
    assert_eq!(side_body, sync);

    // Accepted: 202, Location, one job queued, holding no credential.
    let accepted = get("/v2/users?page_size=1", true).await.unwrap();
    assert_eq!(accepted.status(), 202, "{}", service.log_text());
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let answer_key = location
        .strip_prefix("gs://async-out/")
        .expect("Location in the async bucket")
        .to_owned();
    assert!(answer_key.starts_with("answers/"), "{location}");
    let jobs = listed("async-jobs", "jobs/").await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job_text = String::from_utf8(gcs::get("async-jobs", &jobs[0]).await).unwrap();
    assert!(!job_text.contains("zoom-access-token"));
    assert!(
        listed("async-out", "").await.is_empty(),
        "nothing before the event"
    );

    // The event runs it: the answer equals the synchronous one; the job is gone.
    let (status, report) = event(jobs[0].clone()).await;
    assert_eq!(status, 200, "{report} {}", service.log_text());
    let answer: Value =
        serde_json::from_slice(&gunzip(&gcs::get("async-out", &answer_key).await)).unwrap();
    assert_eq!(answer, sync);
    assert!(
        listed("async-jobs", "jobs/").await.is_empty(),
        "the job is deleted"
    );
    // Delivered again: nothing to do.
    let (status, report) = event(jobs[0].clone()).await;
    assert_eq!((status, report["status"].as_str()), (200, Some("done")));
    // An object that is not a job of this service is ignored.
    let (status, report) = event("elsewhere/x.json".into()).await;
    assert_eq!((status, report["status"].as_str()), (200, Some("ignored")));

    // The source's 404: the failure record, never the body.
    let accepted = get("/v2/users/missing/meetings", true).await.unwrap();
    assert_eq!(accepted.status(), 202, "{}", service.log_text());
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let jobs = listed("async-jobs", "jobs/").await;
    assert_eq!(jobs.len(), 1);
    let (status, _) = event(jobs[0].clone()).await;
    assert_eq!(status, 200);
    let record_key = format!(
        "{}.error.json",
        location.strip_prefix("gs://async-out/").unwrap()
    );
    let record: Value = serde_json::from_slice(&gcs::get("async-out", &record_key).await).unwrap();
    assert_eq!(record["status"], 404, "{record}");
    assert!(!record.to_string().contains("1001"), "never the body");
    assert_eq!(
        listed("side-out", "side/").await.len(),
        2,
        "the async leg's 2xx answer is a side output too"
    );

    let log = service.log_text();
    for secret in [
        SALT,
        "zoom-access-token",
        "async-encryption-key",
        "alice@acme.com",
    ] {
        assert!(!log.contains(secret), "no secret or value in the log");
    }
}
