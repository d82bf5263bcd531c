//! A small fake of Google Cloud Secret Manager's REST API and of the metadata server's token
//! endpoint, on one loopback port (an `http_stub::Stub`), for the GCP tests: point
//! `SECRET_MANAGER_ENDPOINT` and `GCE_METADATA_HOST` at it.
//!
//! It keeps secrets with versions, labels and etags, and answers what the product calls:
//! `versions/latest:access`, `:addVersion`, `versions?filter=state:ENABLED`,
//! `versions/N:destroy`, `GET` and etag-guarded `PATCH ?updateMask=labels` of a secret. Every
//! Secret Manager request must carry the metadata server's token; a secret not in
//! `readable` answers 403, as for a service account without access to it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Value};

use super::http_stub::{Recorded, Reply, Stub};

/// The token the fake metadata server hands out.
pub const TOKEN: &str = "fake-metadata-token";

/// One secret.
#[derive(Debug, Clone, Default)]
pub struct Secret {
    /// Versions, oldest first: (number, value, enabled).
    pub versions: Vec<(u32, String, bool)>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Changes at every update.
    pub etag: u32,
}

/// The fake's state.
#[derive(Debug, Default)]
pub struct State {
    /// Secrets by id.
    pub secrets: BTreeMap<String, Secret>,
    /// Ids the caller may not touch (403).
    pub forbidden: HashSet<String>,
}

impl State {
    /// The latest enabled value of `id`.
    pub fn latest(&self, id: &str) -> Option<String> {
        self.secrets.get(id).and_then(|s| {
            s.versions
                .iter()
                .rev()
                .find(|(_, _, enabled)| *enabled)
                .map(|(_, v, _)| v.clone())
        })
    }

    /// Adds a secret with one version.
    pub fn put(&mut self, id: &str, value: &str) {
        let secret = self.secrets.entry(id.to_owned()).or_default();
        let next = secret.versions.len() as u32 + 1;
        secret.versions.push((next, value.to_owned(), true));
    }
}

/// A running fake.
pub struct FakeSecretManager {
    /// The stub (its requests are recorded).
    pub stub: Stub,
    /// The state, shared with the handler.
    pub state: Arc<Mutex<State>>,
}

