//! Fan-out: plan -> chunks -> join gives what one whole run gives, on adversarial CSVs (local
//! folders, many small chunks) and against a real S3 server on loopback (chunks uploading into
//! the output's multipart upload, Parquet parts copied, gzip bodies framed into one member); a
//! failing chunk leaves no output and, after the abort, no work objects and no open upload.
#![cfg(all(feature = "aws", feature = "parquet"))]

#[path = "support/s3_server.rs"]
mod s3_server;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use proptest::prelude::*;
use psoxy::bulk::fanout::{self, Chunk, Job};
use psoxy::bulk::{BulkProcessor, BulkSettings, Outcome};
use psoxy::settings::{Flags, Settings};
use psoxy::storage::{LocalStore, ObjectStore, S3Store};

const RULES: &str = "columnsToPseudonymize: [EMAIL]\ncolumnsToRedact: [NOTE]\n";

fn processor(pairs: &[(&str, &str)]) -> BulkProcessor {
    let mut map: HashMap<String, String> = HashMap::from([
        ("PSOXY_SALT".into(), "salt".into()),
        ("RULES".into(), RULES.into()),
        ("OUTPUT_BUCKET".into(), "output".into()),
        ("PSOXY_INSTANCE_ID".into(), "fanout-test".into()),
        ("PSOXY_SHUFFLE_ROWS".into(), "false".into()),
        ("COMPRESS_OUTPUT_ALWAYS".into(), "false".into()),
    ]);
    map.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::from_sources(&psoxy::bulk::bulk_settings(), &Flags::new(), &|k| {
        map.get(k).cloned()
    });
    BulkProcessor::new(BulkSettings::from_settings(&settings).unwrap(), 2).unwrap()
}

fn job(key: &str) -> Job {
    Job {
        bucket: "input".into(),
        key: key.into(),
        destination: 0,
        work_prefix: format!("fanout/{key}/"),
        version: None,
        plan: None,
        error: None,
    }
}

/// The chunks of a stored plan.
fn stored_chunks(store: &dyn ObjectStore, plan: &fanout::PlanRef) -> Vec<Chunk> {
    let mut bytes = Vec::new();
    store
        .read(&plan.bucket, &plan.key)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Runs a whole fan-out (plan, every chunk, join) and returns the plan's chunks.
fn fan_out(
    store: &dyn ObjectStore,
    p: &BulkProcessor,
    job: &mut Job,
    chunk_bytes: u64,
) -> Result<Vec<Chunk>, fanout::FanoutError> {
    let plan = fanout::plan(store, p, job, "work-bucket", chunk_bytes)?;
    let chunks = stored_chunks(store, &plan);
    assert_eq!(chunks.len() as u64, plan.chunks);
    job.plan = Some(plan);
    for chunk in &chunks {
        fanout::chunk(store, p, job, chunk, "work-bucket")?;
    }
    fanout::join(store, p, job)?;
    Ok(chunks)
}

fn local(dir: &Path) -> LocalStore {
    let mut buckets = HashMap::new();
    for b in ["input", "output", "work-bucket"] {
        std::fs::create_dir_all(dir.join(b)).unwrap();
        buckets.insert(b.to_string(), dir.join(b));
    }
    LocalStore::new(buckets)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push(entry.strip_prefix(dir).unwrap().display().to_string());
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// One CSV field: plain, quoted with commas, quotes, CR/LF inside, or empty.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9@.]{0,12}",
        "\"[a-z,\\r\\n ]{0,10}\"",
        "\"([a-z]|\"\"){0,6}\"",
        Just(String::new()),
    ]
}

/// A CSV with the rules' columns, an optional BOM, LF or CRLF, quoted newlines, quotes at any
/// offset, blank lines, maybe no final newline.
fn csv() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((field(), field(), field()), 0..40),
    )
        .prop_map(|(bom, crlf, last_newline, rows)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            text.push_str(&format!("EMAIL,NOTE,OTHER{eol}"));
            for (i, (a, b, c)) in rows.iter().enumerate() {
                text.push_str(&format!("{a},{b},{c}"));
                if i + 1 < rows.len() || last_newline {
                    text.push_str(eol);
                }
            }
            text.into_bytes()
        })
}

/// Inline output, or its error text.
fn inline(store: &LocalStore, p: &BulkProcessor, key: &str) -> Result<Vec<u8>, String> {
    match p.process(store, "input", key) {
        Ok(Outcome::Done { written, .. }) => {
            let mut out = Vec::new();
            store
                .read("output", &written[0].key)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            Ok(out)
        }
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the cut size, the chunked output is the whole run's, byte for byte (rows not
    /// shuffled); a file the whole run refuses is refused too.
    #[test]
    fn chunked_output_equals_the_whole_run(text in csv(), chunk_bytes in 1u64..64) {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        std::fs::write(dir.path().join("input/data.csv"), &text).unwrap();
        let p = processor(&[]);
        let whole = inline(&store, &p, "data.csv");
        std::fs::remove_dir_all(dir.path().join("output")).unwrap();
        std::fs::create_dir_all(dir.path().join("output")).unwrap();
        let mut job = job("data.csv");
        let chunked = fan_out(&store, &p, &mut job, chunk_bytes);
        match (&whole, &chunked) {
            (Ok(expected), Ok(_)) => {
                let got = std::fs::read(dir.path().join("output/data.csv")).unwrap();
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected));
                prop_assert!(files_under(&dir.path().join("work-bucket")).is_empty());
            }
            (Err(_), Err(_)) => {
                prop_assert!(files_under(&dir.path().join("output")).is_empty());
            }
            _ => prop_assert!(false, "whole {:?}, chunked {:?}", whole.map(|_| ()), chunked.map(|_| ())),
        }
    }
}

