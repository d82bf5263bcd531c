//! Leak check: every shipped sample (with its rules) and every fuzz seed / regression input
//! (with rules that pseudonymize and redact the columns or fields it has) is sanitized by the
//! real `psoxy` binary, the samples also by the storage-triggered function on a real S3 server
//! on 127.0.0.1, and random CSVs by the library; each output is scanned by the leak checker
//! (`tests/support/leak.rs`) for original values of pseudonymized or redacted columns and for
//! emails outside pseudonym tokens. Any hit fails with the hit list. An input the CLI rejects is
//! fine, as long as it leaves no output file behind.
#![cfg(all(feature = "aws", feature = "parquet"))]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/leak.rs"]
mod leak;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::path::{Path, PathBuf};

use common::{psoxy, repo, run, stderr};
use psoxy::format::DataFormat;
use psoxy::rules::{load_rules_bytes, parse_rules_yaml, BulkRules};
use serde_json::Value;

const SALT: &str = "leak-check-salt";
const KEY: &str = "leak-check-key";

/// An output to write: its name and extra flags.
type Out = (&'static str, &'static [&'static str]);

/// The shipped samples, their rules, and the outputs to write.
const SAMPLES: &[(&str, &str, &[Out])] = &[
    ("hris.csv", "hris.yaml", &[("hris.csv", &[])]),
    // The stricter rules: Psoxy's defaults (survey.yaml, badge.yaml) keep the comments and
    // badge numbers, and the samples' comments name people and emails.
    (
        "survey.csv",
        "survey-without-comments.yaml",
        &[("survey.csv", &[])],
    ),
    (
        "badge.csv",
        "badge-with-badge-id.yaml",
        &[("badge.csv", &[])],
    ),
    (
        "events.ndjson",
        "events.yaml",
        &[
            ("events.ndjson", &[]),
            ("events.json", &["--output-format", "json-array"]),
        ],
    ),
    (
        "directory.json",
        "directory.yaml",
        &[
            ("directory.json", &[]),
            ("directory.ndjson", &["--output-format", "ndjson"]),
        ],
    ),
    (
        "hris.parquet",
        "hris.yaml",
        &[
            ("hris.parquet", &[]),
            ("hris.csv", &["--output-format", "csv"]),
        ],
    ),
    (
        "events.parquet",
        "events.yaml",
        &[
            ("events.parquet", &[]),
            ("events.ndjson", &["--output-format", "ndjson"]),
        ],
    ),
];

/// The rules and header of the `sanitize_csv` and `sanitize_ndjson` fuzz targets (the same
/// files they include).
fn fuzz_rules(name: &str) -> String {
    std::fs::read_to_string(repo("fuzz/rules").join(name)).unwrap()
}

fn rules_text(name: &str) -> String {
    std::fs::read_to_string(repo("transforms").join(name)).unwrap()
}

/// The format of an output file as the sanitizer writes it (CSV always with `,`).
fn output_format(name: &str) -> DataFormat {
    match DataFormat::from_name(name).expect("output format from its name") {
        DataFormat::Csv { .. } => DataFormat::Csv { delimiter: b',' },
        f => f,
    }
}

/// Runs `psoxy sanitize` on `input` with `rules` into `out_dir/out_name`; returns the output's
/// bytes, or `None` (checking nothing was left behind) when the CLI rejected the input.
fn sanitize_cli(
    input: &Path,
    rules: &Path,
    out_dir: &Path,
    out_name: &str,
    extra: &[&str],
) -> Option<Vec<u8>> {
    std::fs::create_dir_all(out_dir).unwrap();
    let output = out_dir.join(out_name);
    let mut cmd = psoxy();
    cmd.args(["sanitize", "-q", "--threads", "2", "--salt", SALT]);
    // The key only where the rules tokenize (deriving it takes 65,536 PBKDF2 rounds).
    if std::fs::read_to_string(rules).is_ok_and(|r| r.contains("tokenize")) {
        cmd.args(["--encryption-key", KEY]);
    }
    let o = run(cmd
        .arg("--rules")
        .arg(rules)
        .arg("-o")
        .arg(&output)
        .args(extra)
        .arg(input));
    let left: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    if o.status.success() {
        assert_eq!(
            left,
            std::slice::from_ref(&output),
            "{}: other files written",
            input.display()
        );
        Some(std::fs::read(&output).unwrap())
    } else {
        let message = stderr(&o);
        assert!(
            !message.contains("panicked"),
            "{}: {message}",
            input.display()
        );
        assert!(
            left.is_empty(),
            "{} rejected ({}) but left {left:?}",
            input.display(),
            message.trim()
        );
        None
    }
}

/// Checks one CLI output and collects its hits under `label`.
fn check_into(
    failures: &mut Vec<String>,
    label: &str,
    input: &[u8],
    input_name: &str,
    rules: &BulkRules,
    output: &[u8],
    out_name: &str,
) {
    match leak::check(
        input,
        input_name,
        rules,
        output,
        Some(output_format(out_name)),
    ) {
        Ok(hits) if hits.is_empty() => {}
        Ok(hits) => {
            let shown: Vec<String> = hits.iter().take(20).map(|h| format!("    {h}")).collect();
            failures.push(format!(
                "{label}: {} hit(s)\n{}",
                hits.len(),
                shown.join("\n")
            ));
        }
        Err(e) => failures.push(format!("{label}: cannot check: {e}")),
    }
}

fn fail_on(failures: Vec<String>) {
    assert!(failures.is_empty(), "leaks found:\n{}", failures.join("\n"));
}

#[test]
fn samples_through_the_cli_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, (sample, rules_name, outputs)) in SAMPLES.iter().enumerate() {
        let input_path = repo("sample-data").join(sample);
        let input = std::fs::read(&input_path).unwrap();
        let rules_path = repo("transforms").join(rules_name);
        let rules = parse_rules_yaml(&rules_text(rules_name)).unwrap();
        for (j, (out_name, extra)) in outputs.iter().enumerate() {
            let out_dir = dir.path().join(format!("{i}-{j}"));
            let output = sanitize_cli(&input_path, &rules_path, &out_dir, out_name, extra)
                .unwrap_or_else(|| panic!("{sample} -> {out_name} failed"));
            let label = format!("{sample} -> {out_name} {extra:?}");
            let searched = leak::searched(&input, sample, &rules).unwrap();
            assert!(
                searched >= 100,
                "{label}: only {searched} values to look for"
            );
            check_into(
                &mut failures,
                &label,
                &input,
                sample,
                &rules,
                &output,
                out_name,
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 11);
    fail_on(failures);
}

#[test]
fn a_rules_gap_is_caught_end_to_end() {
    // The control: hris.csv sanitized with MANAGER_EMAIL and MANAGER_ID left out of the rules,
    // checked against the shipped rules, must be reported (original values and raw emails).
    let dir = tempfile::tempdir().unwrap();
    let gap = dir.path().join("gap.yaml");
    std::fs::write(
        &gap,
        "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL]\n",
    )
    .unwrap();
    let input_path = repo("sample-data/hris.csv");
    let output = sanitize_cli(&input_path, &gap, &dir.path().join("out"), "hris.csv", &[])
        .expect("sanitized");
    let rules = parse_rules_yaml(&rules_text("hris.yaml")).unwrap();
    let input = std::fs::read(&input_path).unwrap();
    let hits = leak::check(&input, "hris.csv", &rules, &output, None).unwrap();
    let shown: Vec<String> = hits.iter().map(|h| h.to_string()).collect();
    assert!(
        shown.iter().any(|h| h.contains("column MANAGER_EMAIL")
            && h.contains("original value")
            && h.contains("input line"))
            && shown
                .iter()
                .any(|h| h.contains("column MANAGER_EMAIL") && h.contains("email-shaped"))
            && shown.iter().any(|h| h.contains("column MANAGER_ID")),
        "{shown:#?}"
    );
    assert!(
        !hits.iter().any(|h| h.location.contains("column EMPLOYEE_")),
        "{shown:#?}"
    );
}

/// One fuzz-derived input: its file, a name with the extension that picks its format.
struct FuzzInput {
    path: PathBuf,
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Csv,
    Json,
    Parquet,
}

/// The seeds and regressions of the reader and sanitize targets (none when `fuzz/` is absent).
fn fuzz_inputs() -> Vec<FuzzInput> {
    let fuzz = repo("fuzz");
    let dirs = [
        ("seeds/csv_reader", Kind::Csv),
        ("seeds/sanitize_csv", Kind::Csv),
        ("regressions/csv_reader", Kind::Csv),
        ("regressions/sanitize_csv", Kind::Csv),
        ("seeds/ndjson_reader", Kind::Json),
        ("seeds/sanitize_ndjson", Kind::Json),
        ("regressions/ndjson_reader", Kind::Json),
        ("regressions/sanitize_ndjson", Kind::Json),
        ("seeds/parquet_reader", Kind::Parquet),
        ("regressions/parquet_reader", Kind::Parquet),
    ];
    let mut inputs = Vec::new();
    if !fuzz.is_dir() {
        eprintln!(
            "leak check: {} is missing; the fuzz inputs are skipped",
            fuzz.display()
        );
        return inputs;
    }
    for (rel, kind) in dirs {
        // Not every target has regressions.
        let Ok(entries) = std::fs::read_dir(fuzz.join(rel)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.is_file()) {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let has_ext = DataFormat::from_name(&file).is_some();
            let name = match kind {
                _ if has_ext => file,
                Kind::Csv => format!("{file}.csv"),
                Kind::Json => format!("{file}.ndjson"),
                Kind::Parquet => format!("{file}.parquet"),
            };
            let name = format!("{}-{name}", rel.replace('/', "-"));
            inputs.push(FuzzInput { path, name, kind });
        }
    }
    inputs
}

/// YAML list of JSON strings (JSON strings are YAML flow scalars).
fn yaml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// A JSONPath naming `keys` from the root, `[*]` for array levels (`None`).
fn json_path(keys: &[Option<String>]) -> String {
    let mut p = String::from("$");
    for k in keys {
        match k {
            Some(k) => {
                p.push_str("['");
                p.push_str(&k.replace('\\', "\\\\").replace('\'', "\\'"));
                p.push_str("']");
            }
            None => p.push_str("[*]"),
        }
    }
    p
}

/// Header and rows of a CSV input (decompressed, BOM dropped, cells trimmed).
fn csv_table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = leak::decoded(bytes);
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice())
        .into_byte_records()
        .map_while(Result::ok)
        .map(|r| {
            r.iter()
                .map(|c| String::from_utf8_lossy(c).trim().to_string())
                .collect::<Vec<String>>()
        });
    let header = rows.next().unwrap_or_default();
    (header, rows.collect())
}

