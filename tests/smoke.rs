//! `psoxy smoke` against the in-process S3 server with the bulk function running behind it:
//! each upload to the input bucket invokes the function, as S3's event notifications do.
#![cfg(feature = "aws")]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::process::{Command, Output};
use std::sync::Arc;

use common::{psoxy, repo, run, stderr, stdout};
use function::{event, function};

const SALT: &str = "smoke-test-salt";

/// `psoxy smoke` with only the settings that reach `s3`, and no salt from the environment.
fn smoke(s3: &s3_server::TestS3, nowhere: &std::path::Path) -> Command {
    let mut cmd = psoxy();
    cmd.arg("smoke").env_remove("PSOXY_SALT");
    s3.aim(&mut cmd, nowhere);
    cmd
}

async fn run_blocking(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

async fn keys(s3: &s3_server::TestS3, bucket: &str) -> Vec<String> {
    let listed = s3
        .client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_passes_a_faithful_deployment_and_names_what_differs() {
    let (tx, mut uploads) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let notify: s3_server::Notify = Arc::new(move |bucket, key, _| {
        let _ = tx.send((bucket, key));
    });
    let s3 = s3_server::start_notifying(notify);
    for bucket in ["input", "output"] {
        s3.create_bucket(bucket).await;
    }
    let rules = std::fs::read_to_string(repo("transforms/hris.yaml")).unwrap();
    let f = function(
        &s3,
        &[
            ("PSOXY_SALT", SALT),
            ("RULES", &rules),
            ("OUTPUT_BUCKET", "output"),
            ("INPUT_BASE_PATH", "hr/"),
            ("OUTPUT_BASE_PATH", "clean/"),
        ],
    )
    .await;
    // The deployment: every upload to the input bucket invokes the function.
    tokio::spawn(async move {
        while let Some((bucket, key)) = uploads.recv().await {
            if bucket == "input" {
                let _ = f.handle(event(&[(&bucket, &key)])).await;
            }
        }
    });
    let nowhere = tempfile::tempdir().unwrap();
    let hris = repo("transforms/hris.yaml");
    let locations = ["--input", "s3://input/hr", "--output", "s3://output/clean/"];

    // With the deployment's salt: every check, the pseudonyms byte for byte.
    let mut cmd = smoke(&s3, nowhere.path());
    cmd.args(["--salt", SALT, "--rules"])
        .arg(&hris)
        .args(locations);
    let o = run_blocking(cmd).await;
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    for line in [
        "ok   the deployed rules are this rules file",
        "ok   the deployed salt is the given salt (psoxy-salt-sha): pseudonyms join",
        "ok   rows: 20 written, 20 expected",
        "ok   no clear value of the pseudonymized, redacted or dropped columns (EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID",
        "ok   byte-identical to this sample sanitized here with the given salt",
        "smoke test passed",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    assert!(keys(&s3, "input").await.is_empty(), "the sample is deleted");
    assert!(keys(&s3, "output").await.is_empty(), "its copy is deleted");

    // Without the salt: the shape only, and it says what it did not check.
    let mut cmd = smoke(&s3, nowhere.path());
    cmd.arg("--rules").arg(&hris).args(locations).arg("--keep");
    let o = run_blocking(cmd).await;
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(
        out.contains("--   the pseudonyms themselves: not checked"),
        "{out}"
    );
    assert_eq!(keys(&s3, "input").await.len(), 1, "--keep keeps the sample");
    assert_eq!(keys(&s3, "output").await.len(), 1, "and its copy");

    // Another salt, and other rules: failed, naming what differs.
    let mut cmd = smoke(&s3, nowhere.path());
    cmd.args(["--salt", "another-salt", "--rules"])
        .arg(&hris)
        .args(locations);
    let o = run_blocking(cmd).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL the deployed salt is the given salt (psoxy-salt-sha): it is not"),
        "{out}"
    );
    assert!(out.contains("smoke test FAILED"), "{out}");
    // The same rules with a comment: another file than the deployed one.
    let edited = nowhere.path().join("hris-edited.yaml");
    std::fs::write(&edited, format!("# edited\n{rules}")).unwrap();
    let mut cmd = smoke(&s3, nowhere.path());
    cmd.args(["--salt", SALT, "--timeout", "60", "--rules"])
        .arg(&edited)
        .args(locations);
    let o = run_blocking(cmd).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o)
        .contains("FAIL the deployed rules are this rules file (psoxy-rules-sha): they are not"));

    // Nothing comes where it is awaited: failed after the timeout, the sample deleted.
    let mut cmd = smoke(&s3, nowhere.path());
    cmd.args(["--salt", SALT, "--timeout", "2", "--rules"])
        .arg(&hris)
        .args([
            "--input",
            "s3://input/hr",
            "--output",
            "s3://output/elsewhere",
        ]);
    let o = run_blocking(cmd).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL: no sanitized object after 2 s"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        keys(&s3, "input").await.len(),
        1,
        "only the --keep run's sample is left"
    );
}

#[test]
fn record_rules_and_bad_locations_are_explained() {
    let nowhere = tempfile::tempdir().unwrap();
    let s3 = s3_server::start();
    let hris = repo("transforms/hris.yaml");
    let events = repo("transforms/events.yaml");
    let o = run(smoke(&s3, nowhere.path())
        .arg("--rules")
        .arg(&events)
        .args(["--input", "s3://in", "--output", "s3://out"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("columnar rules"), "{}", stderr(&o));
    let o = run(smoke(&s3, nowhere.path())
        .arg("--rules")
        .arg(&hris)
        .args(["--input", "in", "--output", "s3://out"]));
    assert!(
        stderr(&o).contains("--input in: give s3://bucket[/prefix]"),
        "{}",
        stderr(&o)
    );
}
