//! Asynchronous requests (`Prefer: respond-async`) through the proxy's HTTP server on
//! 127.0.0.1, in front of a real HTTP source: accepted with 202 and a `Location`, then the
//! answer written there (gzip) equal to the synchronous answer, or a failure record beside it
//! for a 404, a timeout; a redirect fetched without credentials with `FOLLOW_REDIRECTS=false`;
//! a blocked request refused at once, with nothing written.

mod common;
#[path = "support/http_stub.rs"]
mod http_stub;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_stub::{Reply, Stub};
use psoxy::api::deferred::{AsyncLeg, AsyncQueue};
use psoxy::api::{ApiHandler, ApiService, ApiSettings};
use psoxy::storage::{LocalStore, ObjectPrefix};

const TOKEN: &str = "source-token-that-must-not-travel";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture(&format!("api/github/{name}"))).unwrap()
}

/// A proxy handler in front of `source` with the GitHub rules, `extra` settings on top.
fn handler(source: &str, extra: &[(&str, &str)]) -> ApiHandler {
    let rules = std::fs::read_to_string(common::repo("transforms/api/github.yaml")).unwrap();
    let mut settings: HashMap<&str, String> = [
        ("PSOXY_SALT", "async-salt".to_owned()),
        ("PSOXY_ENCRYPTION_KEY", "async-key".to_owned()),
        ("TARGET_HOST", source.to_owned()),
        ("RULES", rules),
        ("SOURCE_AUTH_STRATEGY", "none".to_owned()),
    ]
    .into();
    for (k, v) in extra {
        settings.insert(k, (*v).to_owned());
    }
    let resolved = psoxy::settings::Settings::from_sources(
        &psoxy::api::settings::api_settings(),
        &psoxy::settings::Flags::new(),
        &|n| settings.get(n).cloned(),
    );
    ApiHandler::new(ApiSettings::from_settings(&resolved).unwrap(), None, None).unwrap()
}

