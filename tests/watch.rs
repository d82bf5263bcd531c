//! `psoxy watch --once`: local folders processed exactly as the bulk function would.
#![cfg(feature = "parquet")]

mod common;

use common::{files_below, fixture, gunzip, psoxy, repo, run, stderr};

#[test]
fn maps_keys_compresses_and_matches_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("drop");
    std::fs::create_dir_all(input.join("import/2024")).unwrap();
    std::fs::copy(
        repo("sample-data/hris.csv"),
        input.join("import/2024/hris.csv"),
    )
    .unwrap();
    let output = dir.path().join("sanitized");
    let o = run(psoxy()
        .args(["watch", "--once", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .env("PSOXY_SALT", "salt")
        .env("INPUT_BASE_PATH", "import/")
        .env("OUTPUT_BASE_PATH", "clean/")
        .env("PSOXY_SHUFFLE_ROWS", "false")
        .env(
            "ADDITIONAL_TRANSFORMS",
            "- destinationBucketName: extra\n  pathWithinBucket: v2/\n  compressOutput: false\n  rules:\n    columnsToPseudonymize: [EMPLOYEE_ID]\n    columnsToInclude: [EMPLOYEE_ID, DEPARTMENT]\n",
        ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_below(&output), ["clean/2024/hris.csv"]);
    let main = gunzip(&std::fs::read(output.join("clean/2024/hris.csv")).unwrap());
    let cli = run(psoxy()
        .args(["sanitize", "-s", "salt", "--no-shuffle", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg(repo("sample-data/hris.csv")));
    assert!(cli.status.success(), "{}", stderr(&cli));
    assert_eq!(
        main, cli.stdout,
        "watch output is byte-identical to the CLI's"
    );
    let extra = std::fs::read_to_string(dir.path().join("extra/v2/2024/hris.csv")).unwrap();
    assert!(extra.starts_with("EMPLOYEE_ID,DEPARTMENT\n"), "{extra}");
    assert_eq!(extra.lines().count(), 301);
}

#[test]
fn bad_input_fails_naming_the_place_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(
        fixture("columnar/short-row-is-error.csv"),
        input.join("bad.csv"),
    )
    .unwrap();
    let output = dir.path().join("out");
    let o = run(psoxy()
        .args(["watch", "--once", "-s", "salt", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .env("RULES", "columnsToPseudonymize: [A]\n"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("input/bad.csv: line 2: row 2 has 2 fields, header has 3"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files_below(&output), Vec::<String>::new());
}

#[test]
fn missing_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(psoxy()
        .args(["watch", "--once", "--input"])
        .arg(dir.path())
        .arg("--output")
        .arg(dir.path().join("o"))
        .env("RULES", "columnsToRedact: [X]"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("PSOXY_SALT"), "{}", stderr(&o));
}

/// A stored Parquet object is read in place, by ranged reads: with no usable temporary
/// directory (where a stream would be spooled) it is still sanitized, exactly as the CLI
/// sanitizes the file.
#[test]
fn parquet_is_read_in_place_without_a_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("drop");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(repo("sample-data/hris.parquet"), input.join("hris.parquet")).unwrap();
    let output = dir.path().join("sanitized");
    let o = run(psoxy()
        .args(["watch", "--once", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .env("PSOXY_SALT", "salt")
        .env("PSOXY_SHUFFLE_ROWS", "false")
        .env("TMPDIR", dir.path().join("no such directory")));
    assert!(o.status.success(), "{}", stderr(&o));
    let cli_out = dir.path().join("cli.parquet");
    let cli = run(psoxy()
        .args(["sanitize", "-s", "salt", "--no-shuffle", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("-o")
        .arg(&cli_out)
        .arg(repo("sample-data/hris.parquet")));
    assert!(cli.status.success(), "{}", stderr(&cli));
    assert_eq!(
        std::fs::read(output.join("hris.parquet")).unwrap(),
        std::fs::read(&cli_out).unwrap(),
        "read in place, the output is the CLI's"
    );
    // The same object as a stream would need the temporary directory: the check above is
    // not vacuous.
    let spooled = run(psoxy()
        .args(["sanitize", "-s", "salt", "--no-shuffle", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("-o")
        .arg(dir.path().join("spooled.parquet"))
        .arg(repo("sample-data/hris.parquet"))
        .env("TMPDIR", dir.path().join("no such directory")));
    assert!(!spooled.status.success());
    assert!(
        stderr(&spooled).contains("temporary file"),
        "{}",
        stderr(&spooled)
    );
}
