//! Where an object can be cut into pieces that are whole records, found one byte range at a
//! time so the ranges can be scanned in parallel (the fan-out plan).
//!
//! A CSV record ends at a line end outside quotes, so whether a position is inside a quoted
//! field depends on everything before it. Each range is therefore scanned once for every state
//! the scan may be in at its start ([`ScanState`]); chaining the ranges in order (the end
//! state of one is the start state of the next) then picks the true state at every range
//! start, and with it the first record end in each range. The scan follows exactly the rules
//! of the CSV reader ([`crate::format::csv`]): a `"` opens a quoted field only at the start of
//! a field, `""` inside one is an escaped quote, and a record ends at `\n`, `\r\n` or a lone
//! `\r`. So the records between two cuts are the records the reader finds there when it reads
//! the whole object.
//!
//! NDJSON needs no such care: a record ends at every `\n`.

/// Where the record scan is at a byte position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanState {
    /// Outside any quoted field.
    Outside = 0,
    /// Inside a quoted field.
    Quoted = 1,
    /// Inside a quoted field, just after a `"` that either closes it or starts a `""`.
    QuoteSeen = 2,
}

impl ScanState {
    /// Every state, indexed by its value.
    pub const ALL: [ScanState; 3] = [ScanState::Outside, ScanState::Quoted, ScanState::QuoteSeen];
}

/// What scanning one byte range found, for each state the scan may start it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeScan {
    /// The state at the range's end, by start state.
    pub end_state: [ScanState; 3],
    /// The first record end in the range (offset, relative to the range start, just past the
    /// line end), by start state.
    pub first_end: [Option<u64>; 3],
    /// `\n` bytes in the range before each `first_end` (the line numbers of later records).
    pub newlines_before_end: [u64; 3],
    /// `\n` bytes in the whole range.
    pub newlines: u64,
}

/// The bytes around a range that decide how its edges are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Edges {
    /// The byte just before the range; `None` at the object's start (a field starts there).
    pub before: Option<u8>,
    /// The byte just after the range; `None` at the object's end.
    pub after: Option<u8>,
}

/// Scans one range of CSV text (no BOM) in every start state, all at once.
pub fn scan_csv_range(bytes: &[u8], edges: Edges, delimiter: u8) -> RangeScan {
    let mut scanner = RangeScanner::csv(delimiter, edges.before);
    scanner.feed(bytes);
    scanner.finish(edges.after)
}

/// Scans one range of NDJSON: records end at every `\n`.
pub fn scan_lines_range(bytes: &[u8]) -> RangeScan {
    let mut scanner = RangeScanner::lines();
    scanner.feed(bytes);
    scanner.finish(None)
}

/// Scans a range fed in pieces (it is read as a stream, never held whole).
#[derive(Debug)]
pub struct RangeScanner {
    /// `None`: NDJSON lines.
    delimiter: Option<u8>,
    /// The scan in each start state.
    state: [ScanState; 3],
    first_end: [Option<u64>; 3],
    newlines_before_end: [u64; 3],
    newlines: u64,
    /// Bytes scanned so far.
    offset: u64,
    /// The byte before the held one (or before the range).
    before: Option<u8>,
    /// The last byte fed, held back until the byte after it is known.
    held: Option<u8>,
}

impl RangeScanner {
    /// A scanner of CSV text with this delimiter; `before` is the byte before the range
    /// (`None` at the object's start).
    pub fn csv(delimiter: u8, before: Option<u8>) -> Self {
        RangeScanner {
            delimiter: Some(delimiter),
            state: ScanState::ALL,
            first_end: [None; 3],
            newlines_before_end: [0; 3],
            newlines: 0,
            offset: 0,
            before,
            held: None,
        }
    }

    /// A scanner of NDJSON lines.
    pub fn lines() -> Self {
        RangeScanner {
            delimiter: None,
            ..RangeScanner::csv(b',', None)
        }
    }

