//! The fan-out's costs, measured against the S3 test server on loopback (s3s-fs, SigV4):
//! one object sanitized by one worker, then the same object planned, sanitized by N workers
//! in parallel (one thread each, as N one-core functions) and joined. Prints the times and a
//! projection for a larger object on more workers (docs/performance.md, README).
//!
//!   cargo bench --bench fanout -- [--gib 2] [--workers 2] [--dir target/fanout-bench] [--plain]
//!       [--json | --parquet]
//!
//! `--json`: the same records as one JSON array, with record rules (the plan scans it whole).
//! `--parquet`: the same records as Parquet (row groups of 1,000,000 rows), written as Parquet
//! (the join merges the parts' footers; the other outputs are uploaded by the chunks into the
//! output's multipart upload, and the join writes only what lies between them).
//!
//! Needs about 4.5 times the object's size of free disk (input, the whole run's output, parts,
//! the joined output). The joined output is checked against the whole run's (gunzipped).

#[path = "../tests/support/s3_server.rs"]
mod s3_server;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use psoxy::bulk::fanout::{self, Chunk, Job};
use psoxy::bulk::{BulkProcessor, BulkSettings};
use psoxy::settings::{Flags, Settings};
use psoxy::storage::{ObjectStore, S3Store};
use sha2::{Digest, Sha256};

const RULES: &str =
    "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\ncolumnsToRedact: [NOTE]\n";

/// The same columns as record rules over a JSON array.
const JSON_RULES: &str = "format: JSON_ARRAY\ntransforms:\n  - pseudonymize: \"$.EMPLOYEE_ID\"\n  - pseudonymize: \"$.EMPLOYEE_EMAIL\"\n  - pseudonymize: \"$.MANAGER_ID\"\n  - redact: \"$.NOTE\"\n";

fn json() -> bool {
    std::env::args().any(|a| a == "--json")
}

fn parquet() -> bool {
    std::env::args().any(|a| a == "--parquet")
}

fn processor(out_base: &str) -> BulkProcessor {
    let mut map: HashMap<String, String> = HashMap::from([
        ("PSOXY_SALT".into(), "bench-salt".into()),
        (
            "RULES".into(),
            if json() { JSON_RULES } else { RULES }.into(),
        ),
        ("OUTPUT_BUCKET".into(), "output".into()),
        ("OUTPUT_BASE_PATH".into(), out_base.into()),
        ("PSOXY_SHUFFLE_ROWS".into(), "false".into()),
    ]);
    if parquet() {
        map.insert("BULK_OUTPUT_FORMAT".into(), "PARQUET".into());
    }
    let settings = Settings::from_sources(&psoxy::bulk::bulk_settings(), &Flags::new(), &|k| {
        map.get(k).cloned()
    });
    BulkProcessor::new(BulkSettings::from_settings(&settings).expect("settings"), 1).expect("rules")
}

/// The columns of the generated records.
const COLUMNS: [&str; 7] = [
    "EMPLOYEE_ID",
    "EMPLOYEE_EMAIL",
    "MANAGER_ID",
    "JOB_TITLE",
    "DEPARTMENT",
    "HIRE_DATE",
    "NOTE",
];

/// The fields of generated record `i` but its note (which CSV, JSON and Parquet each write
/// their own way).
fn fields(i: u64) -> [String; 6] {
    [
        format!("E{i:09}"),
        format!("user{i}@example.com"),
        format!("E{:09}", (i * 7919) % 1_000_003),
        format!("Software Engineer {}", i % 97),
        format!("Department {}", i % 31),
        format!("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
    ]
}

/// Writes an HRIS-like CSV of about `bytes` bytes: ids, emails, titles, and a note that is
/// sometimes quoted with a comma, a doubled quote or a line break (`plain`: never quoted, so
/// the plan cannot find cuts in windows and scans the whole body).
fn generate(path: &Path, bytes: u64, plain: bool, json: bool) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path)?);
    if json {
        return generate_json(out, bytes);
    }
    if parquet() {
        return generate_parquet(out, bytes);
    }
    writeln!(out, "{}", COLUMNS.join(","))?;
    let notes = if plain {
        ["plain note", "two words", "a longer plain note", "n/a"]
    } else {
        [
            "plain note",
            "\"two\nlines\"",
            "\"a \"\"quoted\"\" word\"",
            "\"comma, inside\"",
        ]
    };
    let mut written = 0u64;
    let mut i = 0u64;
    while written < bytes {
        let line = format!("{},{}\n", fields(i).join(","), notes[(i % 4) as usize]);
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()
}

