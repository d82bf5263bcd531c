//! Parquet in and out. Inputs are written by pyarrow (an independent implementation) and every
//! output is read back by pyarrow and checked cell by cell against values computed here with
//! the library's pseudonymizer.
#![cfg(feature = "parquet")]

mod common;
#[path = "support/pyarrow.rs"]
mod pyarrow;

use std::path::Path;

use psoxy::format::DataFormat;
use psoxy::pseudonym::PseudonymFormat;
use psoxy::sanitize::{Sanitizer, StreamOptions};
use serde_json::{json, Value};

const SALT: &str = "parquet-salt";

/// A table with most column kinds: 5 rows in row groups of 2 (2 + 2 + 1).
const PEOPLE: &str = r#"
t = pa.table({
    "employee_id": pa.array([1001, 1002, None, 1004, 1005], pa.int64()),
    "email": pa.array(["alice@acme.com", " Bob@Acme.com ", None, "", "eve@other.org"]),
    "dept": pa.array(["Eng", "Sales", "Eng", "Eng", None]).dictionary_encode(),
    "salary": pa.array([1.5, 2.25, None, 3.0, 1e300]),
    "start": pa.array([19000, 19001, None, 19003, 19004], pa.date32()),
    "seen": pa.array([1700000000000000, None, 1, 2, 3], pa.timestamp("us", tz="UTC")),
    "active": pa.array([True, False, None, True, False]),
    "nothing": pa.array([None] * 5, pa.string()),
    "manager": pa.array([
        {"id": 7, "email": "m@acme.com"}, None, {"id": 8, "email": None},
        {"id": None, "email": "x@y.com"}, {"id": 9, "email": "n@acme.com"}]),
    "tags": pa.array([["a@b.com", "c"], [], None, ["d"], ["e", None]]),
})
pq.write_table(t, "{dir}/people.parquet", row_group_size=2, compression="CODEC")
"#;

fn write_people(dir: &Path, codec: &str) -> std::path::PathBuf {
    pyarrow::exec(&PEOPLE.replace("CODEC", codec), dir);
    dir.join("people.parquet")
}

fn options(key: &str) -> StreamOptions {
    StreamOptions {
        object_key: key.into(),
        ..Default::default()
    }
}

/// Sanitizes `input` to `output` with the library.
fn sanitize(
    s: &Sanitizer,
    input: &Path,
    output: &Path,
    opts: &StreamOptions,
) -> Result<(), String> {
    let file = std::fs::File::open(input).unwrap();
    let mut out = Vec::new();
    s.sanitize_stream(file, &mut out, opts, &mut |_| {})
        .map_err(|e| e.to_string())?;
    std::fs::write(output, out).unwrap();
    Ok(())
}

fn hash(v: &str) -> Value {
    let p = common::pseudonymizer(SALT);
    json!(p.pseudonymize(v.trim(), PseudonymFormat::Json).unwrap())
}

fn token(v: &str) -> Value {
    json!(common::pseudonymizer(SALT).token(v).unwrap())
}