#[test]
fn edge_cases_plan_like_the_reader_reads() {
    let long_cell = format!("a@b.c,\"{}\",x\n", "y\n".repeat(500));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("one row", b"EMAIL,NOTE,OTHER\na@b.c,n,o\n".to_vec()),
        ("header only", b"EMAIL,NOTE,OTHER\n".to_vec()),
        (
            "bom crlf",
            b"\xef\xbb\xbfEMAIL,NOTE,OTHER\r\na@b.c,\"n\r\n\",o\r\nx,y,z\r\n".to_vec(),
        ),
        (
            "record longer than a chunk",
            format!("EMAIL,NOTE,OTHER\n{long_cell}{long_cell}").into_bytes(),
        ),
        (
            "quote inside an unquoted field",
            b"EMAIL,NOTE,OTHER\na\"b,\"c\nd\",e\nf,g,h\n".to_vec(),
        ),
    ];
    for (name, text) in cases {
        for chunk_bytes in [1, 2, 3, 7, 64, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let store = local(dir.path());
            std::fs::write(dir.path().join("input/data.csv"), &text).unwrap();
            let p = processor(&[]);
            let whole = inline(&store, &p, "data.csv").unwrap();
            let mut job = job("data.csv");
            fan_out(&store, &p, &mut job, chunk_bytes).unwrap();
            let got = std::fs::read(dir.path().join("output/data.csv")).unwrap();
            assert_eq!(got, whole, "{name}, chunks of {chunk_bytes}");
        }
    }
}

#[test]
fn ndjson_cuts_at_lines() {
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!("{{\"EMAIL\":\"u{i}@x.com\",\"NOTE\":\"n\"}}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    std::fs::write(dir.path().join("input/data.ndjson"), &text).unwrap();
    let rules =
        "format: NDJSON\ntransforms:\n  - pseudonymize: \"$.EMAIL\"\n  - redact: \"$.NOTE\"\n";
    let p = processor(&[("RULES", rules)]);
    let whole = inline(&store, &p, "data.ndjson").unwrap();
    let mut job = job("data.ndjson");
    let chunks = fan_out(&store, &p, &mut job, 1000).unwrap();
    assert!(chunks.len() > 10);
    assert_eq!(
        std::fs::read(dir.path().join("output/data.ndjson")).unwrap(),
        whole
    );
}

/// A CSV of `rows` rows, about 100 bytes each; row `bad` (if any) is short.
fn big_csv(rows: usize, bad: Option<usize>) -> Vec<u8> {
    let mut text = String::from("EMAIL,NOTE,OTHER\n");
    for i in 0..rows {
        if Some(i) == bad {
            text.push_str("short\n");
        } else {
            text.push_str(&format!(
                "user{i}@example.com,\"a note, with a comma\nand a line\",{:040}\n",
                i
            ));
        }
    }
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_plan_chunks_join_equal_the_whole_run_and_failures_leave_nothing() {
    let input = big_csv(300_000, None); // about 30 MB
    let (s3, store) = s3_with("hris/big.csv", input.clone()).await;
    let client = s3.client.clone();
    let get = move |bucket: &'static str, key: &'static str| {
        let client = client.clone();
        async move {
            let out = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let encoding = out.content_encoding().map(str::to_owned);
            let metadata = out.metadata().cloned().unwrap_or_default();
            let body = out.body.collect().await.unwrap().into_bytes().to_vec();
            (body, encoding, metadata)
        }
    };

    // Plain output: byte for byte.
    let s = store.clone();
    let whole = tokio::task::spawn_blocking(move || {
        let p = processor(&[("OUTPUT_BASE_PATH", "whole/")]);
        p.process(&s, "input", "hris/big.csv").unwrap();
        let p = processor(&[("OUTPUT_BASE_PATH", "fanned/")]);
        let mut job = job("hris/big.csv");
        fan_out(&s, &p, &mut job, 8 << 20).unwrap().len()
    })
    .await
    .unwrap();
    assert!(whole >= 3, "{whole} chunks");
    let (expected, _, _) = get("output", "whole/hris/big.csv").await;
    let (got, encoding, metadata) = get("output", "fanned/hris/big.csv").await;
    assert_eq!(encoding, None);
    assert!(
        got == expected,
        "chunked output differs from the whole run's"
    );
    assert_eq!(metadata["psoxy-instance-id"], "fanout-test");
    assert_eq!(metadata["psoxy-original-object-key"], "input/hris/big.csv");

    // Gzip output: one member that flate2's GzDecoder reads to the end, same text.
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let p = processor(&[
            ("OUTPUT_BASE_PATH", "gz/"),
            ("COMPRESS_OUTPUT_ALWAYS", "true"),
        ]);
        let mut job = job("hris/big.csv");
        fan_out(&s, &p, &mut job, 8 << 20).unwrap();
    })
    .await
    .unwrap();
    let (gz, encoding, _) = get("output", "gz/hris/big.csv").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut text)
        .unwrap();
    assert!(text == expected, "gunzipped output differs");

    // A bad row in a middle chunk: the chunk fails naming the object, chunk and line; the
    // abort leaves no output and no work objects.
    s3.client
        .put_object()
        .bucket("input")
        .key("hris/bad.csv")
        .body(big_csv(300_000, Some(150_000)).into())
        .send()
        .await
        .unwrap();
    let s = store.clone();
    let err = tokio::task::spawn_blocking(move || {
        let p = processor(&[("OUTPUT_BASE_PATH", "bad/")]);
        let mut job = job("hris/bad.csv");
        let err = fan_out(&s, &p, &mut job, 8 << 20).unwrap_err();
        job.error =
            Some(serde_json::json!({"Error": "Psoxy.InvalidInput", "Cause": err.to_string()}));
        fanout::abort(&s, &job, "work-bucket");
        err.to_string()
    })
    .await
    .unwrap();
    let line = 2 + 150_000 * 2; // two lines a row, after the header
    assert!(
        err.starts_with("input/hris/bad.csv: chunk ") && err.contains(&format!("line {line}:")),
        "{err}"
    );
    assert_eq!(
        keys(&s3.client, "work-bucket", "").await,
        Vec::<String>::new()
    );
    assert_eq!(
        keys(&s3.client, "output", "bad/").await,
        Vec::<String>::new()
    );
    assert_eq!(open_uploads(&s3.client).await, Vec::<String>::new());
}

