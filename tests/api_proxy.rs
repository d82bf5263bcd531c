//! API mode end to end over real HTTP on 127.0.0.1: the proxy's HTTP server (the shell of
//! `psoxy serve`) in front of a local source API and a local OAuth token endpoint (both
//! `support/http_stub.rs`). Checks that blocked requests never reach the source, credentials
//! are added, cached and refreshed, responses come back sanitized, source errors and timeouts
//! map to clear statuses, and reversible tokens reach the source as the original values.

mod common;
#[path = "support/http_stub.rs"]
mod http_stub;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_stub::{Recorded, Reply, Stub};
use psoxy::api::auth::shared::LockCreation;
use psoxy::api::auth::CredentialStore;
use psoxy::api::keys::{key_digest, CallerKeys};
use psoxy::api::{ApiHandler, ApiService, ApiSettings};
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use serde_json::Value;

const SALT: &str = "salt";
const KEY: &str = "secret";

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&PseudonymSettings {
        salt: SALT.into(),
        encryption_key: Some(KEY.into()),
        ..Default::default()
    })
    .unwrap()
}

fn github_rules() -> String {
    std::fs::read_to_string(common::repo("transforms/api/github.yaml")).unwrap()
}

fn github_fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture(&format!("api/github/{name}"))).unwrap()
}

