//! Where a JSON array can be cut into pieces of whole elements, found one byte range at a time
//! so the ranges can be scanned in parallel (the fan-out plan).
//!
//! The elements of the array are separated by the commas at nesting depth 1 outside strings.
//! Whether a byte is inside a string depends on everything before it, and its depth on every
//! bracket before it, so each range is scanned once for every string state it may start in
//! ([`JsonState`]), with depths relative to its start; chaining the ranges in order (the end
//! state and depth of one are the start of the next) then picks the true scan of each range,
//! and in it the first comma between two elements.
//!
//! A scan from a wrong state soon meets a byte that JSON has only inside strings (a letter of
//! a name, an `@`) and stops there, so it costs little; scans that reach the same state at the
//! same byte are one scan from there on, and only one of them goes on. The true scan stopping
//! means the text is not JSON, at that byte's line.

use super::split::Cut;

/// Where a scan is, as to strings, at a byte position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonState {
    /// Outside strings.
    Outside = 0,
    /// Inside a string.
    InString = 1,
    /// Inside a string, just after a `\` (the next byte is escaped).
    Escaped = 2,
}

impl JsonState {
    /// Every state, indexed by its value.
    pub const ALL: [JsonState; 3] = [JsonState::Outside, JsonState::InString, JsonState::Escaped];
}

/// A comma outside strings, at a depth that no byte before it in its range goes below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comma {
    /// Nesting depth relative to the range's start (`[` and `{` add one, `]` and `}` take one).
    pub depth: i64,
    /// Offset from the range's start.
    pub offset: u64,
    /// `\n` bytes in the range before it.
    pub newlines: u64,
}

/// The scan of one range from one start state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRun {
    /// The state at the range's end.
    pub end: JsonState,
    /// The depth at the range's end, relative to its start.
    pub depth: i64,
    /// The first comma at each new lowest depth, in order (their depths decrease): the first
    /// comma at depth 1 of the array, if the range has one, is among them (no byte of the
    /// array before it is below depth 1).
    pub commas: Vec<Comma>,
    /// `\n` bytes in the range (up to `broken`, if it stopped).
    pub newlines: u64,
    /// Where the scan stopped at a byte that is not JSON outside strings: its offset in the
    /// range and the `\n` bytes before it.
    pub broken: Option<(u64, u64)>,
}

/// What scanning one range found, by the state it starts in ([`JsonState`] as index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRangeScan {
    /// One run per start state.
    pub runs: [JsonRun; 3],
}

/// A JSON array that is not JSON: a byte outside strings that JSON has only inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: not a JSON array (a character outside strings that JSON allows only inside them)"
)]
pub struct NotJsonArray {
    /// 1-based line of that byte.
    pub line: u64,
}

/// How a byte outside strings is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Part of a number or a literal, `:`, or blank other than `\n`.
    Plain,
    Newline,
    Quote,
    Open,
    Close,
    Comma,
    /// Found in JSON only inside strings.
    Bad,
}

const CLASSES: [Class; 256] = {
    let mut table = [Class::Bad; 256];
    let plain = b" \t\r:0123456789+-.eEtrufalsn";
    let mut i = 0;
    while i < plain.len() {
        table[plain[i] as usize] = Class::Plain;
        i += 1;
    }
    table[b'\n' as usize] = Class::Newline;
    table[b'"' as usize] = Class::Quote;
    table[b'[' as usize] = Class::Open;
    table[b'{' as usize] = Class::Open;
    table[b']' as usize] = Class::Close;
    table[b'}' as usize] = Class::Close;
    table[b',' as usize] = Class::Comma;
    table
};

/// Bytes scanned between two looks at whether runs have met (while more than one goes on).
const MEET_BLOCK: usize = 4096;

/// One run while it scans.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    state: JsonState,
    depth: i64,
    /// The lowest depth so far.
    low: i64,
    commas: Vec<Comma>,
    newlines: u64,
    broken: Option<(u64, u64)>,
}

impl Run {
    fn new(state: JsonState) -> Self {
        Run {
            state,
            depth: 0,
            low: 0,
            commas: Vec::new(),
            newlines: 0,
            broken: None,
        }
    }