/// The keys of the multipart uploads open in the output bucket of the S3 test server.
async fn open_uploads(client: &aws_sdk_s3::Client) -> Vec<String> {
    psoxy::storage::s3::list_multipart_uploads(client, "output")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_upload_their_output_into_the_outputs_upload() {
    let (s3, store) = s3_with("hris/big.csv", big_csv(300_000, None)).await; // about 30 MB
    let s = store.clone();
    let (planned, chunks, reports) = tokio::task::spawn_blocking(move || {
        processor(&[("OUTPUT_BASE_PATH", "whole/")])
            .process(&s, "input", "hris/big.csv")
            .unwrap();
        let p = processor(&[("OUTPUT_BASE_PATH", "fanned/")]);
        let mut job = job("hris/big.csv");
        let plan = fanout::plan(&s, &p, &job, "work-bucket", 16 << 20).unwrap();
        let chunks = stored_chunks(&s, &plan);
        job.plan = Some(plan);
        let reports: Vec<_> = chunks
            .iter()
            .map(|c| fanout::chunk(&s, &p, &job, c, "work-bucket").unwrap())
            .collect();
        (job, chunks, reports)
    })
    .await
    .unwrap();
    // Two chunks of about 15 MB of output: each kept its first 5 MiB and its tail, and
    // uploaded what lies between as parts of its block of the output's upload.
    assert_eq!(chunks.len(), 2);
    let parts: Vec<_> = chunks.iter().map(|c| c.parts.clone().unwrap()).collect();
    assert_eq!(parts[0].upload, parts[1].upload);
    assert_eq!(parts[0].numbers, [1, 5000]);
    assert_eq!(parts[1].numbers, [5000, 9999]);
    for (report, block) in reports.iter().zip(&parts) {
        assert_eq!(report.head, 5 << 20);
        assert!(!report.parts.is_empty(), "{report:?}");
        assert!(report
            .parts
            .iter()
            .all(|p| p.number > block.numbers[0] && p.number < block.numbers[1]));
    }
    assert_eq!(open_uploads(&s3.client).await, ["fanned/hris/big.csv"]);
    assert_eq!(
        keys(&s3.client, "output", "fanned/").await,
        Vec::<String>::new()
    );
    let s = store.clone();
    let joined = tokio::task::spawn_blocking(move || {
        fanout::join(&s, &processor(&[("OUTPUT_BASE_PATH", "fanned/")]), &planned).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(joined.rows, 300_000);
    let expected = body(&s3.client, "output", "whole/hris/big.csv").await;
    let got = body(&s3.client, "output", "fanned/hris/big.csv").await;
    assert!(
        got == expected,
        "chunked output differs from the whole run's"
    );
    assert!(open_uploads(&s3.client).await.is_empty());
    assert_eq!(
        keys(&s3.client, "work-bucket", "").await,
        Vec::<String>::new()
    );

    // Gzip, in chunks small enough that none uploads a part (the join gathers them), and in
    // chunks that do: one gzip member either way.
    for chunk_bytes in [3 << 20, 16 << 20] {
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            let p = processor(&[
                ("OUTPUT_BASE_PATH", "gz/"),
                ("COMPRESS_OUTPUT_ALWAYS", "true"),
            ]);
            fan_out(&s, &p, &mut job("hris/big.csv"), chunk_bytes).unwrap();
        })
        .await
        .unwrap();
        let gz = body(&s3.client, "output", "gz/hris/big.csv").await;
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut text)
            .unwrap();
        assert!(text == expected, "gunzipped output differs ({chunk_bytes})");
    }

    // Aborted after the chunks uploaded their parts: no output, no upload, no work object.
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let p = processor(&[("OUTPUT_BASE_PATH", "aborted/")]);
        let mut job = job("hris/big.csv");
        let plan = fanout::plan(&s, &p, &job, "work-bucket", 16 << 20).unwrap();
        let chunks = stored_chunks(&s, &plan);
        job.plan = Some(plan);
        for chunk in &chunks {
            fanout::chunk(&s, &p, &job, chunk, "work-bucket").unwrap();
        }
        fanout::abort(&s, &job, "work-bucket");
    })
    .await
    .unwrap();
    assert!(open_uploads(&s3.client).await.is_empty());
    assert_eq!(
        keys(&s3.client, "output", "aborted/").await,
        Vec::<String>::new()
    );
    assert_eq!(
        keys(&s3.client, "work-bucket", "").await,
        Vec::<String>::new()
    );
}

/// The S3 test server with the input, output and work buckets and `body` stored as
/// `input/key`, and a store on it.
async fn s3_with(key: &str, body: Vec<u8>) -> (s3_server::TestS3, S3Store) {
    let s3 = s3_server::start();
    for b in ["input", "output", "work-bucket"] {
        s3.create_bucket(b).await;
    }
    s3.client
        .put_object()
        .bucket("input")
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
    let store = S3Store::new(s3.client.clone(), tokio::runtime::Handle::current());
    (s3, store)
}

