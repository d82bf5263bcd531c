//! The Cloud Run service (`psoxy-gcp`) as it runs on Cloud Run: the real binary as an HTTP
//! server on loopback, its storage a real GCS emulator (fake-gcs-server), its secrets a fake
//! of Secret Manager's REST API and of the metadata server. Bulk mode gets Eventarc
//! CloudEvents in both content modes; API mode gets an allowed, a blocked and a health
//! request, proxied to a real HTTP upstream.
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

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::{gunzip, gzip, repo};
use http_stub::{Reply, Stub};
use secret_manager::FakeSecretManager;
use service::{binary_event, http, Service};

const SALT: &str = "cloud-run-canary-salt-7f3a";
const PROJECT: &str = "psoxy-cr";
const FINALIZED: &str = "google.cloud.storage.object.v1.finalized";

/// Sends a structured-mode event (`application/cloudevents+json`).
async fn structured_event(url: &str, bucket: &str, name: &str) -> (u16, serde_json::Value) {
    let event = serde_json::json!({
        "specversion": "1.0", "id": "987", "type": FINALIZED,
        "source": format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
        "subject": format!("objects/{name}"), "time": "2026-12-06T12:00:00.000Z",
        "datacontenttype": "application/json",
        "data": {"bucket": bucket, "name": name, "size": "99", "generation": "1"},
    });
    let resp = http()
        .post(format!("{url}/"))
        .header(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )
        .body(event.to_string())
        .send()
        .await
        .expect("send event");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// The CLI's outputs for the tree `input` (files named like the objects: the row shuffle
/// depends on the name), with the same rules and salt, by relative name, decompressed.
fn cli_outputs(input: &Path, names: &[&str]) -> Vec<Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    let run = common::run(
        common::psoxy()
            .args(["sanitize", "--salt", SALT, "--rules"])
            .arg(repo("transforms/hris.yaml"))
            .arg("-o")
            .arg(out.path())
            .arg(input),
    );
    assert!(run.status.success(), "CLI: {}", common::stderr(&run));
    names
        .iter()
        .map(|name| {
            let bytes = std::fs::read(out.path().join(name)).expect("CLI output");
            if name.ends_with(".gz") {
                gunzip(&bytes)
            } else {
                bytes
            }
        })
        .collect()
}

/// HRIS rows with the sample's header, `rows` long, and a short row at `bad_line` (1-based,
/// counting the header).
fn hris_rows(rows: usize, bad_line: Option<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    writeln!(out, "EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,MANAGER_EMAIL,JOIN_DATE,LEAVE_DATE,DEPARTMENT,JOB_TITLE,LOCATION,EMPLOYMENT_TYPE,SNAPSHOT").unwrap();
    for i in 0..rows {
        if bad_line == Some(i + 2) {
            writeln!(out, "E{i:07},short.row@acme.com").unwrap();
        } else {
            writeln!(out, "E{i:07},person.{i}@acme.com,E0000001,boss@acme.com,2020-01-01,,Research,Engineer,Paris,FULL_TIME,2024-06-30").unwrap();
        }
    }
    out
}

async fn secrets() -> FakeSecretManager {
    let fake = FakeSecretManager::start(PROJECT).await;
    fake.put("PSOXY_SHARED_PSOXY_SALT", SALT);
    fake
}

