//! The bad-input catalogue: each odd or broken file, with its expected outcome, through the CLI
//! (`psoxy sanitize -o`) and through the storage-triggered function (against a real S3 server
//! on 127.0.0.1). Every case ends in either the expected output or an error naming the object
//! and the place, and a failed case leaves no output file or object behind.
#![cfg(all(feature = "aws", feature = "parquet"))]

mod common;
#[path = "support/function.rs"]
mod function;
#[path = "support/leak.rs"]
mod leak;
#[path = "support/pyarrow.rs"]
mod pyarrow;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::path::Path;

use common::{gunzip, gzip, psoxy, run, stderr};
use function::{event, function, get, keys, put};

const SALT: &str = "catalogue-salt";

/// Columnar rules for the CSV and Parquet cases (43-character pseudonyms).
const COLUMNAR: &str =
    "columnsToPseudonymize: [EMAIL]\ncolumnsToRedact: [SALARY]\npseudonymFormat: URL_SAFE_HASH_ONLY\n";
/// Columnar rules for the HRIS-shaped Parquet fixture.
const HRIS: &str = "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL]\n";
/// Record rules for the JSON cases.
const RECORDS: &str = "format: AUTO\ntransforms:\n  - pseudonymize: [\"$.email\"]\n";

/// What a case must end in.
enum Expect {
    /// Success, with the (decompressed) output checked by the function.
    Output(fn(&[u8])),
    /// Failure whose message holds every one of these pieces.
    Error(&'static [&'static str]),
}

