//! The whole `Sanitizer::sanitize_stream` on arbitrary bytes as JSON records: record rules
//! (pseudonymize, tokenize, redact, digests, an output schema filter) over the input read as
//! NDJSON (written as NDJSON) and as one JSON array (written as a JSON array).
#![no_main]

mod common;

use std::sync::OnceLock;

use common::{sanitize, Run};
use libfuzzer_sys::fuzz_target;
use psoxy::sanitize::Sanitizer;

/// Also used by tests/leak_check.rs, which replays the corpus through the CLI.
const RULES: &str = include_str!("../rules/sanitize_ndjson.yaml");

fn sanitizer() -> &'static Sanitizer {
    static S: OnceLock<Sanitizer> = OnceLock::new();
    S.get_or_init(|| common::sanitizer(RULES, &common::pseudonymizer(Some("fuzz-key"))))
}

fuzz_target!(|data: &[u8]| {
    sanitize(sanitizer(), data, &Run::key("fuzz/input.ndjson"));
    sanitize(sanitizer(), data, &Run::key("fuzz/input.json"));
});
