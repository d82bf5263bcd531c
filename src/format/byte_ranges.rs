//! Objects read by byte ranges: how a stored Parquet object is read in place (its footer, then
//! each row group), and how a fan-out join reads Parquet parts. The stores implement it
//! ([`crate::storage`]); the Parquet reader uses it.

use std::io::Read;

/// Random access to a file's bytes, owned (readers made from it outlive the call that made
/// it): a stored object read by ranges. Implemented by `crate::storage`.
pub trait ByteRanges: Send + Sync {
    /// The size in bytes.
    fn size(&self) -> u64;
    /// A streaming reader of the bytes `start..end`.
    fn read_range(&self, start: u64, end: u64) -> std::io::Result<Box<dyn Read + Send>>;
    /// Whether a read failed in a way a retry may cure (storage trouble, not bad data).
    fn failed_retryably(&self) -> bool {
        false
    }
    /// Whether a read failed because the object is no longer the version being read.
    fn changed(&self) -> bool {
        false
    }
}