struct Case {
    /// File / object name (its extension picks the format).
    name: &'static str,
    input: Vec<u8>,
    rules: &'static str,
    expect: Expect,
}

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn catalogue(dir: &Path) -> Vec<Case> {
    let big_cell = "x".repeat(100 << 20);
    let mut wide_header: Vec<String> = (0..100_000).map(|i| format!("C{i}")).collect();
    wide_header[0] = "EMAIL".into();
    let mut wide_row: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    wide_row[0] = "a@x.com".into();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        Case {
            name: "empty.csv",
            input: Vec::new(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| assert!(out.is_empty(), "{out:?}")),
        },
        Case {
            name: "header_only.csv",
            input: b"EMAIL,NAME,SALARY\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| assert_eq!(out, b"EMAIL,NAME\n")),
        },
        Case {
            name: "truncated.csv.gz",
            input: {
                let whole = gzip(b"EMAIL,NAME,SALARY\na@x.com,Al,10\nb@x.com,Bo,20\n");
                whole[..whole.len() / 2].to_vec()
            },
            rules: COLUMNAR,
            expect: Expect::Error(&["deflate"]),
        },
        Case {
            name: "invalid_utf8.csv",
            input: b"EMAIL,NAME,SALARY\na@x.com,Al\xff\xfe,10\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Error(&["line 2", "NAME", "not valid UTF-8"]),
        },
        Case {
            name: "nul_bytes.csv",
            input: b"EMAIL,NAME,SALARY\na@x.com,A\0l,10\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| {
                let rows = lines(out);
                assert_eq!(rows.len(), 2, "{rows:?}");
                assert!(
                    rows[1].ends_with(",A\0l"),
                    "NUL kept in a clear cell: {rows:?}"
                );
                assert!(!rows[1].contains("a@x.com"));
            }),
        },
        Case {
            name: "unbalanced_quotes.csv",
            input: b"EMAIL,NAME,SALARY\na@x.com,\"Al,10\nb@x.com,Bo,20\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Error(&["line 2", "never closed"]),
        },
        Case {
            name: "mixed_line_endings.csv",
            input: b"EMAIL,NAME,SALARY\r\na@x.com,Al,10\nb@x.com,Bo,20\r\nc@x.com,Cy,30\r".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| {
                let text = String::from_utf8_lossy(out);
                assert!(text.starts_with("EMAIL,NAME\r\n"), "{text:?}");
                assert_eq!(
                    text.matches("\r\n").count(),
                    4,
                    "the header's CRLF: {text:?}"
                );
                let mut names: Vec<&str> = text
                    .split("\r\n")
                    .skip(1)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.rsplit(',').next().unwrap())
                    .collect();
                names.sort();
                assert_eq!(names, ["Al", "Bo", "Cy"]);
                assert!(!text.contains("@x.com"));
            }),
        },
        Case {
            name: "duplicate_headers.csv",
            input: b"EMAIL,NAME,EMAIL,SALARY,SALARY\na@x.com,Al,b@y.com,10,20\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| {
                let rows = lines(out);
                assert_eq!(rows[0], "EMAIL,NAME,EMAIL", "both SALARY columns redacted");
                let cells: Vec<&str> = rows[1].split(',').collect();
                assert_eq!(cells.len(), 3);
                assert_eq!(cells[1], "Al");
                for c in [cells[0], cells[2]] {
                    assert_eq!(c.len(), 43, "both EMAIL columns pseudonymized: {c}");
                }
                assert_ne!(cells[0], cells[2]);
            }),
        },
        Case {
            name: "huge_cell.csv",
            input: format!("EMAIL,NAME,SALARY\na@x.com,{big_cell},10\n").into_bytes(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| {
                let text = std::str::from_utf8(out).unwrap();
                let (header, row) = text.split_once('\n').unwrap();
                assert_eq!(header, "EMAIL,NAME");
                let (pseudonym, cell) = row.trim_end().split_once(',').unwrap();
                assert_eq!(pseudonym.len(), 43);
                assert_eq!(cell.len(), 100 << 20);
                assert!(cell.bytes().all(|b| b == b'x'));
            }),
        },
        Case {
            name: "wide_header.csv",
            input: format!("{}\n{}\n", wide_header.join(","), wide_row.join(",")).into_bytes(),
            rules: COLUMNAR,
            expect: Expect::Output(|out| {
                let rows = lines(out);
                assert_eq!(rows.len(), 2);
                let header: Vec<&str> = rows[0].split(',').collect();
                let row: Vec<&str> = rows[1].split(',').collect();
                assert_eq!((header.len(), row.len()), (100_000, 100_000));
                assert_eq!((header[0], header[99_999]), ("EMAIL", "C99999"));
                assert_eq!(row[0].len(), 43);
                assert_eq!(row[99_999], "99999");
            }),
        },
        Case {
            name: "short_row.csv",
            input: b"EMAIL,NAME,SALARY\na@x.com,Al,10\nb@x.com\n".to_vec(),
            rules: COLUMNAR,
            expect: Expect::Error(&["line 3", "1 fields", "header has 3"]),
        },
        Case {
            name: "deep.ndjson",
            input: format!("{{\"email\":\"a@x.com\"}}\n{{\"email\":{deep}}}\n").into_bytes(),
            rules: RECORDS,
            expect: Expect::Error(&["line 2", "nested more than 128 levels"]),
        },
        Case {
            name: "deep.json",
            input: format!("[{{\"email\":\"a@x.com\"}},{{\"x\":{deep}}}]").into_bytes(),
            rules: RECORDS,
            expect: Expect::Error(&["nested more than 128 levels"]),
        },
        Case {
            name: "not_an_object.ndjson",
            input: b"{\"email\":\"a@x.com\"}\n[\"b@x.com\"]\n".to_vec(),
            rules: RECORDS,
            expect: Expect::Error(&["line 2", "must be a JSON object, not an array"]),
        },
        Case {
            // Found by fuzzing: the parquet crate asserts (panics) on a dictionary index
            // wider than 32 bits instead of returning an error.
            name: "decoder_assertion.parquet",
            input: std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/bad/dictionary-index-bit-width-over-32.parquet"
            ))
            .unwrap(),
            rules: HRIS,
            expect: Expect::Error(&["row group 0", "malformed data", "Parquet decoder failed"]),
        },
        Case {
            // Found by fuzzing: a BOM at the start of a batch (records 2001 and 4001 start
            // one) was dropped there but kept elsewhere. It is data wherever it is after the
            // file's start: each of those rows comes out as the same row earlier in the file.
            name: "bom_at_batch_starts.csv",
            input: bom_at_batch_starts(),
            rules: RECORDS,
            expect: Expect::Output(|out| {
                let l = lines(out);
                assert_eq!(l.len(), 4003);
                assert_eq!(l[0], "email,n");
                assert_eq!(l[2001], l[5]);
                assert_eq!(l[4001], l[6]);
                assert_ne!(l[5], l[6]);
            }),
        },
        Case {
            name: "corrupt_footer.parquet",
            input: corrupt_parquet(dir),
            rules: COLUMNAR,
            expect: Expect::Error(&["arquet"]),
        },
    ]
}

/// `email,n` and 4002 rows; rows 5 and 2001 are `\u{feff}b@x.com,5`, rows 6 and 4001
/// `\u{feff}"q",7` (a quote after the BOM is not at a field's start: it is literal).
fn bom_at_batch_starts() -> Vec<u8> {
    let mut text = String::from("email,n\n");
    for i in 1..=4002 {
        match i {
            5 | 2001 => text.push_str("\u{feff}b@x.com,5\n"),
            6 | 4001 => text.push_str("\u{feff}\"q\",7\n"),
            _ => text.push_str(&format!("u{i}@x.com,{i}\n")),
        }
    }
    text.into_bytes()
}

