//! The keys webhook tokens may be signed with (`ACCEPTED_AUTH_KEYS`, comma-separated):
//! `base64:<SPKI DER>` (an RSA public key, read at start) and `aws-kms:<key id, ARN or alias>`
//! (the public half of an asymmetric KMS key, fetched with `GetPublicKey` and kept 10 minutes,
//! so a rotated key is picked up). Several keys may be listed, for rotation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::spki::{RsaPublicKey, SpkiError};

/// How long a key fetched from KMS is used before it is fetched again.
pub const KMS_KEY_TTL: Duration = Duration::from_secs(600);

/// Every algorithm a webhook token may use: RSA signatures only (never `none`, never HMAC).
pub const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// A key tokens are verified with.
pub struct VerifyingKey {
    /// The JWK thumbprint (RFC 7638, SHA-256, base64url): the `kid` of the JWKS.
    pub kid: String,
    /// Where it comes from (`base64` key number, or the KMS key reference), for logs.
    pub origin: String,
    /// The RSA key.
    pub key: RsaPublicKey,
    /// The algorithms it may verify.
    pub algorithms: Vec<Algorithm>,
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("origin", &self.origin)
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

impl VerifyingKey {
    /// A key for `algorithms`.
    pub fn new(key: RsaPublicKey, algorithms: Vec<Algorithm>, origin: String) -> VerifyingKey {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64.encode(&key.e),
            b64.encode(&key.n)
        );
        VerifyingKey {
            kid: b64.encode(Sha256::digest(canonical.as_bytes())),
            origin,
            decoding: DecodingKey::from_rsa_raw_components(&key.n, &key.e),
            key,
            algorithms,
        }
    }

    /// The key for `jsonwebtoken`.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The key as a JWK (canonical `n` and `e`: base64url of the big-endian bytes, no padding,
    /// no leading zeros).
    pub fn jwk(&self) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": b64.encode(&self.key.n),
            "e": b64.encode(&self.key.e),
        })
    }
}

/// `ACCEPTED_AUTH_KEYS` that does not parse. Names the entry by its position, never its text.
#[derive(Debug, thiserror::Error)]
pub enum KeySettingError {
    /// An entry has no known prefix.
    #[error("ACCEPTED_AUTH_KEYS entry {0}: must start with `base64:` or `aws-kms:`")]
    UnknownKind(usize),
    /// An `aws-kms:` entry in a build without the `aws` feature.
    #[error("ACCEPTED_AUTH_KEYS entry {index}: {problem}")]
    NotBuilt {
        /// The entry's position, from 1.
        index: usize,
        /// What is not built.
        problem: crate::features::NotBuilt,
    },
    /// A `base64:` entry is not base64.
    #[error("ACCEPTED_AUTH_KEYS entry {0}: not base64")]
    NotBase64(usize),
    /// A `base64:` entry is not an RSA SPKI key.
    #[error("ACCEPTED_AUTH_KEYS entry {index}: {source}")]
    Key {
        /// Position (1-based).
        index: usize,
        /// Why.
        source: SpkiError,
    },
    /// An `aws-kms:` entry is empty.
    #[error("ACCEPTED_AUTH_KEYS entry {0}: `aws-kms:` needs a key id, ARN or alias")]
    EmptyKms(usize),
    /// No key at all.
    #[error("ACCEPTED_AUTH_KEYS is empty")]
    Empty,
}

/// A key could not be fetched from KMS (retryable: the request gets 503).
#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    /// The call failed.
    #[error("KMS GetPublicKey of accepted key {index} failed: {message}")]
    Kms {
        /// Position of the entry (1-based).
        index: usize,
        /// The SDK's error (names the operation and code, never key material).
        message: String,
    },
    /// The key is not an RSA signing key.
    #[error("KMS key of accepted entry {index} is not an RSA signing key: {why}")]
    NotRsaSigning {
        /// Position of the entry (1-based).
        index: usize,
        /// Why.
        why: String,
    },
}

/// What fetches `aws-kms:` keys: a KMS client. Without the `aws` feature there is none (such
/// entries are refused when the setting is parsed).
#[cfg(feature = "aws")]
pub type KmsClient = aws_sdk_kms::Client;
/// What fetches `aws-kms:` keys: without the `aws` feature, nothing (such entries are refused
/// when the setting is parsed).
#[cfg(not(feature = "aws"))]
pub type KmsClient = std::convert::Infallible;

