//! Parquet input: spool the bytes, read the footer, decode every batch of every row group
//! (and render them as text and JSON lines, as the CSV/JSON outputs do); then the whole
//! sanitize of the bytes as Parquet with columnar rules (Parquet and CSV out) and with record
//! rules (NDJSON out).
#![no_main]

mod common;

use std::sync::OnceLock;

use common::{sanitize, Run};
use libfuzzer_sys::fuzz_target;
use psoxy::format::parquet::{json_lines, rows_as_text, ParquetInput};
use psoxy::format::DataFormat;
use psoxy::sanitize::Sanitizer;

/// Only `...IfPresent` columns, so that the rules compile against any schema.
const COLUMNAR: &str = "columnsToPseudonymizeIfPresent: \
[EMPLOYEE_ID, EMPLOYEE_EMAIL, MANAGER_ID, MANAGER_EMAIL, id, summary]\n";

const RECORD: &str = "format: PARQUET\n\
transforms:\n\
  - pseudonymize: [\"$.organizer.email\", \"$.attendees[*].email\", \"$.EMPLOYEE_ID\"]\n\
  - redact: [\"$..displayName\", \"$.description\"]\n\
  - textDigest: \"$.summary\"\n";

struct Sanitizers {
    columnar: Sanitizer,
    record: Sanitizer,
}

fn sanitizers() -> &'static Sanitizers {
    static S: OnceLock<Sanitizers> = OnceLock::new();
    S.get_or_init(|| {
        let p = common::pseudonymizer(None);
        Sanitizers {
            columnar: common::sanitizer(COLUMNAR, &p),
            record: common::sanitizer(RECORD, &p),
        }
    })
}

/// The bytes as a Parquet object, written as `output_format` (`None`: Parquet).
fn as_parquet(output_format: Option<DataFormat>) -> Run<'static> {
    Run {
        format: Some(DataFormat::Parquet),
        shuffle: true,
        output_format,
        ..Run::key("fuzz/input.parquet")
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(input)) = ParquetInput::spool(data) {
        let _ = input.schema();
        let _ = input.codec();
        let groups = input.row_group_rows();
        if let Ok(mut next) = input.batches() {
            let mut rows = 0u64;
            while let Ok(Some(b)) = next() {
                assert_eq!(b.first_row, rows + 1, "batches skip or repeat rows");
                rows += b.batch.num_rows() as u64;
                let _ = rows_as_text(&b.batch);
                let _ = json_lines(&b.batch);
            }
            assert!(
                rows <= groups.iter().sum::<u64>(),
                "more rows than the footer says"
            );
        }
        let _ = input.head(10);
    }

    let s = sanitizers();
    sanitize(&s.columnar, data, &as_parquet(None));
    let csv = DataFormat::Csv { delimiter: b',' };
    sanitize(&s.columnar, data, &as_parquet(Some(csv)));
    sanitize(&s.record, data, &as_parquet(Some(DataFormat::Ndjson)));
});
