//! The `psoxy` command line end to end: flags, stdin/stdout, directories, gzip, errors, check.

mod common;

use std::io::Write;

use common::{files_below, fixture, gunzip, gzip, parse_csv, psoxy, repo, run, stderr, stdout};

const HRIS: &str = "columnar/hris-default.csv";

#[test]
fn psoxy_style_flags_write_csv_to_stdout() {
    let o = run(psoxy()
        .args([
            "sanitize",
            "-s",
            "salt",
            "-p",
            "EMPLOYEE_ID",
            "-p",
            "EMPLOYEE_EMAIL",
            "-r",
            "SALARY",
            "--no-shuffle",
        ])
        .arg(fixture(HRIS)));
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&o.stdout);
    assert_eq!(
        rows[0],
        [
            "EMPLOYEE_ID",
            "EMPLOYEE_EMAIL",
            "DEPARTMENT",
            "SNAPSHOT",
            "MANAGER_ID",
            "MANAGER_EMAIL",
            "JOIN_DATE"
        ]
    );
    assert_eq!(
        rows[1][0],
        r#"{"hash":"0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc"}"#
    );
    assert_eq!(
        rows[1][1],
        r#"{"domain":"acme.com","hash":"UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk"}"#
    );
    // MANAGER_ID was not named: it passes through in clear.
    assert_eq!(rows[2][4], "1");
}

#[test]
fn salt_from_environment_and_stdin_input() {
    let mut child = psoxy()
        .args([
            "sanitize",
            "-p",
            "EMPLOYEE_ID",
            "--no-shuffle",
            "--pseudonym-format",
            "URL_SAFE_HASH_ONLY",
            "-",
        ])
        .env("PSOXY_SALT", "salt")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"EMPLOYEE_ID,X\n1,a\n2,b\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "EMPLOYEE_ID,X\n0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc,a\n-hN_i1M1DeMAicDVp6LhFgW9lH7r3_LbOpTlXYWpXVI,b\n"
    );
}

#[test]
fn missing_salt_and_missing_rules_are_clear_errors() {
    let o = run(psoxy()
        .args(["sanitize", "-p", "EMPLOYEE_ID"])
        .arg(fixture(HRIS)));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no salt"), "{}", stderr(&o));
    let o = run(psoxy().args(["sanitize", "-s", "x"]).arg(fixture(HRIS)));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no rules"), "{}", stderr(&o));
}

#[test]
fn unknown_rule_key_is_named_with_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(&rules, "columnsToPseudonymise: [EMPLOYEE_ID]\n").unwrap();
    let o = run(psoxy()
        .args(["sanitize", "-s", "x", "--rules"])
        .arg(&rules)
        .arg(fixture(HRIS)));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("columnsToPseudonymise")
            && err.contains("did you mean `columnsToPseudonymize`"),
        "{err}"
    );
}

#[test]
fn a_bad_rule_fails_before_any_input_is_read() {
    // Compile, then run: a regex that does not compile, a template's bad JSONPath and an
    // unknown API transform fail at start, naming the rule, whatever the input (here none:
    // stdin is never read, the file does not exist).
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "fieldsToTransform:\n  GH:\n    transforms:\n      - filter: '('\n",
            "fieldsToTransform.GH.transforms[0]",
        ),
        (
            "fileRules:\n  a.csv:\n    columnsToRedact: [X]\n  b.ndjson:\n    transforms:\n      - redact: '$.a['\n",
            "rules for `b.ndjson`: invalid JSONPath in transforms[0].redact",
        ),
    ];
    for (yaml, named) in cases {
        let rules = dir.path().join("r.yaml");
        std::fs::write(&rules, yaml).unwrap();
        for input in ["-", "does-not-exist.csv"] {
            let o = run(psoxy()
                .args(["sanitize", "-s", "x", "--rules"])
                .arg(&rules)
                .arg(input));
            assert_eq!(o.status.code(), Some(1));
            let err = stderr(&o);
            assert!(
                err.contains(named) && !err.contains("does-not-exist"),
                "{input}: {err}"
            );
        }
    }
    let api = dir.path().join("api.yaml");
    std::fs::write(
        &api,
        "endpoints:\n  - pathTemplate: /x\n    transforms:\n      - !<pseudonymise> {jsonPaths: [$.a]}\n",
    )
    .unwrap();
    let o = run(psoxy()
        .args([
            "serve",
            "--no-caller-auth",
            "--listen",
            "127.0.0.1:0",
            "-s",
            "x",
            "--rules",
        ])
        .arg(&api)
        .args(["--target", "http://127.0.0.1:9"])
        .env("SOURCE_AUTH_STRATEGY", "none"));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("setting RULES: invalid API rules at endpoints[0] (/x).transforms[0]: unknown transform `pseudonymise`"),
        "{err}"
    );
}

