//! Salted SHA-256 hashing and the base64url encoding used by every pseudonym.
//!
//! `hash(v) = base64url_nopad(SHA-256(utf8(canonical(v) + SALT)))`: always 43
//! characters. The salt is appended with no separator.

use sha2::{Digest, Sha256};

/// Length in bytes of a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// Length in characters of an encoded hash (base64url of 32 bytes, no padding).
pub const HASH_LEN: usize = 43;

/// A raw SHA-256 digest.
pub type Digest32 = [u8; DIGEST_LEN];

/// SHA-256 of `value` immediately followed by `salt`, without building a
/// concatenated string.
#[inline]
pub fn digest_salted(value: &str, salt: &str) -> Digest32 {
    let mut short = ShortMessage::new();
    if short.push(value.as_bytes()) && short.push(salt.as_bytes()) {
        return short.digest();
    }
    let mut hasher = Sha256::new();
    hasher.update(value.as_bytes());
    hasher.update(salt.as_bytes());
    hasher.finalize().into()
}

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A message of at most [`ShortMessage::CAPACITY`] bytes gathered on the stack and hashed in
/// one go: one or two SHA-256 blocks, padded here, without the streaming hasher's
/// bookkeeping. Almost every cell plus its salt fits.
pub(crate) struct ShortMessage {
    buf: [u8; 128],
    len: usize,
}

impl ShortMessage {
    /// The longest message that fits two blocks with its padding (`0x80` and the 8-byte
    /// bit length).
    pub const CAPACITY: usize = 128 - 9;

    /// An empty message.
    #[inline]
    pub fn new() -> Self {
        ShortMessage {
            buf: [0; 128],
            len: 0,
        }
    }

    /// Appends `bytes`; false (leaving the message as it was) when they do not fit.
    #[inline]
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        self.push_mapped(bytes, |b| b)
    }

    /// Appends `bytes` lower-cased (ASCII); false when they do not fit.
    #[inline]
    pub fn push_lowercase(&mut self, bytes: &[u8]) -> bool {
        self.push_mapped(bytes, |b| b.to_ascii_lowercase())
    }

    #[inline]
    fn push_mapped(&mut self, bytes: &[u8], map: impl Fn(u8) -> u8) -> bool {
        let end = self.len + bytes.len();
        if end > Self::CAPACITY {
            return false;
        }
        for (to, &from) in self.buf[self.len..end].iter_mut().zip(bytes) {
            *to = map(from);
        }
        self.len = end;
        true
    }

    /// SHA-256 of the message.
    #[inline]
    pub fn digest(mut self) -> Digest32 {
        use sha2::digest::generic_array::GenericArray;
        let len = self.len;
        // Bytes past `len` are still zero: the padding is the 0x80 marker and the length.
        self.buf[len] = 0x80;
        let end = if len + 9 <= 64 { 64 } else { 128 };
        let bits = (len as u64) * 8;
        self.buf[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        let mut state = SHA256_INITIAL;
        for block in self.buf[..end].chunks_exact(64) {
            sha2::compress256(
                &mut state,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
        let mut digest = [0u8; DIGEST_LEN];
        for (out, word) in digest.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }
}

/// The base64url alphabet (RFC 4648 section 5).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64url of every 12-bit value: two characters, so a 3-byte group takes two lookups.
static BASE64URL_PAIRS: [[u8; 2]; 4096] = {
    let mut pairs = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        pairs[i] = [BASE64URL[i >> 6], BASE64URL[i & 63]];
        i += 1;
    }
    pairs
};

/// Encodes a digest as unpadded base64url into a stack buffer and returns it.
///
/// The returned array holds exactly [`HASH_LEN`] ASCII bytes; see
/// [`encoded_str`] to view it as `&str`. Every pseudonym passes through here,
/// so the fixed shape (ten 3-byte groups and a 2-byte tail) is encoded by hand,
/// a 12-bit pair table at a time, instead of going through the general `base64`
/// engine; a test checks it against that engine.
#[inline]
pub fn encode_digest(digest: &Digest32) -> [u8; HASH_LEN] {
    let pair = |twelve_bits: u32| BASE64URL_PAIRS[(twelve_bits & 0xFFF) as usize];
    let mut buf = [0u8; HASH_LEN];
    for (group, out) in digest.chunks_exact(3).zip(buf.chunks_exact_mut(4)) {
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        out[..2].copy_from_slice(&pair(n >> 12));
        out[2..].copy_from_slice(&pair(n));
    }
    // The last 16 bits: three characters (6 + 6 + 4 bits, the last padded with zeros).
    let n = u32::from(digest[30]) << 16 | u32::from(digest[31]) << 8;
    buf[40..42].copy_from_slice(&pair(n >> 12));
    buf[42] = BASE64URL[((n >> 6) & 63) as usize];
    buf
}

/// Views an encoded hash buffer produced by [`encode_digest`] as a string slice.
#[inline]
pub fn encoded_str(buf: &[u8; HASH_LEN]) -> &str {
    // base64url output is always ASCII.
    std::str::from_utf8(buf).expect("base64 output is ASCII")
}

/// `base64url_nopad(SHA-256(value + salt))`: the 43-character hash of an
/// already canonical value.
pub fn hash(value: &str, salt: &str) -> String {
    let buf = encode_digest(&digest_salted(value, salt));
    encoded_str(&buf).to_owned()
}

/// Java's `Character.isWhitespace`: ASCII controls TAB..CR and FS..US, plus the
/// Unicode space, line and paragraph separators except the no-break spaces
/// (U+00A0, U+2007, U+202F).
#[inline]
pub fn is_java_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1C}'..='\u{20}'
            | '\u{1680}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// True when `value` is empty or consists only of whitespace (Java