/// The bytes of `bucket/key` on the S3 test server.
async fn body(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The keys under `prefix` in `bucket` of the S3 test server.
async fn keys(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// A CSV of 2,000 rows as `input/data.csv` in local folders under `dir`, planned in chunks of
/// about 50 kB (at least 3).
fn planned_csv(dir: &Path) -> (LocalStore, BulkProcessor, Job, Vec<Chunk>) {
    let store = local(dir);
    std::fs::write(dir.join("input/data.csv"), big_csv(2_000, None)).unwrap();
    let p = processor(&[]);
    let mut job = job("data.csv");
    let plan = fanout::plan(&store, &p, &job, "work-bucket", 50_000).unwrap();
    assert!(plan.chunks >= 3, "{} chunks", plan.chunks);
    let chunks = stored_chunks(&store, &plan);
    job.plan = Some(plan);
    (store, p, job, chunks)
}

#[test]
fn a_join_with_a_chunk_missing_writes_nothing_and_names_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let (store, p, job, chunks) = planned_csv(dir.path());
    fanout::chunk(&store, &p, &job, &chunks[0], "work-bucket").unwrap();
    let err = fanout::join(&store, &p, &job).unwrap_err().to_string();
    assert_eq!(
        err,
        "input/data.csv: chunk 1: its part is missing: the chunk did not complete"
    );
    assert!(files_under(&dir.path().join("output")).is_empty());
    fanout::abort(&store, &job, "work-bucket");
    assert!(files_under(&dir.path().join("work-bucket")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_during_a_fan_out_writes_nothing() {
    let s3 = s3_server::start();
    for b in ["input", "output", "work-bucket"] {
        s3.create_bucket(b).await;
    }
    let put = |body: Vec<u8>| {
        let client = s3.client.clone();
        async move {
            client
                .put_object()
                .bucket("input")
                .key("hris/big.csv")
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    };
    put(big_csv(20_000, None)).await;
    let store = S3Store::new(s3.client.clone(), tokio::runtime::Handle::current());
    let s = store.clone();
    let (job, chunks) = tokio::task::spawn_blocking(move || {
        let p = processor(&[]);
        let mut job = job("hris/big.csv");
        job.version = s.info("input", "hris/big.csv").unwrap().version;
        assert!(job.version.is_some(), "S3 names versions by ETag");
        let plan = fanout::plan(&s, &p, &job, "work-bucket", 100_000).unwrap();
        assert_eq!(plan.version, job.version);
        let chunks = stored_chunks(&s, &plan);
        assert!(chunks.iter().all(|c| c.version == job.version));
        job.plan = Some(plan);
        fanout::chunk(&s, &p, &job, &chunks[0], "work-bucket").unwrap();
        (job, chunks)
    })
    .await
    .unwrap();

    // A new upload replaces the object while the fan-out runs.
    put(big_csv(20_001, None)).await;
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let p = processor(&[]);
        // A read of the planned version is refused (`If-Match`), not served from the new one.
        let stale = s
            .read_range("input", "hris/big.csv", job.version.as_deref(), 0, 10)
            .err()
            .expect("a read of a replaced version fails");
        assert!(stale.is_changed(), "{stale}");
        let changed = "the object changed during the fan-out";
        let err = fanout::chunk(&s, &p, &job, &chunks[1], "work-bucket").unwrap_err();
        assert!(err.to_string().contains(changed), "{err}");
        let err = fanout::join(&s, &p, &job).unwrap_err();
        assert!(err.to_string().contains(changed), "{err}");
        // A job started for the old version plans nothing.
        let err = fanout::plan(&s, &p, &job, "work-bucket", 100_000).unwrap_err();
        assert!(err.to_string().contains(changed), "{err}");
        fanout::abort(&s, &job, "work-bucket");
    })
    .await
    .unwrap();
    for bucket in ["output", "work-bucket"] {
        assert_eq!(keys(&s3.client, bucket, "").await, Vec::<String>::new());
    }
    assert!(open_uploads(&s3.client).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composing_nothing_writes_an_empty_object() {
    let s3 = s3_server::start();
    s3.create_bucket("output").await;
    let store = S3Store::new(s3.client.clone(), tokio::runtime::Handle::current());
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let segments = [psoxy::storage::Segment::Bytes(Vec::new())];
        s.compose("output", "empty.csv", Default::default(), &segments)
            .unwrap();
        assert_eq!(s.info("output", "empty.csv").unwrap().size, 0);
    })
    .await
    .unwrap();
}

#[test]
fn a_join_refuses_a_part_that_is_not_what_its_chunk_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (store, p, job, chunks) = planned_csv(dir.path());
    for chunk in &chunks {
        fanout::chunk(&store, &p, &job, chunk, "work-bucket").unwrap();
    }
    let part = dir
        .path()
        .join("work-bucket")
        .join(fanout::part_key(&job, 1));
    let mut text = std::fs::read(&part).unwrap();
    text.truncate(text.len() / 2);
    std::fs::write(&part, text).unwrap();
    let err = fanout::join(&store, &p, &job).unwrap_err().to_string();
    assert_eq!(
        err,
        "input/data.csv: chunk 1: its part does not match its summary: \
         the part's size is not the size the chunk wrote"
    );
    assert!(files_under(&dir.path().join("output")).is_empty());
}

/// The plan's chunks of `text` (stored as `input/key`) in chunks of about `chunk_bytes`.
fn planned(dir: &Path, key: &str, text: &[u8], chunk_bytes: u64) -> Vec<Chunk> {
    let store = local(dir);
    std::fs::write(dir.join("input").join(key), text).unwrap();
    let plan = fanout::plan(
        &store,
        &processor(&[]),
        &job(key),
        "work-bucket",
        chunk_bytes,
    )
    .unwrap();
    stored_chunks(&store, &plan)
}

#[test]
fn quoted_fields_let_the_plan_read_windows_only_and_plain_text_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    // Quoted fields in every row: each cut is found in the window at its target, so the plan
    // reads no more than the windows and counts no lines.
    let quoted = planned(dir.path(), "quoted.csv", &big_csv(20_000, None), 200_000);
    assert!(quoted.len() >= 5, "{} chunks", quoted.len());
    assert!(quoted[1..].iter().all(|c| c.line == 0), "{quoted:?}");
    // No quotes: a window cannot rule out one long quoted field, so the body is scanned (and
    // the lines counted on the way).
    let mut plain = String::from("EMAIL,NOTE\n");
    for i in 0..40_000 {
        plain.push_str(&format!("user{i}@example.com,plain note {i}\n"));
    }
    let chunks = planned(dir.path(), "plain.csv", plain.as_bytes(), 200_000);
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    for c in &chunks[1..] {
        let line = 1 + plain.as_bytes()[..c.start as usize]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        assert_eq!(c.line, line);
    }
}

/// A Parquet file of `rows` rows (EMAIL, NOTE, N) in row groups of `group_rows` rows.
fn parquet_file(rows: usize, group_rows: usize) -> Vec<u8> {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("EMAIL", DataType::Utf8, false),
        Field::new("NOTE", DataType::Utf8, true),
        Field::new("N", DataType::Int64, false),
    ]));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut bytes = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, schema.clone(), Some(props)).unwrap();
    for start in (0..rows).step_by(700) {
        let n: Vec<usize> = (start..(start + 700).min(rows)).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                n.iter().map(|i| format!("user{i}@example.com")),
            )),
            Arc::new(StringArray::from_iter(
                n.iter()
                    .map(|i| (i % 3 != 0).then(|| format!("note, {i}\nline"))),
            )),
            Arc::new(Int64Array::from_iter_values(n.iter().map(|i| *i as i64))),
        ];
        writer
            .write(&RecordBatch::try_new(schema.clone(), columns).unwrap())
            .unwrap();
    }
    writer.close().unwrap();
    bytes
}