#[test]
fn columnar_rules_pseudonymize_by_column_and_keep_every_other_column() {
    let dir = tempfile::tempdir().unwrap();
    for codec in ["zstd", "snappy", "gzip", "none"] {
        let input = write_people(dir.path(), codec);
        let original = pyarrow::dump(&input);
        let s = common::sanitizer(
            "columnsToPseudonymize: [EMPLOYEE_ID, email]\ncolumnsToRedact: [salary]\ncolumnsToRename: {dept: department}\n",
            SALT,
            2,
        );
        let out = dir.path().join("out.parquet");
        sanitize(&s, &input, &out, &options("people.parquet")).unwrap();
        let got = pyarrow::dump(&out);

        assert_eq!(got.row_groups, vec![2, 2, 1], "{codec}: row groups kept");
        assert_eq!(got.codecs, original.codecs, "{codec}: codec kept");
        assert_eq!(
            got.names(),
            [
                "employee_id",
                "email",
                "department",
                "start",
                "seen",
                "active",
                "nothing",
                "manager",
                "tags"
            ]
        );
        assert_eq!(got.type_of("employee_id"), "string");
        assert_eq!(got.type_of("email"), "string");
        for (name, was) in [
            ("department", "dept"),
            ("start", "start"),
            ("seen", "seen"),
            ("active", "active"),
            ("nothing", "nothing"),
            ("manager", "manager"),
            ("tags", "tags"),
        ] {
            assert_eq!(
                got.type_of(name),
                original.type_of(was),
                "{codec}: {name} keeps its type"
            );
        }
        assert!(got
            .type_of("department")
            .starts_with("dictionary<values=string"));

        for (row, (g, o)) in got.rows.iter().zip(&original.rows).enumerate() {
            let expect_id = match &o["employee_id"] {
                Value::Null => Value::Null,
                n => hash(&n.to_string()),
            };
            assert_eq!(g["employee_id"], expect_id, "{codec} row {row}");
            let expect_email = match &o["email"] {
                Value::Null => Value::Null,
                Value::String(s) if s.is_empty() => json!(""),
                Value::String(s) => hash(s),
                other => panic!("{other}"),
            };
            assert_eq!(g["email"], expect_email, "{codec} row {row}");
            assert_eq!(g["department"], o["dept"]);
            for same in ["start", "seen", "active", "nothing", "manager", "tags"] {
                assert_eq!(g[same], o[same], "{codec} row {row} column {same}");
            }
            assert!(g.get("salary").is_none());
        }
    }
}

#[test]
fn a_parquet_pseudonym_equals_the_csv_pseudonym_of_the_same_value() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    pyarrow::exec(
        r#"csv.write_csv(pq.read_table("{dir}/people.parquet").select(["employee_id", "email"]), "{dir}/people.csv")"#,
        dir.path(),
    );
    let s = common::sanitizer("columnsToPseudonymize: [employee_id, email]\n", SALT, 2);
    let mut opts = options("people.parquet");
    opts.shuffle = false;
    let pq_out = dir.path().join("pq.parquet");
    sanitize(&s, &input, &pq_out, &opts).unwrap();
    let csv_out = dir.path().join("out.csv");
    let mut opts = options("people.csv");
    opts.shuffle = false;
    sanitize(&s, &dir.path().join("people.csv"), &csv_out, &opts).unwrap();
    let from_parquet = pyarrow::dump(&pq_out).rows;
    let csv_rows = common::parse_csv(&std::fs::read(&csv_out).unwrap());
    assert_eq!(csv_rows[0], ["employee_id", "email"]);
    for (p, c) in from_parquet.iter().zip(&csv_rows[1..]) {
        for (i, name) in ["employee_id", "email"].iter().enumerate() {
            let from_csv = if c[i].is_empty() {
                Value::Null
            } else {
                json!(c[i])
            };
            let from_pq = match &p[*name] {
                Value::String(s) if s.is_empty() => Value::Null,
                v => v.clone(),
            };
            assert_eq!(from_pq, from_csv, "{name}");
        }
    }
}

#[test]
fn shuffled_output_holds_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    pyarrow::exec(
        r#"pq.write_table(pa.table({"id": pa.array([f"user{i}@acme.com" for i in range(3000)]), "n": pa.array(range(3000))}), "{dir}/many.parquet", row_group_size=1000)"#,
        dir.path(),
    );
    let s = common::sanitizer("columnsToPseudonymize: [id]\n", SALT, 2);
    let out = dir.path().join("out.parquet");
    let mut opts = options("many.parquet");
    opts.shuffle = true;
    sanitize(&s, &dir.path().join("many.parquet"), &out, &opts).unwrap();
    let got = pyarrow::dump(&out);
    assert_eq!(got.row_groups, vec![1000, 1000, 1000]);
    let order: Vec<i64> = got.rows.iter().map(|r| r["n"].as_i64().unwrap()).collect();
    assert_ne!(order, (0..3000).collect::<Vec<_>>(), "rows are shuffled");
    let mut sorted = got.rows.clone();
    sorted.sort_by_key(|r| r["n"].as_i64().unwrap());
    for (i, r) in sorted.iter().enumerate() {
        assert_eq!(r["n"], json!(i));
        assert_eq!(r["id"], hash(&format!("user{i}@acme.com")));
    }
    // Same input, same bytes (a retried run writes the same object).
    let again = dir.path().join("again.parquet");
    sanitize(&s, &dir.path().join("many.parquet"), &again, &opts).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

