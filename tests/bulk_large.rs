//! A 1 GiB object through the storage-triggered function, against the test S3 server: memory
//! stays bounded (streamed in, parts uploaded while produced). Its own test process, so the
//! peak resident memory measured is this run's.
#![cfg(feature = "aws")]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::io::Write;

use common::{peak_rss_kb, Generated};
use psoxy::storage::s3::{S3ObjectWriter, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PART_SIZE};
use psoxy::storage::PutOptions;

const GIB: u64 = 1 << 30;
/// Rows of [`Generated`] that make a little over 1 GiB.
const ROWS: u64 = 16_400_000;

/// Resets this process's peak RSS (VmHWM) to its current RSS (Linux 4.0+).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_gib_object_is_sanitized_in_bounded_memory() {
    let s3 = s3_server::start();
    s3.create_bucket("input").await;
    s3.create_bucket("output").await;

    // Upload the object by streaming it from the generator (never held in memory).
    let upload_started = std::time::Instant::now();
    let client = s3.client.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut w = S3ObjectWriter::new(
            handle,
            client,
            "input".into(),
            "exports/hris-1gib.csv".into(),
            PutOptions::default(),
            DEFAULT_PART_SIZE,
            DEFAULT_MAX_IN_FLIGHT,
        );
        std::io::copy(&mut Generated::new(ROWS), &mut w).unwrap();
        w.flush().unwrap();
        w.finish().unwrap();
    })
    .await
    .unwrap();
    eprintln!(
        "uploaded in {:.1} s",
        upload_started.elapsed().as_secs_f64()
    );
    let size = psoxy::storage::s3::head_object(&s3.client, "input", "exports/hris-1gib.csv")
        .await
        .unwrap()
        .size;
    assert!(size >= GIB, "object is {size} bytes");

    let f = function::function(
        &s3,
        &[
            ("PSOXY_SALT", "large-salt"),
            (
                "RULES",
                "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\n",
            ),
            ("OUTPUT_BUCKET", "output"),
        ],
    )
    .await;

    reset_peak();
    let before = peak_rss_kb();
    let started = std::time::Instant::now();
    let report = f
        .handle(function::event(&[("input", "exports/hris-1gib.csv")]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    let peak = peak_rss_kb();

    let out = &report.objects[0].outputs[0];
    assert_eq!(out.rows, ROWS);
    assert_eq!(out.bytes_in, size);
    let head = psoxy::storage::s3::head_object(&s3.client, "output", "exports/hris-1gib.csv")
        .await
        .unwrap();
    assert_eq!(head.size, out.bytes_out);
    assert!(
        psoxy::storage::s3::list_multipart_uploads(&s3.client, "output")
            .await
            .unwrap()
            .is_empty()
    );

    let growth_mib = (peak.saturating_sub(before)) / 1024;
    eprintln!(
        "1 GiB object: {} MiB in, {} MiB out (gzip), {:.1} s ({:.0} MiB/s, debug build, server in-process); RSS {} MiB before, peak {} MiB (+{} MiB)",
        size >> 20,
        out.bytes_out >> 20,
        elapsed.as_secs_f64(),
        (size >> 20) as f64 / elapsed.as_secs_f64(),
        before / 1024,
        peak / 1024,
        growth_mib
    );
    // Batches in flight (a few MiB each), parts being uploaded (8 MiB each) and the test
    // server's own buffers: bounded, whatever the object's size.
    assert!(
        growth_mib < 256,
        "peak RSS grew by {growth_mib} MiB for a 1 GiB object"
    );
}
