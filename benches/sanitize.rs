//! Criterion benches: one cell's pseudonym (plain and email, each encoding), a reversible
//! token, and the CSV and NDJSON pipelines end to end (throughput in bytes).
//!
//! Run with `cargo bench`; the peer comparison script lands with the throughput issue.

use std::hint::black_box;
use std::sync::Arc;

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

fn pipelines(c: &mut Criterion) {
    let p = Arc::new(pseudonymizer());
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    let csv = hris_csv(100_000);
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
        ("ndjson", &records, &ndjson, "events.ndjson", false),
    ] {
        let sanitizer = Sanitizer::new(rules, p.clone(), 2).expect("sanitizer");
        let opts = StreamOptions {
            object_key: key.into(),
            format: None,
            shuffle: true,
            gzip_output: gzip,
            content_type: None,
            output_format: None,
        };
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                sanitizer
                    .sanitize_stream(input.as_slice(), std::io::sink(), &opts, &mut |_| {})
                    .expect("sanitize")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, cells, pipelines);
criterion_main!(benches);
