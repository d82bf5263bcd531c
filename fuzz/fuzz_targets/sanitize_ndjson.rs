//! The whole `Sanitizer::sanitize_stream` on arbitrary bytes as JSON records: record rules
//! (pseudonymize, tokenize, redact, digests, an output schema filter) over the input read as
//! NDJSON (written as NDJSON) and as one JSON array (written as a JSON array).
#![no_main]

mod common;

use std::sync::OnceLock;

use common::{sanitize, Run};
use libfuzzer_sys::fuzz_target;
use psoxy::sanitize::Sanitizer;

const RULES: &str = r##"
format: AUTO
transforms:
  - pseudonymize: ["$.organizer.email", "$.attendees[*].email", "$..id"]
  - tokenize: "$.token"
  - redact: ["$..displayName", "$.description", "$.items[?(@.secret == true)]"]
  - textDigest: "$.summary"
  - textDigestKeywords:
      keywords: [budget, hiring]
      jsonPaths: ["$.notes", "$.comments[*]"]
outputSchemaFilter:
  type: object
  properties:
    id: { type: string }
    organizer: { type: object, properties: { email: { type: string } } }
    attendees: { type: array, items: { $ref: "#/definitions/person" } }
    summary: { }
    notes: { }
    comments: { type: array }
    token: { type: string }
    n: { type: integer }
    x: { type: number }
    items: { type: array, items: { type: object } }
    rec: { $ref: "#" }
  definitions:
    person:
      type: object
      properties:
        email: { type: string }
        optional: { type: boolean }
"##;

fn sanitizer() -> &'static Sanitizer {
    static S: OnceLock<Sanitizer> = OnceLock::new();
    S.get_or_init(|| common::sanitizer(RULES, &common::pseudonymizer(Some("fuzz-key"))))
}

fuzz_target!(|data: &[u8]| {
    sanitize(sanitizer(), data, &Run::key("fuzz/input.ndjson"));
    sanitize(sanitizer(), data, &Run::key("fuzz/input.json"));
});
