//! A JSON array cut as the fan-out plan cuts it (`json_cuts` over ranges of 1–64 bytes, each
//! fed in pieces) and read piece by piece (`ArrayPiece`) reads as the whole array does: the
//! same elements on the same lines when the whole is an array of JSON values, and a failure
//! somewhere (the plan, a piece's reader, or an element that is not JSON) when it is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psoxy::format::json_array::{ArrayPiece, JsonArrayBatchReader};
use psoxy::format::json_cuts::{json_cuts, JsonRangeScanner};

const BOM: &[u8] = b"\xef\xbb\xbf";

/// The elements (line, text) of `input`, or `None` if the reader refuses it or an element is
/// not JSON (what the pipeline refuses).
fn elements(input: &[u8], piece: ArrayPiece, first_line: u64) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut reader = JsonArrayBatchReader::piece(input, piece, first_line);
    let mut out = Vec::new();
    let mut rounds = 0usize;
    loop {
        rounds += 1;
        assert!(rounds <= input.len() + 2, "the reader does not end");
        match reader.next_batch() {
            Ok(Some(batch)) => {
                for (line, text) in batch.iter() {
                    serde_json::from_slice::<serde_json::Value>(text).ok()?;
                    out.push((line, text.to_vec()));
                }
            }
            Ok(None) => return Some(out),
            Err(_) => return None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, text)) = data.split_first() else {
        return;
    };
    let size = 1 + usize::from(first % 64);
    let feed = 1 + usize::from(first / 64) * 3;
    // The pipeline's decoder drops a BOM at the input's start.
    let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let whole = elements(&text[bom..], ArrayPiece::default(), 1);

    let starts: Vec<u64> = (bom..text.len()).step_by(size).map(|s| s as u64).collect();
    let scans: Vec<_> = starts
        .iter()
        .map(|&s| {
            let range = &text[s as usize..(s as usize + size).min(text.len())];
            let mut scanner = JsonRangeScanner::new();
            for bytes in range.chunks(feed) {
                scanner.feed(bytes);
            }
            scanner.finish()
        })
        .collect();
    let Ok(cuts) = json_cuts(&starts, &scans) else {
        assert!(whole.is_none(), "the plan refused an array the whole run reads");
        return;
    };
    // As the plan makes chunks: each ends before the comma after which the next starts.
    let size_all = text.len() as u64;
    let mut bounds = vec![(0u64, 1u64)];
    for cut in cuts {
        assert_eq!(text[cut.offset as usize - 1], b',', "a cut not after a comma");
        if cut.offset < size_all && cut.offset > bounds[bounds.len() - 1].0 + 1 {
            bounds.push((cut.offset, cut.line));
        }
    }
    let mut pieces = Some(Vec::new());
    for (i, &(start, line)) in bounds.iter().enumerate() {
        let end = bounds.get(i + 1).map_or(size_all, |b| b.0 - 1);
        let bytes = if i == 0 {
            &text[bom..end as usize]
        } else {
            &text[start as usize..end as usize]
        };
        let piece = ArrayPiece {
            after_comma: i > 0,
            before_comma: end < size_all,
        };
        let Some(found) = elements(bytes, piece, line) else {
            pieces = None;
            break;
        };
        if let Some(all) = pieces.as_mut() {
            all.extend(found);
        }
    }
    match (&whole, &pieces) {
        (Some(w), Some(p)) => assert!(w == p, "the pieces' elements are not the whole's"),
        (None, None) => {}
        (Some(_), None) => panic!("a piece refused an array the whole run reads"),
        (None, Some(_)) => panic!("the pieces read an array the whole run refuses"),
    }
});