/// How a generated rule treats a column or field.
#[derive(PartialEq)]
enum Treat {
    Pseudonymize,
    Redact,
    Clear,
}

/// Pseudonymize identifiers and anything holding an `@`, redact names and free text, and of
/// the rest pseudonymize a third and redact a third.
fn treat(i: usize, name: &str, has_at: bool) -> Treat {
    let upper = name.to_ascii_uppercase();
    if has_at
        || ["EMAIL", "ID", "MANAGER", "TOKEN"]
            .iter()
            .any(|w| upper.contains(w))
    {
        Treat::Pseudonymize
    } else if [
        "NAME",
        "COMMENT",
        "SALARY",
        "PHONE",
        "NOTE",
        "DESCRIPTION",
        "LOCATION",
    ]
    .iter()
    .any(|w| upper.contains(w))
    {
        Treat::Redact
    } else {
        [Treat::Pseudonymize, Treat::Redact, Treat::Clear]
            .into_iter()
            .nth(i % 3)
            .unwrap()
    }
}

/// Columnar and record (`format: CSV`) rules over the columns of a CSV input.
fn csv_rules(bytes: &[u8]) -> (String, String) {
    let (header, rows) = csv_table(bytes);
    let (mut pseudo, mut redact) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() || !seen.insert(name.to_lowercase()) {
            continue;
        }
        let has_at = rows
            .iter()
            .any(|r| r.get(i).is_some_and(|c| c.contains('@')));
        match treat(i, name, has_at) {
            Treat::Pseudonymize => pseudo.push(name.clone()),
            Treat::Redact => redact.push(name.clone()),
            Treat::Clear => {}
        }
    }
    let columnar = format!(
        "columnsToPseudonymize: {}\ncolumnsToRedact: {}\npseudonymFormat: URL_SAFE_TOKEN\n",
        yaml_list(&pseudo),
        yaml_list(&redact)
    );
    let path = |n: &String| json_path(&[Some(n.clone())]);
    let record = format!(
        "format: CSV\ntransforms:\n  - pseudonymize: {}\n  - redact: {}\n",
        yaml_list(&pseudo.iter().map(path).collect::<Vec<_>>()),
        yaml_list(&redact.iter().map(path).collect::<Vec<_>>())
    );
    (columnar, record)
}

