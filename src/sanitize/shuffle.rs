//! The row shuffle of columnar outputs: rows are reordered within 500-row chunks so the order
//! of an export sorted by name cannot leak, deterministically (seeded from the salt and the
//! object's name), so a retried run writes identical bytes whatever the thread count.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use crate::pseudonym::Pseudonymizer;

/// Rows shuffled together (Psoxy's chunk size): row order can't leak beyond a chunk.
pub const SHUFFLE_CHUNK: usize = 500;

/// Seed material for one object's shuffle (or one fan-out `chunk` of it, from 1; chunk 0 is
/// the whole object's seed): secret (the salt) and specific to the object and chunk.
pub(super) fn shuffle_seed(p: &Pseudonymizer, object_key: &str, chunk: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"psoxy-row-shuffle\0");
    h.update(p.settings().salt.as_bytes());
    h.update(b"\0");
    h.update(object_key.as_bytes());
    if chunk > 0 {
        h.update(b"\0chunk\0");
        h.update(chunk.to_le_bytes());
    }
    h.finalize().into()
}

/// Reorders the rows of a batch (`bytes`, row i ending at `ends[i]`), shuffling each 500-row
/// chunk with a generator seeded by (object seed, batch number, chunk number): the same input
/// always gives the same bytes, whatever the number of threads.
pub(super) fn shuffled(bytes: &[u8], ends: &[usize], seed: &[u8; 32], batch_seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for i in shuffle_order(ends.len(), seed, batch_seq) {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        out.extend_from_slice(&bytes[start..ends[i]]);
    }
    out
}

/// The row order of a shuffled batch of `rows` rows: each 500-row chunk permuted by a
/// generator seeded by (object seed, batch number, chunk number).
pub(super) fn shuffle_order(rows: usize, seed: &[u8; 32], batch_seq: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows).collect();
    for (chunk_no, chunk) in order.chunks_mut(SHUFFLE_CHUNK).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(batch_seq.to_le_bytes());
        h.update((chunk_no as u64).to_le_bytes());
        let mut rng = rand_chacha::ChaCha8Rng::from_seed(h.finalize().into());
        chunk.shuffle(&mut rng);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fan_out_chunk_is_shuffled_its_own_way() {
        let p = Pseudonymizer::salted("salt");
        let whole = shuffle_seed(&p, "hris/export.csv", 0);
        let first = shuffle_seed(&p, "hris/export.csv", 1);
        let second = shuffle_seed(&p, "hris/export.csv", 2);
        assert_ne!(whole, first);
        assert_ne!(first, second);
        assert_ne!(
            shuffle_order(SHUFFLE_CHUNK, &first, 0),
            shuffle_order(SHUFFLE_CHUNK, &second, 0),
            "two chunks would reorder their first rows alike"
        );
        // A whole run keeps the seed it always had (chunk 0 is not mixed in).
        let mut h = Sha256::new();
        h.update(b"psoxy-row-shuffle\0salt\0hris/export.csv");
        assert_eq!(whole, <[u8; 32]>::from(h.finalize()));
    }
}