    /// Scans the next bytes of the range.
    pub fn feed(&mut self, bytes: &[u8]) {
        let Some((&last, rest)) = bytes.split_last() else {
            return;
        };
        if let Some(held) = self.held.take() {
            self.scan(&[held], Some(bytes[0]));
        }
        self.scan(rest, Some(last));
        self.held = Some(last);
    }

    /// Ends the range; `after` is the byte after it (`None` at the object's end).
    pub fn finish(mut self, after: Option<u8>) -> RangeScan {
        if let Some(held) = self.held.take() {
            self.scan(&[held], after);
        }
        RangeScan {
            end_state: self.state,
            first_end: self.first_end,
            newlines_before_end: self.newlines_before_end,
            newlines: self.newlines,
        }
    }

    /// Scans `bytes` (the next ones of the range), followed by `after`.
    fn scan(&mut self, bytes: &[u8], after: Option<u8>) {
        if bytes.is_empty() {
            return;
        }
        let edges = Edges {
            before: self.before,
            after,
        };
        for i in 0..3 {
            let (end, first) = match self.delimiter {
                Some(delimiter) => run(bytes, edges, delimiter, self.state[i]),
                None => (
                    ScanState::Outside,
                    memchr::memchr(b'\n', bytes).map(|f| f + 1),
                ),
            };
            if let (None, Some(f)) = (self.first_end[i], first) {
                self.first_end[i] = Some(self.offset + f as u64);
                self.newlines_before_end[i] =
                    self.newlines + memchr::memchr_iter(b'\n', &bytes[..f]).count() as u64;
            }
            self.state[i] = end;
        }
        self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.offset += bytes.len() as u64;
        self.before = bytes.last().copied();
    }
}

/// Runs the reader's record scan over `bytes` from `state`: the state at the end and the first
/// record end (just past it).
fn run(
    bytes: &[u8],
    edges: Edges,
    delimiter: u8,
    mut state: ScanState,
) -> (ScanState, Option<usize>) {
    let mut first = None;
    let mut i = 0;
    while i < bytes.len() {
        match state {
            ScanState::Outside => {
                let Some(offset) = memchr::memchr3(b'"', b'\n', b'\r', &bytes[i..]) else {
                    break;
                };
                let j = i + offset;
                i = j + 1;
                let ends_record = match bytes[j] {
                    b'"' => {
                        let before = if j == 0 {
                            edges.before
                        } else {
                            Some(bytes[j - 1])
                        };
                        let field_start =
                            before.is_none_or(|b| b == b'\n' || b == b'\r' || b == delimiter);
                        if field_start {
                            state = ScanState::Quoted;
                        }
                        false
                    }
                    // `\r\n` ends at its `\n`; a `\r` at the object's end ends nothing.
                    b'\r' => match bytes.get(j + 1).copied().or(edges.after) {
                        Some(b'\n') | None => false,
                        Some(_) => true,
                    },
                    _ => true,
                };
                if ends_record && first.is_none() {
                    first = Some(j + 1);
                }
            }
            ScanState::Quoted => match memchr::memchr(b'"', &bytes[i..]) {
                Some(offset) => {
                    i += offset + 1;
                    state = ScanState::QuoteSeen;
                }
                None => break,
            },
            ScanState::QuoteSeen => {
                if bytes[i] == b'"' {
                    i += 1;
                    state = ScanState::Quoted;
                } else {
                    // The quote closed the field: this byte is read outside it.
                    state = ScanState::Outside;
                }
            }
        }
    }
    (state, first)
}

/// A cut between two pieces: the byte offset where the next piece starts, and the line it
/// starts on (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Byte offset in the object.
    pub offset: u64,
    /// Line number of that byte.
    pub line: u64,
}