const RECORD_RULES: &str = r#"
format: PARQUET
transforms:
  - pseudonymize: [$.employee_id, $.email, $.manager.id, $.manager.email, "$.tags[*]"]
  - redact: $.salary
"#;

#[test]
fn record_rules_reach_nested_fields_and_leave_other_columns_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "zstd");
    let original = pyarrow::dump(&input);
    let s = common::sanitizer(RECORD_RULES, SALT, 2);
    let out = dir.path().join("out.parquet");
    sanitize(&s, &input, &out, &options("people.parquet")).unwrap();
    let got = pyarrow::dump(&out);
    assert_eq!(got.row_groups, vec![2, 2, 1]);
    assert_eq!(got.codecs, ["ZSTD"]);
    assert_eq!(got.names(), original.names());
    assert_eq!(
        got.type_of("employee_id"),
        "string",
        "pseudonymized integers become strings"
    );
    assert_eq!(got.type_of("manager"), "struct<id: string, email: string>");
    assert_eq!(got.type_of("tags"), "list<element: string>");
    assert_eq!(got.type_of("salary"), "double");
    for same in ["dept", "start", "seen", "active", "nothing"] {
        assert_eq!(got.type_of(same), original.type_of(same), "{same}");
    }
    let tok = |v: &Value| match v {
        Value::Null => Value::Null,
        Value::String(s) if s.is_empty() => json!(""),
        Value::String(s) => token(s),
        n => token(&n.to_string()),
    };
    for (row, (g, o)) in got.rows.iter().zip(&original.rows).enumerate() {
        assert_eq!(g["employee_id"], tok(&o["employee_id"]), "row {row}");
        assert_eq!(g["email"], tok(&o["email"]), "row {row}");
        assert_eq!(g["salary"], Value::Null, "row {row}");
        match &o["manager"] {
            Value::Null => assert_eq!(g["manager"], Value::Null),
            m => {
                assert_eq!(g["manager"]["id"], tok(&m["id"]), "row {row}");
                assert_eq!(g["manager"]["email"], tok(&m["email"]), "row {row}");
            }
        }
        match &o["tags"] {
            Value::Array(tags) => {
                let want: Vec<Value> = tags.iter().map(tok).collect();
                assert_eq!(g["tags"], json!(want), "row {row}");
            }
            other => assert_eq!(&g["tags"], other),
        }
        for same in ["dept", "start", "seen", "active", "nothing"] {
            assert_eq!(g[same], o[same], "row {row} column {same}");
        }
    }
}

#[test]
fn output_schema_filter_drops_undeclared_columns_and_members() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    let rules = format!(
        "{RECORD_RULES}outputSchemaFilter:\n  type: object\n  properties:\n    email: {{type: string}}\n    manager:\n      type: object\n      properties:\n        email: {{type: string}}\n    active: {{type: boolean}}\n"
    );
    let s = common::sanitizer(&rules, SALT, 2);
    let out = dir.path().join("out.parquet");
    sanitize(&s, &input, &out, &options("people.parquet")).unwrap();
    let got = pyarrow::dump(&out);
    assert_eq!(got.names(), ["email", "active", "manager"]);
    assert_eq!(got.type_of("manager"), "struct<email: string>");
    assert_eq!(
        got.rows[0]["manager"],
        json!({"email": token("m@acme.com")})
    );
    assert_eq!(
        got.rows[2]["active"],
        json!(false),
        "boolean null becomes false"
    );
}