#[test]
fn parquet_is_cut_between_row_groups_and_joins_to_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    std::fs::write(
        dir.path().join("input/people.parquet"),
        parquet_file(10_000, 1_000),
    )
    .unwrap();
    let info = store.info("input", "people.parquet").unwrap();
    let head = fanout::magic(&store, &job("people.parquet"), &info).unwrap();
    let records =
        "format: PARQUET\ntransforms:\n  - pseudonymize: \"$.EMAIL\"\n  - redact: \"$.NOTE\"\n";
    for (format, gzip, rules) in [
        ("CSV", "false", RULES),
        ("CSV", "true", RULES),
        // Parquet written as Parquet: the parts' data as they are, one footer for all.
        ("PARQUET", "true", RULES),
        ("PARQUET", "false", records),
        ("JSON_ARRAY", "true", records),
    ] {
        let p = processor(&[
            ("COMPRESS_OUTPUT_ALWAYS", gzip),
            ("BULK_OUTPUT_FORMAT", format),
            ("RULES", rules),
        ]);
        let info = store.info("input", "people.parquet").unwrap();
        assert!(fanout::splittable(&store, &p, &job("people.parquet"), &info, &head).unwrap());
        let (key, expected) = match p.process(&store, "input", "people.parquet").unwrap() {
            Outcome::Done { written, .. } => {
                let key = written[0].key.clone();
                (
                    key.clone(),
                    std::fs::read(dir.path().join("output").join(&key)).unwrap(),
                )
            }
            other => panic!("{other:?}"),
        };
        let third = info.size / 3;
        for chunk_bytes in [1, third, 1 << 40] {
            std::fs::remove_dir_all(dir.path().join("output")).unwrap();
            std::fs::create_dir_all(dir.path().join("output")).unwrap();
            let mut job = job("people.parquet");
            let chunks = fan_out(&store, &p, &mut job, chunk_bytes).unwrap();
            let groups: Vec<[u64; 2]> = chunks.iter().map(|c| c.row_groups.unwrap()).collect();
            match chunk_bytes {
                1 => assert_eq!(groups.len(), 10, "one chunk per row group: {groups:?}"),
                c if c == third => assert!((3..=4).contains(&groups.len()), "{groups:?}"),
                _ => assert_eq!(groups, vec![[0, 10]]),
            }
            let got = std::fs::read(dir.path().join("output").join(&key)).unwrap();
            if gzip == "true" && format != "PARQUET" {
                let text = |b: &[u8]| {
                    let mut t = Vec::new();
                    flate2::read::GzDecoder::new(b).read_to_end(&mut t).unwrap();
                    t
                };
                assert!(
                    text(&got) == text(&expected),
                    "{format} gzip, {chunk_bytes}"
                );
            } else {
                assert!(
                    got == expected,
                    "{format} {chunk_bytes}: differs from the whole run"
                );
            }
            assert!(files_under(&dir.path().join("work-bucket")).is_empty());
        }
    }
}

#[test]
fn a_window_that_cannot_tell_only_loses_its_cut() {
    // Quoted cells everywhere but for a stretch of 1.3 MB without quotes: a window (1 MiB) that
    // starts early in it cannot tell where a record ends and loses its cut, the later ones in
    // it find their cut only after it (the same one): chunks merge, the others are kept, and
    // the output is still the whole run's.
    let mut text = String::from("EMAIL,NOTE,OTHER\n");
    let mut i = 0;
    while text.len() < 12_000_000 {
        let plain = (4_000_000..5_300_000).contains(&text.len());
        let note = if plain { "plain" } else { "\"a, b\"" };
        text.push_str(&format!("user{i}@example.com,{note},{i:030}\n"));
        i += 1;
    }
    let chunk_bytes = 256 << 10;
    let dir = tempfile::tempdir().unwrap();
    let chunks = planned(dir.path(), "mixed.csv", text.as_bytes(), chunk_bytes);
    assert!(chunks.iter().all(|c| c.line <= 1), "windows, not a scan");
    let undropped = (text.len() as u64 - 17).div_ceil(chunk_bytes);
    assert!(
        (chunks.len() as u64) < undropped && chunks.len() as u64 + 6 >= undropped,
        "{} chunks, {undropped} with every cut",
        chunks.len()
    );
    let store = local(dir.path());
    let p = processor(&[]);
    let whole = inline(&store, &p, "mixed.csv").unwrap();
    std::fs::remove_dir_all(dir.path().join("output")).unwrap();
    std::fs::create_dir_all(dir.path().join("output")).unwrap();
    fan_out(&store, &p, &mut job("mixed.csv"), chunk_bytes).unwrap();
    let got = std::fs::read(dir.path().join("output/mixed.csv")).unwrap();
    assert!(got == whole, "differs from the whole run");
}