/// A small Parquet file written by pyarrow, with its footer length and metadata end overwritten.
fn corrupt_parquet(dir: &Path) -> Vec<u8> {
    pyarrow::exec(
        "import pyarrow as pa, pyarrow.parquet as pq\n\
         pq.write_table(pa.table({'EMAIL': ['a@x.com'], 'SALARY': ['10']}), '{dir}/ok.parquet')\n",
        dir,
    );
    let mut bytes = std::fs::read(dir.join("ok.parquet")).unwrap();
    let n = bytes.len();
    bytes[n - 12..n - 4].fill(0xff);
    bytes
}

fn check_error(case: &str, message: &str, pieces: &[&str]) {
    for piece in pieces {
        assert!(
            message.contains(piece),
            "{case}: `{piece}` not in: {message}"
        );
    }
    assert!(!message.contains("panicked"), "{case}: {message}");
}

#[test]
fn catalogue_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    for case in catalogue(dir.path()) {
        let case_dir = dir.path().join(case.name.replace('.', "_"));
        let out_dir = case_dir.join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let input = case_dir.join(case.name);
        std::fs::write(&input, &case.input).unwrap();
        // Outputs keep the input's name without `.gz`, uncompressed.
        let output = out_dir.join(case.name.trim_end_matches(".gz"));
        let rules = case_dir.join("rules.yaml");
        std::fs::write(&rules, case.rules).unwrap();
        let o = run(psoxy()
            .args(["sanitize", "--salt", SALT, "--rules"])
            .arg(&rules)
            .arg("-o")
            .arg(&output)
            .arg(&input));
        match case.expect {
            Expect::Output(check) => {
                assert!(o.status.success(), "{}: {}", case.name, stderr(&o));
                let written = std::fs::read(&output).unwrap();
                check(&written);
                // Odd input or not, no value of a sanitized column comes out in clear. (Not
                // for the 100 MB cell: the checker's character-by-character email scan takes
                // half a minute over it in a debug build.)
                if case.input.len() > 10 << 20 {
                    continue;
                }
                let rules = psoxy::rules::parse_rules_yaml(case.rules).unwrap();
                let hits = leak::check(&case.input, case.name, &rules, &written, None)
                    .unwrap_or_else(|e| panic!("{}: cannot check for leaks: {e}", case.name));
                leak::assert_no_hits(case.name, &hits);
            }
            Expect::Error(pieces) => {
                assert!(!o.status.success(), "{} should fail", case.name);
                let message = stderr(&o);
                check_error(case.name, &message, pieces);
                assert!(message.contains(case.name), "{}: {message}", case.name);
                let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
                assert!(left.is_empty(), "{}: left behind {left:?}", case.name);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_through_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = s3_server::start();
    for case in catalogue(dir.path()) {
        // A fresh pair of buckets for each case, so each output bucket shows only its case.
        let (input_bucket, output_bucket) = {
            let base = case.name.replace(['.', '_'], "-");
            (format!("in-{base}"), format!("out-{base}"))
        };
        s3.create_bucket(&input_bucket).await;
        s3.create_bucket(&output_bucket).await;
        let f = function(
            &s3,
            &[
                ("PSOXY_SALT", SALT),
                ("RULES", case.rules),
                ("OUTPUT_BUCKET", &output_bucket),
                ("PSOXY_INSTANCE_ID", "catalogue"),
            ],
        )
        .await;
        put(&s3, &input_bucket, case.name, case.input, None, None, &[]).await;
        let result = f.handle(event(&[(&input_bucket, case.name)])).await;
        match case.expect {
            Expect::Output(check) => {
                if let Err(e) = &result {
                    panic!("{}: {e}", case.name);
                }
                let stored = keys(&s3, &output_bucket).await;
                assert_eq!(stored.len(), 1, "{}: {stored:?}", case.name);
                let (body, head) = get(&s3, &output_bucket, &stored[0]).await.unwrap();
                let body = if head.content_encoding.as_deref() == Some("gzip") {
                    gunzip(&body)
                } else {
                    body
                };
                check(&body);
            }
            Expect::Error(pieces) => {
                let err = match result {
                    Ok(_) => panic!("{} should fail", case.name),
                    Err(e) => e,
                };
                let message = err.to_string();
                check_error(case.name, &message, pieces);
                let object = format!("{input_bucket}/{}", case.name);
                assert!(message.contains(&object), "{}: {message}", case.name);
                let stored = keys(&s3, &output_bucket).await;
                assert!(stored.is_empty(), "{}: left {stored:?}", case.name);
            }
        }
    }
}
