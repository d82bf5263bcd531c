//! The storage-triggered function end to end against a real S3-compatible server on
//! 127.0.0.1 (s3s + s3s-fs, SigV4): events in, sanitized objects out.
#![cfg(all(feature = "aws", feature = "parquet"))]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/pyarrow.rs"]
mod pyarrow;
#[path = "support/s3_server.rs"]
mod s3_server;

use function::{event, function, get, keys, put};
use psoxy::bulk::lambda::{Function, INPUT_ERROR, RETRYABLE_ERROR};
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};

const SALT: &str = "bulk-test-salt";
const INSTANCE: &str = "psoxy-test";

fn text(rel: &str) -> String {
    std::fs::read_to_string(common::repo(rel)).unwrap()
}

fn hris() -> Vec<u8> {
    std::fs::read(common::repo("sample-data/hris.csv")).unwrap()
}

/// The usual settings with `rules`, followed by `extra`.
fn settings<'a>(rules: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut s = vec![
        ("PSOXY_SALT", SALT),
        ("RULES", rules),
        ("OUTPUT_BUCKET", "output"),
        ("PSOXY_INSTANCE_ID", INSTANCE),
    ];
    s.extend_from_slice(extra);
    s
}

async fn server() -> s3_server::TestS3 {
    let s3 = s3_server::start();
    for bucket in ["input", "output", "extra"] {
        s3.create_bucket(bucket).await;
    }
    s3
}

