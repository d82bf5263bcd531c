//! Parquet input: row groups decoded in batches, transformed in parallel, written as Parquet
//! (row groups where the input had them), CSV or JSON records.

use std::io::Write;

use arrow_array::RecordBatch;

use super::emit::{csv_header, json_cell, BatchOutput, Emitter, Framing};
use super::pipeline::run_ordered;
use super::shuffle::{shuffle_order, shuffle_seed};
use super::{internal, InternalError, SanitizeError, Sanitizer, SingleRules, StreamOptions};
use crate::format::csv::writer;
use crate::format::parquet::{write_csv_rows, ParquetBatch, ParquetInput, ParquetOutput};
use crate::format::DataFormat;
use crate::transform::{ColumnarBatchPlan, RecordBatchPlan, RecordPlan};

impl Sanitizer {
    /// An opened Parquet input (`None`: empty) sanitized into `out`: one row group at a time;
    /// Parquet, CSV or JSON out.
    pub(super) fn parquet_input<W: Write>(
        &self,
        file: Option<ParquetInput>,
        output_format: DataFormat,
        opts: &StreamOptions,
        out: &mut Emitter<'_, W>,
    ) -> Result<(), SanitizeError> {
        let Some(file) = file else {
            return Ok(()); // empty input -> empty output
        };
        let schema = file.schema();
        let p = &*self.pseudonymizer;
        let plan = match &self.rules {
            SingleRules::Columnar(rules) => {
                BatchPlan::Columnar(ColumnarBatchPlan::compile(rules, &schema)?)
            }
            SingleRules::Record(plan, _) => BatchPlan::Record(
                RecordBatchPlan::compile(plan, &schema, output_format != DataFormat::Parquet)?,
                plan,
            ),
        };
        let out_schema = match &plan {
            BatchPlan::Columnar(c) => c.output_schema(),
            BatchPlan::Record(r, _) => r.output_schema(),
        };
        let shuffle_seed = match (&plan, opts.shuffle) {
            (BatchPlan::Columnar(_), true) => Some(shuffle_seed(p, &opts.object_key, opts.chunk)),
            _ => None,
        };
        let json_out = Framing::of_output(output_format, opts.array_elements);
        let csv_columns: Vec<String> = match (&plan, output_format) {
            (BatchPlan::Columnar(_), _) => out_schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            (BatchPlan::Record(_, plan), _) => {
                let props = plan.output_properties();
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|n| props.as_ref().is_none_or(|p| p.contains(n)))
                    .collect()
            }
        };
        let mut parquet_out = match output_format {
            DataFormat::Parquet => Some(ParquetOutput::new(out_schema.clone(), file.codec())?),
            _ => None,
        };
        let mut records = match (json_out, output_format) {
            (Some(framing), _) => framing.start(out)?,
            (None, DataFormat::Csv { .. }) => {
                if !opts.omit_header {
                    out.emit(&csv_header(false, &csv_columns)?, 0)?;
                }
                0
            }
            _ => 0,
        };
        let mut next = file.group_batches(opts.row_groups.clone().unwrap_or(0..usize::MAX))?;
        let gzip = out.gzip();
        run_ordered(
            &self.pool,
            self.threads + 1,
            || next().map_err(SanitizeError::from),
            |seq, input: ParquetBatch| {
                let rows = input.batch.num_rows() as u64;
                let batch = match &plan {
                    BatchPlan::Columnar(c) => {
                        let batch = c.apply(&input.batch, input.first_row, p)?;
                        match &shuffle_seed {
                            Some(seed) => shuffle_batch(&batch, seed, seq)?,
                            None => batch,
                        }
                    }
                    BatchPlan::Record(r, plan) if output_format == DataFormat::Parquet => {
                        r.apply(&input.batch, input.first_row, plan, p)?
                    }
                    BatchPlan::Record(r, plan) => {
                        let values = r.records(&input.batch, input.first_row, plan, p)?;
                        let mut buf = Vec::with_capacity(values.len() * 128);
                        match json_out {
                            Some(framing) => {
                                for (n, value) in values.iter().enumerate() {
                                    framing.separate(&mut buf, n as u64);
                                    serde_json::to_writer(&mut buf, value).map_err(internal)?;
                                }
                                framing.end_batch(&mut buf, rows);
                            }
                            None => {
                                let mut w = writer(false, 0);
                                for value in &values {
                                    w.write_record(
                                        csv_columns.iter().map(|c| json_cell(value.get(c))),
                                    )
                                    .map_err(internal)?;
                                }
                                buf = w.into_inner().map_err(|e| internal(e.into_error()))?;
                            }
                        }
                        return Ok(Encoded::Bytes(BatchOutput::pack(buf, gzip)?, rows));
                    }
                };
                if output_format == DataFormat::Parquet {
                    return Ok(Encoded::Batch(batch, input.ends_row_group));
                }
                let mut w = writer(false, 0);
                write_csv_rows(&batch, &mut w)?;
                let bytes = w.into_inner().map_err(|e| internal(e.into_error()))?;
                Ok(Encoded::Bytes(BatchOutput::pack(bytes, gzip)?, rows))
            },
            |encoded| match encoded {
                Encoded::Batch(batch, ends_row_group) => {
                    let Some(w) = parquet_out.as_mut() else {
                        return Err(InternalError::NoParquetWriter.into());
                    };
                    let bytes = w.write(&batch, ends_row_group)?;
                    out.emit(&bytes, batch.num_rows() as u64)
                }
                Encoded::Bytes(output, n) => match json_out {
                    Some(framing) => framing.emit_batch(out, &output, n, &mut records),
                    None => out.emit_output(&output, n),
                },
            },
        )?;
        if let Some(w) = parquet_out {
            out.emit(&w.finish()?, 0)?;
        }
        match json_out {
            Some(framing) => framing.finish(out, records),
            None => Ok(()),
        }
    }
}

/// Rules compiled against a Parquet schema.
enum BatchPlan<'a> {
    Columnar(ColumnarBatchPlan),
    Record(RecordBatchPlan, &'a RecordPlan),
}

/// A transformed Parquet batch, ready for the writer.
enum Encoded {
    /// Rows for the Parquet writer; `true` ends the row group.
    Batch(RecordBatch, bool),
    /// Encoded text (CSV rows or JSON records), compressed when the output is gzipped, and
    /// the number of rows.
    Bytes(BatchOutput, u64),
}

/// A batch with its rows shuffled like CSV rows (see [`shuffle_order`]).
fn shuffle_batch(
    batch: &RecordBatch,
    seed: &[u8; 32],
    seq: u64,
) -> Result<RecordBatch, SanitizeError> {
    let order: Vec<u32> = shuffle_order(batch.num_rows(), seed, seq)
        .into_iter()
        .map(|i| i as u32)
        .collect();
    arrow_select::take::take_record_batch(batch, &arrow_array::UInt32Array::from(order))
        .map_err(internal)
}