/// No credentials by default: a proxy with no strategy named refuses to start, naming the
/// settings, so a Psoxy deployment whose settings were not read cannot forward without
/// credentials.
#[test]
fn serve_without_a_source_auth_strategy_refuses_to_start() {
    let o = run(psoxy()
        .args([
            "serve",
            "--no-caller-auth",
            "--listen",
            "127.0.0.1:0",
            "-s",
            "x",
            "--rules",
        ])
        .arg(common::repo("transforms/api/github.yaml"))
        .args(["--target", "http://127.0.0.1:9"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("SOURCE_AUTH_STRATEGY_IDENTIFIER")
            && err.contains("SOURCE_AUTH_STRATEGY;")
            && err.contains("`none`"),
        "{err}"
    );
}

#[test]
fn gzip_in_by_magic_bytes_and_gzip_out_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hris.csv"); // gzip content under a plain name
    std::fs::write(&input, gzip(&std::fs::read(fixture(HRIS)).unwrap())).unwrap();
    let out = dir.path().join("out.csv.gz");
    let o = run(psoxy()
        .args([
            "sanitize",
            "-s",
            "salt",
            "-p",
            "EMPLOYEE_ID",
            "--no-shuffle",
            "-o",
        ])
        .arg(&out)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&gunzip(&std::fs::read(&out).unwrap()));
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[1][0],
        r#"{"hash":"0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc"}"#
    );
}

#[test]
fn directory_is_mirrored_and_unknown_files_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("2024/06")).unwrap();
    let hris = std::fs::read(fixture(HRIS)).unwrap();
    std::fs::write(input.join("2024/06/hris.csv"), &hris).unwrap();
    std::fs::write(input.join("2024/hris.csv.gz"), gzip(&hris)).unwrap();
    std::fs::write(input.join("notes.txt"), "not data").unwrap();
    let out = dir.path().join("out");
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("-o")
        .arg(&out)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_below(&out), ["2024/06/hris.csv", "2024/hris.csv.gz"]);
    assert!(stderr(&o).contains("skipping notes.txt"), "{}", stderr(&o));
    let plain = parse_csv(&std::fs::read(out.join("2024/06/hris.csv")).unwrap());
    let zipped = parse_csv(&gunzip(
        &std::fs::read(out.join("2024/hris.csv.gz")).unwrap(),
    ));
    assert_eq!(plain.len(), 6);
    assert_eq!(plain[0], zipped[0]);
    let mut a = plain[1..].to_vec();
    let mut b = zipped[1..].to_vec();
    a.sort();
    b.sort();
    assert_eq!(a, b, "same rows whatever the compression");
}

