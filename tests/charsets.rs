//! Inputs in Windows-1252, ISO-8859-1 and UTF-16 (`--input-encoding`, `INPUT_ENCODING`): the
//! same table in any encoding sanitizes to the same UTF-8 bytes (so the same pseudonyms), and
//! what cannot be decoded fails naming the file and line, leaving no output.

mod common;

use common::{psoxy, run, stderr};

/// A table whose identifiers and clear cells are not ASCII; every character is in Latin-1
/// and Windows-1252.
const TABLE: &str = "EMAIL,NAME,CITY\n\
                     zoë@example.com,Zoë Ångström,Köln\n\
                     jose@example.com,José Núñez,São Paulo\n\
                     ana@example.com,Ana Çelik,Zürich\n";

const RULES: &str = "columnsToPseudonymize: [EMAIL]\ncolumnsToRedact: [NAME]\n";

fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut units: Vec<u16> = text.encode_utf16().collect();
    if bom {
        units.insert(0, 0xFEFF);
    }
    units
        .into_iter()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// Sanitizes `bytes` (written as `name`) with `args`; returns the output, or the error text.
fn sanitize(name: &str, bytes: &[u8], args: &[&str]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let out = dir.path().join("out.csv");
    let o = run(psoxy()
        .args(["sanitize", "--salt", "salt", "--no-shuffle", "--rules"])
        .arg(&rules)
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(&input)
        .env_remove("INPUT_ENCODING"));
    if o.status.success() {
        Ok(std::fs::read(&out).unwrap())
    } else {
        assert!(!out.exists(), "no output after an error");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
        Err(stderr(&o))
    }
}

#[test]
fn every_encoding_sanitizes_to_the_utf8_runs_bytes() {
    let expected = sanitize("t.csv", TABLE.as_bytes(), &[]).unwrap();
    let text = String::from_utf8(expected.clone()).unwrap();
    assert!(
        text.contains("Köln") && text.contains("São Paulo"),
        "{text}"
    );
    assert!(!text.contains("zoë@") && !text.contains("Zoë"), "{text}");
    let windows = TABLE.replace("Köln", "Köln €5"); // the euro sign is 0x80 in Windows-1252
    let windows_bytes: Vec<u8> = latin1(&windows.replace('€', "\u{80}"));
    let expected_windows = sanitize("t.csv", windows.as_bytes(), &[]).unwrap();
    assert_eq!(
        sanitize(
            "t.csv",
            &windows_bytes,
            &["--input-encoding", "windows-1252"]
        )
        .unwrap(),
        expected_windows
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ISO-8859-1", latin1(TABLE)),
        ("latin1", latin1(TABLE)),
        ("UTF-16", utf16(TABLE, false, true)),
        ("UTF-16", utf16(TABLE, true, true)),
        ("UTF-16LE", utf16(TABLE, false, false)),
        ("UTF-16BE", utf16(TABLE, true, false)),
        // A byte-order mark wins over the named encoding.
        ("WINDOWS-1252", utf16(TABLE, false, true)),
        (
            "ISO-8859-1",
            [b"\xEF\xBB\xBF".as_slice(), TABLE.as_bytes()].concat(),
        ),
    ];
    for (encoding, bytes) in cases {
        assert_eq!(
            sanitize("t.csv", &bytes, &["--input-encoding", encoding]),
            Ok(expected.clone()),
            "{encoding}"
        );
    }
    // ISO-8859-1 is byte for byte: 0x80 is U+0080, not the euro sign.
    let latin = sanitize("t.csv", &windows_bytes, &["--input-encoding", "ISO-8859-1"]).unwrap();
    assert!(String::from_utf8(latin).unwrap().contains("Köln \u{80}5"));
}

#[test]
fn the_environment_names_the_encoding_and_ndjson_is_decoded_too() {
    let dir = tempfile::tempdir().unwrap();
    let records = "{\"email\":\"zoë@example.com\",\"city\":\"Köln\"}\n";
    let input = dir.path().join("events.ndjson");
    std::fs::write(&input, utf16(records, true, true)).unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "format: NDJSON\ntransforms:\n  - pseudonymize: [\"$.email\"]\n",
    )
    .unwrap();
    let o = run(psoxy()
        .args(["sanitize", "--salt", "salt", "--rules"])
        .arg(&rules)
        .arg(&input)
        .env("INPUT_ENCODING", "UTF-16"));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("\"city\":\"Köln\"") && !out.contains("zoë"),
        "{out}"
    );
}

#[test]
fn what_cannot_be_decoded_fails_naming_file_and_line() {
    // UTF-16 read as the default UTF-8: refused at once, with the setting to use.
    let err = sanitize("u16.csv", &utf16(TABLE, false, true), &[]).unwrap_err();
    assert!(
        err.contains("u16.csv") && err.contains("UTF-16") && err.contains("--input-encoding"),
        "{err}"
    );
    // UTF-16 named without a byte-order mark to tell the order.
    let err = sanitize(
        "nobom.csv",
        &utf16(TABLE, false, false),
        &["--input-encoding", "UTF-16"],
    )
    .unwrap_err();
    assert!(
        err.contains("nobom.csv") && err.contains("UTF-16LE or UTF-16BE"),
        "{err}"
    );
    // An unpaired surrogate on line 3.
    let mut bad = utf16("EMAIL,NAME,CITY\na@x.com,A,B\nb@x.com,", false, true);
    bad.extend_from_slice(&0xDC00u16.to_le_bytes());
    bad.extend_from_slice(&utf16(",C\n", false, false));
    let err = sanitize("bad16.csv", &bad, &["--input-encoding", "UTF-16"]).unwrap_err();
    assert!(
        err.contains("bad16.csv") && err.contains("line 3") && err.contains("UTF-16LE"),
        "{err}"
    );
    assert!(!err.contains("b@x.com"), "no data in errors: {err}");
    // The default still fails on invalid UTF-8, naming the line and column.
    let err = sanitize("bad8.csv", &latin1(TABLE), &[]).unwrap_err();
    assert!(
        err.contains("line 2") && err.contains("column `EMAIL`"),
        "{err}"
    );
    // An unknown name lists the known ones.
    let err = sanitize("t.csv", TABLE.as_bytes(), &["--input-encoding", "EBCDIC"]).unwrap_err();
    assert!(
        err.contains("WINDOWS-1252") && err.contains("UTF-16BE"),
        "{err}"
    );
}

#[test]
fn check_reads_a_sample_in_its_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample.csv");
    std::fs::write(&sample, utf16(TABLE, false, true)).unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let o = run(psoxy()
        .args(["check", "--input-encoding", "UTF-16", "--rules"])
        .arg(&rules)
        .arg(&sample)
        .env_remove("INPUT_ENCODING"));
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = String::from_utf8(o.stdout).unwrap();
    assert!(shown.contains("CITY"), "{shown}");
    let o = run(psoxy()
        .args(["check", "--rules"])
        .arg(&rules)
        .arg(&sample)
        .env_remove("INPUT_ENCODING"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("UTF-16"), "{}", stderr(&o));
}
