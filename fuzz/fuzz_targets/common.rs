//! What the whole-pipeline targets share: building a `Sanitizer` from rules YAML, running
//! `sanitize_stream` over the fuzz input, and showing the result when replaying by hand.
//! (Not a target itself: included with `mod common;`.)
#![allow(dead_code)]

use std::sync::Arc;

use psoxy::format::DataFormat;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::parse_rules_yaml;
use psoxy::sanitize::{Sanitizer, StreamOptions};

/// The pseudonymizer every target uses: a fixed salt and, when given, a reversible-token key.
pub fn pseudonymizer(encryption_key: Option<&str>) -> Arc<Pseudonymizer> {
    Arc::new(
        Pseudonymizer::new(&PseudonymSettings {
            salt: "fuzz-salt".into(),
            encryption_key: encryption_key.map(str::to_owned),
            ..Default::default()
        })
        .expect("pseudonymizer"),
    )
}

/// A one-thread sanitizer for the rules `yaml` (which must load and compile).
pub fn sanitizer(yaml: &str, p: &Arc<Pseudonymizer>) -> Sanitizer {
    Sanitizer::new(&parse_rules_yaml(yaml).expect("rules load"), p.clone(), 1)
        .expect("rules compile")
}

/// How one run of the pipeline is set up.
pub struct Run<'a> {
    /// The object key (its extension picks the format when `format` is `None`).
    pub key: &'a str,
    pub format: Option<DataFormat>,
    pub output_format: Option<DataFormat>,
    pub shuffle: bool,
    pub gzip: bool,
}

impl<'a> Run<'a> {
    /// Defaults: format from the key, same format out, no shuffle, no gzip.
    pub fn key(key: &'a str) -> Self {
        Run {
            key,
            format: None,
            output_format: None,
            shuffle: false,
            gzip: false,
        }
    }
}

/// Sanitizes `input` with `s` as `run` says. Errors are fine (bad input); panics and
/// sanitizer-detected bugs are not.
pub fn sanitize(s: &Sanitizer, input: &[u8], run: &Run<'_>) {
    let opts = StreamOptions {
        object_key: run.key.into(),
        format: run.format,
        shuffle: run.shuffle,
        gzip_output: run.gzip,
        content_type: None,
        output_format: run.output_format,
        ..StreamOptions::default()
    };
    let mut out = Vec::new();
    let result = s.sanitize_stream(input, &mut out, &opts, &mut |_| {});
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        match &result {
            Ok(stats) => eprintln!(
                "{}: ok {stats:?}\n{}",
                run.key,
                String::from_utf8_lossy(&out)
            ),
            Err(e) => eprintln!("{}: error: {e}", run.key),
        }
    }
}
