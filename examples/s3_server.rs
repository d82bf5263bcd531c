//! A local S3-compatible server for trying the function without AWS, and for
//! `scripts/e2e-lambda.sh`: s3s (S3 over HTTP, SigV4) over s3s-fs (objects as files).
//!
//! ```sh
//! cargo run --example s3_server -- ROOT PORT
//! ```
//!
//! Serves `http://127.0.0.1:PORT` with access key `psoxy-test-access-key`, secret key
//! `psoxy-test-secret-key`, region `us-east-1`, path-style addresses. Every directory under
//! ROOT is a bucket and every file below it an object. Prints `ready http://127.0.0.1:PORT`
//! once it accepts requests and stops when its standard input closes (or at Ctrl-C).
//!
//! With `S3_NOTIFY_URL` set to a Lambda Invoke API endpoint (e.g. cargo-lambda's emulator:
//! `http://127.0.0.1:PORT/2015-03-31/functions/_/invocations`), every PutObject to a bucket
//! named in `S3_NOTIFY_BUCKETS` (comma-separated; default `input`) is followed by an S3
//! `ObjectCreated:Put` event posted there, as S3's event notifications invoke the function.

#[path = "../tests/support/s3_server.rs"]
mod s3_server;

use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: s3_server ROOT PORT");
        std::process::exit(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("s3_server: PORT must be a number, not {port:?}");
        std::process::exit(2);
    };
    if let Err(e) = std::fs::create_dir_all(&root) {
        eprintln!("s3_server: cannot create {root}: {e}");
        std::process::exit(1);
    }
    let server = s3_server::start_in_notifying(std::path::Path::new(&root), port, notifier());
    println!("ready {}", server.endpoint);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}

/// The notifier of `S3_NOTIFY_URL`, if set.
fn notifier() -> Option<s3_server::Notify> {
    let url = std::env::var("S3_NOTIFY_URL").ok()?;
    let buckets: Vec<String> = std::env::var("S3_NOTIFY_BUCKETS")
        .unwrap_or_else(|_| "input".into())
        .split(',')
        .map(|b| b.trim().to_owned())
        .collect();
    let client = reqwest::Client::new();
    let sequence = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    Some(std::sync::Arc::new(
        move |bucket: String, key: String, size: u64| {
            if !buckets.contains(&bucket) {
                return;
            }
            let n = sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let object = psoxy::storage::ListedObject {
                key: key.clone(),
                size,
                last_modified: None,
            };
            let event = psoxy::bulk::replay::replay_event(&bucket, &object, &format!("{n:016X}"));
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let sent = client.post(&url).body(event.to_string()).send().await;
                match sent {
                    Ok(answer) => {
                        eprintln!("s3_server: notified {bucket}/{key}: {}", answer.status())
                    }
                    Err(e) => eprintln!("s3_server: notifying {bucket}/{key} failed: {e}"),
                }
            });
        },
    ))
}
