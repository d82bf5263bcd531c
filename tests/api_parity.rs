//! Our compatibility suite for Psoxy's API rule language (SPEC-API-PARITY): rule files and
//! source responses of our own (`fixtures/api/parity/`, written from the spec and the
//! vendors' public API docs), and `cases.yaml`, where each case states the request, whether
//! it reaches the source (and as what), and the answer the caller gets.
//!
//! Each case runs the real proxy (the `psoxy serve` shell) on 127.0.0.1 in front of a local
//! source that answers with the case's response. With the salt `salt` and the key `secret`,
//! `PSOXY_SALT=salt PSOXY_ENCRYPTION_KEY=secret psoxy check --rules <rules> --request
//! "<request>" [--body <file> --content-type <type>] <source response>` reproduces a case by
//! hand (the cases: `tests/fixtures/api/parity/cases.yaml`; docs/rules.md lists the API rules).

mod common;
#[path = "support/http_stub.rs"]
mod http_stub;

use std::collections::BTreeMap;

use http_stub::{Reply, Stub};
use psoxy::api::{ApiHandler, ApiService, ApiSettings};
use serde::Deserialize;
use serde_json::Value;

/// One case of `cases.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What it shows.
    name: String,
    /// The rule file (in `parity/`).
    rules: String,
    /// Settings besides the salt, key, target and rules.
    #[serde(default)]
    settings: BTreeMap<String, String>,
    /// `METHOD /path?query`.
    request: String,
    /// Request headers.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Request body.
    #[serde(default)]
    body: Option<String>,
    /// Whether the request reaches the source.
    allowed: bool,
    /// The status the caller gets.
    status: u16,
    /// `X-Psoxy-Error` of the answer.
    #[serde(default)]
    error: Option<String>,
    /// What the source receives: `METHOD /path?query`.
    #[serde(default)]
    forwarded: Option<String>,
    /// The body the source receives.
    #[serde(default)]
    forwarded_body: Option<String>,
    /// Headers the source receives (name -> value).
    #[serde(default)]
    forwarded_headers: BTreeMap<String, String>,
    /// The source's answer: a file of `parity/responses/` or JSON text.
    #[serde(default)]
    source: Option<String>,
    /// The source's status (default 200).
    #[serde(default)]
    source_status: Option<u16>,
    /// The source's headers.
    #[serde(default)]
    source_headers: BTreeMap<String, String>,
    /// The answer's body: a file of `parity/expected/` or JSON text, compared as compact JSON
    /// (key order included).
    #[serde(default)]
    expect: Option<String>,
    /// Headers the answer must have (name -> value).
    #[serde(default)]
    expect_headers: BTreeMap<String, String>,
}

fn parity(rel: &str) -> std::path::PathBuf {
    common::fixture(&format!("api/parity/{rel}"))
}

/// A file of `dir` when `text` names one, else the text itself.
fn text_or_file(dir: &str, text: &str) -> String {
    let path = parity(&format!("{dir}/{text}"));
    if !text.contains('\n') && path.is_file() {
        std::fs::read_to_string(path).unwrap()
    } else {
        text.to_owned()
    }
}

fn compact(text: &str, what: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    serde_json::to_string(&v).unwrap()
}