/// Settings of a proxy in front of `target`, with `extra` on top.
fn settings(target: &str, rules: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        ("PSOXY_SALT", SALT),
        ("PSOXY_ENCRYPTION_KEY", KEY),
        ("TARGET_HOST", target),
        ("RULES", rules),
        ("PSOXY_INSTANCE_ID", "github"),
        ("SOURCE_AUTH_STRATEGY", "none"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    map
}

/// Starts the proxy's HTTP server on 127.0.0.1; returns its base URL.
async fn start_proxy(
    settings: HashMap<String, String>,
    keys: Option<CallerKeys>,
    writer: Option<Arc<dyn CredentialStore>>,
) -> String {
    let resolved = psoxy::settings::Settings::from_sources(
        &psoxy::api::settings::api_settings(),
        &psoxy::settings::Flags::new(),
        &|n| settings.get(n).cloned(),
    );
    let s = ApiSettings::from_settings(&resolved).expect("settings");
    let handler = ApiHandler::new(s, keys, writer).expect("handler");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(psoxy::api::server::serve(
        listener,
        ApiService::Ready(handler),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, HashMap<String, String>, String) {
    let mut req = client().get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let r = req.send().await.expect("proxy answers");
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    (status, headers, r.text().await.unwrap())
}

/// A GitHub-like source: the fixtures by path, `ETag`/`Link`/rate headers, and it wants
/// `Authorization: Bearer <one of tokens>`.
fn github_source(tokens: Arc<Mutex<Vec<String>>>) -> impl Fn(&Recorded) -> Reply {
    move |r: &Recorded| {
        let auth = r.header("authorization").unwrap_or("").to_owned();
        if !tokens
            .lock()
            .unwrap()
            .iter()
            .any(|t| auth == format!("Bearer {t}"))
        {
            return Reply::json(401, r#"{"message":"Bad credentials"}"#);
        }
        let path = r.uri.split('?').next().unwrap_or("");
        let body = match path {
            "/orgs/acme-corp/members" => github_fixture("org-members.json"),
            "/repos/acme-corp/payroll-service/commits" => github_fixture("commits-by-author.json"),
            _ => return Reply::json(404, r#"{"message":"Not Found for alice@acme.example"}"#),
        };
        Reply::json(200, body)
            .with_header("etag", "W/\"abc\"")
            .with_header(
                "link",
                "<https://api.github.com/orgs/acme-corp/members?page=2>; rel=\"next\"",
            )
            .with_header("x-ratelimit-remaining", "4999")
            .with_header("x-internal-user", "alice@acme.example")
    }
}

/// An OAuth token endpoint issuing `tok-1`, `tok-2`, ... (each valid `expires_in` seconds),
/// recording each grant.
fn token_endpoint(issued: Arc<Mutex<Vec<String>>>, expires_in: u64) -> impl Fn(&Recorded) -> Reply {
    move |_r: &Recorded| {
        let mut issued = issued.lock().unwrap();
        let token = format!("tok-{}", issued.len() + 1);
        issued.push(token.clone());
        Reply::json(
            200,
            format!(
                r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#
            ),
        )
    }
}

fn form(body: &str) -> HashMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn blocked_requests_never_reach_the_source() {
    let source = Stub::start(|_| Reply::json(200, "{}")).await;
    let proxy = start_proxy(settings(&source.url(), &github_rules(), &[]), None, None).await;
    for (method, path) in [
        ("GET", "/orgs/acme-corp/teams"),
        ("DELETE", "/orgs/acme-corp/members/alice-acme"),
        ("GET", "/orgs/acme-corp/members?per_page=100&q=salary"),
        ("GET", "/repos/acme-corp/payroll-service/pulls/latest"),
    ] {
        let r = client()
            .request(method.parse().unwrap(), format!("{proxy}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{method} {path}");
        assert_eq!(r.headers()["x-psoxy-error"], "BLOCKED_BY_RULES");
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "BLOCKED_BY_RULES", "{body}");
    }
    // Dot segments, sent raw (HTTP clients normalize them away): `{org}` must not be `..`.
    for path in [
        "/orgs/../members",
        "/orgs/%2E%2e/members",
        "/x/../orgs/acme-corp/members",
    ] {
        let response = raw_get(&proxy, path).await;
        assert!(response.starts_with("HTTP/1.1 403"), "{path}: {response}");
        assert!(response.contains("BLOCKED_BY_RULES"), "{path}: {response}");
    }
    // Also where the rules put no pattern on the parameter.
    let open = "endpoints:\n  - pathTemplate: /orgs/{org}/members\n";
    let proxy = start_proxy(settings(&source.url(), open, &[]), None, None).await;
    let response = raw_get(&proxy, "/orgs/%2e%2e/members").await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(source.requests().is_empty(), "{:?}", source.requests());
}

/// A GET written byte for byte on a TCP connection; returns the raw response.
async fn raw_get(base: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn responses_come_back_sanitized_with_credentials_added_and_cached() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let tokens = issued.clone();
    let token = Stub::start(token_endpoint(issued.clone(), 3600)).await;
    let source = Stub::start(github_source(tokens)).await;
    let token_url = format!("{}/oauth/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "oauth2_client_credentials"),
                ("TOKEN_ENDPOINT", &token_url),
                ("CLIENT_ID", "client-1"),
                ("CLIENT_SECRET", "client-secret-1"),
                ("OAUTH_SCOPES", "read:org repo"),
            ],
        ),
        None,
        None,
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members?per_page=100&page=1");
    let headers = [
        ("authorization", "Bearer caller-credential"),
        ("if-none-match", "W/\"old\""),
        ("x-not-allowed", "alice@acme.example"),
    ];
    let (status, h, body) = get(&url, &headers).await;
    assert_eq!(status, 200, "{body}");
    let expected =
        std::fs::read_to_string(common::fixture("api/github/org-members.expected.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::from_str::<Value>(&expected).unwrap()
    );
    assert_eq!(h["etag"], "W/\"abc\"");
    assert!(h["link"].contains("rel=\"next\""));
    assert_eq!(h["x-ratelimit-remaining"], "4999");
    assert!(
        !h.contains_key("x-internal-user"),
        "unlisted source headers are dropped"
    );
    assert_eq!(h["x-psoxy-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        h["x-psoxy-rules-sha"],
        psoxy::rules::sha256_hex(github_rules().as_bytes())
    );
    assert_eq!(h["x-psoxy-salt-sha"], psoxy::pseudonym::salt_sha(SALT));

    // What the source saw: the token, allowed headers only, the product's user agent.
    let seen = source.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].uri, "/orgs/acme-corp/members?per_page=100&page=1");
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(seen[0].header("if-none-match"), Some("W/\"old\""));
    assert_eq!(seen[0].header("x-not-allowed"), None);
    assert!(seen[0].header("user-agent").unwrap().starts_with("psoxy/"));
    assert!(seen[0]
        .header("accept-encoding")
        .unwrap_or("")
        .contains("gzip"));

    // The grant: form-encoded client credentials with the scopes.
    let grants = token.requests();
    assert_eq!(grants.len(), 1);
    let g = form(&grants[0].body);
    assert_eq!(g["grant_type"], "client_credentials");
    assert_eq!(g["client_id"], "client-1");
    assert_eq!(g["client_secret"], "client-secret-1");
    assert_eq!(g["scope"], "read:org repo");

    // A second request reuses the cached token.
    let (status, _, _) = get(&url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(token.requests().len(), 1, "the token is cached");
    assert_eq!(
        source.requests()[1].header("authorization"),
        Some("Bearer tok-1")
    );
}

#[tokio::test]
async fn a_401_from_the_source_refreshes_the_token_once() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    // The source accepts only the second token: the first is "revoked".
    let accepted = Arc::new(Mutex::new(vec!["tok-2".to_owned()]));
    let token = Stub::start(token_endpoint(issued.clone(), 3600)).await;
    let source = Stub::start(github_source(accepted.clone())).await;
    let token_url = format!("{}/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "oauth2_refresh_token"),
                ("TOKEN_ENDPOINT", &token_url),
                ("CLIENT_ID", "c"),
                ("CLIENT_SECRET", "s"),
                ("REFRESH_TOKEN", "refresh-1"),
            ],
        ),
        None,
        None,
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    let (status, _, body) = get(&url, &[]).await;
    assert_eq!(status, 200, "{body}");
    let auths: Vec<_> = source
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect();
    assert_eq!(auths, ["Bearer tok-1", "Bearer tok-2"]);
    let grants = token.requests();
    assert_eq!(grants.len(), 2);
    assert_eq!(form(&grants[1].body)["grant_type"], "refresh_token");
    assert_eq!(form(&grants[1].body)["refresh_token"], "refresh-1");

    // When the token keeps failing, the proxy retries once only and passes the 401 on.
    accepted.lock().unwrap().clear();
    let before = source.requests().len();
    let (status, h, body) = get(&url, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(h["x-psoxy-error"], "API_ERROR");
    assert!(
        !body.contains("Bad credentials"),
        "the source's body is not passed: {body}"
    );
    assert_eq!(source.requests().len() - before, 2);
}

/// A proxy of the GitHub rules authenticating with Psoxy's `oauth2_refresh_token` and
/// `GRANT_TYPE=grant`, plus `extra` settings; rotated refresh tokens go to `writer`.
async fn psoxy_grant_proxy(
    source: &str,
    grant: &str,
    extra: &[(&str, &str)],
    writer: Option<Arc<dyn CredentialStore>>,
) -> String {
    let mut all = vec![
        ("SOURCE_AUTH_STRATEGY", ""),
        ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
        ("GRANT_TYPE", grant),
    ];
    all.extend_from_slice(extra);
    start_proxy(settings(source, &github_rules(), &all), None, writer).await
}

/// Concurrent requests refused with the same token make one refresh between them: each
/// retries with the token the first one obtained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_401s_refresh_the_token_once() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(Mutex::new(vec!["tok-1".to_owned()]));
    let token = Stub::start(token_endpoint(issued.clone(), 3600)).await;
    let source = Stub::start(github_source(accepted.clone())).await;
    let token_url = format!("{}/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "oauth2_client_credentials"),
                ("TOKEN_ENDPOINT", &token_url),
                ("CLIENT_ID", "c"),
                ("CLIENT_SECRET", "s"),
            ],
        ),
        None,
        None,
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    assert_eq!(get(&url, &[]).await.0, 200);
    // The source revokes tok-1; the next token it will accept is tok-2.
    *accepted.lock().unwrap() = vec!["tok-2".to_owned()];
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let url = url.clone();
        calls.spawn(async move { get(&url, &[]).await.0 });
    }
    assert_eq!(calls.join_all().await, vec![200; 6]);
    assert_eq!(
        token.requests().len(),
        2,
        "one token at start, one refresh for all six 401s"
    );
}

/// Remembers what the proxy writes back.
#[derive(Default)]
struct MemoryWriter(Mutex<Vec<(String, String)>>);

/// Only writes are used without `USE_SHARED_TOKEN`.
impl CredentialStore for MemoryWriter {
    fn write<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> psoxy::settings::remote::StoreFuture<'a, ()> {
        self.0.lock().unwrap().push((name.into(), value.into()));
        Box::pin(async { Ok(()) })
    }
    fn read<'a>(&'a self, _: &'a str) -> psoxy::settings::remote::StoreFuture<'a, Option<String>> {
        unreachable!("no shared token")
    }
    fn create_lock<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> psoxy::settings::remote::StoreFuture<'a, LockCreation> {
        unreachable!("no shared token")
    }
    fn read_lock<'a>(
        &'a self,
        _: &'a str,
    ) -> psoxy::settings::remote::StoreFuture<'a, Option<String>> {
        unreachable!("no shared token")
    }
    fn delete_lock<'a>(&'a self, _: &'a str) -> psoxy::settings::remote::StoreFuture<'a, ()> {
        unreachable!("no shared token")
    }
}

