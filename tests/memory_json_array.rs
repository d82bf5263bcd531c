//! A JSON array is streamed element by element: 16x more input must not raise peak RSS by
//! more than a fixed allowance. (Its own test process, so the peak is this test's.)

mod common;

use std::io::Read;
use std::sync::Arc;

use common::peak_rss_kb;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};

/// `[ {...}, {...}, ... ]` with `n` elements, generated on the fly.
struct GeneratedArray {
    n: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    closed: bool,
}

impl Read for GeneratedArray {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.closed {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            if self.next == 0 {
                self.buf.push(b'[');
            }
            for _ in 0..500.min(self.n - self.next) {
                let i = self.next;
                if i > 0 {
                    self.buf.extend_from_slice(b",\n");
                }
                self.buf.extend_from_slice(
                    format!(
                        r#"{{"id":"E{i:08}","email":"first.last{i}@acme.com","manager":{{"id":"E{:08}"}},"tags":["a","b"]}}"#,
                        i / 10
                    )
                    .as_bytes(),
                );
                self.next += 1;
            }
            if self.next == self.n {
                self.buf.extend_from_slice(b"]\n");
                self.closed = true;
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

#[test]
fn peak_memory_does_not_grow_with_the_array() {
    let rules = parse_rules_yaml(
        "format: JSON_ARRAY\ntransforms:\n  - pseudonymize: [$.id, $.email, $.manager.id]\n",
    )
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
        object_key: "people.json".into(),
        format: None,
        shuffle: false,
        gzip_output: true,
        content_type: None,
        output_format: None,
        ..Default::default()
    };
    let run = |n: u64| {
        let input = GeneratedArray {
            n,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            closed: false,
        };
        let stats = sanitizer
            .sanitize_stream(input, std::io::sink(), &opts, &mut |_| {})
            .unwrap();
        assert_eq!(stats.rows, n);
        stats.bytes_in
    };
    let small = run(40_000);
    let after_small = peak_rss_kb();
    let large = run(640_000);
    let after_large = peak_rss_kb();
    eprintln!(
        "JSON array {} MB -> peak {} MB; {} MB -> peak {} MB",
        small / 1_000_000,
        after_small / 1024,
        large / 1_000_000,
        after_large / 1024
    );
    assert!(large >= 15 * small);
    assert!(
        after_large < after_small + 32 * 1024,
        "peak RSS grew from {after_small} kB to {after_large} kB with 16x the input"
    );
}