#[test]
fn short_row_deep_in_a_file_names_file_and_line_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.csv");
    let mut text = String::from("EMPLOYEE_ID,EMAIL,TEAM\n");
    for i in 0..20_000 {
        if i == 12_345 {
            text.push_str("oops,only-two\n");
        } else {
            text.push_str(&format!("{i},user{i}@acme.com,t{}\n", i % 7));
        }
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out").join("big.csv");
    let o = run(psoxy()
        .args([
            "sanitize",
            "-s",
            "salt",
            "-p",
            "EMPLOYEE_ID",
            "-p",
            "EMAIL",
            "-o",
        ])
        .arg(&out)
        .arg(&input));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("big.csv") && err.contains("line 12347"),
        "{err}"
    );
    assert!(err.contains("2 fields, header has 3"), "{err}");
    assert_eq!(
        files_below(&dir.path().join("out")),
        Vec::<String>::new(),
        "no output or temp file"
    );
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    std::fs::write(&input, b"ID,NAME\n1,ok\n2,caf\xe9\n").unwrap();
    let out = dir.path().join("out.csv");
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "-p", "ID", "-o"])
        .arg(&out)
        .arg(&input));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("line 3") && err.contains("column `NAME`"),
        "{err}"
    );
    assert!(!err.contains("caf"), "error must not echo data: {err}");
    assert!(!out.exists());
}

#[test]
fn ndjson_with_record_rules() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    std::fs::write(
        &input,
        "{\"id\":1,\"organizer\":{\"email\":\"alice@acme.com\",\"displayName\":\"Alice\"},\"attendees\":[{\"email\":\"bob@acme.com\",\"displayName\":\"Bob\"}],\"summary\":\"Budget review\",\"durationMinutes\":1.50}\n\n{\"id\":2,\"attendees\":[]}\n",
    )
    .unwrap();
    let out = dir.path().join("out.ndjson");
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--rules"])
        .arg(repo("transforms/events.yaml"))
        .arg("-o")
        .arg(&out)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "{\"id\":1,\"organizer\":{\"email\":\"t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com\",\"displayName\":null},\"attendees\":[{\"email\":\"t~-U7WKf4bQgfCSqtg28kpp672BXIc8kZN6Gmtg2iKn14@acme.com\",\"displayName\":null}],\"summary\":\"{\\\"length\\\":13,\\\"word_count\\\":2}\",\"durationMinutes\":1.50}"
    );
    assert_eq!(text.lines().count(), 2, "blank lines are dropped");
}

#[test]
fn invalid_json_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    std::fs::write(&input, "{\"a\":1}\n{\"a\":\n").unwrap();
    let out = dir.path().join("out.ndjson");
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--rules"])
        .arg(repo("transforms/events.yaml"))
        .arg("-o")
        .arg(&out)
        .arg(&input));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("e.ndjson: line 2: invalid JSON"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn shuffle_is_deterministic_across_runs_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hris.csv");
    let mut text = String::from("EMPLOYEE_ID,NAME_SORTED\n");
    for i in 0..3_000 {
        text.push_str(&format!("E{i:05},{i:05}\n"));
    }
    std::fs::write(&input, &text).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "4", "4"] {
        let o = run(psoxy()
            .args([
                "sanitize",
                "-s",
                "salt",
                "-p",
                "EMPLOYEE_ID",
                "--threads",
                threads,
            ])
            .arg(&input));
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(o.stdout);
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "identical bytes for any thread count"
    );
    let rows = parse_csv(&outputs[0]);
    let order: Vec<String> = rows[1..].iter().map(|r| r[1].clone()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_ne!(order, sorted, "rows are shuffled");
    assert_eq!(
        sorted,
        (0..3_000).map(|i| format!("{i:05}")).collect::<Vec<_>>(),
        "no row lost"
    );
    // Shuffling stays within 500-row chunks: row 0..500 of the output come from input rows 0..500.
    assert!(order[..500].iter().all(|v| v.as_str() < "00500"));
}

#[test]
fn check_lists_actions_and_warns_about_clear_identifiers() {
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg(fixture(HRIS)));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("valid ColumnarRules"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("EMPLOYEE_EMAIL") && l.contains("pseudonymized")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("DEPARTMENT") && l.contains("clear")),
        "{out}"
    );
    // A rules file that forgets the email column: loud warning, and --strict fails.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("weak.yaml");
    std::fs::write(&rules, "columnsToPseudonymize: [EMPLOYEE_ID]\n").unwrap();
    let o = run(psoxy()
        .args(["check", "--strict", "--rules"])
        .arg(&rules)
        .arg(fixture(HRIS)));
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("WARNING: column `EMPLOYEE_EMAIL` passes through in clear"),
        "{err}"
    );
    assert!(err.contains("WARNING: column `MANAGER_ID`"), "{err}");
}

