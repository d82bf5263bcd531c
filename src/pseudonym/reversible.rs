//! Reversible (`p~`) tokens: the salted hash followed by the AES-256-CBC
//! encryption of the original value.
//!
//! `body = base64url_nopad(H || AES-256-CBC-PKCS7(key, iv = H[0..16], value))`
//! where `H = SHA-256(canonical(value) + salt)` and
//! `key = PBKDF2-HMAC-SHA256(password, salt, 65536 iterations, 32 bytes)`.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use aes::Aes256;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha2::Sha256;

use super::hash::{Digest32, DIGEST_LEN};
use super::PseudonymError;

/// Prefix of a reversible token.
pub const REVERSIBLE_PREFIX: &str = "p~";

/// PBKDF2 iteration count used to derive AES keys from passwords.
pub const PBKDF2_ITERATIONS: u32 = 65_536;

/// AES block size in bytes.
const BLOCK: usize = 16;

/// base64url decoder that accepts tokens with or without `=` padding.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An AES-256 key (with its expanded key schedule) derived from a password.
///
/// Derivation is slow by design; build one per run and share it.
#[derive(Clone)]
pub struct ReversibleKey {
    cipher: Aes256,
}

impl fmt::Debug for ReversibleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReversibleKey(<redacted>)")
    }
}

impl ReversibleKey {
    /// Derives the key: PBKDF2-HMAC-SHA256(`password`, utf8(`salt`), 65536
    /// iterations, 32 bytes).
    pub fn derive(password: &str, salt: &str) -> Self {
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(
            password.as_bytes(),
            salt.as_bytes(),
            PBKDF2_ITERATIONS,
            &mut key,
        );
        let cipher = Aes256::new(&key.into());
        key.fill(0);
        ReversibleKey { cipher }
    }

    /// Appends the token body (no prefix) for `plaintext` whose salted hash is
    /// `digest`.
    pub fn encrypt_body(&self, digest: &Digest32, plaintext: &str, out: &mut String) {
        let pt = plaintext.as_bytes();
        let padded_len = (pt.len() / BLOCK + 1) * BLOCK;
        let mut buf = vec![0u8; DIGEST_LEN + padded_len];
        buf[..DIGEST_LEN].copy_from_slice(digest);
        buf[DIGEST_LEN..DIGEST_LEN + pt.len()].copy_from_slice(pt);
        let iv = <&[u8; BLOCK]>::try_from(&digest[..BLOCK]).expect("digest has 32 bytes");
        let enc = cbc::Encryptor::<Aes256>::inner_iv_init(self.cipher.clone(), iv.into());
        let ct_len = enc
            .encrypt_padded_mut::<Pkcs7>(&mut buf[DIGEST_LEN..], pt.len())
            .expect("buffer sized for PKCS#7 padding")
            .len();
        debug_assert_eq!(ct_len, padded_len);
        URL_SAFE_NO_PAD.encode_string(&buf, out);
    }

    /// Decodes a token body (no prefix, no `@domain` suffix) into the embedded
    /// hash and the decrypted plaintext. Never panics on malformed input.
    pub fn decrypt_body(&self, body: &str) -> Result<(Digest32, String), PseudonymError> {
        let invalid = |reason: &str| PseudonymError::InvalidToken(reason.to_owned());
        let mut buf = LENIENT_URL_SAFE
            .decode(body)
            .map_err(|_| invalid("token body is not valid base64url"))?;
        if buf.len() < DIGEST_LEN + BLOCK {
            return Err(invalid("token is too short"));
        }
        if !(buf.len() - DIGEST_LEN).is_multiple_of(BLOCK) {
            return Err(invalid(
                "ciphertext length is not a multiple of the AES block size",
            ));
        }
        let mut digest = [0u8; DIGEST_LEN];
        digest.copy_from_slice(&buf[..DIGEST_LEN]);
        let iv = <&[u8; BLOCK]>::try_from(&digest[..BLOCK]).expect("digest has 32 bytes");
        let dec = cbc::Decryptor::<Aes256>::inner_iv_init(self.cipher.clone(), iv.into());
        let pt = dec
            .decrypt_padded_mut::<Pkcs7>(&mut buf[DIGEST_LEN..])
            .map_err(|_| invalid("bad padding (wrong key or corrupted token)"))?;
        let plaintext = std::str::from_utf8(pt)
            .map_err(|_| invalid("decrypted value is not UTF-8 (wrong key or corrupted token)"))?
            .to_owned();
        Ok((digest, plaintext))
    }
}

/// Splits a token into its body: strips `prefix` and any `@domain` suffix.
pub(crate) fn token_body<'a>(token: &'a str, prefix: &str) -> Result<&'a str, PseudonymError> {
    let rest = token
        .strip_prefix(prefix)
        .ok_or_else(|| PseudonymError::InvalidToken(format!("missing `{prefix}` prefix")))?;
    Ok(rest.split_once('@').map_or(rest, |(body, _domain)| body))
}

#[cfg(test)]
mod tests {
    use super::super::hash::digest_salted;
    use super::*;
    use std::sync::OnceLock;

    fn key() -> &'static ReversibleKey {
        static KEY: OnceLock<ReversibleKey> = OnceLock::new();
        KEY.get_or_init(|| ReversibleKey::derive("secret", "salt"))
    }

    fn encrypt(value: &str) -> String {
        let mut out = String::new();
        key().encrypt_body(&digest_salted(value, "salt"), value, &mut out);
        out
    }

    #[test]
    fn known_vector() {
        // p~ token of the non-email "1" with salt "salt" and key "secret".
        assert_eq!(
            encrypt("1"),
            "0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZdXBBvmy3XqiT7GJihNnjcZ"
        );
    }

    #[test]
    fn roundtrip_including_block_boundaries() {
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100] {
            let value = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let body = encrypt(&value);
            let (digest, plaintext) = key().decrypt_body(&body).unwrap();
            assert_eq!(plaintext, value);
            assert_eq!(digest, digest_salted(&value, "salt"));
        }
    }

    #[test]
    fn padded_base64_is_accepted() {
        let body = encrypt("1");
        let padded = format!("{body}{}", "=".repeat((4 - body.len() % 4) % 4));
        assert_eq!(key().decrypt_body(&padded).unwrap().1, "1");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = encrypt("some value");
        let mut cases: Vec<String> = vec![
            String::new(),
            "!!!".into(),
            "a".into(),
            "AAAA".into(),
            "A".repeat(64),
            "A".repeat(86),
            good[..good.len() - 1].to_owned(),
            good[..good.len() - 4].to_owned(),
            good[..43].to_owned(),
            format!("{good}AAAA"),
            format!("+{}", &good[1..]),
        ];
        // Flip a character in the ciphertext.
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        cases.push(String::from_utf8(flipped).unwrap());
        for case in cases {
            if let Ok((_, pt)) = key().decrypt_body(&case) {
                // A corrupted token may by chance still unpad; it must not
                // reproduce the plaintext.
                assert_ne!(pt, "some value", "{case}");
            }
        }
    }

    #[test]
    fn token_body_strips_prefix_and_domain() {
        assert_eq!(token_body("p~abc@acme.com", "p~").unwrap(), "abc");
        assert_eq!(token_body("p~abc@e~x", "p~").unwrap(), "abc");
        assert_eq!(token_body("p~abc", "p~").unwrap(), "abc");
        assert!(token_body("t~abc", "p~").is_err());
    }
}