#[test]
fn record_rules_convert_parquet_to_ndjson_json_array_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    let s = common::sanitizer(RECORD_RULES, SALT, 2);
    let run = |format: DataFormat| {
        let mut opts = options("people.parquet");
        opts.output_format = Some(format);
        let out = dir.path().join("converted");
        sanitize(&s, &input, &out, &opts).unwrap();
        std::fs::read(out).unwrap()
    };
    let ndjson = run(DataFormat::Ndjson);
    let records: Vec<Value> = ndjson
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["employee_id"], token("1001"));
    assert_eq!(records[0]["manager"]["email"], token("m@acme.com"));
    assert_eq!(records[0]["salary"], Value::Null);
    assert_eq!(records[0]["dept"], json!("Eng"));
    let array: Vec<Value> = serde_json::from_slice(&run(DataFormat::JsonArray)).unwrap();
    assert_eq!(array, records);
    let csv = common::parse_csv(&run(DataFormat::Csv { delimiter: b',' }));
    assert_eq!(csv[0][..3], ["employee_id", "email", "dept"]);
    assert_eq!(csv[1][0], token("1001").as_str().unwrap());
    assert_eq!(csv.len(), 6);
}

#[test]
fn columnar_rules_convert_parquet_to_csv() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    let s = common::sanitizer(
        "columnsToPseudonymize: [email]\ncolumnsToInclude: [email, dept, start, active]\n",
        SALT,
        2,
    );
    let mut opts = options("people.parquet");
    opts.output_format = Some(DataFormat::Csv { delimiter: b',' });
    let out = dir.path().join("out.csv");
    sanitize(&s, &input, &out, &opts).unwrap();
    let rows = common::parse_csv(&std::fs::read(&out).unwrap());
    assert_eq!(rows[0], ["email", "dept", "start", "active"]);
    assert_eq!(
        rows[1],
        [
            hash("alice@acme.com").as_str().unwrap(),
            "Eng",
            "2022-01-08",
            "true"
        ]
    );
    assert_eq!(rows[3], ["", "Eng", "", ""], "nulls are empty cells");
    // Parquet output needs Parquet input.
    let mut opts = options("people.csv");
    opts.output_format = Some(DataFormat::Parquet);
    let err = s.resolve_output_format(&opts).unwrap_err().to_string();
    assert!(err.contains("Parquet output needs Parquet input"), "{err}");
}

#[test]
fn all_null_columns_empty_files_and_schemas_without_rows() {
    let dir = tempfile::tempdir().unwrap();
    pyarrow::exec(
        r#"
pq.write_table(pa.table({"email": pa.array([None, None], pa.string()), "n": pa.array([None, None], pa.int32())}), "{dir}/nulls.parquet")
pq.write_table(pa.table({"email": pa.array([], pa.string()), "n": pa.array([], pa.int32())}), "{dir}/norows.parquet")
"#,
        dir.path(),
    );
    for rules in [
        "columnsToPseudonymize: [email, n]\n",
        "format: PARQUET\ntransforms:\n  - pseudonymize: [$.email, $.n]\n",
    ] {
        let s = common::sanitizer(rules, SALT, 2);
        let out = dir.path().join("out.parquet");
        sanitize(
            &s,
            &dir.path().join("nulls.parquet"),
            &out,
            &options("nulls.parquet"),
        )
        .unwrap();
        let got = pyarrow::dump(&out);
        assert_eq!(got.rows, vec![json!({"email": null, "n": null}); 2]);
        assert_eq!(got.type_of("n"), "string");

        sanitize(
            &s,
            &dir.path().join("norows.parquet"),
            &out,
            &options("norows.parquet"),
        )
        .unwrap();
        let got = pyarrow::dump(&out);
        assert!(got.rows.is_empty());
        assert_eq!(got.names(), ["email", "n"]);

        let empty = dir.path().join("empty.parquet");
        std::fs::write(&empty, b"").unwrap();
        sanitize(&s, &empty, &out, &options("empty.parquet")).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            b"",
            "empty input, empty output"
        );
    }
}

