//! Secrets hygiene: with a recognisable salt and encryption key (canaries), neither the CLI,
//! the storage-triggered function nor the webhook collector lets a secret (raw, or in an obvious encoding: base64,
//! base64url, hex) reach a log line, an error message, an output file or object, a file
//! written beside the output, or the output object's metadata, on success and on failure, with
//! logging at its most verbose (`RUST_LOG=trace`).
//!
//! The function runs in-process under a TRACE-level subscriber that captures every log line
//! (the function's, the AWS SDK's, the test S3 server's) into a buffer; a control checks the
//! capture did record the function's log lines, so the test can fail.
#![cfg(feature = "aws")]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use common::{files_below, gunzip, psoxy, repo, run};
use function::{event, get, keys, put};
use psoxy::bulk::lambda::Function;
use psoxy::storage::S3Store;

/// The canary salt and key; their random tails are searched for on their own too.
const SALT: &str = "SALT-CANARY-7f3a9e2c41d8b6e0";
const KEY: &str = "KEY-CANARY-b19e4d7a03c5f2a8";
const SALT_TAIL: &str = "7f3a9e2c41d8b6e0";
const KEY_TAIL: &str = "b19e4d7a03c5f2a8";

/// Rules that use both secrets: hashes (salt) and reversible `p~` tokens (key).
const RECORD_RULES: &str = "format: AUTO\ntransforms:\n  - pseudonymize: [\"$.organizer.email\", \"$.attendees[*].email\"]\n  - tokenize: \"$.id\"\n  - redact: \"$..displayName\"\n";
const COLUMNAR_RULES: &str =
    "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL]\ncolumnsToRedact: [JOB_TITLE]\n";

/// Every form of the secrets that must not appear.
fn needles() -> &'static Vec<(String, String)> {
    static N: OnceLock<Vec<(String, String)>> = OnceLock::new();
    N.get_or_init(|| {
        let mut n = Vec::new();
        for (name, secret) in [("salt", SALT), ("key", KEY)] {
            let b = secret.as_bytes();
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let engines = [
                (
                    "base64",
                    base64::engine::general_purpose::STANDARD.encode(b),
                ),
                (
                    "base64 (no padding)",
                    base64::engine::general_purpose::STANDARD_NO_PAD.encode(b),
                ),
                (
                    "base64url",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
                ),
                ("hex", hex.clone()),
                ("HEX", hex.to_uppercase()),
            ];
            n.push((format!("the {name}"), secret.to_string()));
            n.push((format!("the {name} (lower case)"), secret.to_lowercase()));
            for (enc, text) in engines {
                n.push((format!("the {name} as {enc}"), text));
            }
        }
        n.push(("the salt's random part".into(), SALT_TAIL.into()));
        n.push(("the key's random part".into(), KEY_TAIL.into()));
        n
    })
}