/// Chains the scans of consecutive ranges (range `k` starts at `starts[k]`; the first is
/// scanned from the object's start, `ScanState::Outside`) and returns the first record end in
/// each range after the first, as a cut; ranges without a record end give no cut. `first_line`
/// is the line of the first range's first byte.
pub fn cuts(starts: &[u64], scans: &[RangeScan], first_line: u64) -> Vec<Cut> {
    let mut state = ScanState::Outside;
    let mut line = first_line;
    let mut cuts = Vec::new();
    for (k, (start, scan)) in starts.iter().zip(scans).enumerate() {
        let i = state as usize;
        if k > 0 {
            if let Some(end) = scan.first_end[i] {
                cuts.push(Cut {
                    offset: start + end,
                    line: line + scan.newlines_before_end[i],
                });
            }
        }
        line += scan.newlines;
        state = scan.end_state[i];
    }
    cuts
}

/// Bytes scanned between two looks at whether the scans from each start state have met.
const MEET_BLOCK: usize = 4096;

/// A cut found from a window of CSV text alone, without what comes before it: the scans from
/// every start state ([`ScanState::ALL`]) are run side by side, a block at a time, until they
/// are in the same state at the same position; from there they are one scan, so the first
/// record end after that position is a record end whatever the window's true start state
/// was. Returns it (relative to the window, just past the line end), or `None` if the scans
/// do not meet, or no record ends after they meet, within the window: then only a scan from
/// the object's start can tell.
///
/// They meet at most quoted fields (a quote that opens a field in one scan closes it in the
/// other, and the next delimiter puts both outside); in text without quotes they never do
/// (it could all be inside one long quoted field).
pub fn csv_window_cut(bytes: &[u8], edges: Edges, delimiter: u8) -> Option<usize> {
    let mut states = ScanState::ALL;
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + MEET_BLOCK).min(bytes.len());
        let block = Edges {
            before: if at == 0 {
                edges.before
            } else {
                Some(bytes[at - 1])
            },
            after: bytes.get(end).copied().or(edges.after),
        };
        for state in &mut states {
            *state = run(&bytes[at..end], block, delimiter, *state).0;
        }
        at = end;
        if states.iter().all(|s| *s == states[0]) {
            let rest = Edges {
                before: Some(bytes[at - 1]),
                after: edges.after,
            };
            let (_, first) = run(&bytes[at..], rest, delimiter, states[0]);
            return first.map(|f| at + f);
        }
    }
    None
}

