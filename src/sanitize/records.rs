//! Record rules over JSON records (NDJSON lines, JSON-array elements) and over CSV rows read
//! as objects keyed by column name; JSON or CSV out.

use std::io::{BufRead, Write};

use super::emit::{csv_header, json_cell, BatchOutput, Emitter, Framing};
use super::pipeline::run_ordered;
use super::{internal, ReadError, SanitizeError, Sanitizer, StreamOptions};
use crate::format::csv::{writer, CsvBatchReader};
use crate::format::{json_batches, JsonLayout, JsonSyntax};
use crate::pseudonym::Pseudonymizer;
use crate::transform::columnar::{cell_text, java_trim_bytes, require_width};
use crate::transform::{RecordPlan, RowError, RowProblem};

impl Sanitizer {
    /// JSON records in (NDJSON lines or a JSON array's elements), JSON records out, streamed.
    pub(super) fn record_json<W: Write>(
        &self,
        plan: &RecordPlan,
        input: Box<dyn BufRead + Send + '_>,
        input_framing: Framing,
        output_framing: Framing,
        opts: &StreamOptions,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let layout = match input_framing {
            Framing::Lines => JsonLayout::Lines,
            Framing::Array | Framing::Elements => JsonLayout::Array(opts.array_piece),
        };
        let mut next = json_batches(input, layout, opts.first_line);
        let p = &*self.pseudonymizer;
        let mut records = output_framing.start(out)?;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || next().map_err(|e| ReadError::Io(e).into()),
            |_, batch| {
                let mut buf = Vec::with_capacity(batch.data.len() + batch.data.len() / 4);
                let mut n = 0;
                for (line, text) in batch.iter() {
                    if input_framing == Framing::Lines && text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    output_framing.separate(&mut buf, n);
                    sanitize_json_record(plan, p, line, text, &mut buf)?;
                    n += 1;
                }
                output_framing.end_batch(&mut buf, n);
                Ok((BatchOutput::pack(buf, gzip)?, n))
            },
            |(output, n)| output_framing.emit_batch(out, &output, n, &mut records),
        )?;
        output_framing.finish(out, records)
    }

    pub(super) fn record_csv<W: Write>(
        &self,
        plan: &RecordPlan,
        input: Box<dyn BufRead + Send + '_>,
        delimiter: u8,
        json_out: Option<Framing>,
        opts: &StreamOptions,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let mut reader = CsvBatchReader::starting_at(input, delimiter, opts.first_line)?;
        if reader.header().is_empty() {
            if let Some(framing) = json_out {
                let records = framing.start(out)?;
                framing.finish(out, records)?;
            }
            return Ok(());
        }
        let header: Vec<String> = reader
            .header()
            .iter()
            .map(|h| String::from_utf8_lossy(java_trim_bytes(h.as_bytes())).into_owned())
            .collect();
        let columns: Vec<String> = match plan.output_properties() {
            Some(props) => header
                .iter()
                .filter(|h| props.contains(h))
                .cloned()
                .collect(),
            None => header.clone(),
        };
        let crlf = reader.crlf();
        let mut records = match json_out {
            None => {
                if !opts.omit_header {
                    out.emit(&csv_header(crlf, &columns)?, 0)?;
                }
                0
            }
            Some(framing) => framing.start(out)?,
        };
        let p = &*self.pseudonymizer;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.max_in_flight(),
            || reader.next_batch().map_err(SanitizeError::from),
            |_, batch| {
                if let Some(framing) = json_out {
                    let mut buf = Vec::with_capacity(256 << 10);
                    let mut n = 0;
                    batch.for_each_record(|line, record| {
                        framing.separate(&mut buf, n);
                        let value = csv_record_value(plan, p, &header, record, line)?;
                        serde_json::to_writer(&mut buf, &value).map_err(internal)?;
                        n += 1;
                        Ok::<_, SanitizeError>(())
                    })?;
                    framing.end_batch(&mut buf, n);
                    return Ok((BatchOutput::pack(buf, gzip)?, n));
                }
                let mut w = writer(crlf, 0);
                let mut cells: Vec<String> = Vec::with_capacity(columns.len());
                let n = batch.for_each_record(|line, record| {
                    let value = csv_record_value(plan, p, &header, record, line)?;
                    cells.clear();
                    cells.extend(columns.iter().map(|c| json_cell(value.get(c))));
                    w.write_record(&cells).map_err(internal)
                })?;
                let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
                Ok((BatchOutput::pack(bytes, gzip)?, n))
            },
            |(output, n)| match json_out {
                Some(framing) => framing.emit_batch(out, &output, n, &mut records),
                None => out.emit_output(&output, n),
            },
        )?;
        match json_out {
            Some(framing) => framing.finish(out, records),
            None => Ok(()),
        }
    }
}

/// One CSV row as a JSON object keyed by column name, with the record plan applied.
fn csv_record_value(
    plan: &RecordPlan,
    p: &Pseudonymizer,
    header: &[String],
    record: &csv::ByteRecord,
    line: u64,
) -> Result<serde_json::Value, SanitizeError> {
    require_width(record.len(), header.len(), line)?;
    let mut object = serde_json::Map::with_capacity(header.len());
    for (name, raw) in header.iter().zip(record.iter()) {
        let text = cell_text(raw, line, name)?;
        object.insert(name.clone(), serde_json::Value::String(text.to_string()));
    }
    let mut value = serde_json::Value::Object(object);
    plan.apply(&mut value, p)
        .map_err(|e| RowError::at_step(line, e))?;
    Ok(value)
}

/// Parses one JSON record (at `line`), applies the record plan and appends it to `buf`.
fn sanitize_json_record(
    plan: &RecordPlan,
    p: &Pseudonymizer,
    line: u64,
    text: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), SanitizeError> {
    let mut value: serde_json::Value = serde_json::from_slice(text).map_err(|e| RowError {
        line,
        column: None,
        problem: RowProblem::InvalidJson(JsonSyntax::of(&e)),
    })?;
    if !value.is_object() {
        // Rules address fields of an object; anything else would pass through untouched.
        return Err(RowError {
            line,
            column: None,
            problem: RowProblem::NotAnObject(json_kind(&value)),
        }
        .into());
    }
    plan.apply(&mut value, p)
        .map_err(|e| RowError::at_step(line, e))?;
    serde_json::to_writer(&mut *buf, &value).map_err(internal)
}

/// What kind of JSON value `v` is, for error messages (never the value itself).
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
