//! The webhook collector measured on 127.0.0.1:
//!
//! 1. **Latency of one webhook**: `psoxy serve --webhook-rules`'s server (in this process) with a
//!    folder queue; one client posts webhooks one after another (a 600-byte event, an RS256
//!    token verified each time: signature, times, claims bound to the payload, two transforms,
//!    the message written to the queue folder). Prints p50, p90, p99 and max over
//!    `PSOXY_BENCH_WEBHOOKS` (default 1,000) after 50 warm-up requests.
//! 2. **Batch merge throughput**: the batch handler's core on `PSOXY_BENCH_MESSAGES` (default
//!    100,000) queued messages of one sanitized event each: merged (each line checked to be
//!    JSON), gzipped, named by SHA-256 and written to a local store. Prints messages/s.
//!
//! `cargo bench --bench webhook`.

use std::io::Write;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use psoxy::settings::{Flags, Settings};
use psoxy::storage::{LocalStore, ObjectPrefix};
use psoxy::webhook::batch::{merge, write_batch, Message};
use psoxy::webhook::queue::Queue;
use psoxy::webhook::{webhook_settings, Collector, WebhookSettings};
use serde_json::json;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/webhook/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(i: usize) -> serde_json::Value {
    json!({
        "event": "meeting.ended",
        "actor": {"id": "u-1", "email": format!("person{i}@acme.example")},
        "attendees": ["bob@acme.example", "carol@acme.example", format!("guest{i}@partner.example")],
        "subject": "Quarterly planning with the regional leads and the finance partners",
        "occurred_at": "2026-12-01T10:00:00Z",
        "duration_minutes": 45,
        "location": {"kind": "video", "provider": "meet"},
        "tags": ["planning", "finance", "regional"]
    })
}

fn collector(queue: &std::path::Path) -> Collector {
    let pairs = [
        ("PSOXY_SALT".to_owned(), "bench-salt".to_owned()),
        ("RULES".to_owned(), fixture("rules.yaml")),
        (
            "ACCEPTED_AUTH_KEYS".to_owned(),
            format!(
                "base64:{},base64:{}",
                fixture("issuer-a.spki.b64"),
                fixture("issuer-b.spki.b64")
            ),
        ),
    ];
    let lookup = move |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let settings = WebhookSettings::from_settings(
        &Settings::from_sources(&webhook_settings(), &Flags::new(), &lookup),
        None,
    )
    .expect("settings");
    Collector::new(settings, Queue::Folder(queue.to_path_buf())).expect("collector")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn latency() {
    let runs = env_number("PSOXY_BENCH_WEBHOOKS", 1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(psoxy::webhook::server::serve(
            listener,
            collector(dir.path()),
            std::future::pending::<()>(),
        ));
        let now = chrono::Utc::now().timestamp();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &json!({"sub": "u-1", "iat": now, "exp": now + 3600}),
            &EncodingKey::from_rsa_pem(fixture("issuer-b.pem").as_bytes()).expect("key"),
        )
        .expect("token");
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/events");
        let body = event(1).to_string();
        let mut times = Vec::with_capacity(runs);
        for i in 0..runs + 50 {
            let started = Instant::now();
            let answer = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("request");
            assert_eq!(answer.status(), 200);
            if i >= 50 {
                times.push(started.elapsed());
            }
        }
        server.abort();
        times.sort();
        println!(
            "webhook latency over {runs} sequential requests ({} B event, RS256 token): p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us",
            body.len(),
            percentile(&times, 0.50).as_secs_f64() * 1e6,
            percentile(&times, 0.90).as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6,
            times[times.len() - 1].as_secs_f64() * 1e6,
        );
    });
}

fn batch_merge() {
    let count = env_number("PSOXY_BENCH_MESSAGES", 100_000);
    let messages: Vec<Message> = (0..count)
        .map(|i| Message {
            id: i.to_string(),
            body: format!("{}\n", event(i)),
        })
        .collect();
    let bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::new([("out".to_owned(), dir.path().to_path_buf())].into());
    let output = ObjectPrefix::new("file", "out", "hooks");
    let started = Instant::now();
    let merged = merge(&messages);
    let merge_time = started.elapsed();
    let key = write_batch(&store, &output, &merged)
        .expect("write")
        .expect("a key");
    let total = started.elapsed();
    let size = std::fs::metadata(dir.path().join(&key))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "batch merge: {count} messages ({:.1} MB) in {:.3} s (merge {:.3} s, gzip + write {:.3} s): {:.0} messages/s, object {:.1} MB",
        bytes as f64 / 1e6,
        total.as_secs_f64(),
        merge_time.as_secs_f64(),
        (total - merge_time).as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        size as f64 / 1e6,
    );
    let _ = std::io::stdout().flush();
}

fn main() {
    latency();
    batch_merge();
}
