//! CSV in, CSV out, with columnar rules: the header binds the compiled program into a plan,
//! then batches of rows are transformed by the workers (the common case straight from the
//! text, no copies of clear fields) and written in order.

use std::io::{BufRead, Write};

use super::emit::{csv_header, BatchOutput, Emitter};
use super::pipeline::run_ordered;
use super::shuffle::{shuffle_seed, shuffled};
use super::{internal, SanitizeError, Sanitizer, StreamOptions};
use crate::format::csv::{writer, CsvBatchReader, CsvFields};
use crate::transform::ColumnarProgram;

impl Sanitizer {
    pub(super) fn columnar_csv<W: Write>(
        &self,
        program: &ColumnarProgram,
        input: Box<dyn BufRead + Send + '_>,
        delimiter: u8,
        opts: &StreamOptions,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let mut reader = CsvBatchReader::starting_at(input, delimiter, opts.first_line)?;
        if reader.header().is_empty() {
            return Ok(()); // empty input -> empty output
        }
        let plan = program.bind(reader.header())?;
        let crlf = reader.crlf();
        if !opts.omit_header {
            out.emit(&csv_header(crlf, plan.output_header())?, 0)?;
        }
        let shuffle_seed = opts
            .shuffle
            .then(|| shuffle_seed(&self.pseudonymizer, &opts.object_key, opts.chunk));
        let p = &*self.pseudonymizer;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || reader.next_batch().map_err(SanitizeError::from),
            |seq, batch| {
                // Row i of the batch is bytes ends[i-1]..ends[i] of `bytes` (kept only to shuffle).
                let mut ends: Vec<usize> = Vec::new();
                let (bytes, n) = if let Some(text) = batch.text() {
                    let terminator: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                    // Pseudonyms (43 characters) usually make a row longer: room for twice
                    // the input avoids growing the buffer on typical HR rows.
                    let mut bytes = Vec::with_capacity(2 * text.len());
                    let mut fields = CsvFields::default();
                    let mut scratch = String::new();
                    let mut records = batch.records(text);
                    let quote_free = batch.quote_free(text);
                    let mut n = 0u64;
                    while let Some(line) = records.next_into(&mut fields) {
                        plan.transform_text_row(
                            &fields,
                            text,
                            quote_free,
                            line,
                            p,
                            terminator,
                            &mut bytes,
                            &mut scratch,
                        )?;
                        if shuffle_seed.is_some() {
                            ends.push(bytes.len());
                        }
                        n += 1;
                    }
                    (bytes, n)
                } else {
                    // Not all UTF-8: the general path, which names the cell that is not.
                    let mut cells: Vec<String> = Vec::with_capacity(plan.width());
                    let mut w = writer(crlf, 256 << 10);
                    let n = batch.for_each_record(|line, record| {
                        plan.transform_row(record, line, p, &mut cells)?;
                        w.write_record(cells.iter().map(String::as_bytes))
                            .map_err(internal)?;
                        if shuffle_seed.is_some() {
                            w.flush().map_err(SanitizeError::Write)?;
                            ends.push(w.get_ref().len());
                        }
                        Ok::<_, SanitizeError>(())
                    })?;
                    let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
                    (bytes, n)
                };
                let bytes = match &shuffle_seed {
                    Some(seed) => shuffled(&bytes, &ends, seed, seq),
                    None => bytes,
                };
                Ok((BatchOutput::pack(bytes, gzip)?, n))
            },
            |(output, n)| out.emit_output(&output, n),
        )
    }
}
