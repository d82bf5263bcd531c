//! NDJSON batching (and the JSON-array reader, the other JSON framing): every line is handed
//! out once, numbered in order, without its terminator, and parsed with serde_json as the
//! pipeline does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psoxy::format::json_array::ArrayPiece;
use psoxy::format::{json_batches, JsonLayout};
use psoxy::format::ndjson::NdjsonBatchReader;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut reader = NdjsonBatchReader::new(data);
    let mut expected_line = 1u64;
    let mut bytes_seen = 0usize;
    while let Some(batch) = reader
        .next_batch()
        .expect("reading from memory cannot fail")
    {
        assert!(!batch.lines.is_empty(), "an empty batch");
        for (n, line) in batch.iter() {
            assert_eq!(n, expected_line, "line numbers are not consecutive");
            expected_line += 1;
            assert!(
                !line.ends_with(b"\n") && !line.ends_with(b"\r"),
                "a line keeps its terminator"
            );
            assert!(!line.contains(&b'\n'), "a line holds a newline");
            bytes_seen += line.len();
            if let Ok(mut v) = serde_json::from_slice::<Value>(line) {
                let text = serde_json::to_vec(&v).expect("serializes");
                let again: Value = serde_json::from_slice(&text).expect("re-parses");
                v.take();
                let _ = again;
            }
        }
    }
    // Every `\n` ends a line, and so does the end of input after a last unterminated line.
    let lines = data.iter().filter(|b| **b == b'\n').count()
        + usize::from(!data.is_empty() && !data.ends_with(b"\n"));
    assert_eq!(expected_line - 1, lines as u64, "lines lost or invented");
    assert!(bytes_seen <= data.len());

    // The JSON-array reader over the same bytes.
    let mut next = json_batches(Box::new(data), JsonLayout::Array(ArrayPiece::default()), 1);
    let mut rounds = 0usize;
    loop {
        match next() {
            Ok(Some(batch)) => {
                for (_, element) in batch.iter() {
                    let _ = serde_json::from_slice::<Value>(element);
                }
            }
            Ok(None) | Err(_) => break,
        }
        rounds += 1;
        assert!(
            rounds <= data.len() + 1,
            "the JSON-array reader does not end"
        );
    }
});