fn bulk_env(fake: &FakeSecretManager, storage: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "RULES",
            std::fs::read_to_string(repo("transforms/hris.yaml")).unwrap(),
        ),
        ("OUTPUT_BUCKET", "cr-out".into()),
        ("PATH_TO_SHARED_CONFIG", "PSOXY_SHARED_".into()),
        ("GOOGLE_CLOUD_PROJECT", PROJECT.into()),
        ("SECRET_MANAGER_ENDPOINT", fake.stub.url()),
        ("GCE_METADATA_HOST", fake.host()),
        ("STORAGE_EMULATOR_HOST", storage.into()),
        ("PSOXY_THREADS", "2".into()),
        ("RUST_LOG", "info".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventarc_events_sanitize_objects_like_the_cli() {
    gcs::create_bucket("cr-in").await;
    gcs::create_bucket("cr-out").await;
    let fake = secrets().await;
    let service = Service::start("bulk", &bulk_env(&fake, gcs::host()));

    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(repo("sample-data/hris.csv")).unwrap();
    let gz_name = "exports/Jan 2026/hris+final é.csv.gz";
    let late_bad = hris_rows(120_000, Some(119_990));
    for (name, bytes) in [
        ("hris.csv", plain.clone()),
        (gz_name, gzip(&plain)),
        ("late bad.csv", late_bad.clone()),
    ] {
        gcs::put("cr-in", name, bytes.clone(), None).await;
        if name != "late bad.csv" {
            let local = dir.path().join(name);
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            std::fs::write(local, bytes).unwrap();
        }
    }

    // Health, then each content mode.
    let health = http()
        .get(format!("{}/health", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let (status, report) =
        binary_event(&format!("{}/", service.url), "cr-in", "hris.csv", FINALIZED).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "sanitized", "{report}");
    let (status, report) = structured_event(&service.url, "cr-in", gz_name).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outputs"][0]["key"], gz_name);

    let names = ["hris.csv", gz_name];
    for (name, cli) in names.iter().zip(cli_outputs(dir.path(), &names)) {
        let stored = gunzip(&gcs::get("cr-out", name).await);
        assert!(
            stored == cli,
            "{name}: the output is the CLI's, byte for byte"
        );
        let resource = gcs::resource("cr-out", name).await;
        assert_eq!(resource["contentEncoding"], "gzip");
        assert_eq!(resource["metadata"]["psoxy-instance-id"], "psoxy-cr-test");
        assert_eq!(
            resource["metadata"]["psoxy-original-object-key"],
            format!("cr-in/{name}")
        );
    }

    // A bad row near the end: more than one upload piece went out first; nothing is left.
    let (status, report) = binary_event(
        &format!("{}/", service.url),
        "cr-in",
        "late bad.csv",
        FINALIZED,
    )
    .await;
    assert_eq!(status, 200, "bad input is not redelivered: {report}");
    assert_eq!(report["status"], "failed");
    assert_eq!(report["retryable"], false);
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("line 119990"), "{error}");
    assert!(
        !error.contains("short.row"),
        "no data value in the error: {error}"
    );

    // Another event type, and a request that is not an event.
    let (status, report) = binary_event(
        &format!("{}/", service.url),
        "cr-in",
        "hris.csv",
        "google.cloud.storage.object.v1.deleted",
    )
    .await;
    assert_eq!((status, report["status"].as_str()), (200, Some("ignored")));
    let not_event = http()
        .post(format!("{}/", service.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_event.status(), 400);

    assert_eq!(
        gcs::list("cr-out").await,
        [gz_name, "hris.csv"],
        "no partial output"
    );
    let log = service.log_text();
    assert!(!log.contains(SALT), "the salt is never logged");
    let failed = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "object failed")
        .expect("a log line for the failed object");
    assert_eq!(failed["severity"], "ERROR");
    assert_eq!(failed["key"], "late bad.csv");
    assert!(log.contains(r#""severity":"INFO""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psoxy_replay_sends_stored_objects_to_the_service_again() {
    gcs::create_bucket("rp-in").await;
    gcs::create_bucket("rp-out").await;
    let fake = secrets().await;
    let mut env = bulk_env(&fake, gcs::host());
    for (k, v) in env.iter_mut() {
        if *k == "OUTPUT_BUCKET" {
            *v = "rp-out".into();
        }
    }
    let service = Service::start("bulk", &env);
    let plain = std::fs::read(repo("sample-data/hris.csv")).unwrap();
    gcs::put("rp-in", "exports/hris.csv", plain.clone(), None).await;
    gcs::put("rp-in", "exports/Jan 2026/hris é.csv", plain.clone(), None).await;
    gcs::put("rp-in", "exports/bad.csv", hris_rows(3, Some(3)), None).await;
    gcs::put("rp-in", "elsewhere/hris.csv", plain.clone(), None).await;
    let replay = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_psoxy"));
        cmd.arg("replay")
            .args(args)
            .env("STORAGE_EMULATOR_HOST", gcs::host())
            .env_remove("PSOXY_ID_TOKEN");
        common::run(&mut cmd)
    };

    let dry = replay(&["gs://rp-in/exports/", "--dry-run"]);
    assert!(dry.status.success(), "{}", common::stderr(&dry));
    assert!(
        common::stdout(&dry).contains("dry run: 3 of 3 objects under gs://rp-in/exports/"),
        "{}",
        common::stdout(&dry)
    );
    let url = format!("{}/", service.url);
    let o = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_psoxy"));
        cmd.args(["replay", "gs://rp-in/exports/", "--service-url", &url])
            .env("STORAGE_EMULATOR_HOST", gcs::host())
            .env("PSOXY_ID_TOKEN", "a-token-the-emulated-service-ignores");
        common::run(&mut cmd)
    })
    .await
    .unwrap();
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("2 sanitized, 0 fanned out, 0 skipped, 1 failed"),
        "{out}{err}"
    );
    assert!(
        err.contains("failed: gs://rp-in/exports/bad.csv: the function failed (input): ")
            && err.contains("line 3"),
        "{err}"
    );
    assert!(
        err.contains("gs://rp-in/exports/Jan 2026/hris é.csv: sanitized -> gs://rp-out/exports/Jan 2026/hris é.csv (300 rows)"),
        "{err}"
    );
    // The CLI on the same key (the row shuffle depends on it).
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("exports")).unwrap();
    std::fs::write(tree.path().join("exports/hris.csv"), &plain).unwrap();
    let cli = cli_outputs(tree.path(), &["exports/hris.csv"]);
    assert_eq!(
        gunzip(&gcs::get("rp-out", "exports/hris.csv").await),
        cli[0],
        "the replayed output is the CLI's, byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_trouble_is_answered_for_redelivery() {
    let fake = secrets().await;
    // Nothing listens there: every storage request fails to connect.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let service = Service::start("bulk", &bulk_env(&fake, &closed.to_string()));
    let (status, report) =
        binary_event(&format!("{}/", service.url), "cr-in", "hris.csv", FINALIZED).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["retryable"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_setting_stops_the_bulk_service_at_start() {
    let fake = secrets().await;
    let mut env = bulk_env(&fake, gcs::host());
    env.retain(|(k, _)| *k != "OUTPUT_BUCKET");
    let out = Command::new(env!("CARGO_BIN_EXE_psoxy-gcp"))
        .args(["bulk", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", tempfile::tempdir().unwrap().path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("OUTPUT_BUCKET"), "{log}");
    assert!(!log.contains(SALT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_cloud_run_forwards_what_its_rules_allow() {
    let upstream = Stub::start(|req| {
        if req.uri.starts_with("/v2/users") {
            Reply::json(
                200,
                r#"{"users":[{"id":"u1","email":"alice@acme.com","first_name":"Alice"}]}"#,
            )
        } else {
            Reply::json(404, "{}")
        }
    })
    .await;
    // The service's secrets under its default namespace (K_SERVICE psoxy-cr-test), the
    // project from the metadata server.
    let fake = FakeSecretManager::start(PROJECT).await;
    fake.put("PSOXY_CR_TEST_PSOXY_SALT", SALT);
    fake.put("PSOXY_CR_TEST_ACCESS_TOKEN", "zoom-access-token");
    fake.put(
        "PSOXY_CR_TEST_PSOXY_ENCRYPTION_KEY",
        "cloud-run-encryption-key",
    );
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
            ("ALLOWED_DATA_ACCESS_IP_BLOCKS", "203.0.113.0/24".into()),
        ],
    );
    let get = |path: &str, xff: &str| {
        http()
            .get(format!("{}{path}", service.url))
            .header("x-forwarded-for", xff)
            .send()
    };
    // Google's front end appends the caller's address; the caller's own entry is ignored.
    let via_gfe = "10.9.9.9, 203.0.113.7, 35.191.0.1";
    let allowed = get("/psoxy-cr-test/v2/users?page_size=10", via_gfe)
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200, "{}", service.log_text());
    let body = allowed.text().await.unwrap();
    assert!(!body.contains("alice@acme.com"), "{body}");
    assert!(body.contains("\"users\""), "{body}");
    let sent = upstream.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].uri, "/v2/users?page_size=10",
        "the service's name is stripped"
    );
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer zoom-access-token")
    );

    let blocked = get("/v2/admin/secrets", via_gfe).await.unwrap();
    assert_eq!(blocked.status(), 403);
    let outside = get("/v2/users", "198.51.100.1, 35.191.0.1").await.unwrap();
    assert_eq!(outside.status(), 403, "outside the allow-list");
    let health = http()
        .get(format!("{}/", service.url))
        .header("x-psoxy-health-check", "true")
        .header("x-forwarded-for", via_gfe)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        upstream.requests().len(),
        1,
        "nothing else reached the source"
    );
    let log = service.log_text();
    for secret in [SALT, "zoom-access-token", "cloud-run-encryption-key"] {
        assert!(!log.contains(secret), "no secret in the log");
    }
    assert!(log.contains(r#""severity":"#), "Cloud Logging lines: {log}");
}
