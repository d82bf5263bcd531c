//! JSON array input and output: streamed element by element through the same record
//! transforms as NDJSON, and `format: AUTO` resolution (SPEC 2.2).

mod common;

use std::sync::Arc;

use psoxy::format::DataFormat;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};
use serde_json::Value;

const TRANSFORMS: &str = "transforms:\n  - pseudonymize: $.email\n  - redact: $.name\n";

fn sanitizer(format: &str) -> Sanitizer {
    let rules = parse_rules_yaml(&format!("format: {format}\n{TRANSFORMS}")).unwrap();
    let p = Arc::new(
        Pseudonymizer::new(&PseudonymSettings {
            salt: "json-salt".into(),
            ..Default::default()
        })
        .unwrap(),
    );
    Sanitizer::new(&rules, p, 2).unwrap()
}

fn options(key: &str, content_type: Option<&str>) -> StreamOptions {
    StreamOptions {
        object_key: key.into(),
        format: None,
        shuffle: true,
        gzip_output: false,
        content_type: content_type.map(str::to_owned),
        output_format: None,
        ..Default::default()
    }
}

fn run(s: &Sanitizer, input: &[u8], opts: &StreamOptions) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    s.sanitize_stream(input, &mut out, opts, &mut |_| {})
        .map(|_| out)
        .map_err(|e| e.to_string())
}

fn records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "id": i,
                "email": format!("person{i}@acme.com"),
                "name": format!("Person \"{i}\", [the] {{best}}"),
                "tags": ["a", {"nested": [1, 2, {"x": null}]}],
                "score": serde_json::from_str::<Value>("1.50").unwrap(),
            })
        })
        .collect()
}

#[test]
fn a_json_array_gives_the_same_records_as_ndjson() {
    let recs = records(5000);
    let array = serde_json::to_vec_pretty(&recs).unwrap();
    let ndjson: Vec<u8> = recs
        .iter()
        .flat_map(|r| {
            let mut line = serde_json::to_vec(r).unwrap();
            line.push(b'\n');
            line
        })
        .collect();
    let out_array = run(&sanitizer("JSON_ARRAY"), &array, &options("x", None)).unwrap();
    let out_ndjson = run(&sanitizer("NDJSON"), &ndjson, &options("x", None)).unwrap();

    let from_array: Vec<Value> =
        serde_json::from_slice(&out_array).expect("output is a JSON array");
    let from_ndjson: Vec<Value> = out_ndjson
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(from_array.len(), 5000);
    assert_eq!(from_array, from_ndjson, "same records, same order");
    assert!(from_array[7]["email"].as_str().unwrap().starts_with("t~"));
    assert_eq!(from_array[7]["name"], Value::Null);
    assert_eq!(
        from_array[7]["score"].to_string(),
        "1.50",
        "numbers exactly as read"
    );
}

#[test]
fn empty_arrays_and_malformed_arrays() {
    let s = sanitizer("JSON_ARRAY");
    assert_eq!(run(&s, b" [ ]\n", &options("x", None)).unwrap(), b"[]\n");
    let err = run(
        &s,
        b"[\n{\"email\":\"a@b.c\"},\n{\"email\":",
        &options("x", None),
    )
    .unwrap_err();
    assert!(
        err.contains("line 3") && err.contains("ends early"),
        "{err}"
    );
    let err = run(&s, b"[\n{\"email\": 1.5}\n]", &options("x", None)).unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = run(&s, b"{\"email\":\"a@b.c\"}", &options("x", None)).unwrap_err();
    assert!(err.contains("expected a JSON array"), "{err}");
}

#[test]
fn auto_format_follows_content_type_then_extension_then_application_json() {
    let s = sanitizer("AUTO");
    let cases: &[(&str, Option<&str>, DataFormat)] = &[
        ("a.ndjson", None, DataFormat::Ndjson),
        ("a.jsonl.gz", None, DataFormat::Ndjson),
        ("a.json", None, DataFormat::JsonArray),
        ("a.json.gz", None, DataFormat::JsonArray),
        ("a.csv", None, DataFormat::Csv { delimiter: b',' }),
        ("export", None, DataFormat::Ndjson),
        ("export", Some("application/json"), DataFormat::JsonArray),
        (
            "export",
            Some("application/json; charset=utf-8"),
            DataFormat::JsonArray,
        ),
        // The extension comes before application/json ...
        ("a.ndjson", Some("application/json"), DataFormat::Ndjson),
        // ... and a Content-Type that names a format comes first.
        ("a.json", Some("application/x-ndjson"), DataFormat::Ndjson),
        (
            "a.json",
            Some("text/csv"),
            DataFormat::Csv { delimiter: b',' },
        ),
        (
            "export",
            Some("application/octet-stream"),
            DataFormat::Ndjson,
        ),
    ];
    for (key, content_type, expected) in cases {
        assert_eq!(
            s.resolve_format(&options(key, *content_type)).unwrap(),
            *expected,
            "{key} {content_type:?}"
        );
    }
    // And the input is read accordingly.
    let array = serde_json::to_vec(&records(3)).unwrap();
    let out = run(&s, &array, &options("export", Some("application/json"))).unwrap();
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&out).unwrap().len(), 3);
}