/// The accepted keys: those given inline, and those kept in KMS.
pub struct AcceptedKeys {
    inline: Vec<Arc<VerifyingKey>>,
    kms: Vec<(usize, String)>,
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    client: Option<KmsClient>,
    cache: Mutex<Option<(Instant, Vec<Arc<VerifyingKey>>)>>,
}

impl std::fmt::Debug for AcceptedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptedKeys")
            .field("inline", &self.inline.len())
            .field("kms", &self.kms.len())
            .finish()
    }
}

impl AcceptedKeys {
    /// Parses the setting. `aws-kms:` keys are fetched with `client` when first needed.
    pub fn parse(
        setting: &str,
        client: Option<KmsClient>,
    ) -> Result<AcceptedKeys, KeySettingError> {
        let mut inline = Vec::new();
        let mut kms = Vec::new();
        for (i, entry) in setting
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let index = i + 1;
            if let Some(b64) = entry.strip_prefix("base64:") {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| KeySettingError::NotBase64(index))?;
                let key = RsaPublicKey::from_spki_der(&der)
                    .map_err(|source| KeySettingError::Key { index, source })?;
                inline.push(Arc::new(VerifyingKey::new(
                    key,
                    RSA_ALGORITHMS.to_vec(),
                    format!("entry {index} (base64)"),
                )));
            } else if let Some(id) = entry.strip_prefix("aws-kms:") {
                // Psoxy's docs show `aws-kms:aws-kms:arn:...`; the second prefix is redundant.
                let id = id.trim().trim_start_matches("aws-kms:");
                if id.is_empty() {
                    return Err(KeySettingError::EmptyKms(index));
                }
                if !cfg!(feature = "aws") {
                    let problem = crate::features::NotBuilt::aws("an `aws-kms:` key");
                    return Err(KeySettingError::NotBuilt { index, problem });
                }
                kms.push((index, id.to_owned()));
            } else {
                return Err(KeySettingError::UnknownKind(index));
            }
        }
        if inline.is_empty() && kms.is_empty() {
            return Err(KeySettingError::Empty);
        }
        Ok(AcceptedKeys {
            inline,
            kms,
            client,
            cache: Mutex::new(None),
        })
    }

    /// Whether any key lives in KMS (the shell then needs a KMS client).
    pub fn needs_kms(&self) -> bool {
        !self.kms.is_empty()
    }

    /// The keys given inline (no call needed).
    pub fn inline_keys(&self) -> &[Arc<VerifyingKey>] {
        &self.inline
    }

    /// Every accepted key: the inline ones, then the KMS ones.
    pub async fn keys(&self) -> Result<Vec<Arc<VerifyingKey>>, KeyFetchError> {
        let mut keys = self.inline.clone();
        keys.extend(self.kms_keys().await?);
        Ok(keys)
    }

    /// The KMS keys, fetched at most every [`KMS_KEY_TTL`] (one fetch at a time; the others
    /// wait for it). When a refresh fails, the keys fetched before are used until KMS answers
    /// again; with none fetched yet, the failure is returned.
    pub async fn kms_keys(&self) -> Result<Vec<Arc<VerifyingKey>>, KeyFetchError> {
        if self.kms.is_empty() {
            return Ok(Vec::new());
        }
        let mut cache = self.cache.lock().await;
        if let Some((at, fetched)) = cache.as_ref() {
            if at.elapsed() < KMS_KEY_TTL {
                return Ok(fetched.clone());
            }
        }
        match self.fetch().await {
            Ok(fetched) => {
                *cache = Some((Instant::now(), fetched.clone()));
                Ok(fetched)
            }
            Err(e) => match cache.as_mut() {
                Some((at, stale)) => {
                    tracing::warn!(error = %e, "cannot refresh the accepted KMS keys; using those fetched before");
                    // Try again in a minute rather than on every request.
                    *at = Instant::now() - KMS_KEY_TTL + std::time::Duration::from_secs(60);
                    Ok(stale.clone())
                }
                None => Err(e),
            },
        }
    }

    /// Without the `aws` feature there are no KMS keys to fetch (`parse` refused them).
    #[cfg(not(feature = "aws"))]
    async fn fetch(&self) -> Result<Vec<Arc<VerifyingKey>>, KeyFetchError> {
        Ok(Vec::new())
    }

    #[cfg(feature = "aws")]
    async fn fetch(&self) -> Result<Vec<Arc<VerifyingKey>>, KeyFetchError> {
        let mut out = Vec::with_capacity(self.kms.len());
        for (index, id) in &self.kms {
            let index = *index;
            let Some(client) = &self.client else {
                return Err(KeyFetchError::Kms {
                    index,
                    message: "no KMS client".into(),
                });
            };
            let answer = client
                .get_public_key()
                .key_id(id)
                .send()
                .await
                .map_err(|e| KeyFetchError::Kms {
                    index,
                    message: aws_sdk_kms::error::DisplayErrorContext(&e).to_string(),
                })?;
            let not = |why: &str| KeyFetchError::NotRsaSigning {
                index,
                why: why.to_owned(),
            };
            if answer.key_usage() != Some(&aws_sdk_kms::types::KeyUsageType::SignVerify) {
                return Err(not("its usage is not SIGN_VERIFY"));
            }
            let der = answer.public_key().ok_or_else(|| not("no public key"))?;
            let key = RsaPublicKey::from_spki_der(der.as_ref()).map_err(|e| not(&e.to_string()))?;
            let algorithms: Vec<Algorithm> = answer
                .signing_algorithms()
                .iter()
                .filter_map(kms_algorithm)
                .collect();
            if algorithms.is_empty() {
                return Err(not("no RSA signing algorithm"));
            }
            out.push(Arc::new(VerifyingKey::new(
                key,
                algorithms,
                format!("entry {index} (aws-kms)"),
            )));
        }
        tracing::info!(keys = out.len(), "fetched the accepted keys from KMS");
        Ok(out)
    }
}