#[tokio::test]
async fn rotated_refresh_tokens_are_used_and_written_back_and_short_tokens_refresh_early() {
    let grants = Arc::new(AtomicUsize::new(0));
    let counter = grants.clone();
    // Tokens live 2 s (so the proxy refreshes them after 1 s) and each grant rotates the
    // refresh token.
    let token = Stub::start(move |_r: &Recorded| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::json(
            200,
            format!(
                r#"{{"access_token":"tok-{n}","expires_in":"2","refresh_token":"refresh-{}"}}"#,
                n + 1
            ),
        )
    })
    .await;
    let accepted = Arc::new(Mutex::new(vec!["tok-1".to_owned(), "tok-2".to_owned()]));
    let source = Stub::start(github_source(accepted)).await;
    let writer = Arc::new(MemoryWriter::default());
    let token_url = format!("{}/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "oauth2_refresh_token"),
                ("TOKEN_ENDPOINT", &token_url),
                ("CLIENT_ID", "c"),
                ("CLIENT_SECRET", "s"),
                ("REFRESH_TOKEN", "refresh-1"),
                ("TOKEN_REQUEST_FORMAT", "json"),
            ],
        ),
        None,
        Some(writer.clone()),
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    assert_eq!(get(&url, &[]).await.0, 200);
    assert_eq!(get(&url, &[]).await.0, 200);
    assert_eq!(grants.load(Ordering::SeqCst), 1, "still fresh");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(&url, &[]).await.0, 200);
    assert_eq!(grants.load(Ordering::SeqCst), 2, "refreshed before expiry");
    let bodies: Vec<Value> = token
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).expect("JSON token request"))
        .collect();
    assert_eq!(bodies[0]["refresh_token"], "refresh-1");
    assert_eq!(
        bodies[1]["refresh_token"], "refresh-2",
        "the rotated token is used"
    );
    assert_eq!(
        writer.0.lock().unwrap().clone(),
        [
            ("REFRESH_TOKEN".to_owned(), "refresh-2".to_owned()),
            ("REFRESH_TOKEN".to_owned(), "refresh-3".to_owned())
        ]
    );
}

#[tokio::test]
async fn source_errors_and_timeouts_map_to_clear_statuses() {
    let source = Stub::start(|r: &Recorded| {
        if r.uri.contains("page=429") {
            Reply::json(429, r#"{"message":"slow down, alice@acme.example"}"#)
                .with_header("retry-after", "17")
        } else if r.uri.contains("page=500") {
            Reply::json(500, r#"{"message":"db error for alice@acme.example"}"#)
        } else if r.uri.contains("page=3") {
            let mut reply = Reply::json(200, "[]");
            reply.delay = Duration::from_secs(3);
            reply
        } else if r.uri.contains("page=4") {
            Reply::json(200, "<html>alice@acme.example</html>")
        } else {
            Reply::json(200, "[]")
        }
    })
    .await;
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[("UPSTREAM_TIMEOUT_SECONDS", "1")],
        ),
        None,
        None,
    )
    .await;
    let members = format!("{proxy}/orgs/acme-corp/members");

    let (status, h, body) = get(&format!("{members}?page=429"), &[]).await;
    assert_eq!((status, h["retry-after"].as_str()), (429, "17"));
    assert_eq!(h["x-psoxy-error"], "API_ERROR");
    assert!(!body.contains("alice"), "{body}");

    let (status, h, body) = get(&format!("{members}?page=500"), &[]).await;
    assert_eq!((status, h["x-psoxy-error"].as_str()), (500, "API_ERROR"));
    assert!(!body.contains("alice"), "{body}");

    let (status, h, _) = get(&format!("{members}?page=3"), &[]).await;
    assert_eq!(
        (status, h["x-psoxy-error"].as_str()),
        (504, "UPSTREAM_TIMEOUT")
    );

    let (status, h, body) = get(&format!("{members}?page=4"), &[]).await;
    assert_eq!(
        (status, h["x-psoxy-error"].as_str()),
        (502, "RESPONSE_NOT_JSON")
    );
    assert!(!body.contains("alice"), "{body}");

    // Nothing listens on the target: 502.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let proxy = start_proxy(
        settings(&format!("http://{closed}"), &github_rules(), &[]),
        None,
        None,
    )
    .await;
    let (status, h, _) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(
        (status, h["x-psoxy-error"].as_str()),
        (502, "UPSTREAM_UNREACHABLE")
    );
}