/// The records of [`generate`] as one JSON array of objects, one per line; the note sometimes
/// holds a comma, a bracket, an escaped quote or line break.
fn generate_json(mut out: impl Write, bytes: u64) -> std::io::Result<()> {
    let notes = [
        "plain note",
        "two\\nlines",
        "a \\\"quoted\\\" word, [not] {a} bracket",
        "comma, inside",
    ];
    out.write_all(b"[\n")?;
    let mut written = 2u64;
    let mut i = 0u64;
    while written < bytes {
        let mut line = String::from(if i == 0 { "{" } else { ",\n{" });
        for (name, value) in COLUMNS.iter().zip(fields(i)) {
            line.push_str(&format!("\"{name}\":\"{value}\","));
        }
        line.push_str(&format!("\"NOTE\":\"{}\"}}", notes[(i % 4) as usize]));
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.write_all(b"\n]\n")?;
    out.flush()
}

/// The records of [`generate`] as Parquet (uncompressed, row groups of 1,000,000 rows) of
/// about `bytes` bytes.
fn generate_parquet(out: impl Write + Send, bytes: u64) -> std::io::Result<()> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000_000))
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(out, schema.clone(), Some(props))
        .map_err(std::io::Error::other)?;
    let mut i = 0u64;
    while (writer.bytes_written() as u64) < bytes {
        let numbers = i..i + 65_536;
        let rows: Vec<[String; 6]> = numbers.clone().map(fields).collect();
        i += 65_536;
        let mut columns: Vec<ArrayRef> = (0..6)
            .map(|k| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r[k])))
            })
            .collect();
        columns.push(Arc::new(StringArray::from_iter_values(
            numbers.map(|i| format!("note {i}, line")),
        )));
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(std::io::Error::other)?;
    }
    writer.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// SHA-256 of an object's bytes, after gunzip if they are gzip.