#[test]
fn shuffled_chunks_hold_the_whole_runs_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut text = String::from("EMAIL,NOTE\n");
    for i in 0..6_000 {
        text.push_str(&format!("user{i}@example.com,note {i}\n"));
    }
    std::fs::write(dir.path().join("input/rows.csv"), &text).unwrap();
    let read_output = || std::fs::read(dir.path().join("output/rows.csv")).unwrap();
    let clear_output = || {
        std::fs::remove_dir_all(dir.path().join("output")).unwrap();
        std::fs::create_dir_all(dir.path().join("output")).unwrap();
    };
    let unshuffled = inline(&store, &processor(&[]), "rows.csv").unwrap();
    clear_output();
    let p = processor(&[("PSOXY_SHUFFLE_ROWS", "true")]);
    let whole = inline(&store, &p, "rows.csv").unwrap();
    clear_output();
    let chunks = fan_out(&store, &p, &mut job("rows.csv"), 40_000).unwrap();
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let got = read_output();
    let rows = |b: &[u8]| {
        let mut lines: Vec<Vec<u8>> = b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect();
        let header = lines.remove(0);
        lines.sort();
        (header, lines)
    };
    assert!(rows(&got) == rows(&whole), "not the whole run's rows");
    assert!(got != unshuffled, "the chunks were not shuffled");
    assert!(got != whole, "the chunks were shuffled as one whole run");
}

const RECORD_RULES: &str =
    "format: JSON_ARRAY\ntransforms:\n  - pseudonymize: \"$.EMAIL\"\n  - redact: \"$.NOTE\"\n";

/// A JSON string holding the bytes that matter to a cut (`,` brackets, braces, `"`, `\`, a
/// line end), escaped as JSON escapes them.
fn json_string() -> impl Strategy<Value = String> {
    "[a-z,\\[\\]{}\"\\\\ @\n]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap())
}

/// One element: mostly a record with the rules' fields and something nested (an array of
/// strings, arrays and objects, a number).
fn json_element() -> impl Strategy<Value = String> {
    let other = prop_oneof![
        prop::collection::vec(json_string(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
        Just("[[1,[]],{\"a\":{}}]".to_string()),
        (0i64..100_000).prop_map(|n| format!("{n}.5e1")),
        json_string(),
    ];
    (json_string(), json_string(), other).prop_map(|(email, note, other)| {
        format!("{{\"EMAIL\": {email},\"NOTE\":{note}, \"OTHER\" : {other}}}")
    })
}

/// A JSON array of such elements, with any blanks and line ends between them and an optional
/// BOM; sometimes broken (an empty element, a trailing comma, no `]`, a letter between
/// elements, an element that is not a record, data after the array).
fn json_array() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::collection::vec(
            (
                json_element(),
                prop_oneof![Just(""), Just(" "), Just("\n"), Just(" \r\n ")],
            ),
            0..30,
        ),
        prop_oneof![
            6 => Just(None),
            1 => (0usize..30, prop_oneof![Just(",,"), Just("x"), Just("[,"), Just("12,")])
                .prop_map(Some),
        ],
        prop_oneof![9 => Just("]\n"), 1 => Just(",]"), 1 => Just(""), 1 => Just("] [1]")],
    )
        .prop_map(|(bom, elements, broken, end)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            text.push('[');
            for (i, (element, blank)) in elements.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(blank);
                if let Some((at, what)) = broken {
                    if at == i {
                        text.push_str(what);
                    }
                }
                text.push_str(element);
            }
            text.push_str(end);
            text.into_bytes()
        })
}

/// The only object in the local `output` bucket.
fn only_output(dir: &Path) -> Vec<u8> {
    let files = walk(&dir.join("output"));
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

/// `bytes`, gunzipped if they are gzip.
fn text_of(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut text)
            .unwrap();
        text
    } else {
        bytes
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A JSON array in chunks gives the whole run's output (a JSON array, NDJSON, either
    /// gzipped), whatever the cut size; an array the whole run refuses is refused too, with no
    /// output.
    #[test]
    fn a_chunked_json_array_equals_the_whole_run(
        text in json_array(),
        chunk_bytes in 1u64..80,
        output in 0usize..4,
    ) {
        let (format, gzip) = [("JSON_ARRAY", "false"), ("JSON_ARRAY", "true"), ("NDJSON", "false"), ("NDJSON", "true")][output];
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        std::fs::write(dir.path().join("input/data.json"), &text).unwrap();
        let p = processor(&[
            ("RULES", RECORD_RULES),
            ("BULK_OUTPUT_FORMAT", format),
            ("COMPRESS_OUTPUT_ALWAYS", gzip),
        ]);
        let whole = inline(&store, &p, "data.json");
        std::fs::remove_dir_all(dir.path().join("output")).unwrap();
        std::fs::create_dir_all(dir.path().join("output")).unwrap();
        let mut job = job("data.json");
        let chunked = fan_out(&store, &p, &mut job, chunk_bytes);
        match (&whole, &chunked) {
            (Ok(expected), Ok(_)) => {
                let got = text_of(only_output(dir.path()));
                let expected = text_of(expected.clone());
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
                prop_assert!(files_under(&dir.path().join("work-bucket")).is_empty());
            }
            (Err(_), Err(_)) => {
                prop_assert!(files_under(&dir.path().join("output")).is_empty());
            }
            _ => prop_assert!(false, "whole {:?}, chunked {:?}", whole.as_ref().map(|_| ()), chunked.as_ref().map(|_| ())),
        }
    }
}