#[tokio::test]
async fn redirects_to_another_origin_are_not_followed() {
    let elsewhere = Stub::start(|_| Reply::json(200, "[]")).await;
    let target = format!("{}/orgs/acme-corp/members", elsewhere.url());
    let source = Stub::start(move |_r: &Recorded| {
        let mut reply = Reply::json(302, "");
        reply.headers.push(("location".into(), target.clone()));
        reply
    })
    .await;
    let proxy = start_proxy(settings(&source.url(), &github_rules(), &[]), None, None).await;
    let (status, h, _) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!((status, h["x-psoxy-error"].as_str()), (302, "API_ERROR"));
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn reversible_tokens_reach_the_source_as_the_original_values() {
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let rules = "endpoints:\n  - pathTemplate: /users/{user}/events\n    pathParameterSchemas: {user: {format: reversible-pseudonym}}\n    allowedQueryParams: [actor]\n";
    let proxy = start_proxy(settings(&source.url(), rules, &[]), None, None).await;
    let p = pseudonymizer();
    let login = p.reversible("alice-acme").unwrap().unwrap();
    let email = p.reversible("Alice Smith+x@acme.example").unwrap().unwrap();
    let (status, _, body) = get(
        &format!("{proxy}/users/{login}/events?actor={}", urlencode(&email)),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        source.requests()[0].uri,
        "/users/alice-acme/events?actor=Alice+Smith%2Bx%40acme.example"
    );

    // A damaged token: 409, nothing sent.
    let mut damaged = login.clone();
    damaged.replace_range(10..12, "AA");
    let (status, h, _) = get(&format!("{proxy}/users/{damaged}/events"), &[]).await;
    assert_eq!(
        (status, h["x-psoxy-error"].as_str()),
        (409, "REVERSIBLE_TOKEN_INVALID")
    );
    assert_eq!(source.requests().len(), 1);

    // Tokens the source returned, sent back through the connector's own rules.
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let proxy = start_proxy(settings(&source.url(), &github_rules(), &[]), None, None).await;
    let (status, _, _) = get(
        &format!("{proxy}/repos/acme-corp/payroll-service/commits?author={login}&per_page=10"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        source.requests()[0].uri,
        "/repos/acme-corp/payroll-service/commits?author=alice-acme&per_page=10"
    );
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn caller_keys_and_the_health_check() {
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let hex = |k: &str| -> String { key_digest(k).iter().map(|b| format!("{b:02x}")).collect() };
    let keys = CallerKeys::from_yaml(&format!(
        "keys:\n  - {{id: worklytics, sha256: {}, expires: 2099-01-01, connectors: [github]}}\n  - {{id: other, sha256: {}, expires: 2099-01-01, connectors: [slack]}}\n  - {{id: old, sha256: {}, expires: 2020-01-01, connectors: ['*']}}\n",
        hex("good-key"),
        hex("slack-key"),
        hex("old-key")
    ))
    .unwrap();
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "bearer"),
                ("ACCESS_TOKEN", "ghp_SECRET_TOKEN"),
            ],
        ),
        Some(keys),
        None,
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    for (auth, status, code) in [
        (None, 401, "UNAUTHENTICATED"),
        (Some("Bearer wrong"), 401, "UNAUTHENTICATED"),
        (Some("Bearer old-key"), 401, "KEY_EXPIRED"),
        (Some("Bearer slack-key"), 403, "CONNECTOR_NOT_ALLOWED"),
    ] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let (s, _, body) = get(&url, &headers).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{auth:?}"
        );
    }
    assert!(source.requests().is_empty());
    let (s, _, _) = get(&url, &[("authorization", "Bearer good-key")]).await;
    assert_eq!(s, 200);
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer ghp_SECRET_TOKEN")
    );

    let (s, _, body) = get(
        &format!("{proxy}/"),
        &[
            ("authorization", "Bearer good-key"),
            ("x-psoxy-health-check", "1"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["sourceAuth"]["strategy"], "bearer");
    assert_eq!(health["encryptionKeyPresent"], true);
    assert_eq!(
        health["rulesSha"],
        psoxy::rules::sha256_hex(github_rules().as_bytes())
    );
    for secret in ["ghp_SECRET_TOKEN", KEY, "good-key"] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
    assert_eq!(
        source.requests().len(),
        1,
        "health checks are not forwarded"
    );

    // A misconfigured proxy answers health checks with 412.
    let broken = ApiService::Misconfigured {
        problem: "setting PSOXY_SALT is required but not set".into(),
    };
    let r = broken
        .handle(psoxy::api::ProxyRequest {
            method: "GET".into(),
            path: "/".into(),
            headers: vec![("x-psoxy-health-check".into(), "1".into())],
            ..Default::default()
        })
        .await;
    assert_eq!(r.status, 412);
    assert!(String::from_utf8_lossy(&r.body).contains("PSOXY_SALT"));
}

#[tokio::test]
async fn google_service_account_jwt_is_signed_and_exchanged() {
    let public = std::fs::read(common::fixture("api/test-service-account.pub.pem")).unwrap();
    let claims_seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let seen = claims_seen.clone();
    let token = Stub::start(move |r: &Recorded| {
        let f = form(&r.body);
        assert_eq!(
            f["grant_type"],
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        match jsonwebtoken::decode::<Value>(&f["assertion"], &key, &validation) {
            Ok(data) => {
                seen.lock().unwrap().push(data.claims);
                Reply::json(200, r#"{"access_token":"ya29.test","expires_in":3599}"#)
            }
            Err(_) => Reply::json(400, r#"{"error":"invalid_grant"}"#),
        }
    })
    .await;
    let source = Stub::start(github_source(Arc::new(Mutex::new(
        vec!["ya29.test".into()],
    ))))
    .await;
    let key = std::fs::read_to_string(common::fixture("api/test-service-account.json")).unwrap();
    let token_url = format!("{}/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "google_service_account"),
                ("SERVICE_ACCOUNT_KEY", &key),
                ("TOKEN_ENDPOINT", &token_url),
                (
                    "OAUTH_SCOPES",
                    "https://www.googleapis.com/auth/admin.directory.user.readonly",
                ),
                ("ACCOUNT_TO_IMPERSONATE", "admin@acme.example"),
            ],
        ),
        None,
        None,
    )
    .await;
    let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_seen.lock().unwrap().clone();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        claims[0]["iss"],
        "psoxy-test@psoxy-tests.iam.gserviceaccount.com"
    );
    assert_eq!(claims[0]["sub"], "admin@acme.example");
    assert_eq!(claims[0]["aud"], token_url.as_str());
    assert_eq!(
        claims[0]["scope"],
        "https://www.googleapis.com/auth/admin.directory.user.readonly"
    );
}

#[tokio::test]
async fn microsoft_workload_identity_sends_the_federated_assertion() {
    let token = Stub::start(|_r: &Recorded| {
        Reply::json(200, r#"{"access_token":"graph-token","expires_in":3600}"#)
    })
    .await;
    let source = Stub::start(github_source(Arc::new(Mutex::new(vec![
        "graph-token".into()
    ]))))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let assertion = dir.path().join("token");
    std::fs::write(&assertion, "eyJhbGciOi.federated.jwt\n").unwrap();
    let token_url = format!("{}/tenant-1/oauth2/v2.0/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "ms_workload_identity"),
                ("MS_TENANT_ID", "tenant-1"),
                ("CLIENT_ID", "app-1"),
                ("MS_FEDERATED_TOKEN_FILE", assertion.to_str().unwrap()),
                ("TOKEN_ENDPOINT", &token_url),
            ],
        ),
        None,
        None,
    )
    .await;
    let (status, _, _) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200);
    let f = form(&token.requests()[0].body);
    assert_eq!(f["client_assertion"], "eyJhbGciOi.federated.jwt");
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(f["client_id"], "app-1");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
}