/// `psoxy check --rules transforms/RULES sample-data/SAMPLE`, which must pass: its output.
fn check_sample(rules: &str, sample: &str) -> String {
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(repo(&format!("transforms/{rules}")))
        .arg(repo(&format!("sample-data/{sample}"))));
    assert!(o.status.success(), "{rules}: {}", stderr(&o));
    stdout(&o)
}

/// `psoxy check` previews a Parquet sample as it does CSV and NDJSON: a table for columnar
/// rules, records for JSONPath rules.
#[cfg(feature = "parquet")]
#[test]
fn check_previews_parquet_samples() {
    let hris = check_sample("hris.yaml", "hris.parquet");
    assert!(hris.contains("11 columns, 300 rows scanned"), "{hris}");
    assert!(
        hris.contains("EMPLOYEE_EMAIL                   pseudonymized"),
        "{hris}"
    );
    let events = check_sample("events.yaml", "events.parquet");
    assert!(events.contains("200 records scanned"), "{events}");
    assert!(
        events
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["$.attendees[*].email", "pseudonymize", "795"]),
        "{events}"
    );
    // --rows cuts the preview inside a row group (hris.parquet's hold 100 rows,
    // events.parquet's 64).
    for (rules, sample, rows, scanned) in [
        (
            "hris.yaml",
            "hris.parquet",
            "150",
            "11 columns, 150 rows scanned",
        ),
        (
            "events.yaml",
            "events.parquet",
            "100",
            "100 records scanned",
        ),
    ] {
        let o = run(psoxy()
            .args(["check", "--rows", rows, "--rules"])
            .arg(repo(&format!("transforms/{rules}")))
            .arg(repo(&format!("sample-data/{sample}"))));
        assert!(o.status.success(), "{rules}: {}", stderr(&o));
        assert!(stdout(&o).contains(scanned), "{}", stdout(&o));
    }
}

/// `transforms/hris.yaml`, `badge.yaml` and `survey.yaml` mean what Psoxy's default bulk
/// connector rules mean (the columns pseudonymized, nothing redacted, the default pseudonym
/// format); the stricter examples beside them add what their names say.
#[test]
fn default_bulk_rules_mean_psoxys_and_the_strict_ones_add_to_them() {
    let has = |table: &str, column: &str, action: &str| {
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == [column, action])
    };
    let hris = check_sample("hris.yaml", "hris.csv");
    for column in ["EMPLOYEE_ID", "EMPLOYEE_EMAIL", "MANAGER_ID"] {
        assert!(has(&hris, column, "pseudonymized"), "{column}: {hris}");
    }
    let badge = check_sample("badge.yaml", "badge.csv");
    assert!(has(&badge, "EMPLOYEE_ID", "pseudonymized"), "{badge}");
    assert!(has(&badge, "BADGE_ID", "clear"), "{badge}");
    let survey = check_sample("survey.yaml", "survey.csv");
    assert!(has(&survey, "EMPLOYEE_ID", "pseudonymized"), "{survey}");
    assert!(has(&survey, "EMPLOYEE_EMAIL", "pseudonymized"), "{survey}");
    assert!(has(&survey, "COMMENT", "clear"), "{survey}");

    let strict_badge = check_sample("badge-with-badge-id.yaml", "badge.csv");
    assert!(
        has(&strict_badge, "BADGE_ID", "pseudonymized"),
        "{strict_badge}"
    );
    let strict_survey = check_sample("survey-without-comments.yaml", "survey.csv");
    assert!(
        strict_survey
            .lines()
            .any(|l| l.starts_with("  COMMENT") && l.contains("dropped")),
        "{strict_survey}"
    );

    // The pseudonym format: Psoxy's default (JSON) for badge.yaml, URL-safe tokens for the
    // strict file.
    let dir = tempfile::tempdir().unwrap();
    for (rules, prefix) in [
        ("badge.yaml", "{\"hash\":"),
        ("badge-with-badge-id.yaml", "t~"),
    ] {
        let out = dir.path().join(rules).with_extension("csv");
        let o = run(psoxy()
            .args(["sanitize", "--salt", "s", "--rules"])
            .arg(repo(&format!("transforms/{rules}")))
            .arg("-o")
            .arg(&out)
            .arg(repo("sample-data/badge.csv")));
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = parse_csv(&std::fs::read(&out).unwrap());
        assert!(rows[1][0].starts_with(prefix), "{rules}: {:?}", rows[1]);
    }
}

