//! API mode: a GitHub-style rules file of our own loads, and allows or blocks requests as
//! its endpoints say.

use std::path::{Path, PathBuf};

use psoxy::api::{ApiRuleSet, Matcher, RejectReason};
use psoxy::rules::api::{ApiRules, EndpointPath};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api/github.yaml")
}

fn github() -> Matcher {
    Matcher::new(ApiRules::from_file(&fixture()).unwrap())
}

#[test]
fn github_rules_load_with_their_transforms_and_schemas() {
    let rules = ApiRules::from_file(&fixture()).unwrap();
    assert_eq!(rules.endpoints.len(), 6);
    assert_eq!(
        rules.allowed_request_headers,
        ["If-None-Match", "X-GitHub-Api-Version"]
    );
    assert_eq!(
        rules.definitions.keys().collect::<Vec<_>>(),
        ["simpleUser", "gitActor"]
    );
    let members = &rules.endpoints[0];
    assert_eq!(members.transforms[0].method, "pseudonymize");
    assert_eq!(
        members.transforms[0].params,
        serde_yaml::from_str::<serde_yaml::Value>("{includeReversible: true}").unwrap()
    );
    let commits = &rules.endpoints[2];
    let methods: Vec<&str> = commits
        .transforms
        .iter()
        .map(|t| t.method.as_str())
        .collect();
    assert_eq!(methods, ["pseudonymize", "redact", "textDigest"]);
    let compiled = ApiRuleSet::from_file(&fixture()).unwrap();
    assert_eq!(compiled.plans[2].methods(), methods);
    assert_eq!(commits.transforms[0].json_paths.len(), 4);
    assert!(commits.response_schema.is_some());
    assert!(rules.endpoints[4].transforms[1].apply_only_when.is_some());
    assert!(matches!(rules.endpoints[5].path, EndpointPath::Regex(_)));
}

#[test]
fn github_requests_table() {
    let m = github();
    // (method, target, the path of the endpoint that allows it, or None when blocked)
    let table: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/orgs/acme/members", Some("/orgs/{org}/members")),
        (
            "get",
            "/ORGS/acme/Members?per_page=100&page=2",
            Some("/orgs/{org}/members"),
        ),
        (
            "GET",
            "/orgs/acme/members?role=admin&filter=all",
            Some("/orgs/{org}/members"),
        ),
        ("GET", "/orgs/acme/members?per_page=101", None),
        ("GET", "/orgs/acme/members?role=owner", None),
        ("GET", "/orgs/acme/members?since=2024-01-01", None),
        ("POST", "/orgs/acme/members", None),
        ("GET", "/orgs/-acme/members", None),
        ("GET", "/orgs/acme/members/alice", None),
        (
            "GET",
            "/orgs/acme/repos?type=sources&sort=pushed",
            Some("/orgs/{org}/repos"),
        ),
        ("GET", "/orgs/acme/repos?visibility=private", None),
        (
            "GET",
            "/repos/acme/widgets/commits?since=2024-01-01T00:00:00Z&per_page=50",
            Some("/repos/{owner}/{repo}/commits"),
        ),
        ("GET", "/repos/acme/widgets/commits?since=yesterday", None),
        (
            "GET",
            "/repos/acme/widgets/commits?author=octocat",
            Some("/repos/{owner}/{repo}/commits"),
        ),
        (
            "GET",
            "/repos/acme/widgets/pulls?state=all",
            Some("/repos/{owner}/{repo}/pulls"),
        ),
        ("GET", "/repos/acme/widgets/pulls?state=merged", None),
        ("DELETE", "/repos/acme/widgets/pulls", None),
        (
            "GET",
            "/repos/acme/widgets/pulls/42",
            None, // `{resource?}` may be empty, but the `/` before it is literal
        ),
        (
            "GET",
            "/repos/acme/widgets/pulls/42/",
            Some("/repos/{owner}/{repo}/pulls/{pull_number}/{resource?}"),
        ),
        (
            "GET",
            "/repos/acme/widgets/pulls/42/reviews?per_page=10",
            Some("/repos/{owner}/{repo}/pulls/{pull_number}/{resource?}"),
        ),
        ("GET", "/repos/acme/widgets/pulls/42/comments", None),
        ("GET", "/repos/acme/widgets/pulls/abc/reviews", None),
        ("GET", "/repos/acme/widgets/issues", None),
        (
            "GET",
            "/users/p~xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzx/events",
            Some(GITHUB_USERS_REGEX),
        ),
        ("GET", "/users/p~xyz/events", None),
        ("GET", "/users/octo.cat/events", None),
        (
            "GET",
            "/users/octocat/orgs?per_page=5",
            Some(GITHUB_USERS_REGEX),
        ),
        ("GET", "/users/octocat/keys", None),
        ("GET", "/users/octocat/GPG_KEYS", None),
        ("GET", "/users/octocat", None),
        ("GET", "/user", None),
        ("GET", "/", None),
    ];
    let mut failures = Vec::new();
    for &(method, target, expected) in table {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let got = m.decide(method, path, query);
        let got_path = got.as_ref().ok().map(|e| e.endpoint.path.as_str());
        if got_path != expected {
            failures.push(format!(
                "{method} {target}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const GITHUB_USERS_REGEX: &str =
    r"^/users/(?<username>[^/?]+)/(?!keys|gpg_keys|ssh_signing_keys)[a-z_]+(\?.*)?$";

#[test]
fn reversible_parameters_are_flagged() {
    let m = github();
    let hit = m
        .decide(
            "GET",
            "/repos/acme/widgets/commits",
            Some("author=p~abcabcabcabcabcabcabcabcabcabcabcabcabcabca&per_page=5"),
        )
        .unwrap();
    let author = &hit.query_params[0];
    assert_eq!(
        (author.name.as_str(), author.value.as_str()),
        ("author", "p~abcabcabcabcabcabcabcabcabcabcabcabcabcabca")
    );
    assert!(author.reversible);
    assert!(!hit.query_params[1].reversible);
    let user = m.decide("GET", "/users/octocat/events", None).unwrap();
    assert_eq!(user.path_params[0].name, "username");
    assert!(user.path_params[0].reversible);
}

#[test]
fn blocked_requests_say_why() {
    let m = github();
    let b = m
        .decide("GET", "/orgs/acme/members", Some("role=owner"))
        .unwrap_err();
    assert_eq!(b.rejections.len(), 1);
    assert!(matches!(
        &b.rejections[0].reason,
        RejectReason::InvalidQueryParam { name, .. } if name == "role"
    ));
    assert!(b.to_string().contains("query parameter `role`"), "{b}");
    assert!(!b.to_string().contains("owner"), "{b}");
    let none = m.decide("GET", "/gists", None).unwrap_err();
    assert!(none.rejections.is_empty());
}

#[test]
fn a_broken_copy_of_the_rules_names_the_problem() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let broken = text.replace("'$[*].commit.message'", "'$[*].commit.message['");
    let e = ApiRules::from_yaml(&broken).unwrap_err().to_string();
    assert!(
        e.contains("endpoints[2] (/repos/{owner}/{repo}/commits).transforms[2]")
            && e.contains("$[*].commit.message["),
        "{e}"
    );
    let typo = text.replace("allowedQueryParams: [state", "allowedQueryParam: [state");
    let e = ApiRules::from_yaml(&typo).unwrap_err().to_string();
    assert!(
        e.contains("endpoints[3]") && e.contains("allowedQueryParam"),
        "{e}"
    );
}