#[tokio::test]
async fn a_failing_token_endpoint_is_a_502_without_secrets() {
    let token = Stub::start(|_r: &Recorded| {
        Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"secret client-secret-9 is wrong"}"#,
        )
    })
    .await;
    let source = Stub::start(|_| Reply::json(200, "[]")).await;
    let token_url = format!("{}/token", token.url());
    let proxy = start_proxy(
        settings(
            &source.url(),
            &github_rules(),
            &[
                ("SOURCE_AUTH_STRATEGY", "oauth2_client_credentials"),
                ("TOKEN_ENDPOINT", &token_url),
                ("CLIENT_ID", "c"),
                ("CLIENT_SECRET", "client-secret-9"),
            ],
        ),
        None,
        None,
    )
    .await;
    let (status, h, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(
        (status, h["x-psoxy-error"].as_str()),
        (500, "CONNECTION_SETUP")
    );
    assert!(body.contains("invalid_client"), "{body}");
    assert!(!body.contains("client-secret-9"), "{body}");
    assert!(source.requests().is_empty());
}

/// `psoxy serve`, the binary: listens where it says, proxies, and writes one audit line per
/// request on stderr, with no query value in it.
#[tokio::test]
async fn psoxy_serve_proxies_and_writes_an_audit_line_per_request() {
    use std::io::BufRead;
    let source = Stub::start(|_| Reply::json(200, github_fixture("org-members.json"))).await;
    let dir = tempfile::tempdir().unwrap();
    let hex: String = key_digest("cli-key")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let keys = dir.path().join("keys.yaml");
    std::fs::write(
        &keys,
        format!("keys:\n  - {{id: cli-caller, sha256: {hex}, expires: 2099-01-01, connectors: [github]}}\n"),
    )
    .unwrap();
    let mut child = common::psoxy()
        .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", &source.url(), "--keys"])
        .arg(&keys)
        .env("PSOXY_SALT", SALT)
        .env("PSOXY_ENCRYPTION_KEY", KEY)
        .env("SOURCE_AUTH_STRATEGY", "none")
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (first, addr, stderr) = common::serve_started(&mut child);
    assert!(first.contains("connector `github`"), "{first}");
    let auth = [("authorization", "Bearer cli-key")];
    let (status, _, body) = get(
        &format!("http://{addr}/orgs/acme-corp/members?per_page=7"),
        &auth,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("alice-acme"));
    let (status, _, _) = get(
        &format!("http://{addr}/orgs/acme-corp/teams?secret_q=alice"),
        &auth,
    )
    .await;
    assert_eq!(status, 403);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    for line in stderr.lines() {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    let audit: Vec<&str> = log.lines().filter(|l| l.contains("psoxy_audit")).collect();
    assert_eq!(audit.len(), 2, "{log}");
    assert!(audit[0].contains("caller=\"cli-caller\""), "{}", audit[0]);
    assert!(
        audit[0].contains("endpoint=\"/orgs/{org}/members\"") && audit[0].contains("status=200"),
        "{}",
        audit[0]
    );
    assert!(
        audit[1].contains("status=403") && audit[1].contains("BLOCKED_BY_RULES"),
        "{}",
        audit[1]
    );
    for leak in ["per_page=7", "secret_q", "alice", "cli-key", SALT_CANARY] {
        assert!(!log.contains(leak), "`{leak}` in the log:\n{log}");
    }
}

/// Not a real canary: the test salt is a common word; the check above covers the key and
/// query values.
const SALT_CANARY: &str = "PSOXY_SALT=";

#[test]
fn api_key_prints_a_key_and_its_entry() {
    let out = common::psoxy()
        .args([
            "api-key",
            "--id",
            "worklytics",
            "--connector",
            "github",
            "--days",
            "30",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let entry = String::from_utf8(out.stderr).unwrap();
    let line = entry
        .lines()
        .find(|l| l.trim_start().starts_with("- {"))
        .unwrap();
    let keys = CallerKeys::from_yaml(&format!("keys:\n{line}\n")).unwrap();
    assert_eq!(
        keys.check(Some(&format!("Bearer {key}")), "github", chrono::Utc::now()),
        Ok("worklytics")
    );
}

#[tokio::test]
async fn callers_cannot_send_credentials_even_when_rules_list_the_headers() {
    let source = Stub::start(|_| Reply::json(200, "{}")).await;
    let rules = "allowedRequestHeaders: [Authorization, X-API-Key, X-Trace, Host]\nendpoints:\n  - pathTemplate: /things\n";
    let proxy = start_proxy(
        settings(
            &source.url(),
            rules,
            &[
                ("SOURCE_AUTH_STRATEGY", "header"),
                ("API_KEY_HEADER", "X-API-Key"),
                ("ACCESS_TOKEN", "the-real-key"),
            ],
        ),
        None,
        None,
    )
    .await;
    let (status, _, _) = get(
        &format!("{proxy}/things"),
        &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=caller"),
            ("x-api-key", "caller-supplied"),
            ("x-trace", "t-1"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let seen = &source.requests()[0];
    let keys: Vec<_> = seen
        .headers
        .iter()
        .filter(|(n, _)| n == "x-api-key")
        .collect();
    assert_eq!(keys.len(), 1, "{:?}", seen.headers);
    assert_eq!(seen.header("x-api-key"), Some("the-real-key"));
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("x-trace"), Some("t-1"));
    assert!(seen.header("host").unwrap().starts_with("127.0.0.1:"));
}

#[tokio::test]
async fn not_modified_passes_through_without_a_body() {
    let source = Stub::start(|r: &Recorded| {
        if r.header("if-none-match") == Some("W/\"abc\"") {
            let mut reply = Reply::json(304, "");
            reply.headers = vec![("etag".into(), "W/\"abc\"".into())];
            reply
        } else {
            Reply::json(200, "[]").with_header("etag", "W/\"abc\"")
        }
    })
    .await;
    let proxy = start_proxy(settings(&source.url(), &github_rules(), &[]), None, None).await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    let (status, h, body) = get(&url, &[("if-none-match", "W/\"abc\"")]).await;
    assert_eq!((status, body.as_str()), (304, ""));
    assert_eq!(h["etag"], "W/\"abc\"");
    assert!(!h.contains_key("x-psoxy-error"));
}

/// Psoxy's Salesforce grant (SPEC-API-PARITY §4.3.4): `GRANT_TYPE=client_credentials` with
/// `CREDENTIALS_FLOW=client_secret`: the form `grant_type`, `client_id`, `client_secret`.
#[tokio::test]
async fn psoxy_client_credentials_client_secret_grant_salesforce() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let token = Stub::start(token_endpoint(issued.clone(), 7200)).await;
    let source = Stub::start(github_source(issued)).await;
    let token_url = format!("{}/services/oauth2/token", token.url());
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "client_credentials",
        &[
            ("CREDENTIALS_FLOW", "Client_Secret"),
            ("REFRESH_ENDPOINT", &token_url),
            ("CLIENT_ID", "3MVG9-connected-app"),
            ("CLIENT_SECRET", "sf-secret"),
        ],
        None,
    )
    .await;
    let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let grants = token.requests();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(
        (g.method.as_str(), g.uri.as_str()),
        ("POST", "/services/oauth2/token")
    );
    assert_eq!(
        g.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(g.header("authorization"), None);
    assert_eq!(
        g.body,
        "grant_type=client_credentials&client_id=3MVG9-connected-app&client_secret=sf-secret"
    );
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer tok-1")
    );
}

/// Psoxy's `GRANT_TYPE=refresh_token` (GitHub Enterprise Server, Jira Cloud, Confluence,
/// Dropbox): the form grant with `Accept: application/json`; the rotated refresh token is
/// used next and written back.
#[tokio::test]
async fn psoxy_refresh_token_grant_asks_for_json_and_keeps_the_rotated_token() {
    let token = Stub::start(|r: &Recorded| {
        let n = if r.body.contains("refresh_token=refresh-1") {
            1
        } else {
            2
        };
        Reply::json(
            200,
            format!(
                r#"{{"access_token":"tok-{n}","expires_in":1,"refresh_token":"refresh-{}"}}"#,
                n + 1
            ),
        )
    })
    .await;
    let accepted = Arc::new(Mutex::new(vec!["tok-1".to_owned(), "tok-2".to_owned()]));
    let source = Stub::start(github_source(accepted)).await;
    let writer = Arc::new(MemoryWriter::default());
    let token_url = format!("{}/login/oauth/access_token", token.url());
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "refresh_token",
        &[
            ("REFRESH_ENDPOINT", &token_url),
            ("CLIENT_ID", "ghes-app"),
            ("CLIENT_SECRET", "ghes-secret"),
            ("REFRESH_TOKEN", "refresh-1"),
        ],
        Some(writer.clone()),
    )
    .await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    assert_eq!(get(&url, &[]).await.0, 200);
    // The token lives 1 s: the next request refreshes, with the rotated refresh token.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&url, &[]).await.0, 200);
    let grants = token.requests();
    assert_eq!(grants.len(), 2);
    for g in &grants {
        assert_eq!(g.header("accept"), Some("application/json"));
        assert_eq!(
            g.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }
    assert_eq!(
        form(&grants[0].body),
        HashMap::from([
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), "refresh-1".to_owned()),
            ("client_id".to_owned(), "ghes-app".to_owned()),
            ("client_secret".to_owned(), "ghes-secret".to_owned()),
        ])
    );
    assert_eq!(form(&grants[1].body)["refresh_token"], "refresh-2");
    assert_eq!(
        writer.0.lock().unwrap().clone(),
        [
            ("REFRESH_TOKEN".to_owned(), "refresh-2".to_owned()),
            ("REFRESH_TOKEN".to_owned(), "refresh-3".to_owned())
        ]
    );
    let used: Vec<_> = source
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        used,
        [
            Some("Bearer tok-1".to_owned()),
            Some("Bearer tok-2".to_owned())
        ]
    );
}