#[test]
fn bad_files_and_unfit_rules_fail_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    let out = dir.path().join("out.parquet");

    let s = common::sanitizer("columnsToPseudonymize: [manager]\n", SALT, 2);
    let err = sanitize(&s, &input, &out, &options("people.parquet")).unwrap_err();
    assert!(
        err.contains("column `manager`") && err.contains("Struct"),
        "{err}"
    );

    let s = common::sanitizer("columnsToPseudonymize: [badge]\n", SALT, 2);
    let err = sanitize(&s, &input, &out, &options("people.parquet")).unwrap_err();
    assert!(
        err.contains("`badge`") && err.contains("employee_id"),
        "{err}"
    );

    let s = common::sanitizer(
        "format: PARQUET\ntransforms:\n  - pseudonymize: $.salary\n",
        SALT,
        2,
    );
    let err = sanitize(&s, &input, &out, &options("people.parquet")).unwrap_err();
    assert!(
        err.contains("row 1") && err.contains("$.salary") && err.contains("number"),
        "{err}"
    );
    assert!(!err.contains("1.5"), "no value in the error: {err}");

    let mut bytes = std::fs::read(&input).unwrap();
    let n = bytes.len();
    bytes[n - 12..n - 4].fill(0xff); // corrupt the footer length and metadata end
    let corrupt = dir.path().join("corrupt.parquet");
    std::fs::write(&corrupt, &bytes).unwrap();
    let s = common::sanitizer("columnsToPseudonymize: [email]\n", SALT, 2);
    let err = sanitize(&s, &corrupt, &out, &options("corrupt.parquet")).unwrap_err();
    assert!(err.contains("Parquet"), "{err}");

    let err = sanitize(
        &s,
        &common::repo("sample-data/hris.csv"),
        &out,
        &StreamOptions {
            format: Some(DataFormat::Parquet),
            ..options("hris.csv")
        },
    )
    .unwrap_err();
    assert!(err.contains("not a readable Parquet file"), "{err}");
}

#[test]
fn gzipped_parquet_input_is_read_and_parquet_output_is_never_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_people(dir.path(), "snappy");
    let gz = dir.path().join("people.parquet.gz");
    std::fs::write(&gz, common::gzip(&std::fs::read(&input).unwrap())).unwrap();
    let s = common::sanitizer("columnsToPseudonymize: [email]\n", SALT, 2);
    let out = dir.path().join("out.parquet");
    let mut opts = options("people.parquet.gz");
    opts.gzip_output = true;
    sanitize(&s, &gz, &out, &opts).unwrap();
    assert!(std::fs::read(&out).unwrap().starts_with(b"PAR1"));
    assert_eq!(pyarrow::dump(&out).rows.len(), 5);
}

