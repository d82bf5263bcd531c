//! NDJSON: batches of lines kept in one buffer, parsed and written by workers.

use std::io::BufRead;

/// Lines handed to one worker: one buffer with the lines back to back.
pub struct NdjsonBatch {
    /// Line text (each without its terminator).
    pub data: Vec<u8>,
    /// (1-based line number, start, end) of each line in `data`.
    pub lines: Vec<(u64, usize, usize)>,
}

impl NdjsonBatch {
    /// Iterates over (line number, line bytes).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.lines.iter().map(|(n, s, e)| (*n, &self.data[*s..*e]))
    }
}

/// Splits decoded input into batches of lines.
pub struct NdjsonBatchReader<R: BufRead> {
    input: R,
    line: u64,
}

const BATCH_LINES: usize = 2000;
const BATCH_BYTES: usize = 4 << 20;

impl<R: BufRead> NdjsonBatchReader<R> {
    /// Wraps decoded input.
    pub fn new(input: R) -> Self {
        NdjsonBatchReader { input, line: 0 }
    }

    /// Wraps decoded input whose first line is line `first_line` (1-based) of a larger input.
    pub fn starting_at(input: R, first_line: u64) -> Self {
        NdjsonBatchReader {
            input,
            line: first_line.saturating_sub(1),
        }
    }

    /// The next batch, or `None` at the end of input.
    pub fn next_batch(&mut self) -> std::io::Result<Option<NdjsonBatch>> {
        let mut data = Vec::new();
        let mut lines = Vec::with_capacity(BATCH_LINES);
        while lines.len() < BATCH_LINES && data.len() < BATCH_BYTES {
            let start = data.len();
            let n = self.input.read_until(b'\n', &mut data)?;
            if n == 0 {
                break;
            }
            self.line += 1;
            let mut end = data.len();
            while end > start && matches!(data[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            data.truncate(end);
            lines.push((self.line, start, end));
        }
        Ok(if lines.is_empty() {
            None
        } else {
            Some(NdjsonBatch { data, lines })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_with_numbers() {
        let mut r = NdjsonBatchReader::new(&b"{\"a\":1}\r\n\n{\"b\":2}"[..]);
        let b = r.next_batch().unwrap().unwrap();
        let got: Vec<(u64, &[u8])> = b.iter().collect();
        assert_eq!(
            got,
            vec![
                (1, &b"{\"a\":1}"[..]),
                (2, &b""[..]),
                (3, &b"{\"b\":2}"[..])
            ]
        );
        assert!(r.next_batch().unwrap().is_none());
    }
}
