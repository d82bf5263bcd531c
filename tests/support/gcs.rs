//! A GCS emulator (fake-gcs-server, installed by `scripts/fake-gcs-server.sh`) on a loopback
//! address for the GCP tests. One server per test process, stopped when the process exits.
//!
//! It listens on port 80 of an address of 127.0.3.0/24 (the first free one): Google's storage
//! client sends `Host` without the port, so the emulator's upload URLs must not need one.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Server {
    host: String,
    _child: Mutex<(Child, ChildStdin)>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// `STORAGE_EMULATOR_HOST` for the server (`127.0.3.N:80`), started on first use.
pub fn host() -> &'static str {
    &SERVER.get_or_init(start).host
}

/// The server's base URL, `http://127.0.3.N:80`.
pub fn url() -> String {
    format!("http://{}", host())
}

fn binary() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/fake-gcs-server.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/fake-gcs-server.sh");
    assert!(
        out.status.success(),
        "scripts/fake-gcs-server.sh failed: cannot install fake-gcs-server"
    );
    String::from_utf8(out.stdout)
        .expect("a path")
        .trim()
        .to_owned()
}

/// A free `127.0.3.N:80` (binding port 80 needs root or CAP_NET_BIND_SERVICE).
fn free_address() -> SocketAddr {
    for n in 2..=254u8 {
        let addr = SocketAddr::from(([127, 0, 3, n], 80));
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!(
        "no free port 80 on 127.0.3.0/24 for fake-gcs-server (root or CAP_NET_BIND_SERVICE needed)"
    );
}

fn start() -> Server {
    let bin = binary();
    let addr = free_address();
    let ip = addr.ip().to_string();
    // A shell holds the server and stops it when our standard input closes, that is when this
    // process exits (statics are never dropped).
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" "$@" & server=$!; read -r _; kill "$server""#)
        .arg(bin)
        .args([
            "-backend", "memory", "-scheme", "http", "-host", &ip, "-port", "80",
        ])
        .args([
            "-public-host",
            &ip,
            "-external-url",
            &format!("http://{ip}"),
        ])
        .args(["-log-level", "error"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fake-gcs-server");
    let stdin = child.stdin.take().expect("stdin");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "fake-gcs-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        host: format!("{ip}:80"),
        _child: Mutex::new((child, stdin)),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .expect("client")
}

/// Creates `bucket` (an error if it exists is ignored).
pub async fn create_bucket(bucket: &str) {
    let resp = http()
        .post(format!("{}/storage/v1/b", url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": bucket }).to_string())
        .send()
        .await
        .expect("create bucket");
    assert!(
        resp.status().is_success() || resp.status().as_u16() == 409,
        "create bucket {bucket}: {}",
        resp.status()
    );
}

/// The object names in `bucket`.
pub async fn list(bucket: &str) -> Vec<String> {
    let body: serde_json::Value = http()
        .get(format!("{}/storage/v1/b/{bucket}/o", url()))
        .send()
        .await
        .expect("list")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("list json"))
        .expect("list body");
    let mut names: Vec<String> = body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|o| o["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn object_url(bucket: &str, key: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!(
        "{}/storage/v1/b/{bucket}/o/{}",
        url(),
        name.replace('+', "%20")
    )
}

/// An object's resource (metadata) as JSON.
pub async fn resource(bucket: &str, key: &str) -> serde_json::Value {
    http()
        .get(object_url(bucket, key))
        .send()
        .await
        .expect("get object resource")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("resource json"))
        .expect("resource body")
}

/// An object's stored bytes (no decompressive transcoding).
pub async fn get(bucket: &str, key: &str) -> Vec<u8> {
    let resp = http()
        .get(format!("{}?alt=media", object_url(bucket, key)))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("get object");
    assert!(
        resp.status().is_success(),
        "get {bucket}/{key}: {}",
        resp.status()
    );
    resp.bytes().await.expect("object bytes").to_vec()
}

/// Stores `bytes` as `bucket/key` with a content type and encoding (a media upload).
pub async fn put(bucket: &str, key: &str, bytes: Vec<u8>, content_encoding: Option<&str>) {
    let name: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let mut req = http()
        .post(format!(
            "{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}",
            url()
        ))
        .header("Content-Type", "application/octet-stream")
        .body(bytes);
    if let Some(encoding) = content_encoding {
        req = req.query(&[("contentEncoding", encoding)]);
    }
    let resp = req.send().await.expect("upload");
    assert!(
        resp.status().is_success(),
        "put {bucket}/{key}: {}",
        resp.status()
    );
}