#[test]
fn the_cli_sanitizes_and_converts_parquet_files_in_a_tree() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in/2026");
    std::fs::create_dir_all(&input).unwrap();
    for f in ["hris.parquet", "events.parquet", "events.ndjson"] {
        std::fs::copy(common::repo(&format!("sample-data/{f}")), input.join(f)).unwrap();
    }
    let rules = dir.path().join("multi.yaml");
    std::fs::write(
        &rules,
        format!(
            "fileRules:\n  /2026/hris.parquet:\n{}\n  /2026/events.{{ext}}:\n{}\n",
            indent(&std::fs::read_to_string(common::repo("transforms/hris.yaml")).unwrap()),
            indent(&std::fs::read_to_string(common::repo("transforms/events.yaml")).unwrap()),
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = common::run(
        common::psoxy()
            .args(["sanitize", "-q", "--salt", SALT, "--gzip", "--rules"])
            .arg(&rules)
            .arg("-o")
            .arg(&out)
            .arg(dir.path().join("in")),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(
        common::files_below(&out),
        [
            "2026/events.ndjson.gz",
            "2026/events.parquet",
            "2026/hris.parquet"
        ],
        "Parquet is not gzipped, so it keeps its name"
    );
    let hris = pyarrow::dump(&out.join("2026/hris.parquet"));
    assert_eq!(hris.rows.len(), 300);
    assert!(hris.rows.iter().any(|r| r["EMPLOYEE_ID"] == hash("E0001")));
    let events = pyarrow::dump(&out.join("2026/events.parquet"));
    assert_eq!(events.rows.len(), 200);
    assert_eq!(
        events.rows[0]["organizer"]["email"],
        token("mei.walker@acme.com")
    );

    // Converting: Parquet to NDJSON takes the new extension.
    let converted = dir.path().join("converted");
    let o = common::run(
        common::psoxy()
            .args([
                "sanitize",
                "-q",
                "--salt",
                SALT,
                "--output-format",
                "ndjson",
                "--rules",
            ])
            .arg(common::repo("transforms/events.yaml"))
            .arg("-o")
            .arg(&converted)
            .arg(input.join("events.parquet")),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = std::fs::read_to_string(&converted).unwrap();
    assert_eq!(text.lines().count(), 200);
    assert!(
        text.starts_with(r#"{"id":"evt_0001","organizer":{"email":"t~"#),
        "{}",
        &text[..80]
    );

    // Two inputs converting to the same name: the second fails, the first is kept.
    std::fs::copy(common::repo("sample-data/hris.csv"), input.join("hris.csv")).unwrap();
    let tree = dir.path().join("tree");
    let o = common::run(
        common::psoxy()
            .args([
                "sanitize",
                "-q",
                "--salt",
                SALT,
                "--output-format",
                "csv",
                "--rules",
            ])
            .arg(common::repo("transforms/hris.yaml"))
            .arg("-o")
            .arg(&tree)
            .arg(dir.path().join("in")),
    );
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("already written from another input"),
        "{}",
        common::stderr(&o)
    );
}

fn indent(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn record_rules_on_maps_integer_lists_root_filters_and_required_fields() {
    let dir = tempfile::tempdir().unwrap();
    pyarrow::exec(
        r#"
import datetime, decimal
schema = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("kind", pa.string()),
    pa.field("attrs", pa.map_(pa.string(), pa.string())),
    pa.field("ids", pa.list_(pa.int64())),
    pa.field("who", pa.struct([
        pa.field("email", pa.string(), nullable=False),
        pa.field("at", pa.timestamp("ms", tz="UTC")),
        pa.field("amount", pa.decimal128(10, 2))])),
    pa.field("blob", pa.binary()),
    pa.field("secret", pa.string(), nullable=False),
])
t = pa.table({
    "id": [1, 2],
    "kind": ["person", "robot"],
    "attrs": [[("email", "a@b.com"), ("x", "y")], [("email", "c@d.com")]],
    "ids": [[1, 2], None],
    "who": [{"email": "w@x.com", "at": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
             "amount": decimal.Decimal("1.25")},
            {"email": "v@x.com", "at": None, "amount": None}],
    "blob": [b"\x00\x01", None],
    "secret": ["s1", "s2"],
}, schema=schema)
pq.write_table(t, "{dir}/edge.parquet")
"#,
        dir.path(),
    );
    let s = common::sanitizer(
        "format: PARQUET\ntransforms:\n  - pseudonymize: [\"$.attrs.email\", \"$.ids[*]\", \"$.who.email\"]\n  - redact: $.secret\n  - pseudonymize: \"$[?(@.kind == 'person')].id\"\n",
        SALT,
        2,
    );
    let out = dir.path().join("out.parquet");
    sanitize(
        &s,
        &dir.path().join("edge.parquet"),
        &out,
        &options("edge.parquet"),
    )
    .unwrap();
    let got = pyarrow::dump(&out);
    assert_eq!(got.type_of("id"), "string");
    assert_eq!(got.type_of("ids"), "list<element: string>");
    assert_eq!(
        got.type_of("who"),
        "struct<email: string not null, at: timestamp[ms, tz=UTC], amount: decimal128(10, 2)>"
    );
    assert_eq!(got.type_of("blob"), "binary");
    assert!(
        got.schema
            .iter()
            .any(|(n, _, nullable)| n == "secret" && *nullable),
        "redacted -> nullable"
    );
    let r = &got.rows;
    assert_eq!(r[0]["id"], token("1"), "the filter matched row 1");
    assert_eq!(
        r[1]["id"],
        json!("2"),
        "not row 2: kept, as text in the string column"
    );
    assert_eq!(
        r[0]["attrs"],
        json!([["email", token("a@b.com")], ["x", "y"]])
    );
    assert_eq!(r[0]["ids"], json!([token("1"), token("2")]));
    assert_eq!(r[1]["ids"], Value::Null);
    assert_eq!(r[0]["who"]["email"], token("w@x.com"));
    assert_eq!(r[0]["who"]["at"], json!("2024-01-01T00:00:00+00:00"));
    assert_eq!(r[0]["who"]["amount"], json!("1.25"));
    assert_eq!(r[0]["blob"], json!("0001"));
    assert_eq!(r[0]["secret"], Value::Null);
}