#[test]
fn a_json_array_is_cut_between_elements_and_its_lines_are_counted() {
    let mut text = String::from("\u{feff}[\n");
    for i in 0..3000 {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&format!(
            "  {{\"EMAIL\": \"u{i}@x.com\", \"NOTE\": \"a, [b] {{c}} \\\" \\\\\"}}"
        ));
    }
    text.push_str("\n]\n");
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    std::fs::write(dir.path().join("input/data.json"), &text).unwrap();
    let p = processor(&[("RULES", RECORD_RULES)]);
    let whole = inline(&store, &p, "data.json").unwrap();
    let mut job = job("data.json");
    let chunks = fan_out(&store, &p, &mut job, 10_000).unwrap();
    assert!(chunks.len() > 10, "{} chunks", chunks.len());
    for pair in chunks.windows(2) {
        // Each chunk ends just before the comma that the next starts after.
        assert_eq!(text.as_bytes()[pair[0].end as usize], b',');
        assert_eq!(pair[1].start, pair[0].end + 1);
        let line = 1 + text.as_bytes()[..pair[1].start as usize]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        assert_eq!(pair[1].line, line);
    }
    assert_eq!(only_output(dir.path()), whole);
}

#[test]
fn a_broken_json_array_fails_in_chunks_naming_its_line() {
    let mut text = String::from("[\n");
    for i in 0..2000 {
        if i > 0 {
            text.push_str(",\n");
        }
        // Line 1502 has a letter outside strings; its element is no JSON.
        let email = if i == 1500 { "oops" } else { "\"a@b.c\"" };
        text.push_str(&format!("{{\"EMAIL\": {email}}}"));
    }
    text.push_str("\n]\n");
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    std::fs::write(dir.path().join("input/data.json"), &text).unwrap();
    let p = processor(&[("RULES", RECORD_RULES)]);
    let mut broken = job("data.json");
    let err = fan_out(&store, &p, &mut broken, 5_000)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1502"), "{err}");
    assert!(files_under(&dir.path().join("output")).is_empty());

    // An empty element at a cut: the chunk after it has no element, as a whole run refuses.
    let record = "{\"EMAIL\":\"a@b.c\"}";
    let text = format!("[{record}{}]", format!(",{record}").repeat(1000)).replacen(",{", ",,{", 1);
    std::fs::write(dir.path().join("input/empty.json"), &text).unwrap();
    for chunk_bytes in [1, 2, 3, 50] {
        let mut job = job("empty.json");
        let err = fan_out(&store, &p, &mut job, chunk_bytes)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1:") && err.contains("element"), "{err}");
    }
    assert!(files_under(&dir.path().join("output")).is_empty());
}