    /// Scans `bytes`, which start at `base` in the range.
    fn scan(&mut self, bytes: &[u8], base: u64) {
        if self.broken.is_some() {
            return;
        }
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                JsonState::Escaped => {
                    self.newlines += u64::from(bytes[i] == b'\n');
                    self.state = JsonState::InString;
                    i += 1;
                }
                JsonState::InString => {
                    let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', &bytes[i..]) else {
                        return;
                    };
                    let j = i + k;
                    match bytes[j] {
                        b'"' => self.state = JsonState::Outside,
                        b'\\' => self.state = JsonState::Escaped,
                        _ => self.newlines += 1,
                    }
                    i = j + 1;
                }
                JsonState::Outside => {
                    while i < bytes.len() {
                        let b = bytes[i];
                        i += 1;
                        match CLASSES[b as usize] {
                            Class::Plain => {}
                            Class::Newline => self.newlines += 1,
                            Class::Quote => {
                                self.state = JsonState::InString;
                                break;
                            }
                            Class::Open => self.depth += 1,
                            Class::Close => {
                                self.depth -= 1;
                                self.low = self.low.min(self.depth);
                            }
                            Class::Comma => {
                                let seen = self.commas.last().map(|c| c.depth);
                                if self.depth == self.low && seen != Some(self.depth) {
                                    self.commas.push(Comma {
                                        depth: self.depth,
                                        offset: base + i as u64 - 1,
                                        newlines: self.newlines,
                                    });
                                }
                            }
                            Class::Bad => {
                                self.broken = Some((base + i as u64 - 1, self.newlines));
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    fn finish(self) -> JsonRun {
        JsonRun {
            end: self.state,
            depth: self.depth,
            commas: self.commas,
            newlines: self.newlines,
            broken: self.broken,
        }
    }
}

/// Scans a range fed in pieces (it is read as a stream, never held whole), from every start
/// state at once.
#[derive(Debug)]
pub struct JsonRangeScanner {
    runs: [Run; 3],
    /// `same[i]`: the run that run `i` has become (itself while it goes on).
    same: [usize; 3],
    /// Bytes scanned so far.
    offset: u64,
}

impl Default for JsonRangeScanner {
    fn default() -> Self {
        JsonRangeScanner::new()
    }
}

impl JsonRangeScanner {
    /// A scanner at the start of a range.
    pub fn new() -> Self {
        JsonRangeScanner {
            runs: JsonState::ALL.map(Run::new),
            same: [0, 1, 2],
            offset: 0,
        }
    }

    /// Scans the next bytes of the range.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let going: Vec<usize> = (0..3)
                .filter(|&i| self.same[i] == i && self.runs[i].broken.is_none())
                .collect();
            let take = if going.len() > 1 {
                MEET_BLOCK.min(bytes.len())
            } else {
                bytes.len()
            };
            for &i in &going {
                self.runs[i].scan(&bytes[..take], self.offset);
            }
            self.offset += take as u64;
            bytes = &bytes[take..];
            // Runs in the same state at the same byte, with the same findings, are one run.
            for &i in &going {
                if let Some(&j) = going
                    .iter()
                    .find(|&&j| j < i && self.same[j] == j && self.runs[j] == self.runs[i])
                {
                    self.same[i] = j;
                }
            }
        }
    }

    /// Ends the range.
    pub fn finish(self) -> JsonRangeScan {
        let same = self.same;
        let runs = self.runs.map(Run::finish);
        JsonRangeScan {
            runs: [0, 1, 2].map(|i| runs[same[i]].clone()),
        }
    }
}

/// Scans one whole range of a JSON text.
pub fn scan_json_range(bytes: &[u8]) -> JsonRangeScan {
    let mut scanner = JsonRangeScanner::new();
    scanner.feed(bytes);
    scanner.finish()
}

/// Chains the scans of consecutive ranges of a JSON array (range `k` starts at `starts[k]`;
/// the first at the text's start, after any BOM, on line 1) and returns, for each range after
/// the first, its first comma between two elements of the array as a cut: the next piece
/// starts just after the comma, and the piece before it ends just before it. Ranges without
/// such a comma give no cut.
pub fn json_cuts(starts: &[u64], scans: &[JsonRangeScan]) -> Result<Vec<Cut>, NotJsonArray> {
    let mut state = JsonState::Outside;
    let mut depth = 0i64;
    let mut line = 1;
    let mut cuts = Vec::new();
    for (k, (start, scan)) in starts.iter().zip(scans).enumerate() {
        let run = &scan.runs[state as usize];
        if let Some((_, newlines)) = run.broken {
            return Err(NotJsonArray {
                line: line + newlines,
            });
        }
        if k > 0 && depth >= 1 {
            if let Some(comma) = run.commas.iter().find(|c| c.depth == 1 - depth) {
                cuts.push(Cut {
                    offset: start + comma.offset + 1,
                    line: line + comma.newlines,
                });
            }
        }
        depth += run.depth;
        line += run.newlines;
        state = run.end;
    }
    Ok(cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets of the commas between the array's elements, by a plain scan of the whole.
    fn element_commas(text: &[u8]) -> Vec<u64> {
        let (mut depth, mut in_string, mut escaped) = (0, false, false);
        let mut out = Vec::new();
        for (i, &b) in text.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth -= 1,
                b',' if depth == 1 => out.push(i as u64),
                _ => {}
            }
        }
        out
    }

    /// Cuts from ranges of `size` bytes, each range fed in pieces of `piece` bytes.
    fn cuts_by_ranges(text: &[u8], size: usize, piece: usize) -> Result<Vec<Cut>, NotJsonArray> {
        let starts: Vec<u64> = (0..text.len()).step_by(size).map(|s| s as u64).collect();
        let scans: Vec<JsonRangeScan> = starts
            .iter()
            .map(|&s| {
                let range = &text[s as usize..(s as usize + size).min(text.len())];
                let mut scanner = JsonRangeScanner::new();
                for bytes in range.chunks(piece) {
                    scanner.feed(bytes);
                }
                scanner.finish()
            })
            .collect();
        json_cuts(&starts, &scans)
    }

    const TRICKY: &str = r#"[
 {"a": "x,]}\"y", "b": [1, {"c": 2}], "d\\": "\\\\", "e": "\u0022,"},
 {"d": null} ,"s\"tr,[", 12.5e3 ,true,[[1,2],[3]],{},
 "quote \\\" comma , bracket ] brace } backslash \\", "@ÿ", false
]
"#;