/// A header ending in commas (unnamed columns, as spreadsheet exports write): accepted, the
/// unnamed columns pass through as Psoxy passes them since 0.5.4, and `psoxy check` warns.
#[test]
fn unnamed_columns_from_trailing_commas_pass_through_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hris.csv");
    std::fs::write(
        &input,
        "EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,DEPARTMENT,,\n\
         e1,alice@acme.com,m1,Sales,,\n\
         e2,bob@acme.com,m1,Sales,note,\n",
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    let o = run(psoxy()
        .args(["sanitize", "--salt", "s", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg("-o")
        .arg(&out)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&std::fs::read(&out).unwrap());
    assert_eq!(
        rows[0],
        [
            "EMPLOYEE_ID",
            "EMPLOYEE_EMAIL",
            "MANAGER_ID",
            "DEPARTMENT",
            "",
            ""
        ]
    );
    // Rows may be shuffled: find them by their clear cells.
    assert!(
        rows[1..].iter().any(|r| r[3..] == ["Sales", "note", ""]),
        "{rows:?}"
    );
    assert!(
        rows[1..].iter().any(|r| r[3..] == ["Sales", "", ""]),
        "{rows:?}"
    );
    assert!(
        !rows.concat().iter().any(|c| c.contains("alice")),
        "{rows:?}"
    );

    let o = run(psoxy()
        .args(["check", "--strict", "--rules"])
        .arg(repo("transforms/hris.yaml"))
        .arg(&input));
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let table = stdout(&o);
    assert!(table.contains("(unnamed, column 5)"), "{table}");
    assert!(table.contains("(unnamed, column 6)"), "{table}");
    let err = stderr(&o);
    assert!(
        err.contains("2 unnamed column(s) (column 5, 6; trailing commas?)"),
        "{err}"
    );
    // Rules that include only named columns drop them: no warning then.
    let rules = dir.path().join("include.yaml");
    std::fs::write(
        &rules,
        "columnsToPseudonymize: [EMPLOYEE_ID]\ncolumnsToInclude: [EMPLOYEE_ID, DEPARTMENT]\n",
    )
    .unwrap();
    let o = run(psoxy()
        .args(["check", "--strict", "--rules"])
        .arg(&rules)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.contains("(unnamed, column 5)") && l.contains("dropped")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_accepts_a_column_named_by_two_rules() {
    // Pseudonymized and renamed, or a duplicate's copy pseudonymized: valid rules (sanitize
    // applies them), so check must not call them two output columns of one name.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        &rules,
        "columnsToPseudonymize: [EMPLOYEE_EMAIL, ID_COPY]\ncolumnsToRename: {EMPLOYEE_EMAIL: WORK_EMAIL}\ncolumnsToDuplicate: {EMPLOYEE_ID: ID_COPY}\n",
    )
    .unwrap();
    let o = run(psoxy().args(["check", "--rules"]).arg(&rules));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid ColumnarRules"), "{}", stdout(&o));
}

#[test]
fn check_rejects_missing_column_and_bad_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("typo.yaml");
    std::fs::write(&rules, "columnsToPseudonymize: [EMPLOYE_EMAIL]\n").unwrap();
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(&rules)
        .arg(fixture(HRIS)));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("EMPLOYE_EMAIL"), "{}", stderr(&o));
    std::fs::write(&rules, "transforms:\n  - redact: \"$.[\"\n").unwrap();
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(&rules)
        .arg(fixture(HRIS)));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn help_teaches() {
    let o = run(psoxy().args(["sanitize", "--help"]));
    let text = stdout(&o);
    assert!(
        text.contains("Examples:") && text.contains("--rules") && text.contains("PSOXY_SALT"),
        "{text}"
    );
    let o = run(psoxy().arg("--version"));
    assert!(stdout(&o).starts_with("psoxy "));
}