/// `StringUtils.isBlank` semantics); such values are never pseudonymized.
#[inline]
pub fn is_blank(value: &str) -> bool {
    // Fast path: the first non-space ASCII byte decides.
    for &b in value.as_bytes() {
        match b {
            b'\t'..=b'\r' | 0x1C..=0x20 => continue,
            0x21..=0x7F | 0x00..=0x08 | 0x0E..=0x1B => return false,
            _ => return value.chars().all(is_java_whitespace),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hash() {
        assert_eq!(
            hash("alice@acme.com", "salt"),
            "UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk"
        );
        assert_eq!(hash("1", "salt").len(), HASH_LEN);
    }

    #[test]
    fn digest_encoding_matches_the_base64_crate() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        // Every byte value at every position, over a varied background.
        let background: Digest32 = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5A);
        for position in 0..DIGEST_LEN {
            for value in 0..=255u8 {
                let mut digest = background;
                digest[position] = value;
                let ours = encode_digest(&digest);
                assert_eq!(encoded_str(&ours), URL_SAFE_NO_PAD.encode(digest));
            }
        }
        assert_eq!(
            encoded_str(&encode_digest(&[0xFF; 32])),
            URL_SAFE_NO_PAD.encode([0xFF; 32])
        );
    }

    #[test]
    fn short_messages_hash_as_the_streaming_hasher() {
        // Every length up to the capacity, across the one/two-block boundary (55/56 bytes).
        let text: Vec<u8> = (0..ShortMessage::CAPACITY as u32)
            .map(|i| b'A' + (i % 26) as u8)
            .collect();
        for len in 0..=ShortMessage::CAPACITY {
            for split in [0, len / 2, len] {
                let mut short = ShortMessage::new();
                assert!(short.push(&text[..split]) && short.push(&text[split..len]));
                let expected: Digest32 = Sha256::digest(&text[..len]).into();
                assert_eq!(short.digest(), expected, "length {len}");
            }
        }
        let mut full = ShortMessage::new();
        assert!(full.push(&text));
        assert!(!full.push(b"x"), "one byte past the capacity does not fit");
        let expected: Digest32 = Sha256::digest(&text).into();
        assert_eq!(full.digest(), expected);
    }

    #[test]
    fn long_values_use_the_streaming_hasher() {
        let long = "x".repeat(500);
        let expected: Digest32 = Sha256::digest(format!("{long}salt")).into();
        assert_eq!(digest_salted(&long, "salt"), expected);
    }

    #[test]
    fn lowercase_push() {
        let mut short = ShortMessage::new();
        assert!(short.push_lowercase(b"Alice@ACME.com"));
        let expected: Digest32 = Sha256::digest(b"alice@acme.com").into();
        assert_eq!(short.digest(), expected);
    }

    #[test]
    fn salt_is_appended_without_separator() {
        assert_eq!(hash("ab", "c"), hash("a", "bc"));
    }

    #[test]
    fn blank_detection() {
        assert!(is_blank(""));
        assert!(is_blank(" \t\r\n"));
        assert!(is_blank("\u{3000}\u{2028}"));
        assert!(
            !is_blank("\u{00A0}"),
            "Java does not treat NBSP as whitespace"
        );
        assert!(!is_blank(" x "));
        assert!(!is_blank("\u{0}"));
        assert!(!is_blank("  é"));
    }
}
