//! Memory must not grow with input size: sanitizing 16x more data must not raise peak RSS by
//! more than a fixed allowance. (This file is its own test process, so the peak is ours.)

use std::io::Read;
use std::sync::Arc;

use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};

/// Generates an HRIS-like CSV of `rows` rows on the fly (never held in memory).
struct Generated {
    rows: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Generated {
    fn new(rows: u64) -> Self {
        Generated {
            rows,
            next: 0,
            buf: b"EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,DEPARTMENT,JOIN_DATE\n".to_vec(),
            pos: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for _ in 0..1000.min(self.rows - self.next) {
                let i = self.next;
                self.buf.extend_from_slice(
                    format!(
                        "E{i:08},first.last{i}@acme.com,E{:08},Engineering,2020-01-{:02}\n",
                        i / 10,
                        i % 28 + 1
                    )
                    .as_bytes(),
                );
                self.next += 1;
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

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
