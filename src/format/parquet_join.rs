//! Parquet files of consecutive row groups (the parts of a fanned-out Parquet output, each a
//! whole file written by [`super::parquet::ParquetOutput`]) joined into one file without
//! decoding a page: the first file's bytes up to the end of its data, then each next file's
//! data without its leading magic, then a new tail (page indexes, footer, its length, the
//! magic) for all the row groups, every offset in it moved to where its bytes now are.
//!
//! The files' row groups are the row groups the whole file would have had, written by the same
//! writer with the same settings, so the joined file is the one a single writer would write.

use std::io::Write;
use std::sync::Arc;

use parquet::file::metadata::{
    FileMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataBuilder, ParquetMetaDataOptions,
    ParquetMetaDataReader, ParquetMetaDataWriter,
};
use parquet::file::page_index::offset_index::OffsetIndexMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::TrackedWrite;

use super::parquet::{ByteRanges, RangedObject};

/// Bytes of the magic that starts (and ends) every Parquet file.
const MAGIC_LEN: u64 = 4;

/// Why Parquet parts cannot be joined.
#[derive(Debug, thiserror::Error)]
pub enum ParquetJoinError {
    /// A part's footer or page index cannot be read.
    #[error("cannot read a part's footer: {0}")]
    Footer(#[source] parquet::errors::ParquetError),
    /// The parts do not have the same schema (they are not of one output).
    #[error("the parts do not have the same schema")]
    Schemas,
    /// An offset or count does not fit (a corrupt footer).
    #[error("a part's footer has an offset out of range")]
    Offset,
    /// The joined footer could not be built or written.
    #[error("cannot write the joined footer: {0}")]
    Write(#[source] parquet::errors::ParquetError),
    /// There is no part to join.
    #[error("no parts to join")]
    NoParts,
    /// More row groups than a footer can number.
    #[error("more than {} row groups", i16::MAX)]
    TooManyRowGroups,
}

/// One part: its footer, with page indexes when it has them.
pub struct ParquetPart {
    metadata: ParquetMetaData,
    data_end: u64,
}

impl ParquetPart {
    /// Reads the footer of a stored part (ranged reads).
    pub fn read(object: Arc<dyn ByteRanges>) -> Result<Self, ParquetJoinError> {
        // Every field as it is written: page encoding stats in full, not as a mask.
        let options = ParquetMetaDataOptions::new().with_encoding_stats_as_mask(false);
        let metadata = ParquetMetaDataReader::new()
            .with_metadata_options(Some(options))
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&RangedObject::new(object))
            .map_err(ParquetJoinError::Footer)?;
        // The data ends where the last column chunk (or bloom filter) ends: page indexes and
        // the footer follow.
        let mut data_end = MAGIC_LEN;
        for group in metadata.row_groups() {
            for column in group.columns() {
                // As `byte_range`, which panics on a negative offset.
                let start = column
                    .dictionary_page_offset()
                    .unwrap_or(column.data_page_offset());
                let end = u64::try_from(start)
                    .ok()
                    .zip(u64::try_from(column.compressed_size()).ok())
                    .and_then(|(start, len)| start.checked_add(len))
                    .ok_or(ParquetJoinError::Offset)?;
                data_end = data_end.max(end);
                // Bloom filters are written after their row group (or after all of them).
                if let (Some(at), Some(len)) =
                    (column.bloom_filter_offset(), column.bloom_filter_length())
                {
                    let end = u64::try_from(at)
                        .ok()
                        .and_then(|at| at.checked_add(u64::try_from(len).ok()?))
                        .ok_or(ParquetJoinError::Offset)?;
                    data_end = data_end.max(end);
                }
            }
        }
        Ok(ParquetPart { metadata, data_end })
    }

    /// The bytes of the part that go into the joined file: from its start for the first part
    /// (its magic is the file's), after the magic for the others, to the end of its data.
    pub fn data(&self, first: bool) -> std::ops::Range<u64> {
        let start = if first { 0 } else { MAGIC_LEN };
        start..self.data_end.max(start)
    }
}

/// The tail of the joined file of `parts` (in order, each contributing [`ParquetPart::data`]).
pub fn joined_tail(parts: &[ParquetPart]) -> Result<Vec<u8>, ParquetJoinError> {
    let Some(first) = parts.first() else {
        return Err(ParquetJoinError::NoParts);
    };
    let file = first.metadata.file_metadata();
    let mut groups = Vec::new();
    let mut column_index = Vec::new();
    let mut offset_index = Vec::new();
    let mut indexed = true;
    let mut position = 0u64; // where the part's data starts in the joined file
    for (i, part) in parts.iter().enumerate() {
        if part.metadata.file_metadata().schema_descr().root_schema()
            != file.schema_descr().root_schema()
        {
            return Err(ParquetJoinError::Schemas);
        }
        let data = part.data(i == 0);
        let shift = i64::try_from(position)
            .ok()
            .and_then(|p| p.checked_sub(data.start as i64))
            .ok_or(ParquetJoinError::Offset)?;
        let moved = |offset: i64| offset.checked_add(shift).ok_or(ParquetJoinError::Offset);
        for group in part.metadata.row_groups() {
            let ordinal =
                i16::try_from(groups.len()).map_err(|_| ParquetJoinError::TooManyRowGroups)?;
            let mut columns = Vec::with_capacity(group.num_columns());
            for column in group.columns() {
                let moved_opt = |o: Option<i64>| o.map(moved).transpose();
                let mut builder = column.clone().into_builder();
                if let Some(stats) = column.statistics() {
                    let signed = column.column_descr().sort_order().is_signed();
                    builder = builder.set_statistics(as_written(stats, signed));
                }
                columns.push(
                    builder
                        .set_data_page_offset(moved(column.data_page_offset())?)
                        .set_dictionary_page_offset(moved_opt(column.dictionary_page_offset())?)
                        .set_index_page_offset(moved_opt(column.index_page_offset())?)
                        .set_bloom_filter_offset(moved_opt(column.bloom_filter_offset())?)
                        // Written again (and set again) with the page indexes.
                        .set_column_index_offset(None)
                        .set_column_index_length(None)
                        .set_offset_index_offset(None)
                        .set_offset_index_length(None)
                        .build()
                        .map_err(ParquetJoinError::Write)?,
                );
            }
            let mut builder = group
                .clone()
                .into_builder()
                .set_column_metadata(columns)
                .set_ordinal(ordinal);
            if let Some(offset) = group.file_offset() {
                builder = builder.set_file_offset(moved(offset)?);
            }
            groups.push(builder.build().map_err(ParquetJoinError::Write)?);
        }
        match (part.metadata.column_index(), part.metadata.offset_index()) {
            (Some(columns), Some(offsets)) if indexed => {
                column_index.extend(columns.iter().cloned());
                for group in offsets {
                    let mut moved_group = Vec::with_capacity(group.len());
                    for index in group {
                        let mut locations = index.page_locations().clone();
                        for location in &mut locations {
                            location.offset = moved(location.offset)?;
                        }
                        moved_group.push(OffsetIndexMetaData {
                            page_locations: locations,
                            unencoded_byte_array_data_bytes: index
                                .unencoded_byte_array_data_bytes()
                                .cloned(),
                        });
                    }
                    offset_index.push(moved_group);
                }
            }
            // A part without page indexes: the joined file has none.
            _ => indexed = part.metadata.row_groups().is_empty() && indexed,
        }
        position += data.end - data.start;
    }
    let has_indexes = indexed && !column_index.is_empty();
    let num_rows = groups.iter().map(|g| g.num_rows()).sum();
    let metadata = ParquetMetaDataBuilder::new(FileMetaData::new(
        file.version(),
        num_rows,
        file.created_by().map(str::to_owned),
        file.key_value_metadata().cloned(),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    ))
    .set_row_groups(groups)
    .set_column_index(has_indexes.then_some(column_index))
    .set_offset_index(has_indexes.then_some(offset_index))
    .build();
    // The writer puts offsets where its own output is: it is told it starts after the data.
    let mut tail = SkipFirst {
        skip: position,
        kept: Vec::new(),
    };
    let mut tracked = TrackedWrite::new(&mut tail);
    let zeros = [0u8; 1 << 16];
    let mut left = position;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        tracked
            .write_all(&zeros[..n])
            .map_err(|e| ParquetJoinError::Write(e.into()))?;
        left -= n as u64;
    }
    ParquetMetaDataWriter::new_with_tracked(tracked, &metadata)
        .finish()
        .map_err(ParquetJoinError::Write)?;
    Ok(tail.kept)
}

/// `stats` as the writer writes them: a footer read back does not say whether the deprecated
/// `min` and `max` fields were written beside `min_value` and `max_value`; the writer writes
/// them for columns of a signed sort order.
fn as_written(stats: &Statistics, signed: bool) -> Statistics {
    macro_rules! with_compat {
        ($($variant:ident),*) => {
            match stats.clone() {
                $(Statistics::$variant(s) => {
                    Statistics::$variant(s.with_backwards_compatible_min_max(signed))
                })*
            }
        };
    }
    with_compat!(
        Boolean,
        Int32,
        Int64,
        Int96,
        Float,
        Double,
        ByteArray,
        FixedLenByteArray
    )
}

/// Drops the first `skip` bytes written to it (without copying them) and keeps the rest.
struct SkipFirst {
    skip: u64,
    kept: Vec<u8>,
}

impl Write for SkipFirst {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let dropped = self.skip.min(buf.len() as u64) as usize;
        self.skip -= dropped as u64;
        self.kept.extend_from_slice(&buf[dropped..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
