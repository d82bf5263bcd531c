//! Load test of the API proxy (`psoxy serve`'s server) on 127.0.0.1: a local source answers
//! every request with the same JSON; concurrent clients call the proxy. For each scenario it
//! prints the rate (requests per second, and MB/s of source JSON sanitized) and the CPU time
//! the whole process spent per request (source, proxy and clients together: on a busy machine
//! this moves far less than the rate does).
//!
//! Scenarios: `1 MB` (a 1 MB users page), `small` (a 311-byte page), both with clients that do
//! not ask for gzip, and `1 MB gzip` (clients send `Accept-Encoding: gzip`, so the proxy
//! compresses its answer).
//!
//! `cargo bench --bench api_proxy [-- FILTER]`: FILTER keeps the scenarios whose name contains
//! it. `PSOXY_BENCH_SECONDS` (default 10) runs each scenario for a fixed time;
//! `PSOXY_BENCH_REQUESTS` instead runs a fixed number of requests (for counting instructions
//! with `perf stat`). `PSOXY_BENCH_CLIENTS` (default 8) sets the concurrency.

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
        ("SOURCE_AUTH_STRATEGY", "none"),
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

/// How long a scenario runs.
#[derive(Clone, Copy)]
enum Budget {
    Seconds(f64),
    Requests(u64),
}

/// Runs `clients` loops until the budget is spent; returns (requests, seconds elapsed).
async fn load(url: &str, clients: usize, budget: Budget, gzip: bool) -> (u64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let mut builder = reqwest::Client::builder().no_proxy();
    if !gzip {
        builder = builder.no_gzip();
    }
    let client = builder.build().unwrap();
    // Warm up: connections and the first token.
    for _ in 0..clients {
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        let gzipped = r.headers().get("content-encoding").is_some();
        r.bytes().await.unwrap();
        // reqwest removes the header when it inflates, so only an unasked gzip shows here.
        assert!(
            !gzipped,
            "the proxy gzipped an answer the client did not ask to be"
        );
    }
    let start = Instant::now();
    let deadline = start
        + Duration::from_secs_f64(match budget {
            Budget::Seconds(s) => s,
            Budget::Requests(_) => 1e9,
        });
    let limit = match budget {
        Budget::Seconds(_) => u64::MAX,
        Budget::Requests(n) => n,
    };
    let claimed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, done, claimed) = (
            client.clone(),
            url.to_owned(),
            done.clone(),
            claimed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline && claimed.fetch_add(1, Ordering::Relaxed) < limit {
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

/// CPU time (user + system) this process has used so far, in seconds.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn main() {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<f64>().ok());
    let budget = match env("PSOXY_BENCH_REQUESTS") {
        Some(n) => Budget::Requests(n as u64),
        None => Budget::Seconds(env("PSOXY_BENCH_SECONDS").unwrap_or(10.0)),
    };
    let clients = env("PSOXY_BENCH_CLIENTS").map_or(8, |n| n as usize);
    // `cargo bench` passes `--bench`; any other argument is a filter on the scenario names.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let scenarios = [
            ("1 MB", 1 << 20, false),
            ("small", 300, false),
            ("1 MB gzip", 1 << 20, true),
        ];
        for (name, size, gzip) in scenarios {
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let body = Bytes::from(users_page(size));
            let source = start_source(body.clone()).await;
            let proxy = start_proxy(&source).await;
            let cpu_before = cpu_seconds();
            let (n, elapsed) = load(&proxy, clients, budget, gzip).await;
            let cpu_ms = (cpu_seconds() - cpu_before) * 1e3 / n as f64;
            let rate = n as f64 / elapsed;
            let mb = rate * body.len() as f64 / 1e6;
            println!(
                "{name}: {} bytes each, {clients} clients, {n} requests in {elapsed:.1} s: {rate:.0} req/s, {mb:.1} MB/s, {cpu_ms:.3} CPU ms/request",
                body.len()
            );
        }
    });
}