async fn run(case: &Case) -> Result<(), String> {
    let source_body = case
        .source
        .as_deref()
        .map(|s| text_or_file("responses", s))
        .unwrap_or_else(|| "{}".into());
    let status = case.source_status.unwrap_or(200);
    let source_headers = case.source_headers.clone();
    let source = Stub::start(move |_| {
        let mut reply = Reply::json(status, source_body.clone());
        for (n, v) in &source_headers {
            reply = reply.with_header(n, v);
        }
        reply
    })
    .await;
    let rules = std::fs::read_to_string(parity(&case.rules)).unwrap();
    let mut settings: BTreeMap<String, String> = [
        ("PSOXY_SALT", "salt"),
        ("PSOXY_ENCRYPTION_KEY", "secret"),
        ("PSOXY_INSTANCE_ID", "parity"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    settings.insert("TARGET_HOST".into(), source.url());
    settings.insert("RULES".into(), rules);
    settings.extend(case.settings.clone());
    if !settings.contains_key("SOURCE_AUTH_STRATEGY_IDENTIFIER") {
        settings
            .entry("SOURCE_AUTH_STRATEGY".into())
            .or_insert_with(|| "none".into());
    }
    let resolved = psoxy::settings::Settings::from_sources(
        &psoxy::api::settings::api_settings(),
        &psoxy::settings::Flags::new(),
        &|n| settings.get(n).cloned(),
    );
    let s = ApiSettings::from_settings(&resolved).map_err(|e| format!("settings: {e}"))?;
    let handler = ApiHandler::new(s, None, None).map_err(|e| format!("handler: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(psoxy::api::server::serve(
        listener,
        ApiService::Ready(handler),
        std::future::pending(),
    ));

    let (method, target) = case.request.split_once(' ').expect("METHOD /target");
    let client = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), format!("{proxy}{target}"));
    for (n, v) in &case.headers {
        req = req.header(n, v);
    }
    if let Some(body) = &case.body {
        req = req.body(body.clone());
    }
    let answer = req.send().await.map_err(|e| format!("proxy: {e}"))?;
    let mut problems = Vec::new();
    if answer.status().as_u16() != case.status {
        problems.push(format!("status {} (want {})", answer.status(), case.status));
    }
    let error = answer
        .headers()
        .get("x-psoxy-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if error != case.error {
        problems.push(format!("X-Psoxy-Error {error:?} (want {:?})", case.error));
    }
    for (name, want) in &case.expect_headers {
        let got = answer
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if got != Some(want.as_str()) {
            problems.push(format!("answer header {name}: {got:?} (want {want:?})"));
        }
    }
    let body = answer.text().await.unwrap_or_default();
    let requests = source.requests();
    match (case.allowed, requests.first()) {
        (false, Some(r)) => problems.push(format!("reached the source: {} {}", r.method, r.uri)),
        (true, None) => problems.push(format!("did not reach the source; answer: {body}")),
        (true, Some(r)) => {
            if let Some(want) = &case.forwarded {
                let got = format!("{} {}", r.method, r.uri);
                if &got != want {
                    problems.push(format!("forwarded {got:?} (want {want:?})"));
                }
            }
            if let Some(want) = &case.forwarded_body {
                if &r.body != want {
                    problems.push(format!("forwarded body {:?} (want {want:?})", r.body));
                }
            }
            for (name, want) in &case.forwarded_headers {
                let got = r.header(&name.to_ascii_lowercase());
                if got != Some(want.as_str()) {
                    problems.push(format!("forwarded header {name}: {got:?} (want {want:?})"));
                }
            }
        }
        (false, None) => {}
    }
    if let Some(expect) = &case.expect {
        let want = compact(&text_or_file("expected", expect), "expect");
        let got = serde_json::from_str::<Value>(&body)
            .map(|v| serde_json::to_string(&v).unwrap())
            .unwrap_or_else(|_| body.clone());
        if got != want {
            problems.push(format!("answer\n  got:  {got}\n  want: {want}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parity_case_holds() {
    let cases: Vec<Case> =
        serde_yaml::from_str(&std::fs::read_to_string(parity("cases.yaml")).unwrap())
            .expect("cases.yaml");
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(problem) = run(case).await {
            failures.push(format!("{}:\n    {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_parity_rule_file_loads_with_its_warnings() {
    for entry in std::fs::read_dir(parity("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") && !path.ends_with("cases.yaml") {
            psoxy::api::ApiRuleSet::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// `psoxy check` reproduces a case by hand: the same decision, and with the deployment's salt
/// and key in the environment, the same sanitized answer.
#[test]
fn psoxy_check_reproduces_the_cases() {
    let cases: Vec<Case> =
        serde_yaml::from_str(&std::fs::read_to_string(parity("cases.yaml")).unwrap()).unwrap();
    let mut checked = 0;
    for case in &cases {
        // Cases about settings, headers or the source's status need the proxy itself.
        let plain = case.settings.is_empty()
            && case
                .headers
                .keys()
                .all(|h| h.eq_ignore_ascii_case("content-type"))
            && case.source_status.is_none()
            && matches!(case.status, 200 | 403);
        if !plain {
            continue;
        }
        let mut cmd = common::psoxy();
        cmd.env("PSOXY_SALT", "salt")
            .env("PSOXY_ENCRYPTION_KEY", "secret")
            .arg("check")
            .arg("--rules")
            .arg(parity(&case.rules))
            .arg("--request")
            .arg(&case.request);
        let dir = tempfile::tempdir().unwrap();
        if let Some(body) = &case.body {
            let file = dir.path().join("body");
            std::fs::write(&file, body).unwrap();
            cmd.arg("--body").arg(&file);
            if let Some(ct) = case.headers.get("Content-Type") {
                cmd.arg("--content-type").arg(ct);
            }
        }
        if let (Some(source), Some(_)) = (&case.source, &case.expect) {
            let file = dir.path().join("source.json");
            std::fs::write(&file, text_or_file("responses", source)).unwrap();
            cmd.arg(&file);
        }
        let out = common::run(&mut cmd);
        let stdout = common::stdout(&out);
        assert!(
            out.status.success(),
            "{}: {}",
            case.name,
            common::stderr(&out)
        );
        let said_blocked = stdout.contains("BLOCKED (403)");
        assert_eq!(said_blocked, !case.allowed, "{}:\n{stdout}", case.name);
        if let (true, Some(_), Some(expect)) = (case.allowed, &case.source, &case.expect) {
            let printed = stdout
                .split_once("sanitized response (")
                .and_then(|(_, rest)| rest.split_once("):\n"))
                .map(|(_, json)| json)
                .unwrap_or_else(|| panic!("{}: no sanitized response:\n{stdout}", case.name));
            assert_eq!(
                compact(printed, &case.name),
                compact(&text_or_file("expected", expect), "expect"),
                "{}",
                case.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} cases reproduced");
}
