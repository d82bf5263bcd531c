//! Load test of the API proxy (`psoxy serve`'s server) on 127.0.0.1: a local source answers
//! every request with the same JSON; concurrent clients call the proxy for a fixed time.
//! Prints the throughput for 1 MB responses (MB/s of source JSON sanitized) and the rate of
//! small responses (requests per second).
//!
//! `cargo bench --bench api_proxy` (`PSOXY_BENCH_SECONDS`, default 10 per scenario;
//! `PSOXY_BENCH_CLIENTS`, default 8).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use psoxy::api::{ApiHandler, ApiService, ApiSettings};

const RULES: &str = r#"
endpoints:
  - pathTemplate: /v2/users
    allowedMethods: [GET]
    allowedQueryParams: [page_size, next_page_token]
    responseSchema:
      type: object
      properties:
        next_page_token: {type: string}
        users:
          type: array
          items:
            type: object
            properties:
              id: {type: string}
              email: {type: string}
              type: {type: integer}
              status: {type: string}
              dept: {type: string}
    transforms:
      - !<pseudonymize> {jsonPaths: ['$.users[*].email']}
      - !<redact> {jsonPaths: ['$.users[*].dept']}
"#;

/// A Zoom-like users page of about `bytes` bytes.
fn users_page(bytes: usize) -> Vec<u8> {
    let mut out = String::from(r#"{"next_page_token":"abc","users":["#);
    let mut i = 0;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"id":"u{i:08}","email":"user{i}@acme.example","type":2,"status":"active","dept":"Engineering","first_name":"First{i}","last_name":"Last{i}"}}"#
        ));
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

async fn start_source(body: Bytes) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

async fn start_proxy(target: &str) -> String {
    let values = [
        ("PSOXY_SALT", "salt"),
        ("PSOXY_ENCRYPTION_KEY", "secret"),
        ("TARGET_HOST", target),
        ("RULES", RULES),
    ];
    let resolved = psoxy::settings::Settings::from_sources(
        &psoxy::api::settings::api_settings(),
        &psoxy::settings::Flags::new(),
        &|n| {
            values
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        },
    );
    let settings = ApiSettings::from_settings(&resolved).expect("settings");
    let handler = ApiHandler::new(settings, None, None).expect("handler");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(psoxy::api::server::serve(
        listener,
        ApiService::Ready(handler),
        std::future::pending(),
    ));
    format!("http://{addr}/v2/users?page_size=300")
}

/// Runs `clients` loops for `seconds`; returns (requests, seconds elapsed).
async fn load(url: &str, clients: usize, seconds: f64) -> (u64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // Warm up: connections and the first token.
    for _ in 0..clients {
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        r.bytes().await.unwrap();
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, done) = (client.clone(), url.to_owned(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let r = client.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (done.load(Ordering::Relaxed), start.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes `--bench`; other arguments (filters) are ignored.
    let seconds: f64 = std::env::var("PSOXY_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let clients: usize = std::env::var("PSOXY_BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (label, size) in [("1 MB responses", 1 << 20), ("small responses", 300)] {
            let body = Bytes::from(users_page(size));
            let source = start_source(body.clone()).await;
            let proxy = start_proxy(&source).await;
            let (n, elapsed) = load(&proxy, clients, seconds).await;
            let rate = n as f64 / elapsed;
            let mb = rate * body.len() as f64 / 1e6;
            println!(
                "{label}: {} bytes each, {clients} clients, {n} requests in {elapsed:.1} s: {rate:.0} req/s, {mb:.1} MB/s",
                body.len()
            );
        }
    });
}