#[test]
fn record_rules_over_csv_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        &rules,
        "format: CSV\ntransforms:\n  - pseudonymize: $.EMPLOYEE_EMAIL\n  - redact: $.SALARY\noutputSchemaFilter:\n  type: object\n  properties:\n    EMPLOYEE_EMAIL: {type: string}\n    SALARY: {type: string}\n    DEPARTMENT: {type: string}\n",
    )
    .unwrap();
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--rules"])
        .arg(&rules)
        .arg(fixture(HRIS)));
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&o.stdout);
    assert_eq!(rows[0], ["EMPLOYEE_EMAIL", "DEPARTMENT", "SALARY"]);
    assert_eq!(
        rows[1],
        [
            "t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com",
            "Engineering",
            ""
        ]
    );
    assert_eq!(
        rows[3][1], "Engineering, Platform",
        "cells are trimmed and quoted as needed"
    );
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--rules"])
        .arg(&rules)
        .arg(fixture("columnar/short-row-is-error.csv")));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("line 2: row 2 has 2 fields, header has 3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn multi_type_rules_route_each_file_of_a_tree() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("export/2024-06")).unwrap();
    std::fs::write(
        input.join("export/2024-06/hris.csv"),
        std::fs::read(fixture(HRIS)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        input.join("export/2024-06/events.ndjson"),
        "{\"email\":\"alice@acme.com\",\"name\":\"Alice\"}\n",
    )
    .unwrap();
    std::fs::write(input.join("export/2024-06/other.csv"), "A\n1\n").unwrap();
    let rules = dir.path().join("multi.yaml");
    std::fs::write(
        &rules,
        "fileRules:\n  /export/{week}/hris.csv:\n    columnsToPseudonymize: [EMPLOYEE_ID]\n    columnsToRedact: [EMPLOYEE_EMAIL, MANAGER_EMAIL, SALARY]\n    pseudonymFormat: URL_SAFE_HASH_ONLY\n  /export/{week}/events.ndjson:\n    transforms:\n      - pseudonymize: $.email\n      - redact: $.name\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(psoxy()
        .args(["sanitize", "-s", "salt", "--no-shuffle", "--rules"])
        .arg(&rules)
        .arg("-o")
        .arg(&out)
        .arg(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("skipping export/2024-06/other.csv: no fileRules template matches it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        files_below(&out),
        ["export/2024-06/events.ndjson", "export/2024-06/hris.csv"]
    );
    let hris = parse_csv(&std::fs::read(out.join("export/2024-06/hris.csv")).unwrap());
    assert_eq!(
        hris[0],
        [
            "EMPLOYEE_ID",
            "DEPARTMENT",
            "SNAPSHOT",
            "MANAGER_ID",
            "JOIN_DATE"
        ]
    );
    assert_eq!(hris[1][0], "0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc");
    assert_eq!(
        std::fs::read_to_string(out.join("export/2024-06/events.ndjson")).unwrap(),
        "{\"email\":\"t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com\",\"name\":null}\n"
    );
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(&rules)
        .arg("export/2024-06/hris.csv")
        .current_dir(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("matches fileRules template `/export/{week}/hris.csv`"),
        "{}",
        stdout(&o)
    );
}
