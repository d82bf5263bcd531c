//! The whole `Sanitizer::sanitize_stream` on arbitrary bytes as CSV: small columnar rules on
//! the input as given; richer columnar rules (rename, duplicate, derived fields, shuffle,
//! gzip output) on the input behind a fixed header; and record rules over CSV rows.
#![no_main]

mod common;

use std::sync::OnceLock;

use common::{sanitize, Run};
use libfuzzer_sys::fuzz_target;
use psoxy::format::DataFormat;
use psoxy::sanitize::Sanitizer;

/// Also used by tests/leak_check.rs, which replays the corpus through the CLI.
const SIMPLE: &str = include_str!("../rules/sanitize_csv_simple.yaml");

// The plan (and its regexes) is compiled for every input, as for every file in production:
// ASCII-only regexes keep that cheap enough for fuzzing (Unicode classes such as `\w` take
// milliseconds to compile).
const RICH: &str = r#"
columnsToPseudonymize: [EMAIL]
columnsToPseudonymizeIfPresent: [MANAGER]
columnsToRedact: [SALARY]
columnsToRename: { DEPT: DEPARTMENT }
columnsToDuplicate: { EMAIL: EMAIL_ORIG }
pseudonymFormat: URL_SAFE_TOKEN
fieldsToTransform:
  EMAIL_DOMAIN:
    sourceColumn: EMAIL
    transforms:
      - filter: "[^@]*@(.*)"
      - formatString: "domain:%s"
  NAME_TOKEN:
    sourceColumn: NAME
    transforms:
      - javaRegExpReplace: { regExp: "([A-Za-z]+) +([A-Za-z]+)", replace: "$2, $1" }
      - pseudonymize: true
"#;

/// Also used by tests/leak_check.rs.
const RICH_HEADER: &[u8] = include_bytes!("../rules/sanitize_csv_header.csv");

const RECORD: &str = r#"
format: CSV
transforms:
  - pseudonymize: ["$.EMAIL", "$.MANAGER"]
  - redact: ["$.SALARY"]
  - textDigest: "$.NAME"
"#;

struct Sanitizers {
    simple: Sanitizer,
    rich: Sanitizer,
    record: Sanitizer,
}

fn sanitizers() -> &'static Sanitizers {
    static S: OnceLock<Sanitizers> = OnceLock::new();
    S.get_or_init(|| {
        let p = common::pseudonymizer(None);
        Sanitizers {
            simple: common::sanitizer(SIMPLE, &p),
            rich: common::sanitizer(RICH, &p),
            record: common::sanitizer(RECORD, &p),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = sanitizers();
    sanitize(&s.simple, data, &Run::key("fuzz/input.csv"));

    let mut with_header = RICH_HEADER.to_vec();
    with_header.extend_from_slice(data);
    let rich = Run {
        shuffle: true,
        gzip: true,
        ..Run::key("fuzz/input.csv")
    };
    sanitize(&s.rich, &with_header, &rich);

    let as_ndjson = Run {
        output_format: Some(DataFormat::Ndjson),
        ..Run::key("fuzz/input.csv")
    };
    sanitize(&s.record, data, &as_ndjson);
});
