//! The batching CSV reader: `CsvBatchReader` splits the input into batches of whole records,
//! which are parsed two ways (the csv crate via `for_each_record`, and the zero-copy
//! `CsvRecords` parser when the batch is UTF-8). Both must agree with each other and with the
//! csv crate parsing the whole input at once; `write_field` must write every parsed row as the
//! csv crate's writer does, and read back the same.
//!
//! FUZZ_DEBUG=1 prints the batches when replaying an input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psoxy::format::csv::{write_field, CsvBatchReader, CsvFields, CsvReadError, CsvRecords};

type Row = Vec<Vec<u8>>;

fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some())
}

/// The records `CsvRecords` parses from `text`: (line, fields).
fn fast_parse(text: &str, first_line: u64) -> Vec<(u64, Vec<String>)> {
    let mut fields = CsvFields::default();
    let mut records = CsvRecords::new(text, first_line, b',');
    let mut rows = Vec::new();
    while let Some(line) = records.next_into(&mut fields) {
        assert!(
            rows.len() <= text.len(),
            "CsvRecords yields more records than the text has bytes"
        );
        assert!(!fields.is_empty(), "a parsed record has no fields");
        assert!(fields.get(text, fields.len()).is_none());
        let row = (0..fields.len())
            .map(|i| fields.get(text, i).expect("field in range").to_string())
            .collect();
        rows.push((line, row));
    }
    rows
}

fn as_row(fields: &[String]) -> Row {
    fields.iter().map(|f| f.as_bytes().to_vec()).collect()
}

/// What the csv crate reads from the whole input (no headers, flexible), as the reader uses it.
fn whole_input(data: &[u8]) -> Vec<Row> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .expect("in-memory read")
    {
        rows.push(record.iter().map(<[u8]>::to_vec).collect());
    }
    rows
}

/// `write_field` must write rows as the csv crate's writer does (minimal quoting), and what it
/// writes must read back as the same rows.
fn check_write_field(rows: &[Vec<&str>]) {
    let mut ours = Vec::new();
    let mut theirs = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::new());
    let mut written: Vec<Row> = Vec::new();
    for row in rows {
        // A record of one empty field: the csv crate writes `""` (the record is not a blank
        // line); `write_field` writes one field, not records, so it is not comparable.
        if row.len() == 1 && row[0].is_empty() {
            continue;
        }
        for (i, field) in row.iter().enumerate() {
            if i > 0 {
                ours.push(b',');
            }
            write_field(&mut ours, field);
        }
        ours.push(b'\n');
        theirs.write_record(row).expect("in-memory write");
        written.push(row.iter().map(|f| f.as_bytes().to_vec()).collect());
    }
    let theirs = theirs.into_inner().expect("in-memory flush");
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "write_field differs from the csv crate's writer"
    );
    // A leading BOM would be dropped by the reader: not a property of write_field.
    if !ours.starts_with(b"\xef\xbb\xbf") {
        assert_eq!(
            whole_input(&ours),
            written,
            "write_field output does not read back"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CsvBatchReader::new(data, b',') else {
        return;
    };
    let header: Vec<String> = reader.header().to_vec();
    let _ = reader.crlf();

    // Every record the batches hold, as the csv crate parses each batch.
    let mut all_rows: Vec<Row> = Vec::new();
    let mut batches = 0usize;
    let mut failed = false;
    loop {
        let batch = match reader.next_batch() {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        };
        batches += 1;
        assert!(batches <= data.len() + 1, "more batches than input bytes");

        let mut slow: Vec<(u64, Row)> = Vec::new();
        let parsed = batch.for_each_record(|line, record| {
            slow.push((line, record.iter().map(<[u8]>::to_vec).collect()));
            Ok::<_, CsvReadError>(())
        });
        if debug() {
            eprintln!(
                "batch {batches}: line {} {:?}",
                batch.first_line,
                batch.text()
            );
            eprintln!("  csv crate: {parsed:?} {slow:?}");
        }
        match parsed {
            Ok(n) => assert_eq!(n as usize, slow.len()),
            Err(_) => failed = true,
        }

        if let Some(text) = batch.text() {
            let _ = batch.quote_free(text);
            // The batch's own parser (`records`) must be `CsvRecords` over its text.
            let mut fields = CsvFields::default();
            let mut records = batch.records(text);
            let fast = fast_parse(text, batch.first_line);
            for (line, row) in &fast {
                assert_eq!(records.next_into(&mut fields), Some(*line));
                assert_eq!(fields.len(), row.len());
            }
            assert_eq!(records.next_into(&mut fields), None);

            let rows: Vec<Vec<&str>> = fast
                .iter()
                .map(|(_, r)| r.iter().map(String::as_str).collect())
                .collect();
            check_write_field(&rows);

            if parsed.is_ok() {
                let expected_rows: Vec<Row> = fast.iter().map(|(_, r)| as_row(r)).collect();
                let slow_rows: Vec<Row> = slow.iter().map(|(_, r)| r.clone()).collect();
                assert_eq!(
                    expected_rows, slow_rows,
                    "CsvRecords and the csv crate parse a batch differently"
                );
                let expected_lines: Vec<u64> = fast.iter().map(|(l, _)| *l).collect();
                let slow_lines: Vec<u64> = slow.iter().map(|(l, _)| *l).collect();
                assert_eq!(
                    expected_lines, slow_lines,
                    "CsvRecords and for_each_record report different lines"
                );
            }
        }
        all_rows.extend(slow.into_iter().map(|(_, r)| r));
    }

    // Batching must neither lose, split nor merge records: header + batches == whole input.
    if !failed {
        let whole = whole_input(data);
        let mut ours: Vec<Row> = Vec::new();
        if !header.is_empty() {
            ours.push(header.iter().map(|h| h.as_bytes().to_vec()).collect());
        }
        ours.extend(all_rows);
        assert_eq!(
            ours, whole,
            "batches differ from the csv crate's parse of the input"
        );
    }

    // write_field on the raw input as one field between two others.
    check_write_field(&[vec!["a", &String::from_utf8_lossy(data), "z"]]);
});