/// The line an error message names (`line N:`).
fn named_line(message: &str) -> Option<u64> {
    let at = message.find("line ")? + 5;
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn a_broken_json_array_names_the_whole_runs_line_in_chunks() {
    let record = |i: usize| format!("{{\"EMAIL\": \"u{i}@x.com\"}}");
    let body: Vec<String> = (0..300).map(record).collect();
    let cases: Vec<(&str, String)> = vec![
        // Not a record: the plan's scan sees nothing wrong, the chunk's reader does.
        ("not a record", {
            let mut b = body.clone();
            b[250] = "5".into();
            format!("[\n{}\n]\n", b.join(",\n"))
        }),
        ("trailing comma", format!("[\n{},\n]\n", body.join(",\n"))),
        ("empty element", {
            let mut b = body.clone();
            b[150] = String::new();
            format!("[\n{}\n]\n", b.join(",\n"))
        }),
        ("no element first", format!("[\n,{}\n]\n", body.join(",\n"))),
        ("no closing bracket", format!("[\n{}\n", body.join(",\n"))),
        ("data after", format!("[\n{}\n]\n[1]", body.join(",\n"))),
        (
            "element not closed",
            format!("[\n{}\n, {{\"a\": [1, 2}}\n]", body.join(",\n")),
        ),
    ];
    let p = processor(&[("RULES", RECORD_RULES)]);
    for (name, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        std::fs::write(dir.path().join("input/data.json"), &text).unwrap();
        let whole = inline(&store, &p, "data.json").unwrap_err();
        let line = named_line(&whole).unwrap_or_else(|| panic!("{name}: {whole}"));
        for chunk_bytes in [1, 7, 50, 700, 1 << 20] {
            let mut job = job("data.json");
            let err = fan_out(&store, &p, &mut job, chunk_bytes)
                .unwrap_err()
                .to_string();
            assert_eq!(
                named_line(&err),
                Some(line),
                "{name}, chunks of {chunk_bytes}: whole run: {whole}; chunked: {err}"
            );
            assert!(files_under(&dir.path().join("output")).is_empty());
        }
    }
}

#[test]
fn csv_and_ndjson_written_as_a_json_array_join_into_one_array() {
    let rules =
        "format: AUTO\ntransforms:\n  - pseudonymize: \"$.EMAIL\"\n  - redact: \"$.NOTE\"\n";
    let mut ndjson = String::new();
    for i in 0..400 {
        // Blank lines: some chunks hold no record.
        ndjson.push_str(&format!(
            "{{\"EMAIL\":\"u{i}@x.com\",\"NOTE\":\"n\"}}\n\n\n\n"
        ));
    }
    let csv = big_csv(400, None);
    for (key, text) in [
        ("data.ndjson", ndjson.into_bytes()),
        ("data.csv", csv),
        ("blank.ndjson", b"\n\n\n\n\n\n".to_vec()),
    ] {
        for gzip in ["false", "true"] {
            let dir = tempfile::tempdir().unwrap();
            let store = local(dir.path());
            std::fs::write(dir.path().join("input").join(key), &text).unwrap();
            let p = processor(&[
                ("RULES", rules),
                ("BULK_OUTPUT_FORMAT", "JSON_ARRAY"),
                ("COMPRESS_OUTPUT_ALWAYS", gzip),
            ]);
            let whole = text_of(inline(&store, &p, key).unwrap());
            std::fs::remove_dir_all(dir.path().join("output")).unwrap();
            std::fs::create_dir_all(dir.path().join("output")).unwrap();
            let mut job = job(key);
            let chunks = fan_out(&store, &p, &mut job, 3).unwrap();
            assert!(chunks.len() > 1, "{key}");
            assert_eq!(
                String::from_utf8(text_of(only_output(dir.path()))).unwrap(),
                String::from_utf8(whole).unwrap(),
                "{key}, gzip {gzip}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_json_array_chunks_join_into_the_whole_runs_array() {
    // About 30 MB in chunks of 8 MiB: the join gathers the chunks' outputs with what it
    // writes itself (brackets, separators) into parts over S3's 5 MiB minimum.
    let mut text = String::from("[\n");
    for i in 0..250_000 {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&format!(
            "{{\"EMAIL\": \"user{i}@example.com\", \"NOTE\": \"n, [\\\"{i}\\\"]\", \"N\": {i}}}"
        ));
    }
    text.push_str("\n]\n");
    let (s3, store) = s3_with("hris/big.json", text.into_bytes()).await;
    let s = store.clone();
    let chunks = tokio::task::spawn_blocking(move || {
        let mut chunks = 0;
        for (prefix, gzip) in [
            ("whole/", None),
            ("plain/", Some("false")),
            ("gz/", Some("true")),
        ] {
            let p = processor(&[
                ("RULES", RECORD_RULES),
                ("OUTPUT_BASE_PATH", prefix),
                ("COMPRESS_OUTPUT_ALWAYS", gzip.unwrap_or("false")),
            ]);
            match gzip {
                None => drop(p.process(&s, "input", "hris/big.json").unwrap()),
                Some(_) => {
                    chunks = fan_out(&s, &p, &mut job("hris/big.json"), 8 << 20)
                        .unwrap()
                        .len()
                }
            }
        }
        chunks
    })
    .await
    .unwrap();
    assert!(chunks >= 3, "{chunks} chunks");
    let get = |key: &'static str| body(&s3.client, "output", key);
    let expected = get("whole/hris/big.json").await;
    assert!(
        get("plain/hris/big.json").await == expected,
        "chunked array differs"
    );
    let gz = get("gz/hris/big.json").await;
    assert!(text_of(gz) == expected, "gunzipped chunked array differs");
    assert_eq!(
        keys(&s3.client, "work-bucket", "").await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_parquet_parts_join_into_the_whole_runs_file() {
    // Row groups of several MB: each part's data is copied by S3 from after its magic.
    let input = parquet_file(240_000, 40_000);
    let (s3, store) = s3_with("hris/people.parquet", input.clone()).await;
    let chunk_bytes = input.len() as u64 / 3;
    let chunks = tokio::task::spawn_blocking(move || {
        let p = |base: &str| {
            processor(&[
                ("OUTPUT_BASE_PATH", base),
                ("BULK_OUTPUT_FORMAT", "PARQUET"),
            ])
        };
        p("whole/")
            .process(&store, "input", "hris/people.parquet")
            .unwrap();
        fan_out(
            &store,
            &p("fanned/"),
            &mut job("hris/people.parquet"),
            chunk_bytes,
        )
        .unwrap()
        .len()
    })
    .await
    .unwrap();
    assert!(chunks >= 3, "{chunks} chunks");
    let get = |key: &'static str| body(&s3.client, "output", key);
    let expected = get("whole/hris/people.parquet").await;
    // Parts over S3's 5 MiB minimum: copied, not gathered.
    assert!(
        expected.len() as u64 > 3 * (6 << 20),
        "{} bytes",
        expected.len()
    );
    assert!(
        get("fanned/hris/people.parquet").await == expected,
        "the joined Parquet file is not the whole run's"
    );
    assert_eq!(
        keys(&s3.client, "work-bucket", "").await,
        Vec::<String>::new()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Parquet written as Parquet in chunks of any number of row groups is the whole run's
    /// file, byte for byte (no row groups, one, many; nulls; pages of the joined footer).
    #[test]
    fn chunked_parquet_equals_the_whole_runs_file(
        rows in 0usize..3000,
        group_rows in 1usize..900,
        cut in 0u64..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let input = parquet_file(rows, group_rows);
        std::fs::write(dir.path().join("input/people.parquet"), &input).unwrap();
        let p = processor(&[("BULK_OUTPUT_FORMAT", "PARQUET")]);
        let expected = inline(&store, &p, "people.parquet").unwrap();
        std::fs::remove_dir_all(dir.path().join("output")).unwrap();
        std::fs::create_dir_all(dir.path().join("output")).unwrap();
        let chunk_bytes = [1, input.len() as u64 / 5, input.len() as u64 / 2, 1 << 40][cut as usize];
        fan_out(&store, &p, &mut job("people.parquet"), chunk_bytes.max(1)).unwrap();
        prop_assert!(only_output(dir.path()) == expected, "differs from the whole run");
        prop_assert!(files_under(&dir.path().join("work-bucket")).is_empty());
    }
}

#[test]
fn an_input_in_another_encoding_than_utf8_is_sanitized_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    std::fs::write(
        dir.path().join("input/latin.csv"),
        b"EMAIL,NOTE\nzo\xeb@example.com,K\xf6ln\n",
    )
    .unwrap();
    let info = store.info("input", "latin.csv").unwrap();
    let latin = processor(&[("INPUT_ENCODING", "ISO-8859-1")]);
    // Chunks are cut at ASCII bytes and decoded alone: only UTF-8 is cut.
    assert!(!fanout::splittable(&store, &latin, &job("latin.csv"), &info, b"EMAI").unwrap());
    let err = fanout::plan(&store, &latin, &job("latin.csv"), "work-bucket", 1 << 20)
        .expect_err("not cut");
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert!(
        fanout::splittable(&store, &processor(&[]), &job("latin.csv"), &info, b"EMAI").unwrap()
    );
}
