//! A JSON array of records, streamed: the top-level elements of `[ ..., ... ]` are cut out of
//! the input one by one (tracking strings, escapes and nesting, never parsing the whole
//! document) and handed to workers in batches, like NDJSON lines. Memory is bounded by the
//! batch, not by the array: a 1 GiB array is never held at once.

use std::io::{self, BufRead};

use super::ndjson::NdjsonBatch;

const BATCH_RECORDS: usize = 2000;
const BATCH_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[` or a `,`: an element (or, right after `[`, the closing `]`) comes next.
    BeforeElement { first: bool },
    /// Inside an element.
    InElement,
    /// After an element: `,` or `]` comes next.
    AfterElement,
    /// After the closing `]`: only whitespace may follow.
    Done,
}

/// Where a piece of a JSON array starts and ends: a fan-out chunk's share of it, cut at the
/// commas between elements (the default: the whole array).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArrayPiece {
    /// The piece starts just after a `,` of the array (it has no `[`): an element comes first.
    pub after_comma: bool,
    /// The piece ends just before a `,` of the array (it has no `]`): it must end after an
    /// element, as the array must where that comma is.
    pub before_comma: bool,
}

/// Splits a decoded JSON array into batches of elements. Each element is reported with the
/// 1-based line its first byte is on.
pub struct JsonArrayBatchReader<R: BufRead> {
    input: R,
    scan: Scanner,
    /// Bytes of an element carried over to the next batch.
    carry: Vec<u8>,
    records: u64,
    /// The input ends before a `,` of the array, not yet read.
    comma_after: bool,
}

/// Where the scan is in the array.
struct Scanner {
    state: State,
    line: u64,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Start of the element being read, in the batch buffer, and its line.
    element: Option<(usize, u64)>,
}

/// A JSON array whose structure is broken, at a line of the input. It travels as the payload
/// of an `InvalidData` [`io::Error`] (the reader's error type), so callers can take the line
/// back with `get_ref().downcast_ref::<JsonArrayError>()`.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct JsonArrayError {
    /// 1-based line of the input where the structure breaks.
    pub line: u64,
    /// What is wrong (never the data).
    pub problem: &'static str,
}

fn bad(line: u64, problem: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, JsonArrayError { line, problem })
}

impl<R: BufRead> JsonArrayBatchReader<R> {
    /// Wraps decoded input.
    pub fn new(input: R) -> Self {
        JsonArrayBatchReader::piece(input, ArrayPiece::default(), 1)
    }

    /// Wraps a piece of an array whose first line is `first_line` of the whole.
    pub fn piece(input: R, piece: ArrayPiece, first_line: u64) -> Self {
        JsonArrayBatchReader {
            input,
            scan: Scanner {
                state: if piece.after_comma {
                    State::BeforeElement { first: false }
                } else {
                    State::Start
                },
                line: first_line.max(1),
                depth: 0,
                in_string: false,
                escaped: false,
                element: None,
            },
            carry: Vec::new(),
            records: 0,
            comma_after: piece.before_comma,
        }
    }

    /// Elements read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The next batch of elements, or `None` after the closing `]` (or for empty input).
    pub fn next_batch(&mut self) -> io::Result<Option<NdjsonBatch>> {
        let mut data = std::mem::take(&mut self.carry);
        let mut lines = Vec::with_capacity(64);
        let scan = &mut self.scan;
        if let Some((_, line)) = scan.element {
            scan.element = Some((0, line));
        }
        loop {
            if lines.len() >= BATCH_RECORDS || (data.len() >= BATCH_BYTES && !lines.is_empty()) {
                break;
            }
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() && self.comma_after {
                // The comma that ends the piece, as the whole array has it there: it ends an
                // element (or is misplaced, with the whole array's error).
                self.comma_after = false;
                if scan.state == State::InElement {
                    data.push(b','); // as every byte of an element is, before its step
                }
                scan.step(b',', &mut data, &mut lines)?;
                if scan.state != (State::BeforeElement { first: false }) {
                    return Err(bad(scan.line, "an element of the JSON array does not end"));
                }
                scan.state = State::Done;
                continue;
            }
            if chunk.is_empty() {
                return match scan.state {
                    State::Start | State::Done => self.finish(data, lines),
                    _ => Err(bad(scan.line, "the JSON array ends early (no closing `]`)")),
                };
            }
            let mut used = 0;
            for &b in chunk {
                used += 1;
                if scan.state == State::InElement {
                    data.push(b);
                }
                scan.step(b, &mut data, &mut lines)?;
                if b == b'\n' {
                    scan.line += 1;
                }
                if lines.len() >= BATCH_RECORDS {
                    break;
                }
            }
            self.input.consume(used);
        }
        // Carry a partial element over to the next batch.
        if let Some((start, line)) = scan.element {
            self.carry = data.split_off(start);
            scan.element = Some((0, line));
        }
        self.finish(data, lines)
    }

    fn finish(
        &mut self,
        data: Vec<u8>,
        lines: Vec<(u64, usize, usize)>,
    ) -> io::Result<Option<NdjsonBatch>> {
        self.records += lines.len() as u64;
        Ok((!lines.is_empty()).then_some(NdjsonBatch { data, lines }))
    }
}

impl Scanner {
    /// Advances the state machine over one byte (already appended to `data` when inside an
    /// element).
    fn step(
        &mut self,
        b: u8,
        data: &mut Vec<u8>,
        lines: &mut Vec<(u64, usize, usize)>,
    ) -> io::Result<()> {
        let ws = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            State::Start => match b {
                _ if ws => {}
                b'[' => self.state = State::BeforeElement { first: true },
                _ => return Err(bad(self.line, "expected a JSON array (`[`)")),
            },
            State::BeforeElement { first } => {
                match b {
                    _ if ws => {}
                    b']' if first => self.state = State::Done,
                    b']' | b',' => return Err(bad(
                        self.line,
                        "expected an element of the JSON array (empty element or trailing comma)",
                    )),
                    _ => {
                        self.state = State::InElement;
                        self.element = Some((data.len(), self.line));
                        data.push(b);
                        self.enter(b);
                        self.end_scalar_if_complete(data, lines);
                    }
                }
            }
            State::InElement => {
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                        self.end_scalar_if_complete(data, lines);
                    }
                } else if self.depth == 0 {
                    // A bare scalar (number, true, false, null) ends at a delimiter.
                    if ws || b == b',' || b == b']' {
                        data.pop();
                        self.close_element(data, lines);
                        self.state = State::AfterElement;
                        return self.step(b, data, lines);
                    }
                } else {
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth -= 1;
                            if self.depth == 0 {
                                self.close_element(data, lines);
                                self.state = State::AfterElement;
                            }
                        }
                        _ => {}
                    }
                }
            }
            State::AfterElement => match b {
                _ if ws => {}
                b',' => self.state = State::BeforeElement { first: false },
                b']' => self.state = State::Done,
                _ => {
                    return Err(bad(
                        self.line,
                        "expected `,` or `]` after an element of the JSON array",
                    ))
                }
            },
            State::Done => {
                if !ws {
                    return Err(bad(self.line, "unexpected data after the JSON array"));
                }
            }
        }
        Ok(())
    }

    /// Sets up the scan for an element starting with `b`.
    fn enter(&mut self, b: u8) {
        match b {
            b'{' | b'[' => self.depth = 1,
            b'"' => self.in_string = true,
            _ => {}
        }
    }

    /// A top-level string element ends at its closing quote.
    fn end_scalar_if_complete(&mut self, data: &mut [u8], lines: &mut Vec<(u64, usize, usize)>) {
        if self.depth == 0 && !self.in_string && data.last() == Some(&b'"') {
            self.close_element(data, lines);
            self.state = State::AfterElement;
        }
    }

    fn close_element(&mut self, data: &[u8], lines: &mut Vec<(u64, usize, usize)>) {
        if let Some((start, line)) = self.element.take() {
            lines.push((line, start, data.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_broken_array_names_its_line_in_a_typed_payload() {
        let mut r = super::JsonArrayBatchReader::new(&b"[\n{\"a\":1},\n,]"[..]);
        let err = loop {
            match r.next_batch() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        let typed = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<super::JsonArrayError>())
            .expect("typed payload");
        assert_eq!(typed.line, 3);
        assert!(
            err.to_string().starts_with("line 3: expected an element"),
            "{err}"
        );
    }

    use super::*;

    fn elements(input: &[u8], reader_buf: usize) -> io::Result<Vec<(u64, String)>> {
        let mut r = JsonArrayBatchReader::new(io::BufReader::with_capacity(reader_buf, input));
        let mut out = Vec::new();
        while let Some(batch) = r.next_batch()? {
            for (line, text) in batch.iter() {
                out.push((line, String::from_utf8(text.to_vec()).unwrap()));
            }
        }
        Ok(out)
    }

    #[test]
    fn splits_top_level_elements_whatever_the_read_size() {
        let input = br#"  [
 {"a": "x,]}\"y", "b": [1, {"c": 2}]},
 {"d": null} ,"s\"tr", 12.5e3 ,true,[],{}
]
"#;
        let expected = vec![
            (2, r#"{"a": "x,]}\"y", "b": [1, {"c": 2}]}"#.to_string()),
            (3, r#"{"d": null}"#.to_string()),
            (3, r#""s\"tr""#.to_string()),
            (3, "12.5e3".to_string()),
            (3, "true".to_string()),
            (3, "[]".to_string()),
            (3, "{}".to_string()),
        ];
        for buf in [1, 2, 3, 7, 64, 8192] {
            assert_eq!(elements(input, buf).unwrap(), expected, "buffer {buf}");
        }
    }

    #[test]
    fn empty_input_and_empty_array() {
        assert!(elements(b"", 16).unwrap().is_empty());
        assert!(elements(b" [ ] \n", 16).unwrap().is_empty());
    }

    #[test]
    fn malformed_arrays_name_the_line() {
        for (input, why) in [
            (&b"{\"a\":1}"[..], "expected a JSON array"),
            (b"[{\"a\":1}", "ends early"),
            (b"[{\"a\":1},]", "trailing comma"),
            (b"[1,,2]", "empty element"),
            (b"[{\"a\":1}\n{\"b\":2}]", "expected `,` or `]`"),
            (b"[1]\n[2]", "after the JSON array"),
        ] {
            let err = elements(input, 4).unwrap_err().to_string();
            assert!(err.contains(why) && err.starts_with("line "), "{err}");
        }
    }

    #[test]
    fn large_arrays_come_in_bounded_batches() {
        let mut input = b"[".to_vec();
        for i in 0..5000 {
            if i > 0 {
                input.push(b',');
            }
            input.extend_from_slice(format!("{{\"id\":{i}}}").as_bytes());
        }
        input.push(b']');
        let mut r = JsonArrayBatchReader::new(&input[..]);
        let mut sizes = Vec::new();
        while let Some(batch) = r.next_batch().unwrap() {
            sizes.push(batch.lines.len());
        }
        assert_eq!(sizes, [2000, 2000, 1000]);
        assert_eq!(r.records(), 5000);
    }
}
