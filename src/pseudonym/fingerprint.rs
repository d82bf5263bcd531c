//! The `psoxy-salt-sha` salt fingerprint, which identifies a salt without
//! revealing it.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Fixed suffix hashed together with the salt.
const FINGERPRINT_SUFFIX: &str = "f33c366c-ae91-4819-b221-f9794ebb8145";

/// `psoxy-salt-sha`: SHA-256(salt + fixed UUID), standard base64 without
/// padding, with `/` replaced by `_` and `+` by `.`.
pub fn salt_sha(salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(FINGERPRINT_SUFFIX.as_bytes());
    let digest = hasher.finalize();
    STANDARD_NO_PAD
        .encode(digest)
        .chars()
        .map(|c| match c {
            '/' => '_',
            '+' => '.',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_fingerprints() {
        assert_eq!(
            salt_sha("salt"),
            "pRwka918R7CEI6El1noIhIMJzqBGYUvvqXYHyMvxl2Y"
        );
        assert_eq!(
            salt_sha("secret"),
            "Ebz5CMlg0.uv2RIW85ELiU4FJju.wcFDd2LJo3P2kSI"
        );
    }
}