fn gunzipped_digest(store: &dyn ObjectStore, bucket: &str, key: &str) -> String {
    let mut reader: Box<dyn Read> = if parquet() {
        store.read(bucket, key).expect("read")
    } else {
        Box::new(flate2::read::GzDecoder::new(
            store.read(bucket, key).expect("read"),
        ))
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).expect("gunzip");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let gib: f64 = arg("--gib", "2").parse().expect("--gib");
    let workers: usize = arg("--workers", "2").parse().expect("--workers");
    let root = PathBuf::from(arg("--dir", "target/fanout-bench"));
    let _ = std::fs::remove_dir_all(&root);
    for b in ["input", "output", "work"] {
        std::fs::create_dir_all(root.join(b)).expect("bench dir");
    }
    let size = (gib * (1u64 << 30) as f64) as u64;
    let started = Instant::now();
    let plain = std::env::args().any(|a| a == "--plain");
    let (name, kind) = if json() {
        ("big.json", "JSON array, gzip output")
    } else if parquet() {
        ("big.parquet", "Parquet, Parquet output")
    } else {
        ("big.csv", "CSV, gzip output")
    };
    generate(&root.join("input").join(name), size, plain, json()).expect("generate");
    let size = std::fs::metadata(root.join("input").join(name))
        .expect("input")
        .len();
    eprintln!("generated {size} bytes in {:.1} s", secs(started.elapsed()));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s3 = s3_server::start_in(&root, 0);
    let store = S3Store::new(s3.client.clone(), runtime.handle().clone());

    // One worker, the whole object.
    let whole = processor("whole/");
    let t = Instant::now();
    whole.process(&store, "input", name).expect("whole run");
    let single = t.elapsed();
    eprintln!("single worker: {:.1} s", secs(single));

    // The fan-out: plan, N workers in parallel, join.
    let p = processor("fanned/");
    let mut job = Job {
        bucket: "input".into(),
        key: name.into(),
        destination: 0,
        work_prefix: "fanout/bench/".into(),
        version: store.info("input", name).expect("head").version,
        plan: None,
        error: None,
    };
    let chunk_bytes = size.div_ceil(workers as u64);
    let t = Instant::now();
    let plan = fanout::plan(&store, &p, &job, "work", chunk_bytes).expect("plan");
    let planning = t.elapsed();
    let mut bytes = Vec::new();
    store
        .read(&plan.bucket, &plan.key)
        .expect("plan object")
        .read_to_end(&mut bytes)
        .expect("plan object");
    let chunks: Vec<Chunk> = serde_json::from_slice(&bytes).expect("plan json");
    // Line 0 after the first chunk: every cut was found in the window at its target.
    let windowed = chunks[1..].iter().all(|c| c.line == 0);
    job.plan = Some(plan);
    let t = Instant::now();
    let per_chunk: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let (store, job) = (&store, &job);
                scope.spawn(move || {
                    let worker = processor("fanned/");
                    let t = Instant::now();
                    fanout::chunk(store, &worker, job, chunk, "work").expect("chunk");
                    t.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let chunking = t.elapsed();
    let t = Instant::now();
    fanout::join(&store, &p, &job).expect("join");
    let joining = t.elapsed();
    let total = planning + chunking + joining;

    // The plan for 64 workers: with cuts found in windows, its cost follows the number of
    // chunks, not the object's size.
    let t = Instant::now();
    let plan64 = fanout::plan(&store, &p, &job, "work", size.div_ceil(64).max(16 << 20))
        .expect("plan for 64");
    let planning64 = t.elapsed();
    let _ = store.delete(&plan64.bucket, &plan64.key);

    let same = gunzipped_digest(&store, "output", &format!("whole/{name}"))
        == gunzipped_digest(&store, "output", &format!("fanned/{name}"));
    assert!(same, "the joined output differs from the whole run's");

    let mb = size as f64 / 1e6;
    let slowest = per_chunk.iter().max().copied().unwrap_or_default();
    let chunk_mb = mb / chunks.len() as f64;
    let worker_rate = chunk_mb / secs(slowest); // MB/s of one worker on its chunk
    let overhead = secs(planning + joining) / secs(single) * 100.0;
    println!("| measured on this machine ({mb:.0} MB {kind}) | seconds |");
    println!("|---|---|");
    println!(
        "| single worker, whole object | {:.1} ({:.1} MB/s) |",
        secs(single),
        mb / secs(single)
    );
    println!(
        "| plan ({} chunks, {}) | {:.2} |",
        chunks.len(),
        if parquet() {
            "row groups from the footer"
        } else if windowed {
            "cuts found in 1 MiB windows"
        } else {
            "whole body scanned"
        },
        secs(planning)
    );
    println!(
        "| plan ({} chunks, same object) | {:.2} |",
        plan64.chunks,
        secs(planning64)
    );
    println!(
        "| {} chunks on {workers} workers in parallel (slowest chunk) | {:.1} ({:.1}) |",
        chunks.len(),
        secs(chunking),
        secs(slowest)
    );
    let how = if parquet() {
        "parts' data copied, one footer written"
    } else {
        "the chunks' heads and tails written, the upload completed"
    };
    println!("| join ({how}) | {:.2} |", secs(joining));
    println!("| total with {workers} workers | {:.1} |", secs(total));
    println!("| plan + join, share of the single-worker time | {overhead:.1}% |");
    println!("| joined output = whole run's output (gunzipped) | {same} |");

    // Projection: 10 GB on 64 workers. Chunks and join at their measured rates in bytes per
    // second (the test server copies every byte at completion; S3 does not). The plan:
    // with windows, the measured 64-chunk plan (its reads do not grow with the object);
    // scanned, at its measured rate.
    let big_mb = 10_000.0;
    let n = 64.0;
    let join_rate = mb / secs(joining);
    let projected_single = big_mb / (mb / secs(single));
    let projected_plan = if windowed || parquet() {
        secs(planning64)
    } else {
        big_mb / (mb / secs(planning))
    };
    let projected_chunks = (big_mb / n) / worker_rate;
    let projected_join = big_mb / join_rate;
    println!();
    println!("| projected: 10 GB | seconds |");
    println!("|---|---|");
    println!("| one worker | {projected_single:.0} |");
    println!("| 64 workers: plan {projected_plan:.0} + chunks {projected_chunks:.0} + join {projected_join:.0} | {:.0} |", projected_plan + projected_chunks + projected_join);
    drop(s3);
    let _ = std::fs::remove_dir_all(&root);
}