/// Record rules over the leaf fields found in a JSON input (NDJSON or one array).
fn json_rules(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&leak::decoded(bytes)).into_owned();
    let mut records: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        _ => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    };
    records.retain(Value::is_object);
    // Leaf path -> (all values strings or integers, some value holds an `@`), in first-seen order.
    let mut leaves: indexmap::IndexMap<String, (String, bool, bool)> = Default::default();
    fn collect(
        v: &Value,
        keys: &mut Vec<Option<String>>,
        leaves: &mut indexmap::IndexMap<String, (String, bool, bool)>,
    ) {
        match v {
            Value::Object(m) => {
                for (k, item) in m {
                    keys.push(Some(k.clone()));
                    collect(item, keys, leaves);
                    keys.pop();
                }
            }
            Value::Array(items) => {
                keys.push(None);
                for item in items {
                    collect(item, keys, leaves);
                }
                keys.pop();
            }
            leaf => {
                let last = keys
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_default();
                let entry = leaves.entry(json_path(keys)).or_insert((last, true, false));
                entry.1 &= leaf.is_string() || leaf.is_i64() || leaf.is_u64() || leaf.is_null();
                entry.2 |= leaf.as_str().is_some_and(|s| s.contains('@'));
            }
        }
    }
    for r in &records {
        collect(r, &mut Vec::new(), &mut leaves);
    }
    let (mut pseudo, mut redact) = (Vec::new(), Vec::new());
    for (i, (path, (name, hashable, has_at))) in leaves.iter().take(60).enumerate() {
        match treat(i, name, *has_at) {
            Treat::Pseudonymize if *hashable => pseudo.push(path.clone()),
            Treat::Pseudonymize | Treat::Redact => redact.push(path.clone()),
            Treat::Clear => {}
        }
    }
    format!(
        "format: AUTO\ntransforms:\n  - pseudonymize: {}\n  - redact: {}\n",
        yaml_list(&pseudo),
        yaml_list(&redact)
    )
}

