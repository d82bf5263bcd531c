//! Array indexes as Jayway reads them: negative ones count from the end.

/// Resolves a possibly negative index against an array length.
pub(crate) fn normalize_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|&i| i < len)
    } else {
        usize::try_from(index.unsigned_abs())
            .ok()
            .filter(|&back| back <= len)
            .map(|back| len - back)
    }
}