/// Serves `handler` on 127.0.0.1; its base URL.
async fn serve(handler: ApiHandler) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(psoxy::api::server::serve(
        listener,
        ApiService::Ready(handler),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn start(source: &str, dir: &Path) -> String {
    let handler = handler(
        source,
        &[
            ("SOURCE_AUTH_STRATEGY", "bearer"),
            ("ACCESS_TOKEN", TOKEN),
            ("UPSTREAM_TIMEOUT_SECONDS", "1"),
            ("FOLLOW_REDIRECTS", "false"),
        ],
    );
    let destination = ObjectPrefix::folder(dir);
    let store = LocalStore::new([(destination.bucket.clone(), dir.to_path_buf())].into());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handler = handler.with_async(AsyncLeg {
        destination,
        store: Arc::new(store),
        queue: AsyncQueue::InProcess(tx),
    });
    tokio::spawn(handler.clone().run_queue(rx, std::future::pending()));
    serve(handler).await
}

async fn get(url: &str, prefer: bool) -> (u16, Option<String>, Vec<u8>) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.get(url);
    if prefer {
        req = req.header("Prefer", "respond-async");
    }
    let r = req.send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (
        r.status().as_u16(),
        location,
        r.bytes().await.unwrap().to_vec(),
    )
}

/// The file a `file://` Location names, once it exists (or its failure record).
async fn outcome(location: &str) -> (Option<Vec<u8>>, Option<serde_json::Value>) {
    let path = PathBuf::from(location.strip_prefix("file://").unwrap());
    let error = PathBuf::from(format!("{}.error.json", path.display()));
    for _ in 0..100 {
        if path.exists() {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_end(&mut text)
                .unwrap();
            return (Some(text), None);
        }
        if error.exists() {
            let record = serde_json::from_slice(&std::fs::read(&error).unwrap()).unwrap();
            return (None, Some(record));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no outcome at {location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_requests_leave_their_answer_or_a_failure_record() {
    let members = fixture("org-members.json");
    let source = Stub::start(move |req| match req.uri.split('?').next().unwrap_or("") {
        "/orgs/acme-corp/members" => Reply::json(200, members.clone()),
        "/orgs/slow/members" => {
            let mut r = Reply::json(200, "[]");
            r.delay = Duration::from_secs(3);
            r
        }
        "/orgs/moved/members" => {
            Reply::json(302, "").with_header("location", "/download/report-1?sig=abc")
        }
        "/download/report-1" => Reply::json(200, fixture("org-members.json")),
        _ => Reply::json(404, r#"{"message":"Not Found"}"#),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = start(&format!("http://{}", source.addr), dir.path()).await;

    // Success: the answer written equals the synchronous answer.
    let (status, _, sync_body) = get(&format!("{proxy}/orgs/acme-corp/members"), false).await;
    assert_eq!(status, 200);
    let (status, location, body) = get(&format!("{proxy}/orgs/acme-corp/members"), true).await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let location = location.expect("a Location");
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(
        location.starts_with(&format!("file://{}/{today}/", dir.path().display())),
        "{location}"
    );
    let (answer, error) = outcome(&location).await;
    assert_eq!(error, None);
    assert_eq!(answer.unwrap(), sync_body);

    // The source's 404: a failure record naming the status and code, never the body.
    let (status, location, _) = get(&format!("{proxy}/orgs/missing/members"), true).await;
    assert_eq!(status, 202);
    let (answer, error) = outcome(&location.unwrap()).await;
    assert!(answer.is_none());
    let error = error.unwrap();
    assert_eq!(error["status"], 404);
    assert_eq!(error["error"], "API_ERROR");
    assert!(!error.to_string().contains("Not Found"));

    // A timeout (the source answers after 3 s, the limit is 1 s).
    let (status, location, _) = get(&format!("{proxy}/orgs/slow/members"), true).await;
    assert_eq!(status, 202);
    let (_, error) = outcome(&location.unwrap()).await;
    let error = error.unwrap();
    assert_eq!(error["status"], 504);
    assert_eq!(error["error"], "UPSTREAM_TIMEOUT");

    // FOLLOW_REDIRECTS=false: the async leg fetches the redirect itself, without the source's
    // credentials, and sanitizes what it gets as the endpoint's answer.
    let (status, location, _) = get(&format!("{proxy}/orgs/moved/members"), true).await;
    assert_eq!(status, 202);
    let (answer, error) = outcome(&location.unwrap()).await;
    assert_eq!(error, None);
    assert_eq!(answer.unwrap(), sync_body);
    let requests = source.requests();
    let download = requests
        .iter()
        .find(|r| r.uri.starts_with("/download/report-1"))
        .expect("the redirect was fetched");
    assert_eq!(download.header("authorization"), None);
    assert!(requests
        .iter()
        .filter(|r| r.uri.starts_with("/orgs/"))
        .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")[..])));
    // The synchronous leg of the same request returns the redirect as an API error.
    let (status, _, _) = get(&format!("{proxy}/orgs/moved/members"), false).await;
    assert_eq!(status, 302);

    // A request the rules block is refused at once; nothing is queued or written.
    let written_before = count_files(dir.path());
    let (status, location, _) = get(&format!("{proxy}/orgs/acme-corp/secrets"), true).await;
    assert_eq!(status, 403);
    assert_eq!(location, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count_files(dir.path()), written_before);
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        n += if path.is_dir() { count_files(&path) } else { 1 };
    }
    n
}

/// Side outputs: a 2xx answer is also written sanitized and, opted in, original (both
/// gzipped); an error answer is not written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_outputs_keep_each_answer() {
    use psoxy::api::side_output::SideOutputs;
    let members = fixture("org-members.json");
    let served = members.clone();
    let source = Stub::start(move |req| match req.uri.split('?').next().unwrap_or("") {
        "/orgs/acme-corp/members" => Reply::json(200, served.clone()),
        _ => Reply::json(404, "{}"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (sanitized_dir, original_dir) = (dir.path().join("sanitized"), dir.path().join("original"));
    let store = LocalStore::new(
        [
            ("sanitized".to_owned(), sanitized_dir.clone()),
            ("original".to_owned(), original_dir.clone()),
        ]
        .into(),
    );
    let handler = handler(&format!("http://{}", source.addr), &[]).with_side_outputs(SideOutputs {
        sanitized: Some(ObjectPrefix::new("s3", "sanitized", "api")),
        original: Some(ObjectPrefix::new("s3", "original", "api")),
        store: Arc::new(store),
    });
    let proxy = serve(handler).await;
    let (status, _, answer) = get(&format!("{proxy}/orgs/acme-corp/members"), false).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&format!("{proxy}/orgs/missing/members"), false).await;
    assert_eq!(status, 404);
    let read_one = |root: &Path| {
        let day = chrono::Utc::now().format("%Y%m%d").to_string();
        let files: Vec<PathBuf> = std::fs::read_dir(root.join("api").join(day))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&files[0]).unwrap())
            .read_to_end(&mut text)
            .unwrap();
        text
    };
    assert_eq!(read_one(&sanitized_dir), answer);
    assert_eq!(read_one(&original_dir), members);
}