/// Psoxy's settings for Zoom (SPEC-API-PARITY §4.3.1): `SOURCE_AUTH_STRATEGY_IDENTIFIER=
/// oauth2_refresh_token` with `GRANT_TYPE=account_credentials`. Once, a deployment with these
/// forwarded requests with no credentials at all.
#[tokio::test]
async fn psoxy_account_credentials_grant_zoom() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let token = Stub::start(token_endpoint(issued.clone(), 3599)).await;
    let source = Stub::start(github_source(issued)).await;
    let token_url = format!("{}/oauth/token", token.url());
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "account_credentials",
        &[
            ("REFRESH_ENDPOINT", &token_url),
            ("ACCOUNT_ID", " acct-1 "),
            ("CLIENT_ID", "client"),
            ("CLIENT_SECRET", " secret\n"),
            ("USE_SHARED_TOKEN", "TRUE"),
        ],
        None,
    )
    .await;
    let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let grants = token.requests();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g.method, "POST");
    assert_eq!(g.uri, "/oauth/token");
    assert_eq!(
        g.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // Basic base64("client:secret"), both trimmed; the body's keys in alphabetical order.
    assert_eq!(
        g.header("authorization"),
        Some("Basic Y2xpZW50OnNlY3JldA==")
    );
    assert_eq!(g.body, "account_id=acct-1&grant_type=account_credentials");
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer tok-1")
    );
}