    #[test]
    fn cuts_are_the_first_element_commas_of_each_range_whatever_the_sizes() {
        let text = TRICKY.as_bytes();
        let commas = element_commas(text);
        for size in 1..text.len() + 1 {
            for piece in [1, 3, 64] {
                let cuts = cuts_by_ranges(text, size, piece).unwrap();
                let expected: Vec<u64> = (size..text.len())
                    .step_by(size)
                    .filter_map(|start| {
                        let end = (start + size).min(text.len()) as u64;
                        commas
                            .iter()
                            .find(|&&c| c >= start as u64 && c < end)
                            .map(|c| c + 1)
                    })
                    .collect();
                let got: Vec<u64> = cuts.iter().map(|c| c.offset).collect();
                assert_eq!(got, expected, "ranges of {size}, pieces of {piece}");
                for cut in &cuts {
                    let line = 1 + text[..cut.offset as usize]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u64;
                    assert_eq!(cut.line, line, "ranges of {size}");
                }
            }
        }
    }

    #[test]
    fn a_wrong_start_state_stops_at_the_first_letter_outside_strings() {
        let scan = scan_json_range(br#"name", "e": "Ann Lee"}, {"#);
        // Read from outside strings, `name` has a letter no JSON token has (`n` and `a` are
        // in `null` and `false`).
        assert_eq!(scan.runs[JsonState::Outside as usize].broken, Some((2, 0)));
        let inside = &scan.runs[JsonState::InString as usize];
        assert_eq!(inside.broken, None);
        assert_eq!(inside.depth, 0);
        assert_eq!(inside.commas.len(), 2, "{:?}", inside.commas);
    }

    #[test]
    fn text_that_is_not_json_names_its_line() {
        let text = b"[1,\n2,\n{\"a\": nope}]";
        for size in [1, 4, 100] {
            assert_eq!(cuts_by_ranges(text, size, 2), Err(NotJsonArray { line: 3 }));
        }
    }
}