/// The end of the header in CSV text starting at a record start (after any BOM): just past the
/// first record that is not blank, or `None` if `bytes` holds no whole such record.
pub fn csv_header_end(bytes: &[u8], delimiter: u8, at_object_end: bool) -> Option<usize> {
    let mut from = 0;
    loop {
        let rest = &bytes[from..];
        let edges = Edges {
            before: if from == 0 {
                None
            } else {
                Some(bytes[from - 1])
            },
            after: None,
        };
        let (_, end) = run(rest, edges, delimiter, ScanState::Outside);
        let Some(end) = end else {
            // The header is the whole (unterminated) rest when the object ends here.
            let blank = rest.iter().all(|b| matches!(b, b'\r' | b'\n'));
            return (at_object_end && !blank).then_some(bytes.len());
        };
        let record = &bytes[from..from + end];
        if record.iter().any(|b| !matches!(b, b'\r' | b'\n')) {
            return Some(from + end);
        }
        from += end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cuts of `text` scanned in ranges of `size` bytes.
    fn cuts_of(text: &[u8], size: usize) -> Vec<u64> {
        let starts: Vec<u64> = (0..text.len()).step_by(size).map(|s| s as u64).collect();
        let scans: Vec<RangeScan> = starts
            .iter()
            .map(|&s| {
                let s = s as usize;
                let e = (s + size).min(text.len());
                let edges = Edges {
                    before: s.checked_sub(1).map(|b| text[b]),
                    after: text.get(e).copied(),
                };
                scan_csv_range(&text[s..e], edges, b',')
            })
            .collect();
        cuts(&starts, &scans, 1).iter().map(|c| c.offset).collect()
    }

    #[test]
    fn cuts_fall_on_record_ends_outside_quotes() {
        let text = b"a,b\n1,\"x\ny\"\n2,\"\"\"q\"\"\"\r\n3,z\r4,w\n";
        // Every range size gives cuts that are record starts of the whole text.
        let starts = [4usize, 12, 23, 27, 31];
        for size in 1..text.len() {
            for cut in cuts_of(text, size) {
                assert!(
                    starts.contains(&(cut as usize)),
                    "size {size}: cut at {cut}"
                );
            }
        }
        assert_eq!(cuts_of(text, 6), vec![12, 23, 27, 31]);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_literal() {
        // `b"c` does not open a quoted field, so the line end after it ends the record.
        let text = b"h\nb\"c\nd\n";
        assert_eq!(cuts_of(text, 3), vec![6, 8]);
    }

    #[test]
    fn the_header_is_the_first_record_that_is_not_blank() {
        assert_eq!(csv_header_end(b"\n\r\na,b\n1,2\n", b',', false), Some(7));
        assert_eq!(csv_header_end(b"\"a\nb\",c\n1\n", b',', false), Some(8));
        assert_eq!(csv_header_end(b"a,b", b',', false), None);
        assert_eq!(csv_header_end(b"a,b", b',', true), Some(3));
        assert_eq!(csv_header_end(b"\n\n", b',', true), None);
    }

    #[test]
    fn a_range_fed_in_pieces_scans_as_a_whole() {
        let text = b"a,b\n1,\"x\ny\"\n2,\"\"\"q\"\"\"\r\n3,z\r4,w\n";
        for from in [0usize, 5, 9] {
            let to = text.len() - 3;
            let edges = Edges {
                before: from.checked_sub(1).map(|b| text[b]),
                after: Some(text[to]),
            };
            let whole = scan_csv_range(&text[from..to], edges, b',');
            for piece in 1..5 {
                let mut scanner = RangeScanner::csv(b',', edges.before);
                for bytes in text[from..to].chunks(piece) {
                    scanner.feed(bytes);
                }
                assert_eq!(
                    scanner.finish(edges.after),
                    whole,
                    "from {from}, pieces of {piece}"
                );
            }
        }
    }

    /// Every record end of `text`, as the reader finds them (scanned whole).
    fn record_ends(text: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut from = 0;
        let mut state = ScanState::Outside;
        while from < text.len() {
            let edges = Edges {
                before: from.checked_sub(1).map(|i| text[i]),
                after: None,
            };
            let (_, first) = run(&text[from..], edges, b',', state);
            let Some(end) = first else { break };
            ends.push(from + end);
            from += end;
            state = ScanState::Outside;
        }
        ends
    }

    #[test]
    fn a_window_cut_is_a_record_end_of_the_whole_text() {
        let text: &[u8] =
            b"id,note\n1,\"a \"\"b\"\"\nc\"\n2,plain\n3,\"x,\ny\"\n4,\"\"\n5,z\n6,\"q\"\n";
        let text = text.repeat(3000);
        let ends = record_ends(&text);
        for start in (1..text.len() - 1).step_by(7919) {
            let edges = Edges {
                before: Some(text[start - 1]),
                after: None,
            };
            let cut = csv_window_cut(&text[start..], edges, b',').map(|c| start + c);
            match cut {
                Some(cut) => {
                    assert!(
                        ends.binary_search(&cut).is_ok(),
                        "{start}: {cut} is no record end"
                    )
                }
                // The scans are compared a block at a time: the last block may end the text.
                None => assert!(text.len() - start < 2 * MEET_BLOCK, "{start}: no cut"),
            }
        }
    }

    #[test]
    fn a_window_without_quotes_gives_no_cut() {
        let text = b"1,a\n2,b\n3,c\n".repeat(2000);
        let edges = Edges {
            before: Some(b'\n'),
            after: None,
        };
        assert_eq!(csv_window_cut(&text, edges, b','), None);
    }

    #[test]
    fn lines_cut_after_each_newline() {
        let scan = scan_lines_range(b"{}\n{}");
        assert_eq!(scan.first_end[0], Some(3));
        assert_eq!(scan.newlines, 1);
    }
}