/// Psoxy's Gong grant (SPEC-API-PARITY §4.3.3): the refresh token in the endpoint's query,
/// an empty form body, client id and secret as Basic; a rotated refresh token is written back.
#[tokio::test]
async fn psoxy_refresh_token_via_query_parameter_grant_gong() {
    let token = Stub::start(|_r: &Recorded| {
        Reply::json(
            200,
            r#"{"access_token":"tok-1","expires_in":3600,"refresh_token":"rotated-2"}"#,
        )
    })
    .await;
    let accepted = Arc::new(Mutex::new(vec!["tok-1".to_owned()]));
    let source = Stub::start(github_source(accepted)).await;
    let writer = Arc::new(MemoryWriter::default());
    let token_url = format!("{}/oauth2/generate-customer-token?v=1", token.url());
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "refresh_token_via_query_parameter",
        &[
            ("REFRESH_ENDPOINT", &token_url),
            ("CLIENT_ID", "  test-client-id  "),
            ("CLIENT_SECRET", "  test-client-secret  "),
            ("REFRESH_TOKEN", "test-refresh/token+1"),
        ],
        Some(writer.clone()),
    )
    .await;
    let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let g = &token.requests()[0];
    assert_eq!(g.method, "POST");
    assert_eq!(
        g.uri,
        "/oauth2/generate-customer-token?v=1&grant_type=refresh_token&refresh_token=test-refresh%2Ftoken%2B1"
    );
    assert_eq!(g.body, "");
    assert_eq!(
        g.header("authorization"),
        Some("Basic dGVzdC1jbGllbnQtaWQ6dGVzdC1jbGllbnQtc2VjcmV0")
    );
    assert_eq!(
        *writer.0.lock().unwrap(),
        [("REFRESH_TOKEN".to_owned(), "rotated-2".to_owned())]
    );
}

/// Psoxy's `claude_admin_api_key` and `basic_auth` (SPEC-API-PARITY §4.3.7-4.3.8).
#[tokio::test]
async fn psoxy_static_strategies_claude_and_basic() {
    for (extra, header, value) in [
        (
            vec![
                ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "claude_admin_api_key"),
                ("ADMIN_API_KEY", "  sk-admin-key\n"),
            ],
            "x-api-key",
            "sk-admin-key",
        ),
        (
            vec![
                ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "basic_auth"),
                ("BASIC_AUTH_USER_ID", "cursor-key"),
            ],
            "authorization",
            // base64("cursor-key:"): an empty password.
            "Basic Y3Vyc29yLWtleTo=",
        ),
    ] {
        let source = Stub::start(|_| Reply::json(200, "[]")).await;
        let mut extra = extra;
        extra.push(("SOURCE_AUTH_STRATEGY", ""));
        let proxy = start_proxy(settings(&source.url(), &github_rules(), &extra), None, None).await;
        let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(source.requests()[0].header(header), Some(value));
    }
}

/// Verifies an RS256 JWT with the test key's public half; returns its header and claims.
fn verified_jwt(jwt: &str) -> (Value, Value) {
    let public = std::fs::read(common::fixture("api/test-service-account.pub.pem")).unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("a valid JWT");
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    (header, data.claims)
}

/// Psoxy's GitHub App grant (SPEC-API-PARITY §4.3.2): an empty form POST with a JWT the app's
/// key signed; GitHub's `{"token","expires_at"}` answer; the data request carries the token.
#[tokio::test]
async fn psoxy_certificate_credentials_grant_github_app() {
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let token = Stub::start(move |_r: &Recorded| {
        Reply::json(
            201,
            format!(r#"{{"token":"ghs_1","expires_at":"{expires_at}","permissions":{{}}}}"#),
        )
    })
    .await;
    let source = Stub::start(github_source(Arc::new(Mutex::new(
        vec!["ghs_1".to_owned()],
    ))))
    .await;
    let token_url = format!("{}/app/installations/39494331/access_tokens", token.url());
    // The app's key as Psoxy's Terraform may store it: the base64 of a PKCS#1 PEM.
    let pem = std::fs::read(common::fixture("api/test-rsa-pkcs1.pem")).unwrap();
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem);
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "certificate_credentials",
        &[
            ("TOKEN_RESPONSE_TYPE", "GITHUB_ACCESS_TOKEN"),
            ("REFRESH_ENDPOINT", &token_url),
            ("CLIENT_ID", "359050"),
            ("PRIVATE_KEY", &key),
            ("USE_SHARED_TOKEN", "TRUE"),
        ],
        None,
    )
    .await;
    for _ in 0..2 {
        let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    let grants = token.requests();
    assert_eq!(grants.len(), 1, "the installation token is cached");
    let g = &grants[0];
    assert_eq!(g.method, "POST");
    assert_eq!(g.uri, "/app/installations/39494331/access_tokens");
    assert_eq!(g.body, "");
    let jwt = g
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("a bearer JWT");
    let (header, claims) = verified_jwt(jwt);
    assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(claims["aud"], token_url.as_str());
    assert_eq!(claims["iss"], "359050");
    assert_eq!(claims["sub"], "359050");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        300
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
    assert!(source
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer ghs_1")));
}

/// Psoxy's Entra client assertion (SPEC-API-PARITY §4.3.4): `client_credentials` with
/// `CREDENTIALS_FLOW` unset (`jwt_assertion`), the form in alphabetical order, `x5t` from
/// `PRIVATE_KEY_ID`.
#[tokio::test]
async fn psoxy_client_credentials_jwt_assertion_grant_entra() {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let token = Stub::start(token_endpoint(issued.clone(), 3599)).await;
    let source = Stub::start(github_source(issued)).await;
    let token_url = format!("{}/tenant-1/oauth2/v2.0/token", token.url());
    let sa: Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("api/test-service-account.json")).unwrap(),
    )
    .unwrap();
    let proxy = psoxy_grant_proxy(
        &source.url(),
        "client_credentials",
        &[
            ("REFRESH_ENDPOINT", &token_url),
            ("CLIENT_ID", "app-1"),
            ("PRIVATE_KEY", sa["private_key"].as_str().unwrap()),
            ("PRIVATE_KEY_ID", "F4194D924E8471C804F65E77BCF90418CEEB0DA2"),
            ("TOKEN_SCOPE", "https://graph.microsoft.com/.default"),
        ],
        None,
    )
    .await;
    let (status, _, body) = get(&format!("{proxy}/orgs/acme-corp/members"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let g = &token.requests()[0];
    assert_eq!(g.method, "POST");
    let names: Vec<String> = form_urlencoded::parse(g.body.as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "scope"
        ]
    );
    let f = form(&g.body);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(f["client_id"], "app-1");
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    let (header, claims) = verified_jwt(&f["client_assertion"]);
    assert_eq!(header["x5t"], "9BlNkk6EccgE9l53vPkEGM7rDaI=");
    assert_eq!(claims["aud"], token_url.as_str());
    assert_eq!(claims["iss"], "app-1");
    assert_eq!(
        source.requests()[0].header("authorization"),
        Some("Bearer tok-1")
    );
}