/// The JWT algorithm of a KMS signing algorithm (RSA ones only).
#[cfg(feature = "aws")]
fn kms_algorithm(spec: &aws_sdk_kms::types::SigningAlgorithmSpec) -> Option<Algorithm> {
    use aws_sdk_kms::types::SigningAlgorithmSpec as S;
    Some(match spec {
        S::RsassaPkcs1V15Sha256 => Algorithm::RS256,
        S::RsassaPkcs1V15Sha384 => Algorithm::RS384,
        S::RsassaPkcs1V15Sha512 => Algorithm::RS512,
        S::RsassaPssSha256 => Algorithm::PS256,
        S::RsassaPssSha384 => Algorithm::PS384,
        S::RsassaPssSha512 => Algorithm::PS512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spki() -> String {
        let mut n = vec![0xc5u8; 256];
        n[0] = 0xd1;
        let der = RsaPublicKey {
            n,
            e: vec![1, 0, 1],
        }
        .to_spki_der();
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn aws_kms_entries_are_refused_without_the_aws_feature() {
        let setting = format!("base64:{},aws-kms:alias/webhooks", spki());
        let e = AcceptedKeys::parse(&setting, None).unwrap_err().to_string();
        assert!(e.contains("needs the `aws` feature"), "{e}");
        assert!(AcceptedKeys::parse(&format!("base64:{}", spki()), None).is_ok());
    }

    #[cfg(feature = "aws")]
    #[test]
    fn the_setting_parses_and_names_bad_entries_by_position() {
        let keys = AcceptedKeys::parse(
            &format!(
                " base64:{} , aws-kms:alias/webhooks,aws-kms:aws-kms:arn:aws:kms:us-east-1:1:key/2",
                spki()
            ),
            None,
        )
        .unwrap();
        assert_eq!(keys.inline.len(), 1);
        assert_eq!(keys.kms[1].1, "arn:aws:kms:us-east-1:1:key/2");
        assert!(keys.needs_kms());
        let jwk = keys.inline[0].jwk();
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], keys.inline[0].kid.as_str());
        for (setting, expected) in [
            ("", "is empty"),
            ("pem:abc", "entry 1: must start with"),
            (
                &format!("base64:{},base64:@@", spki()),
                "entry 2: not base64",
            ),
            ("base64:AAAA", "entry 1: not a DER"),
            ("aws-kms:", "entry 1: `aws-kms:` needs"),
        ] {
            let e = AcceptedKeys::parse(setting, None).unwrap_err().to_string();
            assert!(e.contains(expected), "{setting}: {e}");
        }
    }
}