#[test]
fn the_cli_sanitizes_json_arrays_gzipped_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, format!("format: AUTO\n{TRANSFORMS}")).unwrap();
    let input = dir.path().join("people.json.gz");
    std::fs::write(
        &input,
        common::gzip(&serde_json::to_vec(&records(10)).unwrap()),
    )
    .unwrap();
    let out = common::run(
        common::psoxy()
            .args(["sanitize", "--salt", "json-salt", "--rules"])
            .arg(&rules)
            .arg(&input),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), 10);
    assert!(!common::stdout(&out).contains("person3@acme.com"));
}

fn converting(s: &Sanitizer, input: &[u8], key: &str, to: DataFormat) -> Result<Vec<u8>, String> {
    let opts = StreamOptions {
        output_format: Some(to),
        ..options(key, None)
    };
    run(s, input, &opts)
}

fn ndjson_records(bytes: &[u8]) -> Vec<Value> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn output_format_converts_between_ndjson_json_arrays_and_from_csv() {
    let recs = records(2500);
    let array = serde_json::to_vec(&recs).unwrap();
    let s = sanitizer("AUTO");

    let as_ndjson = converting(&s, &array, "x.json", DataFormat::Ndjson).unwrap();
    let as_array = run(&s, &array, &options("x.json", None)).unwrap();
    let from_array: Vec<Value> = serde_json::from_slice(&as_array).unwrap();
    assert_eq!(ndjson_records(&as_ndjson), from_array);

    let back = converting(&s, &as_ndjson, "y.ndjson", DataFormat::JsonArray).unwrap();
    let back: Vec<Value> = serde_json::from_slice(&back).unwrap();
    assert_eq!(back.len(), 2500);
    // Already-pseudonymized values are pseudonymized again, but the shape is kept.
    assert_eq!(back[3]["id"], 3);

    // Blank NDJSON lines, an empty NDJSON input: still valid arrays.
    let out = converting(
        &s,
        b"\n\n{\"email\":\"a@b.c\"}\n\n",
        "z.ndjson",
        DataFormat::JsonArray,
    )
    .unwrap();
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&out).unwrap().len(), 1);
    let out = converting(&s, b"\n\n", "z.ndjson", DataFormat::JsonArray).unwrap();
    assert_eq!(out, b"[]\n");

    // CSV rows as records, written as NDJSON.
    let csv_rules = sanitizer("CSV");
    let csv = b"email,name,dept\nann@acme.com,Ann,Eng\nbob@acme.com,Bob,Ops\n";
    let out = converting(&csv_rules, csv, "people.csv", DataFormat::Ndjson).unwrap();
    let rows = ndjson_records(&out);
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["email"].as_str().unwrap().starts_with("t~"));
    assert_eq!(rows[0]["name"], Value::Null);
    assert_eq!(rows[1]["dept"], "Ops");
}

#[test]
fn conversions_that_cannot_be_done_are_refused_up_front() {
    let array = serde_json::to_vec(&records(2)).unwrap();
    let err = converting(
        &sanitizer("JSON_ARRAY"),
        &array,
        "x.json",
        DataFormat::Csv { delimiter: b',' },
    )
    .unwrap_err();
    assert!(
        err.contains("CSV output needs CSV or Parquet input"),
        "{err}"
    );
    let columnar = Sanitizer::new(
        &parse_rules_yaml("columnsToPseudonymize: [email]\n").unwrap(),
        Arc::new(
            Pseudonymizer::new(&PseudonymSettings {
                salt: "s".into(),
                ..Default::default()
            })
            .unwrap(),
        ),
        1,
    )
    .unwrap();
    let err = converting(&columnar, b"email\na@b.c\n", "x.csv", DataFormat::Ndjson).unwrap_err();
    assert!(err.contains("columnar rules write CSV"), "{err}");
}

#[test]
fn the_cli_converts_with_output_format() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, format!("format: CSV\n{TRANSFORMS}")).unwrap();
    let input = dir.path().join("people.csv");
    std::fs::write(&input, "email,name\nann@acme.com,Ann\n").unwrap();
    let out = common::run(
        common::psoxy()
            .args([
                "sanitize",
                "--salt",
                "s",
                "--output-format",
                "json-array",
                "--rules",
            ])
            .arg(&rules)
            .arg(&input),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["name"], Value::Null);
}

#[test]
fn the_directory_sample_is_sanitized_and_checked() {
    let out = common::run(
        common::psoxy()
            .args(["sanitize", "--salt", "demo-salt", "--rules"])
            .arg(common::repo("transforms/directory.yaml"))
            .arg(common::repo("sample-data/directory.json")),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(entries.len() > 250);
    assert!(!text.contains("xavier.reed") && !text.contains("Xavier") && !text.contains("+1 415"));
    assert_eq!(entries[0]["orgUnit"]["department"], "Executive");
    assert!(entries[0]["primaryEmail"]
        .as_str()
        .unwrap()
        .starts_with("t~"));

    let check = common::run(
        common::psoxy()
            .args(["check", "--rules"])
            .arg(common::repo("transforms/directory.yaml"))
            .arg(common::repo("sample-data/directory.json")),
    );
    assert!(check.status.success(), "{}", common::stderr(&check));
    assert!(
        common::stdout(&check).contains("$.primaryEmail"),
        "{}",
        common::stdout(&check)
    );
}