/// Which secret forms occur in `bytes` (also looked for inside gzip, and case-insensitively
/// for the random parts).
fn secrets_in(bytes: &[u8]) -> Vec<String> {
    let mut texts = vec![String::from_utf8_lossy(bytes).into_owned()];
    if bytes.starts_with(&[0x1f, 0x8b]) {
        texts.push(String::from_utf8_lossy(&gunzip(bytes)).into_owned());
    }
    let mut found = Vec::new();
    for text in &texts {
        let lower = text.to_lowercase();
        for (what, needle) in needles() {
            if text.contains(needle.as_str()) || lower.contains(&needle.to_lowercase()) {
                found.push(what.clone());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Fails when `bytes` holds a secret, naming what and where.
fn assert_clean(place: &str, bytes: &[u8]) {
    let found = secrets_in(bytes);
    assert!(
        found.is_empty(),
        "{place} reveals {}:\n{}",
        found.join(", "),
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn the_detector_finds_every_form() {
    // The control of the checks below: each form is found, and innocent text is not.
    for (what, needle) in needles() {
        assert!(
            !secrets_in(format!("x {needle} y").as_bytes()).is_empty(),
            "{what}"
        );
    }
    let gz = common::gzip(format!("log: {SALT}").as_bytes());
    assert_eq!(
        secrets_in(&gz),
        [
            "the salt",
            "the salt (lower case)",
            "the salt's random part"
        ]
    );
    assert!(secrets_in(b"salt-canary key-canary 7f3a9e2c").is_empty());
}

/// A CLI command with the secrets in the environment (the flags carry them when `flags`) and
/// logging at TRACE.
fn cli(flags: bool) -> std::process::Command {
    let mut c = psoxy();
    c.env("RUST_LOG", "trace");
    if flags {
        c.env_remove("PSOXY_SALT")
            .env_remove("PSOXY_ENCRYPTION_KEY");
    } else {
        c.env("PSOXY_SALT", SALT).env("PSOXY_ENCRYPTION_KEY", KEY);
    }
    c
}

/// Runs `cmd`, checks its stdout, stderr and every file below `out` (if given) and returns
/// whether it succeeded and its stderr.
fn run_clean(label: &str, cmd: &mut std::process::Command, out: Option<&Path>) -> (bool, String) {
    let o = run(cmd);
    assert_clean(&format!("{label}: stdout"), &o.stdout);
    assert_clean(&format!("{label}: stderr"), &o.stderr);
    if let Some(out) = out {
        for f in files_below(out) {
            assert_clean(
                &format!("{label}: file {f}"),
                &std::fs::read(out.join(&f)).unwrap(),
            );
        }
    }
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_cli_never_shows_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let records = write("records.yaml", RECORD_RULES.as_bytes());
    let columnar = write("columnar.yaml", COLUMNAR_RULES.as_bytes());
    let bad_rules = write("bad.yaml", b"columnsToPseudonymise: [EMPLOYEE_ID]\n");
    let broken_yaml = write("broken.yaml", b"transforms: [\n  - pseudonymize: {\n");
    let short_row = write(
        "short.csv",
        b"EMPLOYEE_ID,EMPLOYEE_EMAIL,JOB_TITLE\nE1,a@x.com\n",
    );
    let bad_json = write("bad.ndjson", b"{\"id\":\"e1\"}\n{\"id\": tru\n");
    let events = repo("sample-data/events.ndjson");
    let hris = repo("sample-data/hris.csv");
    let secret_flags = ["--salt", SALT, "--encryption-key", KEY];

    // Successful runs: secrets as flags and from the environment; file, gzip and stdout output;
    // email domains encrypted with the key.
    for (i, flags) in [true, false].into_iter().enumerate() {
        let out = d.join(format!("ok{i}"));
        let mut c = cli(flags);
        c.args(["sanitize", "--rules"]).arg(&records).arg("-o");
        c.arg(out.join("events.ndjson")).arg(&events);
        if flags {
            c.args(secret_flags);
        }
        let (ok, err) = run_clean("sanitize events", &mut c, Some(&out));
        assert!(ok, "{err}");
        let mut c = cli(flags);
        c.args([
            "sanitize",
            "--gzip",
            "--email-domain-handling",
            "ENCRYPT",
            "--rules",
        ]);
        c.arg(&columnar)
            .arg("-o")
            .arg(out.join("hris.csv.gz"))
            .arg(&hris);
        if flags {
            c.args(secret_flags);
        }
        let (ok, err) = run_clean("sanitize hris (gzip, ENCRYPT)", &mut c, Some(&out));
        assert!(ok, "{err}");
        assert_eq!(files_below(&out), ["events.ndjson", "hris.csv.gz"]);
        let mut c = cli(flags);
        c.args(["sanitize", "--rules"]).arg(&records).arg(&events);
        if flags {
            c.args(secret_flags);
        }
        let (ok, err) = run_clean("sanitize to stdout", &mut c, None);
        assert!(ok, "{err}");
    }

    // Failures: bad input, bad rules, broken YAML, no rules, bad flag values.
    let failing: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        (
            "short row",
            vec![
                "--rules".into(),
                columnar.clone().into(),
                short_row.clone().into(),
            ],
        ),
        (
            "bad JSON",
            vec![
                "--rules".into(),
                records.clone().into(),
                bad_json.clone().into(),
            ],
        ),
        (
            "unknown rules key",
            vec![
                "--rules".into(),
                bad_rules.clone().into(),
                hris.clone().into(),
            ],
        ),
        (
            "broken YAML",
            vec![
                "--rules".into(),
                broken_yaml.clone().into(),
                hris.clone().into(),
            ],
        ),
        ("no rules", vec![hris.clone().into()]),
        (
            "missing input",
            vec![
                "--rules".into(),
                columnar.clone().into(),
                d.join("nope.csv").into(),
            ],
        ),
        (
            "bad flag value",
            vec![
                "--email-domain-handling".into(),
                "SIDEWAYS".into(),
                "--rules".into(),
                columnar.clone().into(),
                hris.clone().into(),
            ],
        ),
        (
            "bad thread count",
            vec!["--threads".into(), "many".into(), hris.clone().into()],
        ),
        (
            "unknown flag",
            vec!["--pepper".into(), "x".into(), hris.clone().into()],
        ),
    ];
    for flags in [true, false] {
        for (label, args) in &failing {
            let out = d.join("fail");
            let mut c = cli(flags);
            c.arg("sanitize")
                .args(args)
                .arg("-o")
                .arg(out.join("x.csv"));
            if flags {
                c.args(secret_flags);
            }
            let (ok, err) = run_clean(label, &mut c, Some(&out));
            assert!(!ok, "{label} should fail");
            assert!(!err.is_empty(), "{label}: no message");
            assert_eq!(files_below(&out), Vec::<String>::new(), "{label}");
        }
    }

    // Help, version and check, with the secrets in the environment.
    for args in [
        vec!["--help"],
        vec!["sanitize", "--help"],
        vec!["sanitize", "-h"],
        vec!["watch", "--help"],
        vec!["check", "--help"],
        vec!["--version"],
    ] {
        let (ok, _) = run_clean(&args.join(" "), cli(false).args(&args), None);
        assert!(ok, "{args:?}");
    }
    let mut c = cli(false);
    c.args(["check", "--rules"]).arg(&records).arg(&events);
    assert!(run_clean("check", &mut c, None).0);
    let mut c = cli(false);
    c.args(["check", "--rules"]).arg(&bad_rules).arg(&hris);
    assert!(!run_clean("check bad rules", &mut c, None).0);

    // watch: success and failure, salt as a flag and from the environment.
    for (i, flags) in [true, false].into_iter().enumerate() {
        let input = d.join(format!("watch-in{i}"));
        let out = d.join(format!("watch-out{i}"));
        std::fs::create_dir_all(&input).unwrap();
        std::fs::copy(&events, input.join("events.ndjson")).unwrap();
        let mut c = cli(flags);
        c.args(["watch", "--once", "--rules"]).arg(&records);
        c.arg("--input").arg(&input).arg("--output").arg(&out);
        if flags {
            c.args(["--salt", SALT]).env("PSOXY_ENCRYPTION_KEY", KEY);
        }
        let (ok, err) = run_clean("watch", &mut c, Some(&out));
        assert!(ok, "{err}");
        assert_eq!(files_below(&out), ["events.ndjson"]);
        std::fs::write(input.join("bad.ndjson"), b"{\"id\":\"e1\"}\n[1]\n").unwrap();
        let (ok, err) = run_clean("watch, bad input", &mut c, Some(&out));
        assert!(!ok && err.contains("bad.ndjson"), "{err}");
        let mut c = cli(flags);
        c.args(["watch", "--once", "--rules"]).arg(&bad_rules);
        c.arg("--input").arg(&input).arg("--output").arg(&out);
        if flags {
            c.args(["--salt", SALT]);
        }
        assert!(!run_clean("watch, bad rules", &mut c, Some(&out)).0);
    }
}

/// Everything the tracing subscriber wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs (once) a global TRACE subscriber writing JSON lines, with span fields, to the
/// returned buffer. `log` records (of crates that use `log`) are captured too.
fn capture() -> &'static Capture {
    static C: OnceLock<Capture> = OnceLock::new();
    C.get_or_init(|| {
        let c = Capture::default();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(c.clone())
            .try_init()
            .expect("install the capturing subscriber");
        c
    })
}

fn captured() -> Vec<u8> {
    capture().0.lock().unwrap().clone()
}

/// Settings with the canaries and `rules`, plus `extra`.
fn settings<'a>(rules: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut s = vec![
        ("PSOXY_SALT", SALT),
        ("PSOXY_ENCRYPTION_KEY", KEY),
        ("RULES", rules),
        ("OUTPUT_BUCKET", "output"),
        ("PSOXY_INSTANCE_ID", "hygiene"),
    ];
    s.extend_from_slice(extra);
    s
}

/// The function's processor for `pairs`, or the setup error.
async fn processor(pairs: &[(&str, &str)]) -> Result<psoxy::bulk::BulkProcessor, String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Function::processor(&|k| map.get(k).cloned(), None, 2)
        .await
        .map_err(|e| {
            let debug = format!("{e:?}");
            assert_clean("setup error (Debug)", debug.as_bytes());
            e.to_string()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_never_shows_the_secrets() {
    capture();
    let s3 = s3_server::start();
    for bucket in ["input", "output"] {
        s3.create_bucket(bucket).await;
    }
    let events = std::fs::read(repo("sample-data/events.ndjson")).unwrap();
    let hris = std::fs::read(repo("sample-data/hris.csv")).unwrap();
    let store = || {
        S3Store::new(
            s3_server::client_for(&s3.endpoint),
            tokio::runtime::Handle::current(),
        )
    };

    // Success: record rules (hashes and p~ tokens) and columnar rules with encrypted domains.
    for (rules, extra, key, body) in [
        (RECORD_RULES, vec![], "ok/events.ndjson", events.clone()),
        (
            COLUMNAR_RULES,
            vec![("EMAIL_DOMAIN_HANDLING", "ENCRYPT")],
            "ok/hris.csv",
            hris.clone(),
        ),
    ] {
        let p = processor(&settings(rules, &extra)).await.unwrap();
        assert_clean("settings (Debug)", format!("{:?}", p.settings()).as_bytes());
        let f = Function::new(p, store());
        put(&s3, "input", key, body, None, None, &[("note", "upload")]).await;
        let report = f
            .handle(event(&[("input", key)]))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_clean("report", serde_json::to_string(&report).unwrap().as_bytes());
        assert_clean("report (Debug)", format!("{report:?}").as_bytes());
        let (body, head) = get(&s3, "output", key).await.expect("output object");
        assert_eq!(head.content_encoding.as_deref(), Some("gzip"));
        assert!(head.metadata.contains_key("psoxy-salt-sha"), "{head:?}");
        assert_clean("output object", &body);
        assert_clean("output metadata", format!("{head:?}").as_bytes());
        for (k, v) in &head.metadata {
            assert_clean("output metadata", format!("{k}: {v}").as_bytes());
        }
    }

    // Failures while processing: a short row, a non-object record, a missing object.
    let f = Function::new(
        processor(&settings(COLUMNAR_RULES, &[])).await.unwrap(),
        store(),
    );
    put(
        &s3,
        "input",
        "bad/short.csv",
        b"EMPLOYEE_ID,EMPLOYEE_EMAIL,JOB_TITLE\nE1,a@x.com\n".to_vec(),
        None,
        None,
        &[],
    )
    .await;
    let err = f
        .handle(event(&[
            ("input", "bad/short.csv"),
            ("input", "bad/missing.csv"),
        ]))
        .await
        .expect_err("bad input fails");
    assert_clean("invocation error", err.to_string().as_bytes());
    assert_clean("invocation error (Debug)", format!("{err:?}").as_bytes());
    let diagnostic = lambda_runtime::Diagnostic::from(&err);
    assert_clean(
        "Lambda error",
        format!("{} {}", diagnostic.error_type, diagnostic.error_message).as_bytes(),
    );
    assert!(err.to_string().contains("bad/short.csv"), "{err}");
    let f = Function::new(
        processor(&settings(RECORD_RULES, &[])).await.unwrap(),
        store(),
    );
    put(
        &s3,
        "input",
        "bad/records.ndjson",
        b"{\"id\":\"e1\"}\n[\"x\"]\n".to_vec(),
        None,
        None,
        &[],
    )
    .await;
    let err = f
        .handle(event(&[("input", "bad/records.ndjson")]))
        .await
        .expect_err("non-object record fails");
    assert_clean("invocation error", format!("{err} {err:?}").as_bytes());
    assert_eq!(
        keys(&s3, "output").await,
        ["ok/events.ndjson", "ok/hris.csv"],
        "failed objects left output behind"
    );

    // Settings errors: missing settings, bad rules, invalid values (one of them a secret given
    // to the wrong setting), ENCRYPT without a key.
    let bad: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no rules",
            vec![
                ("PSOXY_SALT", SALT),
                ("PSOXY_ENCRYPTION_KEY", KEY),
                ("OUTPUT_BUCKET", "output"),
            ],
        ),
        (
            "no salt",
            vec![
                ("PSOXY_ENCRYPTION_KEY", KEY),
                ("RULES", COLUMNAR_RULES),
                ("OUTPUT_BUCKET", "output"),
            ],
        ),
        (
            "unknown rules key",
            settings("columnsToPseudonymise: [A]\n", &[]),
        ),
        ("broken rules", settings("transforms: [\n", &[])),
        (
            "salt in the wrong setting",
            settings(COLUMNAR_RULES, &[("EMAIL_DOMAIN_HANDLING", SALT)]),
        ),
        (
            "key in the wrong setting",
            settings(COLUMNAR_RULES, &[("BULK_OUTPUT_FORMAT", KEY)]),
        ),
        (
            "key as a flag value",
            settings(COLUMNAR_RULES, &[("COMPRESS_OUTPUT_ALWAYS", KEY)]),
        ),
        ("salt as rules", settings(SALT, &[])),
        (
            "salt as additional transforms",
            settings(COLUMNAR_RULES, &[("ADDITIONAL_TRANSFORMS", SALT)]),
        ),
        (
            "ENCRYPT without a key",
            vec![
                ("PSOXY_SALT", SALT),
                ("RULES", COLUMNAR_RULES),
                ("OUTPUT_BUCKET", "output"),
                ("EMAIL_DOMAIN_HANDLING", "ENCRYPT"),
            ],
        ),
    ];
    for (label, pairs) in &bad {
        let message = match processor(pairs).await {
            Ok(_) => panic!("{label}: settings accepted"),
            Err(m) => m,
        };
        assert_clean(&format!("{label}: setup error"), message.as_bytes());
    }

    // The capture: it recorded the function's lines (the control) and no secret.
    let logs = captured();
    let text = String::from_utf8_lossy(&logs);
    assert!(
        text.contains("\"message\":\"sanitized\"")
            && text.contains("\"message\":\"object failed\""),
        "the capture recorded nothing of the function: {} bytes",
        logs.len()
    );
    assert!(
        text.contains("TRACE"),
        "nothing at TRACE level was captured"
    );
    assert_clean("captured logs", &logs);
}

/// The webhook collector, in-process under the TRACE capture: valid and refused webhooks (a
/// forged token, a claim mismatch, invalid JSON, an oversized body) leave neither secret nor
/// payload value nor token in a log line, an answer or the queue, and the queued message holds
/// the payload's values only as pseudonyms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_collector_never_shows_the_secrets_or_the_payload() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use psoxy::api::wire::ProxyRequest;
    use psoxy::webhook::queue::{waiting_messages, Queue};
    use psoxy::webhook::{webhook_settings, Collector, WebhookSettings};
    capture();
    const PAYLOAD_CANARY: &str = "payload-canary-4e1d@acme.example";
    let fixture =
        |name: &str| std::fs::read_to_string(common::fixture(&format!("webhook/{name}"))).unwrap();
    let rules = "endpoints:\n  - jwtClaimsToVerify: {sub: {payloadContents: ['$.actor.id']}}\n    transforms:\n      - !<pseudonymize> {jsonPaths: ['$.actor.email']}\n      - !<tokenize> {jsonPaths: ['$.ticket']}\n";
    let keys = format!("base64:{}", fixture("issuer-a.spki.b64"));
    let pairs = [
        ("PSOXY_SALT", SALT),
        ("PSOXY_ENCRYPTION_KEY", KEY),
        ("RULES", rules),
        ("ACCEPTED_AUTH_KEYS", keys.as_str()),
    ];
    let settings = WebhookSettings::from_settings(
        &psoxy::settings::Settings::from_sources(
            &webhook_settings(),
            &psoxy::settings::Flags::new(),
            &|n| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            },
        ),
        None,
    )
    .unwrap();
    let queue = tempfile::tempdir().unwrap();
    let collector = Collector::new(settings, Queue::Folder(queue.path().into())).unwrap();
    let now = chrono::Utc::now().timestamp();
    let sign = |key: &str, sub: &str| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &serde_json::json!({"sub": sub, "iat": now, "exp": now + 600}),
            &EncodingKey::from_rsa_pem(fixture(key).as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let good = sign("issuer-a.pem", "u-1");
    let body = serde_json::json!({"actor": {"id": "u-1", "email": PAYLOAD_CANARY}, "ticket": PAYLOAD_CANARY}).to_string();
    let post = |token: &str, body: &str| ProxyRequest {
        method: "POST".into(),
        path: "/".into(),
        query: None,
        headers: vec![("authorization".into(), format!("Bearer {token}"))],
        body: body.as_bytes().to_vec().into(),
        client_ip: Some("127.0.0.1".into()),
    };
    let cases = [
        ("valid", post(&good, &body), 200),
        ("forged", post(&sign("stranger.pem", "u-1"), &body), 401),
        (
            "claim mismatch",
            post(&sign("issuer-a.pem", "u-2"), &body),
            401,
        ),
        (
            "invalid JSON",
            post(&good, &format!("{{\"actor\": \"{PAYLOAD_CANARY}\"")),
            400,
        ),
        (
            "oversized",
            post(
                &good,
                &format!("{{\"pad\": \"{}{PAYLOAD_CANARY}\"}}", "x".repeat(300_000)),
            ),
            413,
        ),
    ];
    for (label, request, status) in cases {
        let answer = collector.handle(request).await;
        assert_eq!(answer.status, status, "{label}");
        assert_clean(&format!("webhook {label}: answer"), &answer.body);
        assert!(
            !String::from_utf8_lossy(&answer.body).contains(PAYLOAD_CANARY),
            "{label}"
        );
    }
    let files = waiting_messages(queue.path()).unwrap();
    assert_eq!(files.len(), 1);
    let message = std::fs::read(&files[0]).unwrap();
    assert_clean("webhook: queued message", &message);
    let text = String::from_utf8_lossy(&message);
    assert!(
        !text.contains(PAYLOAD_CANARY) && text.contains("t~") && text.contains("p~"),
        "{text}"
    );
    let logs = captured();
    let logged = String::from_utf8_lossy(&logs);
    assert!(
        logged.contains("\"message\":\"webhook\""),
        "the capture recorded nothing of the collector"
    );
    assert!(
        !logged.contains(PAYLOAD_CANARY),
        "a payload value reached the log"
    );
    assert!(
        !logged.contains(good.split('.').nth(2).unwrap()),
        "a token reached the log"
    );
    assert_clean("captured logs (webhook)", &logs);
}