async fn run(f: &Function, objects: &[(&str, &str)]) -> psoxy::bulk::lambda::Report {
    f.handle(event(objects))
        .await
        .unwrap_or_else(|e| panic!("invocation failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_csv_is_sanitized_gzipped_with_type_and_metadata() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    put(&s3, "input", "hris.csv", hris(), None, None, &[]).await;

    let report = run(&f, &[("input", "hris.csv")]).await;
    assert_eq!(report.objects.len(), 1);
    assert_eq!(report.objects[0].status, "sanitized");
    let out = &report.objects[0].outputs[0];
    assert_eq!(
        (out.bucket.as_str(), out.key.as_str()),
        ("output", "hris.csv")
    );
    assert_eq!(out.rows, 300);
    assert_eq!(out.bytes_in, hris().len() as u64);

    let (body, head) = get(&s3, "output", "hris.csv").await.expect("output object");
    assert_eq!(out.bytes_out, body.len() as u64);
    assert_eq!(head.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    let m = &head.metadata;
    assert_eq!(m["psoxy-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["psoxy-original-object-key"], "input/hris.csv");
    assert_eq!(
        m["psoxy-rules-sha"],
        psoxy::rules::sha256_hex(rules.as_bytes())
    );
    let fingerprint = Pseudonymizer::new(&PseudonymSettings {
        salt: SALT.into(),
        ..Default::default()
    })
    .unwrap()
    .salt_fingerprint();
    assert_eq!(m["psoxy-salt-sha"], fingerprint);
    assert_eq!(m["psoxy-instance-id"], INSTANCE);

    let plain = common::gunzip(&body);
    assert_eq!(
        plain,
        function::expected_object(&rules, SALT, "hris.csv", &hris())
    );
    let plain = String::from_utf8(plain).unwrap();
    assert!(!plain.contains("xavier.reed") && !plain.contains("E0001,"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_input_is_read_whether_marked_by_header_suffix_or_only_magic_bytes() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    let gz = common::gzip(&hris());
    put(
        &s3,
        "input",
        "by-header.csv",
        gz.clone(),
        Some("text/csv"),
        Some("gzip"),
        &[],
    )
    .await;
    put(
        &s3,
        "input",
        "by-suffix.csv.gz",
        gz.clone(),
        None,
        None,
        &[],
    )
    .await;
    put(&s3, "input", "by-magic.csv", gz, None, None, &[]).await;

    let objects = [
        ("input", "by-header.csv"),
        ("input", "by-suffix.csv.gz"),
        ("input", "by-magic.csv"),
    ];
    let report = run(&f, &objects).await;
    assert_eq!(report.objects.len(), 3, "every record is processed");
    for (_, key) in objects {
        let (body, head) = get(&s3, "output", key).await.expect(key);
        assert_eq!(head.content_type.as_deref(), Some("text/csv"), "{key}");
        assert_eq!(
            common::gunzip(&body),
            function::expected_object(&rules, SALT, key, &hris()),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_spaces_plus_signs_and_non_ascii_are_decoded() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    let key = "HR exports/Jan+Feb 2026/hris é ü 日本 (final).csv";
    assert!(psoxy::bulk::replay::encode_event_key(key).contains("%2B"));
    put(&s3, "input", key, hris(), None, None, &[]).await;
    let report = run(&f, &[("input", key)]).await;
    assert_eq!(report.objects[0].key, key);
    assert_eq!(keys(&s3, "output").await, [key]);
    let (body, head) = get(&s3, "output", key).await.unwrap();
    assert_eq!(
        common::gunzip(&body),
        function::expected_object(&rules, SALT, key, &hris())
    );
    assert_eq!(
        head.metadata["psoxy-original-object-key"],
        format!("input/{key}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_paths_map_keys_and_compression_can_be_turned_off() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(
        &s3,
        &settings(
            &rules,
            &[
                ("INPUT_BASE_PATH", "import/"),
                ("OUTPUT_BASE_PATH", "sanitized/v1/"),
                ("COMPRESS_OUTPUT_ALWAYS", "false"),
            ],
        ),
    )
    .await;
    put(
        &s3,
        "input",
        "import/2026/hris.csv",
        hris(),
        None,
        None,
        &[],
    )
    .await;
    put(&s3, "input", "elsewhere/hris.csv", hris(), None, None, &[]).await;
    run(
        &f,
        &[
            ("input", "import/2026/hris.csv"),
            ("input", "elsewhere/hris.csv"),
        ],
    )
    .await;
    assert_eq!(
        keys(&s3, "output").await,
        [
            "sanitized/v1/2026/hris.csv",
            "sanitized/v1/elsewhere/hris.csv"
        ]
    );
    let (body, head) = get(&s3, "output", "sanitized/v1/2026/hris.csv")
        .await
        .unwrap();
    assert_eq!(head.content_encoding, None);
    assert_eq!(
        body,
        function::expected_object(&rules, SALT, "import/2026/hris.csv", &hris())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_transforms_write_independent_outputs() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let extra_rules = "columnsToPseudonymize: [EMPLOYEE_ID, MANAGER_ID]\ncolumnsToRedact: [EMPLOYEE_EMAIL, MANAGER_EMAIL]\n";
    let additional = "- destinationBucketName: extra\n  pathWithinBucket: redacted/\n  compressOutput: false\n  rules:\n    columnsToPseudonymize: [EMPLOYEE_ID, MANAGER_ID]\n    columnsToRedact: [EMPLOYEE_EMAIL, MANAGER_EMAIL]\n";
    let f = function(
        &s3,
        &settings(&rules, &[("ADDITIONAL_TRANSFORMS", additional)]),
    )
    .await;
    put(&s3, "input", "hris.csv", hris(), None, None, &[]).await;
    let report = run(&f, &[("input", "hris.csv")]).await;
    assert_eq!(report.objects[0].outputs.len(), 2);

    let (main, _) = get(&s3, "output", "hris.csv").await.unwrap();
    assert_eq!(
        common::gunzip(&main),
        function::expected_object(&rules, SALT, "hris.csv", &hris())
    );
    let (extra, head) = get(&s3, "extra", "redacted/hris.csv").await.unwrap();
    assert_eq!(head.content_encoding, None);
    assert_eq!(
        extra,
        function::expected_object(extra_rules, SALT, "hris.csv", &hris())
    );
    let header = String::from_utf8(extra).unwrap();
    let header = header.lines().next().unwrap().to_owned();
    assert!(
        header.starts_with("EMPLOYEE_ID,MANAGER_ID,JOIN_DATE"),
        "{header}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_by_this_instance_are_not_processed_again() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    put(
        &s3,
        "input",
        "ours.csv",
        hris(),
        None,
        None,
        &[("psoxy-instance-id", INSTANCE)],
    )
    .await;
    put(
        &s3,
        "input",
        "other-instance.csv",
        hris(),
        None,
        None,
        &[("psoxy-instance-id", "psoxy-other")],
    )
    .await;
    let report = run(
        &f,
        &[("input", "ours.csv"), ("input", "other-instance.csv")],
    )
    .await;
    assert_eq!(report.objects[0].status, "own-output");
    assert_eq!(report.objects[1].status, "sanitized");
    assert_eq!(keys(&s3, "output").await, ["other-instance.csv"]);

    // An output bucket that is also the input bucket: the function's own output comes back
    // as an event, and is left alone.
    let f = function(&s3, &settings(&rules, &[("OUTPUT_BASE_PATH", "")])).await;
    let report = run(&f, &[("output", "other-instance.csv")]).await;
    assert_eq!(report.objects[0].status, "own-output");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_with_record_rules() {
    let s3 = server().await;
    let rules = text("transforms/events.yaml");
    let input = std::fs::read(common::repo("sample-data/events.ndjson")).unwrap();
    let f = function(&s3, &settings(&rules, &[])).await;
    put(
        &s3,
        "input",
        "calendar/events.ndjson",
        input.clone(),
        None,
        None,
        &[],
    )
    .await;
    let report = run(&f, &[("input", "calendar/events.ndjson")]).await;
    assert_eq!(report.objects[0].outputs[0].rows, 200);
    let (body, head) = get(&s3, "output", "calendar/events.ndjson").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/x-ndjson"));
    let plain = common::gunzip(&body);
    assert_eq!(
        plain,
        function::expected_object(&rules, SALT, "calendar/events.ndjson", &input)
    );
    let plain = String::from_utf8(plain).unwrap();
    assert!(!plain.contains("Mei Walker") && !plain.contains("mei.walker@"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_type_rules_pick_rules_by_key_and_skip_unmatched_objects() {
    let s3 = server().await;
    let rules = format!(
        "fileRules:\n  /hris/{{file}}.csv:\n{}\n  /calendar/{{file}}.ndjson:\n{}\n",
        indent(&text("transforms/hris.yaml")),
        indent(&text("transforms/events.yaml"))
    );
    let f = function(&s3, &settings(&rules, &[])).await;
    let events = std::fs::read(common::repo("sample-data/events.ndjson")).unwrap();
    put(&s3, "input", "hris/2026.csv", hris(), None, None, &[]).await;
    put(
        &s3,
        "input",
        "calendar/june.ndjson",
        events.clone(),
        None,
        None,
        &[],
    )
    .await;
    put(&s3, "input", "other/notes.csv", hris(), None, None, &[]).await;
    let report = run(
        &f,
        &[
            ("input", "hris/2026.csv"),
            ("input", "calendar/june.ndjson"),
            ("input", "other/notes.csv"),
        ],
    )
    .await;
    assert_eq!(report.objects[2].outputs.len(), 0);
    assert_eq!(
        keys(&s3, "output").await,
        ["calendar/june.ndjson", "hris/2026.csv"]
    );
    let (body, _) = get(&s3, "output", "hris/2026.csv").await.unwrap();
    let hris_rules = text("transforms/hris.yaml");
    assert_eq!(
        common::gunzip(&body),
        function::expected_object(&hris_rules, SALT, "hris/2026.csv", &hris())
    );
    let (body, _) = get(&s3, "output", "calendar/june.ndjson").await.unwrap();
    let event_rules = text("transforms/events.yaml");
    assert_eq!(
        common::gunzip(&body),
        function::expected_object(&event_rules, SALT, "calendar/june.ndjson", &events)
    );
}

/// One export holding CSV, NDJSON and Parquet files: `fileRules` route each to its rules, AUTO
/// reads each calendar file in its own format, and the Parquet copies join with the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_type_rules_route_csv_ndjson_and_parquet_files_of_one_export() {
    let s3 = server().await;
    let rules = format!(
        "fileRules:\n  /export/hris/{{file}}.csv:\n{hris}\n  /export/warehouse/{{table}}.parquet:\n{hris}\n  /export/calendar/{{file}}:\n{events}\n",
        hris = indent(&text("transforms/hris.yaml")),
        events = indent(&text("transforms/events.yaml"))
    );
    let f = function(&s3, &settings(&rules, &[])).await;
    let sample = |name: &str| std::fs::read(common::repo(&format!("sample-data/{name}"))).unwrap();
    let objects = [
        ("export/hris/2026.csv", "hris.csv"),
        ("export/warehouse/people.parquet", "hris.parquet"),
        ("export/calendar/june.ndjson", "events.ndjson"),
        ("export/calendar/june.parquet", "events.parquet"),
    ];
    for (key, file) in objects {
        put(&s3, "input", key, sample(file), None, None, &[]).await;
    }
    let event_list: Vec<(&str, &str)> = objects.iter().map(|(k, _)| ("input", *k)).collect();
    let report = run(&f, &event_list).await;
    assert!(
        report.objects.iter().all(|o| o.outputs.len() == 1),
        "{report:?}"
    );

    let (csv_body, csv_head) = get(&s3, "output", "export/hris/2026.csv").await.unwrap();
    assert_eq!(csv_head.content_encoding.as_deref(), Some("gzip"));
    let (pq_body, pq_head) = get(&s3, "output", "export/warehouse/people.parquet")
        .await
        .unwrap();
    assert_eq!(
        pq_head.content_encoding, None,
        "Parquet is never gzip-wrapped"
    );
    assert_eq!(
        pq_head.content_type.as_deref(),
        Some("application/vnd.apache.parquet")
    );
    let dir = tempfile::tempdir().unwrap();
    let pq_file = dir.path().join("people.parquet");
    std::fs::write(&pq_file, &pq_body).unwrap();
    let people = pyarrow::dump(&pq_file);
    assert_eq!(people.rows.len(), 300);
    assert_eq!(people.row_groups, [100, 100, 100]);
    assert_eq!(people.type_of("JOIN_DATE"), "date32[day]");
    // Pseudonyms from the Parquet copy are those of the CSV: the two join.
    let csv_rows = common::parse_csv(&common::gunzip(&csv_body));
    let mut from_csv: Vec<(String, String)> = csv_rows[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let mut from_parquet: Vec<(String, String)> = people
        .rows
        .iter()
        .map(|r| {
            (
                r["EMPLOYEE_ID"].as_str().unwrap().to_string(),
                r["EMPLOYEE_EMAIL"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    from_csv.sort();
    from_parquet.sort();
    assert_eq!(from_parquet, from_csv);

    let (nd_body, _) = get(&s3, "output", "export/calendar/june.ndjson")
        .await
        .unwrap();
    let from_ndjson: Vec<serde_json::Value> = common::gunzip(&nd_body)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let (ev_body, _) = get(&s3, "output", "export/calendar/june.parquet")
        .await
        .unwrap();
    let ev_file = dir.path().join("events.parquet");
    std::fs::write(&ev_file, &ev_body).unwrap();
    let events = pyarrow::dump(&ev_file);
    assert_eq!(events.rows.len(), from_ndjson.len());
    for (p, n) in events.rows.iter().zip(&from_ndjson) {
        assert_eq!(p["id"], n["id"]);
        assert_eq!(p["organizer"]["email"], n["organizer"]["email"]);
        assert_eq!(p["organizer"]["displayName"], serde_json::Value::Null);
        assert_eq!(p["summary"], n["summary"]);
        for (pa, na) in p["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .zip(n["attendees"].as_array().unwrap())
        {
            assert_eq!(pa["email"], na["email"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arrays_found_by_auto_from_the_content_type() {
    let s3 = server().await;
    let rules = "format: AUTO\ntransforms:\n  - pseudonymize: $.email\n";
    let f = function(&s3, &settings(rules, &[])).await;
    let input = br#"[{"email":"ann@acme.com","n":1},{"email":"bob@acme.com","n":2}]"#.to_vec();
    put(
        &s3,
        "input",
        "exports/people",
        input.clone(),
        Some("application/json"),
        None,
        &[],
    )
    .await;
    let report = run(&f, &[("input", "exports/people")]).await;
    assert_eq!(report.objects[0].outputs[0].rows, 2);
    let (body, head) = get(&s3, "output", "exports/people").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/json"));
    let records: Vec<serde_json::Value> = serde_json::from_slice(&common::gunzip(&body)).unwrap();
    assert_eq!(records.len(), 2);
    assert!(records[0]["email"].as_str().unwrap().starts_with("t~"));
    assert_eq!(records[1]["n"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_output_format_converts_csv_records_to_ndjson() {
    let s3 = server().await;
    let rules = "format: CSV\ntransforms:\n  - pseudonymize: $.EMPLOYEE_EMAIL\n  - redact: $.MANAGER_EMAIL\n";
    let f = function(&s3, &settings(rules, &[("BULK_OUTPUT_FORMAT", "NDJSON")])).await;
    put(
        &s3,
        "input",
        "hris.csv",
        hris(),
        Some("text/csv"),
        None,
        &[],
    )
    .await;
    let report = run(&f, &[("input", "hris.csv")]).await;
    assert_eq!(report.objects[0].outputs[0].rows, 300);
    let (body, head) = get(&s3, "output", "hris.csv").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/x-ndjson"));
    let plain = String::from_utf8(common::gunzip(&body)).unwrap();
    let first: serde_json::Value = serde_json::from_str(plain.lines().next().unwrap()).unwrap();
    assert!(first["EMPLOYEE_EMAIL"].as_str().unwrap().starts_with("t~"));
    assert_eq!(plain.lines().count(), 300);
}

fn indent(yaml: &str) -> String {
    yaml.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// About `target` bytes of HRIS-like CSV whose row `bad_row` (1-based, after the header) has
/// a missing field.
fn csv_with_bad_row(target: usize, bad_row: usize) -> Vec<u8> {
    let mut out = b"EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,DEPARTMENT\n".to_vec();
    let mut i = 1;
    while out.len() < target {
        if i == bad_row {
            out.extend_from_slice(format!("E{i:08},secret.person{i}@acme.com,E1\n").as_bytes());
        } else {
            out.extend_from_slice(
                format!("E{i:08},person{i}@acme.com,E{:08},Engineering\n", i / 10).as_bytes(),
            );
        }
        i += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_deep_in_a_large_object_leaves_no_object_and_no_upload() {
    let s3 = server().await;
    let rules = "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\n";
    // No compression: the output passes the 8 MiB part size, so a multipart upload is open
    // (parts already sent) when the bad row is reached.
    let f = function(
        &s3,
        &settings(rules, &[("COMPRESS_OUTPUT_ALWAYS", "false")]),
    )
    .await;
    let bad_row = 400_000;
    let input = csv_with_bad_row(40 << 20, bad_row);
    put(&s3, "input", "big.csv", input, None, None, &[]).await;
    put(&s3, "input", "good.csv", hris(), None, None, &[]).await;

    let err = f
        .handle(event(&[("input", "big.csv"), ("input", "good.csv")]))
        .await
        .expect_err("the bad row fails the invocation");
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.total, 2);
    let failure = &err.failures[0];
    assert_eq!(
        (failure.bucket.as_str(), failure.key.as_str()),
        ("input", "big.csv")
    );
    assert!(!failure.retryable());
    let message = err.to_string();
    let line = bad_row + 1;
    assert!(message.contains(&format!("line {line}")), "{message}");
    assert!(message.contains("input/big.csv"), "{message}");
    assert!(
        !message.contains("secret.person"),
        "no data value in {message}"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, INPUT_ERROR);

    // The other record was still processed; the bad one left nothing behind.
    assert_eq!(keys(&s3, "output").await, ["good.csv"]);
    let uploads = psoxy::storage::s3::list_multipart_uploads(&s3.client, "output")
        .await
        .unwrap();
    assert!(uploads.is_empty(), "unfinished uploads: {uploads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_objects_are_not_retryable_and_an_unreachable_store_is() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    let err = f.handle(event(&[("input", "gone.csv")])).await.unwrap_err();
    assert!(!err.retryable());
    assert!(err.to_string().contains("input/gone.csv"), "{err}");
    assert!(err.to_string().contains("no such key"), "{err}");

    // A server that is not there: connection refused is worth retrying.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let processor = Function::processor(
        &|k| {
            settings(&rules, &[])
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        },
        None,
        2,
    )
    .await
    .unwrap();
    let offline = Function::new(
        processor,
        psoxy::storage::S3Store::new(
            s3_server::client_for(&format!("http://{closed}")),
            tokio::runtime::Handle::current(),
        ),
    );
    let err = offline
        .handle(event(&[("input", "hris.csv")]))
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, RETRYABLE_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_json_for_the_caller() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[])).await;
    put(&s3, "input", "hris.csv", hris(), None, None, &[]).await;
    let report = run(&f, &[("input", "hris.csv")]).await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["objects"][0]["status"], "sanitized");
    assert_eq!(json["objects"][0]["outputs"][0]["rows"], 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_encoding_decodes_utf16_and_refuses_what_it_cannot_decode() {
    let s3 = server().await;
    let rules = text("transforms/hris.yaml");
    let f = function(&s3, &settings(&rules, &[("INPUT_ENCODING", "UTF-16")])).await;
    // Excel's "Unicode Text": UTF-16LE with its byte-order mark.
    let utf16: Vec<u8> = [0xFEFF]
        .into_iter()
        .chain(String::from_utf8(hris()).unwrap().encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    put(&s3, "input", "hris16.csv", utf16.clone(), None, None, &[]).await;
    // Without a byte-order mark, UTF-16 cannot say its byte order.
    put(
        &s3,
        "input",
        "nobom.csv",
        utf16[2..].to_vec(),
        None,
        None,
        &[],
    )
    .await;

    let report = run(&f, &[("input", "hris16.csv")]).await;
    assert_eq!(report.objects[0].status, "sanitized");
    let (body, _) = get(&s3, "output", "hris16.csv").await.expect("output");
    assert_eq!(
        common::gunzip(&body),
        function::expected_object(&rules, SALT, "hris16.csv", &hris()),
        "the same UTF-8 bytes as the UTF-8 input's"
    );

    let err = f
        .handle(event(&[("input", "nobom.csv")]))
        .await
        .expect_err("refused");
    assert!(!err.failures[0].retryable());
    let message = err.to_string();
    assert!(
        message.contains("input/nobom.csv") && message.contains("UTF-16LE or UTF-16BE"),
        "{message}"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, INPUT_ERROR);
    assert!(get(&s3, "output", "nobom.csv").await.is_none());
}