/// `X-Psoxy-User-To-Impersonate` (SPEC-API-PARITY §3.4.1): where the rules allow the header,
/// a Google service account's token is delegated to that user (the assertion's `sub`), one
/// cached token per user; a `p~` token in it is the user's address; elsewhere it is ignored.
#[tokio::test]
async fn user_to_impersonate_delegates_per_request_where_allowed() {
    let public = std::fs::read(common::fixture("api/test-service-account.pub.pem")).unwrap();
    let subjects = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = subjects.clone();
    let token = Stub::start(move |r: &Recorded| {
        let f = form(&r.body);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(&f["assertion"], &key, &validation)
            .unwrap()
            .claims;
        let sub = claims["sub"].as_str().unwrap_or("(none)").to_owned();
        let mut seen = seen.lock().unwrap();
        seen.push(sub);
        Reply::json(
            200,
            format!(
                r#"{{"access_token":"ya29.{}","expires_in":3599}}"#,
                seen.len()
            ),
        )
    })
    .await;
    let tokens: Vec<String> = (1..=9).map(|n| format!("ya29.{n}")).collect();
    let source = Stub::start(github_source(Arc::new(Mutex::new(tokens)))).await;
    let key = std::fs::read_to_string(common::fixture("api/test-service-account.json")).unwrap();
    let token_url = format!("{}/token", token.url());
    let extra = [
        ("SOURCE_AUTH_STRATEGY", ""),
        ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "gcp_service_account_key"),
        ("SERVICE_ACCOUNT_KEY", key.as_str()),
        ("TOKEN_ENDPOINT", token_url.as_str()),
        (
            "OAUTH_SCOPES",
            "https://www.googleapis.com/auth/calendar.readonly",
        ),
    ];
    let allowing = github_rules().replace(
        "allowedRequestHeaders:\n",
        "allowedRequestHeaders:\n  - X-Psoxy-User-To-Impersonate\n",
    );
    let proxy = start_proxy(settings(&source.url(), &allowing, &extra), None, None).await;
    let url = format!("{proxy}/orgs/acme-corp/members");
    let alice_token = pseudonymizer()
        .reversible("alice@acme.example")
        .unwrap()
        .unwrap();
    for user in [
        "alice@acme.example",
        "bob@acme.example",
        " alice@acme.example ",
        alice_token.as_str(),
        "",
    ] {
        let (status, _, body) = get(&url, &[("x-psoxy-user-to-impersonate", user)]).await;
        assert_eq!(status, 200, "{user}: {body}");
    }
    assert_eq!(
        *subjects.lock().unwrap(),
        ["alice@acme.example", "bob@acme.example", "(none)"],
        "one token per user, cached; a token is its user; empty is absent"
    );
    assert!(
        source
            .requests()
            .iter()
            .all(|r| r.header("x-psoxy-user-to-impersonate").is_none()),
        "never forwarded"
    );
    let (status, _, _) = get(&url, &[("x-psoxy-user-to-impersonate", "p~nonsense")]).await;
    assert_eq!(status, 200, "not a token by the grammar: used as the user");
    let bad = format!("p~{}", "A".repeat(60));
    let (status, h, _) = get(&url, &[("x-psoxy-user-to-impersonate", &bad)]).await;
    assert_eq!(status, 409, "{h:?}");

    // Rules that do not list the header: it is ignored.
    subjects.lock().unwrap().clear();
    let proxy = start_proxy(settings(&source.url(), &github_rules(), &extra), None, None).await;
    let (status, _, body) = get(
        &format!("{proxy}/orgs/acme-corp/members"),
        &[("x-psoxy-user-to-impersonate", "carol@acme.example")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(*subjects.lock().unwrap(), ["(none)"]);
}

/// Psoxy's `windsurf_service_key` (SPEC-API-PARITY §4.3.6): the key goes into the JSON body,
/// no credential header; a body that cannot carry it is refused with 400.
#[tokio::test]
async fn psoxy_windsurf_service_key_travels_in_the_body() {
    let source = Stub::start(|_| Reply::json(200, r#"{"userTableStats":[]}"#)).await;
    let rules = "endpoints:\n  - pathTemplate: /api/v1/UserPageAnalytics\n    allowedMethods: [POST]\n    allowedQueryParams: []\n";
    let proxy = start_proxy(
        settings(
            &source.url(),
            rules,
            &[
                ("SOURCE_AUTH_STRATEGY", ""),
                ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "windsurf_service_key"),
                ("SERVICE_KEY", " test-key\n"),
            ],
        ),
        None,
        None,
    )
    .await;
    let url = format!("{proxy}/api/v1/UserPageAnalytics");
    let post = |body: Option<(&'static str, &'static str)>| {
        let url = url.clone();
        async move {
            let mut req = client().post(&url);
            if let Some((ct, b)) = body {
                req = req.header("content-type", ct).body(b);
            }
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = post(Some((
        "application/json",
        r#"{"group_name":"eng","start_timestamp":"2025-01-01T00:00:00Z"}"#,
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(None).await;
    assert_eq!(status, 200, "{body}");
    let seen = source.requests();
    assert_eq!(
        seen[0].body,
        r#"{"group_name":"eng","start_timestamp":"2025-01-01T00:00:00Z","service_key":"test-key"}"#
    );
    assert_eq!(seen[1].body, r#"{"service_key":"test-key"}"#);
    for r in &seen {
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("authorization"), None);
    }
    let (status, body) = post(Some(("application/json", "[1,2]"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("test-key"), "{body}");
    assert_eq!(source.requests().len(), 2, "refused before the source");
}
