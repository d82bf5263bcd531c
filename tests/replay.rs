//! `psoxy replay` against the in-process S3 server: what it lists, filters and reports, and
//! how a failed invocation is reported. (Invoking the real function under cargo-lambda's
//! emulator is in scripts/e2e-lambda.sh.)
#![cfg(feature = "aws")]

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{psoxy, run, stderr, stdout};

/// `psoxy replay` with only the settings that reach `s3`.
fn replay(s3: &s3_server::TestS3, nowhere: &std::path::Path) -> Command {
    let mut cmd = psoxy();
    cmd.arg("replay");
    s3.aim(&mut cmd, nowhere);
    cmd
}

/// Writes `bucket/key` under the server's `root`, last modified `age` ago.
fn object(root: &std::path::Path, bucket: &str, key: &str, age: Duration) {
    let path = root.join(bucket).join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"EMAIL\na@example.com\n").unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn a_dry_run_lists_by_prefix_and_age_and_invokes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let nowhere = tempfile::tempdir().unwrap();
    let day = Duration::from_secs(86_400);
    object(root.path(), "input", "exports/2026/new.csv", day);
    object(
        root.path(),
        "input",
        "exports/2026/deep/Jan 2026/new+1.csv",
        day,
    );
    object(root.path(), "input", "exports/2025/old.csv", 40 * day);
    object(root.path(), "input", "other/new.csv", day);
    let s3 = s3_server::start_in(root.path(), 0);

    let o = run(replay(&s3, nowhere.path())
        .args(["s3://input/exports/", "--dry-run", "--modified-since", "7d"])
        .args(["--function", "psoxy-hris"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let listed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split('\t').next().filter(|_| l.contains('\t')))
        .collect();
    assert_eq!(
        listed,
        [
            "s3://input/exports/2026/deep/Jan 2026/new+1.csv",
            "s3://input/exports/2026/new.csv"
        ],
        "{out}"
    );
    assert!(
        out.contains("dry run: 2 of 3 objects under s3://input/exports/")
            && out.contains("through psoxy-hris; nothing was invoked"),
        "{out}"
    );

    // No age: every object under the prefix; the prefix is a key prefix, not a folder.
    let o = run(replay(&s3, nowhere.path()).args(["s3://input/exports/202", "--dry-run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("dry run: 3 of 3 objects"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn failed_invocations_are_reported_per_object_and_fail_the_run() {
    let root = tempfile::tempdir().unwrap();
    let nowhere = tempfile::tempdir().unwrap();
    object(root.path(), "input", "a.csv", Duration::ZERO);
    object(root.path(), "input", "b.csv", Duration::ZERO);
    let s3 = s3_server::start_in(root.path(), 0);
    // Nothing listens on port 9 of 127.0.0.1: every invocation fails to connect.
    let o = run(replay(&s3, nowhere.path())
        .env("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["s3://input", "--function", "psoxy-hris"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for key in ["a.csv", "b.csv"] {
        assert!(
            err.contains(&format!(
                "failed: s3://input/{key}: invoking psoxy-hris failed"
            )),
            "{err}"
        );
    }
    assert!(
        stdout(&o).contains("replayed 2 objects under s3://input/ through psoxy-hris")
            && stdout(&o).contains("0 sanitized, 0 fanned out, 0 skipped, 2 failed"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn mistakes_are_explained() {
    let nowhere = tempfile::tempdir().unwrap();
    let s3 = s3_server::start();
    for (args, says) in [
        (vec!["s3://input"], "--function"),
        (
            vec!["file:///input", "--dry-run"],
            "s3://bucket[/prefix] or gs://bucket[/prefix]",
        ),
        (
            vec!["s3://input", "--service-url", "http://127.0.0.1:9/"],
            "--service-url is for gs:// buckets",
        ),
        (vec!["gs://input"], "--service-url"),
        (
            vec!["s3://input", "--dry-run", "--modified-since", "last week"],
            "an age (90m, 36h, 7d)",
        ),
        (
            vec!["s3://missing-bucket", "--dry-run"],
            "cannot list s3://missing-bucket/",
        ),
    ] {
        let o = run(replay(&s3, nowhere.path()).args(&args));
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}
