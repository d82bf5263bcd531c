//! The connector rule files in `transforms/api/` against their example responses: every case
//! of `tests/fixtures/api/<connector>/cases.yaml` is allowed or blocked as listed, and each
//! allowed response sanitizes to the checked-in `*.expected.json`, with none of its `absent`
//! strings (the PII of the example) left and all of its `present` strings kept.
//!
//! Every rule file `transforms/api/<connector>.yaml` must have its fixture directory.
//!
//! `PSOXY_BLESS=1 cargo test --test api_connectors` rewrites the expected files (review the
//! diff before committing it); `PSOXY_CONNECTORS=zoom,slack` checks only those connectors.

mod common;

use std::path::Path;

use psoxy::api::{ApiRuleSet, Matcher};
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use serde::Deserialize;
use serde_json::Value;

/// Salt and key of the expected outputs (as in the conformance vectors).
pub const SALT: &str = "salt";
/// Encryption key of the expected outputs.
pub const KEY: &str = "secret";

/// The connectors: one per rule file in `transforms/api/`, sorted.
fn connectors() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::repo("transforms/api"))
        .expect("transforms/api")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".yaml")?.to_owned())
        })
        .collect();
    names.sort();
    names
}

/// The connectors `PSOXY_CONNECTORS` (comma-separated) selects; all when unset.
fn selected_connectors() -> Vec<String> {
    let all = connectors();
    match std::env::var("PSOXY_CONNECTORS") {
        Ok(only) if !only.trim().is_empty() => {
            let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
            for w in &wanted {
                assert!(
                    all.iter().any(|c| c == w),
                    "no rule file transforms/api/{w}.yaml"
                );
            }
            all.into_iter()
                .filter(|c| wanted.contains(&c.as_str()))
                .collect()
        }
        _ => all,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    rules: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    request: String,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    expected: Option<String>,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    present: Vec<String>,
}

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&PseudonymSettings {
        salt: SALT.into(),
        encryption_key: Some(KEY.into()),
        ..Default::default()
    })
    .expect("pseudonymizer")
}

fn split_request(request: &str) -> (&str, &str, Option<&str>) {
    let (method, target) = request.split_once(' ').expect("`METHOD /path?query`");
    match target.split_once('?') {
        Some((path, query)) => (method, path, Some(query)),
        None => (method, target, None),
    }
}

/// Checks one connector; returns the problems found.
fn check_connector(name: &str, bless: bool) -> Vec<String> {
    let dir = common::fixture(&format!("api/{name}"));
    let cases: Cases = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("cases.yaml")).expect("read cases.yaml"),
    )
    .expect("parse cases.yaml");
    let ApiRuleSet { rules, plans, .. } = ApiRuleSet::from_file(&common::repo(&cases.rules))
        .unwrap_or_else(|e| panic!("{}: {e}", cases.rules));
    let p = pseudonymizer();
    for plan in &plans {
        plan.check_keys(&p).expect("keys");
    }
    let matcher = Matcher::new(rules);
    let mut problems = Vec::new();
    let mut allowed = 0;
    for case in &cases.cases {
        let at = format!("{name}: {}", case.name);
        let (method, path, query) = split_request(&case.request);
        let decision = matcher.decide(method, path, query);
        if case.blocked {
            if let Ok(m) = decision {
                problems.push(format!(
                    "{at}: allowed by endpoints[{}], expected blocked",
                    m.index
                ));
            }
            continue;
        }
        let m = match decision {
            Ok(m) => m,
            Err(b) => {
                problems.push(format!("{at}: {b}"));
                continue;
            }
        };
        allowed += 1;
        let response = case
            .response
            .as_deref()
            .expect("allowed cases have a response");
        let mut doc: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(response)).expect("read response"),
        )
        .expect("response is JSON");
        let original = doc.to_string();
        if let Err(e) = plans[m.index].apply(&mut doc, &p) {
            problems.push(format!("{at}: {e}"));
            continue;
        }
        let out = doc.to_string();
        for s in &case.absent {
            if !original.contains(s.as_str()) {
                problems.push(format!("{at}: absent string `{s}` is not in the response"));
            }
            if out.contains(s.as_str()) {
                problems.push(format!("{at}: `{s}` is still in the sanitized output"));
            }
        }
        for s in &case.present {
            if !out.contains(s.as_str()) {
                problems.push(format!("{at}: `{s}` is missing from the sanitized output"));
            }
        }
        let expected_name = case
            .expected
            .as_deref()
            .expect("allowed cases name their expected output");
        let expected_path = dir.join(expected_name);
        let pretty = serde_json::to_string_pretty(&doc).expect("serialize") + "\n";
        if bless {
            std::fs::write(&expected_path, &pretty).expect("write expected");
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == pretty => {}
            Ok(_) => problems.push(format!(
                "{at}: output differs from {}",
                shown(&expected_path)
            )),
            Err(e) => problems.push(format!("{at}: {}: {e}", shown(&expected_path))),
        }
    }
    if allowed < 3 {
        problems.push(format!("{name}: fewer than 3 allowed cases"));
    }
    problems
}

fn shown(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(p)
        .display()
        .to_string()
}

#[test]
fn connector_rules_sanitize_their_examples() {
    let bless = std::env::var("PSOXY_BLESS").is_ok_and(|v| v == "1");
    let problems: Vec<String> = selected_connectors()
        .iter()
        .flat_map(|c| check_connector(c, bless))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_connector_rule_file_is_covered() {
    let names = connectors();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        let cases = common::fixture(&format!("api/{name}/cases.yaml"));
        assert!(
            cases.is_file(),
            "transforms/api/{name}.yaml has no {}",
            cases.display()
        );
        let text = std::fs::read_to_string(&cases).expect("read cases.yaml");
        assert!(
            text.contains(&format!("rules: transforms/api/{name}.yaml")),
            "{} names another rule file",
            cases.display()
        );
    }
}

#[test]
fn psoxy_check_validates_api_rules_decides_requests_and_previews_responses() {
    let rules = common::repo("transforms/api/github.yaml");
    let out = common::psoxy()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("valid API rules") && text.contains("/orgs/{org}/members"),
        "{text}"
    );

    let out = common::psoxy()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .args([
            "--request",
            "GET /orgs/acme-corp/members?per_page=100&page=1",
        ])
        .arg(common::fixture("api/github/org-members.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("allowed by endpoints[0]"), "{text}");
    assert!(text.contains("\"login\": \"p~"), "{text}");
    assert!(!text.contains("alice-acme"), "{text}");

    let out = common::psoxy()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .args(["--request", "DELETE /orgs/acme-corp/members/x"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BLOCKED (403)"), "{text}");

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "endpoints:\n  - pathTemplate: /x/{id\n").unwrap();
    let out = common::psoxy()
        .arg("check")
        .arg("--rules")
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("endpoints[0]"));
}