fn error(status: u16, name: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": status, "status": name, "message": "fake"}}).to_string(),
    )
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn handle(state: &Mutex<State>, project: &str, req: &Recorded) -> Reply {
    let (path, query) = req.uri.split_once('?').unwrap_or((req.uri.as_str(), ""));
    if path.starts_with("/computeMetadata/") {
        if req.header("metadata-flavor") != Some("Google") {
            return error(403, "NO_FLAVOR");
        }
        if path.ends_with("/token") {
            return Reply::json(
                200,
                json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})
                    .to_string(),
            );
        }
        if path.ends_with("/project/project-id") {
            return Reply::json(200, project.to_owned());
        }
        return error(404, "NOT_FOUND");
    }
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return error(401, "UNAUTHENTICATED");
    }
    let prefix = format!("/v1/projects/{project}/secrets/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return error(404, "NOT_FOUND");
    };
    let mut state = state.lock().unwrap();
    let id = rest.split(['/', ':']).next().unwrap_or_default().to_owned();
    if state.forbidden.contains(&id) {
        return error(403, "PERMISSION_DENIED");
    }
    let Some(secret) = state.secrets.get_mut(&id) else {
        return error(404, "NOT_FOUND");
    };
    let tail = &rest[id.len()..];
    match (req.method.as_str(), tail) {
        ("GET", "/versions/latest:access") => {
            match secret
                .versions
                .iter()
                .rev()
                .find(|(_, _, enabled)| *enabled)
            {
                Some((n, value, _)) => Reply::json(
                    200,
                    json!({
                        "name": format!("projects/{project}/secrets/{id}/versions/{n}"),
                        "payload": {"data": b64(value)}
                    })
                    .to_string(),
                ),
                None => error(400, "FAILED_PRECONDITION"),
            }
        }
        ("POST", ":addVersion") => {
            let body: Value = serde_json::from_str(&req.body).unwrap_or_default();
            let data = body["payload"]["data"].as_str().unwrap_or_default();
            let value = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let n = secret.versions.len() as u32 + 1;
            secret.versions.push((n, value, true));
            Reply::json(
                200,
                json!({"name": format!("projects/{project}/secrets/{id}/versions/{n}"), "state": "ENABLED"})
                    .to_string(),
            )
        }
        ("GET", "/versions") => {
            let enabled_only = query.contains("state%3AENABLED") || query.contains("state:ENABLED");
            let versions: Vec<Value> = secret
                .versions
                .iter()
                .rev()
                .filter(|(_, _, e)| *e || !enabled_only)
                .map(|(n, _, e)| {
                    json!({
                        "name": format!("projects/{project}/secrets/{id}/versions/{n}"),
                        "state": if *e { "ENABLED" } else { "DESTROYED" }
                    })
                })
                .collect();
            Reply::json(200, json!({ "versions": versions }).to_string())
        }
        ("POST", t) if t.starts_with("/versions/") && t.ends_with(":destroy") => {
            let n: u32 = t["/versions/".len()..t.len() - ":destroy".len()]
                .parse()
                .unwrap_or(0);
            match secret.versions.iter_mut().find(|(v, _, _)| *v == n) {
                Some(version) => {
                    version.2 = false;
                    version.1.clear();
                    Reply::json(200, "{}")
                }
                None => error(404, "NOT_FOUND"),
            }
        }
        ("GET", "") => Reply::json(
            200,
            json!({
                "name": format!("projects/{project}/secrets/{id}"),
                "labels": secret.labels,
                "etag": format!("\"{}\"", secret.etag),
            })
            .to_string(),
        ),
        ("PATCH", "") => {
            let body: Value = serde_json::from_str(&req.body).unwrap_or_default();
            if body["etag"].as_str() != Some(&format!("\"{}\"", secret.etag)) {
                return error(409, "ABORTED");
            }
            secret.labels = body["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            secret.etag += 1;
            Reply::json(200, json!({"labels": secret.labels}).to_string())
        }
        _ => error(404, "NOT_FOUND"),
    }
}

impl FakeSecretManager {
    /// Starts the fake for `project` on the current runtime.
    pub async fn start(project: &str) -> FakeSecretManager {
        let state = Arc::new(Mutex::new(State::default()));
        let (s, p) = (state.clone(), project.to_owned());
        let stub = Stub::start(move |req| handle(&s, &p, req)).await;
        FakeSecretManager { stub, state }
    }

    /// `host:port`, for `GCE_METADATA_HOST`.
    pub fn host(&self) -> String {
        self.stub.addr.to_string()
    }

    /// Adds secret `id` with `value`.
    pub fn put(&self, id: &str, value: &str) {
        self.state.lock().unwrap().put(id, value);
    }

    /// Makes secret `id` refuse access (403).
    pub fn forbid(&self, id: &str) {
        self.state.lock().unwrap().forbidden.insert(id.to_owned());
    }

    /// The latest value of `id`.
    pub fn latest(&self, id: &str) -> Option<String> {
        self.state.lock().unwrap().latest(id)
    }
}

/// One fake for the whole test process, on a runtime of its own (it outlives each test's
/// runtime), with `GCE_METADATA_HOST` pointing at it: for tests that build the store in this
/// process (Google's auth library reads the variable). Tests share it: use distinct ids.
pub fn shared(project: &'static str) -> &'static FakeSecretManager {
    static SHARED: std::sync::OnceLock<FakeSecretManager> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                tx.send(FakeSecretManager::start(project).await)
                    .expect("send the fake");
                std::future::pending::<()>().await;
            });
        });
        let fake = rx.recv().expect("the fake started");
        // Before any credentials are built; nothing else in these tests reads it.
        std::env::set_var("GCE_METADATA_HOST", fake.host());
        std::env::remove_var("GOOGLE_APPLICATION_CREDENTIALS");
        fake
    })
}
