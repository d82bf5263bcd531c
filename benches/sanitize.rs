//! Criterion benches: one cell's pseudonym (plain and email, each encoding), a reversible
//! token, and the pipelines end to end on 2 worker threads: CSV (bytes/s and rows/s), CSV with
//! gzip output and with gzip input, NDJSON, and Parquet.
//!
//! Run with `cargo bench`; `bash benches/compare.sh` compares whole runs of the CLI with DuckDB
//! and Polars.

use std::hint::black_box;
use std::sync::Arc;

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use psoxy::pseudonym::{PseudonymFormat, PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&PseudonymSettings {
        salt: "bench-salt".into(),
        encryption_key: Some("bench-key".into()),
        ..Default::default()
    })
    .expect("valid settings")
}

fn cells(c: &mut Criterion) {
    let p = pseudonymizer();
    let mut g = c.benchmark_group("cell");
    for (format, name) in [
        (PseudonymFormat::Json, "json"),
        (PseudonymFormat::UrlSafeToken, "url_safe_token"),
        (PseudonymFormat::UrlSafeHashOnly, "hash_only"),
    ] {
        let mut out = String::with_capacity(128);
        g.bench_function(format!("plain/{name}"), |b| {
            b.iter(|| {
                out.clear();
                p.pseudonymize_into(black_box("E0012345"), format, &mut out)
            })
        });
        g.bench_function(format!("email/{name}"), |b| {
            b.iter(|| {
                out.clear();
                p.pseudonymize_into(black_box("First.Last+hr@Acme.com"), format, &mut out)
            })
        });
    }
    g.bench_function("reversible/email", |b| {
        b.iter(|| p.reversible(black_box("first.last@acme.com")))
    });
    g.finish();
}

fn hris_csv(rows: usize) -> Vec<u8> {
    let mut s = String::from("EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,MANAGER_EMAIL,JOIN_DATE,LEAVE_DATE,DEPARTMENT,JOB_TITLE,LOCATION,SNAPSHOT\n");
    for i in 0..rows {
        s.push_str(&format!(
            "E{i:07},first{i}.last{}@acme.com,E{:07},boss{}@acme.com,2019-01-{:02},,Engineering,Software Engineer,San Francisco,2024-06-30\n",
            i % 977,
            i / 10,
            i / 10,
            i % 28 + 1
        ));
    }
    s.into_bytes()
}

fn events_ndjson(rows: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..rows {
        s.push_str(&format!(
            "{{\"id\":\"evt_{i}\",\"organizer\":{{\"email\":\"a{i}@acme.com\"}},\"attendees\":[{{\"email\":\"b{i}@acme.com\"}},{{\"email\":\"c{i}@acme.com\"}}],\"durationMinutes\":30}}\n"
        ));
    }
    s.into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

/// The HRIS table as Parquet (string columns, Snappy, row groups of 20,000).
fn hris_parquet(rows: usize) -> Vec<u8> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let csv = hris_csv(rows);
    let text = String::from_utf8(csv).expect("utf-8");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut columns: Vec<Vec<String>> = vec![Vec::with_capacity(rows); header.len()];
    for line in lines {
        for (i, cell) in line.split(',').enumerate() {
            columns[i].push(cell.to_string());
        }
    }
    let arrays: Vec<(&str, ArrayRef)> = header
        .iter()
        .zip(columns)
        .map(|(name, cells)| (*name, Arc::new(StringArray::from(cells)) as ArrayRef))
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).expect("batch");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(20_000))
        .build();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
        .expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    out
}

fn pipelines(c: &mut Criterion) {
    let p = Arc::new(pseudonymizer());
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    let rows = 100_000;
    let csv = hris_csv(rows);
    let csv_gz = gzip(&csv);
    let parquet = hris_parquet(rows);
    let columnar = parse_rules_yaml(
        "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\npseudonymFormat: URL_SAFE_HASH_ONLY\n",
    )
    .expect("rules");
    let records = parse_rules_yaml(
        "transforms:\n  - pseudonymize: [\"$.organizer.email\", \"$.attendees[*].email\"]\n",
    )
    .expect("rules");
    let ndjson = events_ndjson(100_000);
    for (name, rules, input, key, gzip) in [
        ("csv", &columnar, &csv, "hris.csv", false),
        ("csv_gzip_out", &columnar, &csv, "hris.csv", true),
        ("csv_gzip_in_out", &columnar, &csv_gz, "hris.csv.gz", true),
        ("ndjson", &records, &ndjson, "events.ndjson", false),
        ("parquet", &columnar, &parquet, "hris.parquet", false),
    ] {
        let sanitizer = Sanitizer::new(rules, p.clone(), 2).expect("sanitizer");
        let opts = StreamOptions {
            object_key: key.into(),
            format: None,
            shuffle: true,
            gzip_output: gzip,
            content_type: None,
            output_format: None,
            ..Default::default()
        };
        // Bytes of the uncompressed text, so gzip cases compare with the plain one.
        let text_len = if name == "ndjson" {
            ndjson.len()
        } else {
            csv.len()
        };
        g.throughput(Throughput::Bytes(text_len as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                sanitizer
                    .sanitize_stream(input.as_slice(), std::io::sink(), &opts, &mut |_| {})
                    .expect("sanitize")
            })
        });
    }
    g.finish();

    // The CSV pipeline again, counted in rows.
    let mut g = c.benchmark_group("pipeline_rows");
    g.sample_size(10);
    let sanitizer = Sanitizer::new(&columnar, p.clone(), 2).expect("sanitizer");
    let opts = StreamOptions {
        object_key: "hris.csv".into(),
        shuffle: true,
        ..Default::default()
    };
    g.throughput(Throughput::Elements(rows as u64));
    g.bench_function("csv", |b| {
        b.iter(|| {
            sanitizer
                .sanitize_stream(csv.as_slice(), std::io::sink(), &opts, &mut |_| {})
                .expect("sanitize")
        })
    });
    g.finish();
}

criterion_group!(benches, cells, pipelines);
criterion_main!(benches);
