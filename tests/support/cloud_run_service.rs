//! The Cloud Run binary (`psoxy-gcp <mode>`) as a child process serving on 127.0.0.1, with
//! only the environment a test gives it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary serving on 127.0.0.1, its log (stdout) in a file; killed when dropped.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    log: tempfile::NamedTempFile,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Starts `psoxy-gcp <mode>` with only `env` (and PATH) in its environment; waits until
    /// it accepts connections.
    pub fn start(mode: &str, env: &[(&str, String)]) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let home = tempfile::tempdir().expect("home").keep();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_psoxy-gcp"));
        cmd.arg(mode)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // No gcloud credentials file: Google's auth library goes to the metadata server.
            .env("HOME", &home)
            .env("K_SERVICE", "psoxy-cr-test")
            .stdout(log.reopen().expect("log"))
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start psoxy-gcp");
        let service = Service {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "psoxy-gcp did not start: {}",
                service.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    /// What the service has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// A client that never goes through a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends a binary-mode event for `bucket/name` to `target` (a URL with its path): attributes in `ce-*` headers, the object's
/// resource as the body (`size` and `generation` as strings, as Eventarc sends them).
pub async fn binary_event(
    target: &str,
    bucket: &str,
    name: &str,
    event_type: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({
        "kind": "storage#object", "bucket": bucket, "name": name,
        "size": "1234", "generation": "1700000000000001", "contentType": "text/csv",
    });
    let resp = http()
        .post(target)
        .header("ce-id", "1234567890")
        .header("ce-specversion", "1.0")
        .header("ce-type", event_type)
        .header(
            "ce-source",
            format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
        )
        .header("ce-subject", format!("objects/{name}"))
        .header("ce-time", "2026-12-06T12:00:00.000Z")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send event");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}
