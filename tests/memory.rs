//! Memory must not grow with input size: sanitizing 16x more data must not raise peak RSS by
//! more than a fixed allowance. (This file is its own test process, so the peak is ours.)

mod common;

use std::sync::Arc;

use common::{peak_rss_kb, Generated};

use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};

#[test]
fn peak_memory_does_not_grow_with_input_size() {
    let rules =
        parse_rules_yaml("columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID]\n")
            .unwrap();
    let p = Arc::new(
        Pseudonymizer::new(&PseudonymSettings {
            salt: "m".into(),
            ..Default::default()
        })
        .unwrap(),
    );
    let sanitizer = Sanitizer::new(&rules, p, 2).unwrap();
    let opts = StreamOptions {
        object_key: "hris.csv".into(),
        format: None,
        shuffle: true,
        gzip_output: true,
        content_type: None,
        output_format: None,
        ..Default::default()
    };
    let run = |rows: u64| {
        let stats = sanitizer
            .sanitize_stream(Generated::new(rows), std::io::sink(), &opts, &mut |_| {})
            .unwrap();
        assert_eq!(stats.rows, rows);
        stats.bytes_in
    };
    let small_bytes = run(50_000);
    let after_small = peak_rss_kb();
    let large_bytes = run(800_000);
    let after_large = peak_rss_kb();
    eprintln!(
        "input {} MB -> peak {} MB; input {} MB -> peak {} MB",
        small_bytes / 1_000_000,
        after_small / 1024,
        large_bytes / 1_000_000,
        after_large / 1024
    );
    assert!(large_bytes > 16 * small_bytes - small_bytes);
    assert!(
        after_large < after_small + 32 * 1024,
        "peak RSS grew from {after_small} kB to {after_large} kB with 16x the input"
    );
}
