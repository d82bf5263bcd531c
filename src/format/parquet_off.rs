//! Parquet in a build without the `parquet` feature: [`parquet`] and [`parquet_join`] under
//! the names of the real modules (`format/parquet.rs`, `format/parquet_join.rs`), with only
//! the entry points the rest of the crate calls. Every way in (spooling a stream, opening a
//! stored object, reading a part's footer) refuses with [`crate::features::NotBuilt`], and
//! the types that would hold an opened file have no values, so the code past them is the
//! real code's and needs no `cfg` of its own. Formats resolved to Parquet are refused before
//! any of this (`Sanitizer::resolve_format`); these are the backstop.

/// Parquet input and output: nothing can be opened.
pub mod parquet {
    use std::io::Read;
    use std::sync::Arc;

    use crate::features::NotBuilt;
    pub use crate::format::byte_ranges::ByteRanges;

    /// Why a Parquet file cannot be read: this build cannot read any.
    #[derive(Debug, thiserror::Error)]
    pub enum ParquetIoError {
        /// Parquet is not built in.
        #[error(transparent)]
        NotBuilt(#[from] NotBuilt),
    }

    /// An opened Parquet input: this build never has one.
    #[derive(Debug)]
    pub enum ParquetInput {}

    impl ParquetInput {
        /// Refuses: Parquet is not built in.
        pub fn spool(_input: impl Read) -> Result<Option<Self>, ParquetIoError> {
            Err(NotBuilt::parquet().into())
        }

        /// Refuses: Parquet is not built in.
        pub fn ranged(_object: Arc<dyn ByteRanges>) -> Result<Option<Self>, ParquetIoError> {
            Err(NotBuilt::parquet().into())
        }

        /// The stored size of each row group (never called: there is no input).
        pub fn row_group_bytes(&self) -> Vec<u64> {
            match *self {}
        }

        /// A preview as a table (never called: there is no input).
        pub fn head_table(
            &self,
            _rows: usize,
        ) -> Result<(Vec<String>, Vec<Vec<String>>), ParquetIoError> {
            match *self {}
        }

        /// A preview as NDJSON (never called: there is no input).
        pub fn head_json(&self, _rows: usize) -> Result<Vec<u8>, ParquetIoError> {
            match *self {}
        }
    }
}

/// Joining Parquet parts: no part can be read.
pub mod parquet_join {
    use std::ops::Range;
    use std::sync::Arc;

    use crate::features::NotBuilt;
    use crate::format::byte_ranges::ByteRanges;

    /// Why Parquet parts cannot be joined: this build cannot read any.
    #[derive(Debug, thiserror::Error)]
    pub enum ParquetJoinError {
        /// Parquet is not built in.
        #[error(transparent)]
        NotBuilt(#[from] NotBuilt),
    }

    /// A part's footer: this build never has one.
    pub enum ParquetPart {}

    impl ParquetPart {
        /// Refuses: Parquet is not built in.
        pub fn read(_object: Arc<dyn ByteRanges>) -> Result<Self, ParquetJoinError> {
            Err(NotBuilt::parquet().into())
        }

        /// The part's data (never called: there is no part).
        pub fn data(&self, _first: bool) -> Range<u64> {
            match *self {}
        }
    }

    /// Refuses: Parquet is not built in.
    pub fn joined_tail(_parts: &[ParquetPart]) -> Result<Vec<u8>, ParquetJoinError> {
        Err(NotBuilt::parquet().into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::parquet::ParquetInput;
    use super::parquet_join::{joined_tail, ParquetPart};
    use crate::format::byte_ranges::ByteRanges;

    /// An object of four bytes that is never read.
    struct Untouched;

    impl ByteRanges for Untouched {
        fn size(&self) -> u64 {
            4
        }

        fn read_range(&self, _: u64, _: u64) -> std::io::Result<Box<dyn std::io::Read + Send>> {
            unreachable!("a build without Parquet reads nothing")
        }
    }

    #[test]
    fn every_way_in_names_the_feature() {
        let object: Arc<dyn ByteRanges> = Arc::new(Untouched);
        let refusals = [
            ParquetInput::spool(&b"PAR1"[..])
                .err()
                .map(|e| e.to_string()),
            ParquetInput::ranged(object.clone())
                .err()
                .map(|e| e.to_string()),
            ParquetPart::read(object).err().map(|e| e.to_string()),
            joined_tail(&[]).err().map(|e| e.to_string()),
        ];
        for e in refusals {
            let e = e.expect("refused");
            assert!(e.contains("needs the `parquet` feature"), "{e}");
        }
    }
}