#[test]
fn fuzz_inputs_through_the_cli_leak_nothing() {
    let inputs = fuzz_inputs();
    if inputs.is_empty() {
        eprintln!("leak check: no fuzz inputs found under fuzz/; nothing to check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    for (n, fuzz) in inputs.iter().enumerate() {
        let case_dir = dir.path().join(format!("case{n}"));
        std::fs::create_dir_all(&case_dir).unwrap();
        let input_path = case_dir.join(&fuzz.name);
        let bytes = std::fs::read(&fuzz.path).unwrap();
        std::fs::write(&input_path, &bytes).unwrap();
        let plain_name = fuzz.name.trim_end_matches(".gz").to_string();
        // (rules, output name, extra flags)
        let mut runs: Vec<(String, String, Vec<&str>)> = Vec::new();
        // Inputs derived from this one: (file name, bytes, rules).
        let mut extra_inputs: Vec<(String, Vec<u8>, String)> = Vec::new();
        match fuzz.kind {
            Kind::Csv => {
                let (columnar, record) = csv_rules(&bytes);
                runs.push((columnar, plain_name.clone(), vec![]));
                runs.push((
                    fuzz_rules("sanitize_csv_simple.yaml"),
                    plain_name.clone(),
                    vec![],
                ));
                if fuzz
                    .path
                    .parent()
                    .is_some_and(|p| p.ends_with("sanitize_csv"))
                {
                    // As the fuzz target does: the input behind a fixed header.
                    let mut with_header = fuzz_rules("sanitize_csv_header.csv").into_bytes();
                    with_header.extend_from_slice(&leak::decoded(&bytes));
                    let name = format!("header-{plain_name}");
                    std::fs::write(case_dir.join(&name), &with_header).unwrap();
                    let (columnar, _) = csv_rules(&with_header);
                    extra_inputs.push((name, with_header, columnar));
                }
                let ndjson = format!("{plain_name}.ndjson");
                runs.push((record, ndjson, vec!["--output-format", "ndjson"]));
            }
            Kind::Json => {
                runs.push((json_rules(&bytes), plain_name.clone(), vec![]));
                runs.push((
                    fuzz_rules("sanitize_ndjson.yaml"),
                    plain_name.clone(),
                    vec![],
                ));
                runs.push((rules_text("events.yaml"), plain_name.clone(), vec![]));
            }
            Kind::Parquet => {
                // The sample rules that fit the file (both for one of unknown content).
                let fits: Vec<&str> = ["hris", "events"]
                    .into_iter()
                    .filter(|s| fuzz.name.contains(s))
                    .collect();
                let fits = if fits.is_empty() {
                    vec!["hris", "events"]
                } else {
                    fits
                };
                for rules in fits.iter().map(|f| format!("{f}.yaml")) {
                    let rules = rules.as_str();
                    runs.push((rules_text(rules), plain_name.clone(), vec![]));
                    let ndjson = format!("{plain_name}.ndjson");
                    let csv = format!("{plain_name}.csv");
                    let (other, flag) = if rules == "hris.yaml" {
                        (csv, "csv")
                    } else {
                        (ndjson, "ndjson")
                    };
                    runs.push((rules_text(rules), other, vec!["--output-format", flag]));
                }
            }
        }
        for (r, (name, with_header, rules_yaml)) in extra_inputs.iter().enumerate() {
            let rules_path = case_dir.join(format!("derived-rules{r}.yaml"));
            std::fs::write(&rules_path, rules_yaml).unwrap();
            let rules = parse_rules_yaml(rules_yaml).unwrap();
            let out_dir = case_dir.join(format!("derived-out{r}"));
            let label = format!("{} behind a header -> {name}", fuzz.path.display());
            match sanitize_cli(&case_dir.join(name), &rules_path, &out_dir, name, &[]) {
                Some(output) => {
                    accepted += 1;
                    check_into(
                        &mut failures,
                        &label,
                        with_header,
                        name,
                        &rules,
                        &output,
                        name,
                    );
                }
                None => rejected += 1,
            }
        }
        for (r, (rules_yaml, out_name, extra)) in runs.iter().enumerate() {
            let rules_path = case_dir.join(format!("rules{r}.yaml"));
            std::fs::write(&rules_path, rules_yaml).unwrap();
            let rules = load_rules_bytes(rules_yaml.as_bytes())
                .unwrap_or_else(|e| panic!("{}: generated rules {rules_yaml}: {e}", fuzz.name));
            let out_dir = case_dir.join(format!("out{r}"));
            let label = format!("{} -> {out_name} (rules {r})", fuzz.path.display());
            match sanitize_cli(&input_path, &rules_path, &out_dir, out_name, extra) {
                Some(output) => {
                    accepted += 1;
                    check_into(
                        &mut failures,
                        &label,
                        &bytes,
                        &fuzz.name,
                        &rules,
                        &output,
                        out_name,
                    );
                }
                None => rejected += 1,
            }
        }
    }
    eprintln!(
        "leak check: {} fuzz inputs, {accepted} outputs checked, {rejected} runs rejected",
        inputs.len()
    );
    assert!(accepted > 0, "no fuzz input was sanitized at all");
    fail_on(failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_through_the_function_leak_nothing() {
    let s3 = s3_server::start();
    let mut failures = Vec::new();
    for (i, (sample, rules_name, _)) in SAMPLES.iter().enumerate() {
        let (input_bucket, output_bucket) = (format!("in{i}"), format!("out{i}"));
        s3.create_bucket(&input_bucket).await;
        s3.create_bucket(&output_bucket).await;
        let rules_yaml = rules_text(rules_name);
        let f = function::function(
            &s3,
            &[
                ("PSOXY_SALT", SALT),
                ("PSOXY_ENCRYPTION_KEY", KEY),
                ("RULES", &rules_yaml),
                ("OUTPUT_BUCKET", &output_bucket),
                ("PSOXY_INSTANCE_ID", "leak-check"),
            ],
        )
        .await;
        let input = std::fs::read(repo("sample-data").join(sample)).unwrap();
        let key = format!("export/{sample}");
        function::put(&s3, &input_bucket, &key, input.clone(), None, None, &[]).await;
        if let Err(e) = f.handle(function::event(&[(&input_bucket, &key)])).await {
            panic!("{sample}: {e}");
        }
        let (body, _head) = function::get(&s3, &output_bucket, &key)
            .await
            .unwrap_or_else(|| panic!("{sample}: no output object"));
        let rules = parse_rules_yaml(&rules_yaml).unwrap();
        let label = format!("function: {sample}");
        check_into(&mut failures, &label, &input, sample, &rules, &body, sample);
    }
    fail_on(failures);
}

mod random_csv {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Row {
        id: String,
        email: String,
        name: String,
        department: String,
    }

    fn row() -> impl Strategy<Value = Row> {
        let email = (
            "[a-z]{2,8}(\\.[a-z]{2,8})?(\\+[a-z]{1,4})?",
            "(acme|globex|initech|example)\\.(com|org|co\\.uk)",
            0..4usize,
        )
            .prop_map(|(local, domain, shape)| match shape {
                0 => format!("{local}@{domain}"),
                1 => format!("{}@{}", local.to_uppercase(), domain),
                2 => format!("\"{local}\" <{local}@{domain}>"),
                _ => format!("Some One <{local}@{domain}>"),
            });
        (
            "E[0-9]{4,6}",
            email,
            "[A-Z][a-z]{2,8} [A-Z][a-z]{2,10}",
            prop::sample::select(vec!["Sales", "Engineering", "Research, Development", "HR"]),
        )
            .prop_map(|(id, email, name, department)| Row {
                id,
                email,
                name,
                department: department.to_string(),
            })
    }

    fn csv_of(rows: &[Row]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "EMPLOYEE_ID",
            "EMAIL",
            "FULL_NAME",
            "DEPARTMENT",
            "MANAGER_EMAIL",
        ])
        .unwrap();
        for (i, r) in rows.iter().enumerate() {
            let manager = &rows[i / 2].email;
            w.write_record([&r.id, &r.email, &r.name, &r.department, manager])
                .unwrap();
        }
        w.into_inner().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        #[test]
        fn random_rows_leak_nothing(
            rows in prop::collection::vec(row(), 1..120),
            format in prop::sample::select(vec!["JSON", "URL_SAFE_TOKEN", "URL_SAFE_HASH_ONLY"]),
            shuffle in any::<bool>(),
        ) {
            let yaml = format!(
                "columnsToPseudonymize: [EMPLOYEE_ID, EMAIL]\ncolumnsToPseudonymizeIfPresent: [MANAGER_EMAIL]\ncolumnsToRedact: [FULL_NAME]\npseudonymFormat: {format}\n"
            );
            let input = csv_of(&rows);
            let sanitizer = common::sanitizer(&yaml, SALT, 2);
            let mut out = Vec::new();
            let opts = psoxy::sanitize::StreamOptions {
                object_key: "random.csv".into(),
                format: None,
                shuffle,
                gzip_output: false,
                content_type: None,
                output_format: None,
                ..Default::default()
            };
            sanitizer.sanitize_stream(input.as_slice(), &mut out, &opts, &mut |_| {}).unwrap();
            let rules = parse_rules_yaml(&yaml).unwrap();
            let hits = leak::check(&input, "random.csv", &rules, &out, None).unwrap();
            prop_assert!(hits.is_empty(), "{:#?}", hits.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        }
    }
}
