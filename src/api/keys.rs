//! Caller API keys of server mode (`psoxy serve --keys FILE`): callers send
//! `Authorization: Bearer <key>`; the file holds only each key's SHA-256, its expiry and the
//! connectors it may call.
//!
//! ```yaml
//! keys:
//!   - id: worklytics-prod            # shown in the audit log, never the key
//!     sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//!     expires: 2027-06-30            # a date (end of that day, UTC) or an RFC 3339 time
//!     connectors: [github, slack]    # or ['*']
//! ```
//!
//! `psoxy api-key --id ID --connector NAME` makes a new key and prints its entry.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One caller key (hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerKey {
    /// Name of the key, for the audit log.
    pub id: String,
    /// SHA-256 of the key.
    pub sha256: [u8; 32],
    /// When it stops working.
    pub expires: DateTime<Utc>,
    /// Connectors it may call (`*`: all).
    pub connectors: Vec<String>,
}

/// The keys a server accepts.
#[derive(Debug, Clone, Default)]
pub struct CallerKeys {
    keys: Vec<CallerKey>,
}

/// Why a caller is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerRefusal {
    /// No `Authorization: Bearer` header, or an unknown key: 401.
    Unauthenticated,
    /// A known key past its expiry: 401.
    Expired {
        /// The key's id.
        id: String,
    },
    /// A valid key not allowed this connector: 403.
    WrongConnector {
        /// The key's id.
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: String,
    sha256: String,
    expires: String,
    connectors: Vec<String>,
}

/// SHA-256 of a key as sent by a caller.
pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(23, 59, 59)?.and_utc())
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A keys file that does not load. Names the entry and the field, never a key.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file's content is invalid.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        source: Box<KeysError>,
    },
    /// Not YAML of the keys shape.
    #[error("{0}")]
    Yaml(#[source] serde_yaml::Error),
    /// An entry with a bad field.
    #[error("{at}: {problem}")]
    Entry {
        /// `keys[i] (id)`.
        at: String,
        /// What is wrong.
        problem: &'static str,
    },
}

impl CallerKeys {
    /// Parses a keys file's YAML; errors name the entry and the field.
    pub fn from_yaml(text: &str) -> Result<CallerKeys, KeysError> {
        let raw: RawFile = serde_yaml::from_str(text).map_err(KeysError::Yaml)?;
        let mut keys = Vec::with_capacity(raw.keys.len());
        for (i, k) in raw.keys.into_iter().enumerate() {
            let at = format!("keys[{i}] ({})", k.id);
            let entry = |problem| KeysError::Entry {
                at: at.clone(),
                problem,
            };
            let sha256 = parse_hex32(&k.sha256)
                .ok_or_else(|| entry("sha256 must be 64 hexadecimal digits"))?;
            let expires = parse_expiry(&k.expires)
                .ok_or_else(|| entry("expires must be a date (2027-06-30) or an RFC 3339 time"))?;
            if k.connectors.is_empty() {
                return Err(entry("connectors is empty (use ['*'] for all)"));
            }
            if keys.iter().any(|other: &CallerKey| other.sha256 == sha256) {
                return Err(entry("the same key is listed twice"));
            }
            keys.push(CallerKey {
                id: k.id,
                sha256,
                expires,
                connectors: k.connectors,
            });
        }
        Ok(CallerKeys { keys })
    }

    /// Reads a keys file.
    pub fn from_file(path: &Path) -> Result<CallerKeys, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        CallerKeys::from_yaml(&text).map_err(|e| KeysError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks the `Authorization` header of a request for `connector` at time `now`;
    /// returns the key's id.
    pub fn check(
        &self,
        authorization: Option<&str>,
        connector: &str,
        now: DateTime<Utc>,
    ) -> Result<&str, CallerRefusal> {
        let presented = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|k| !k.is_empty())
            .ok_or(CallerRefusal::Unauthenticated)?;
        let digest = key_digest(presented);
        let key = self
            .keys
            .iter()
            .find(|k| constant_time_eq(&k.sha256, &digest))
            .ok_or(CallerRefusal::Unauthenticated)?;
        if now > key.expires {
            return Err(CallerRefusal::Expired { id: key.id.clone() });
        }
        if !key
            .connectors
            .iter()
            .any(|c| c == "*" || c.eq_ignore_ascii_case(connector))
        {
            return Err(CallerRefusal::WrongConnector { id: key.id.clone() });
        }
        Ok(&key.id)
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new random key (256 bits, URL-safe base64) and its SHA-256 in hex.
pub fn new_key() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = format!(
        "psk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hex = key_digest(&key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (key, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> CallerKeys {
        let hex: String = key_digest("k1")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let old: String = key_digest("k2")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        CallerKeys::from_yaml(&format!(
            "keys:\n  - {{id: a, sha256: {hex}, expires: 2030-01-01, connectors: [github]}}\n  - {{id: b, sha256: {old}, expires: '2020-01-01T00:00:00Z', connectors: ['*']}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn checks_key_expiry_and_connector() {
        let k = keys();
        let now = Utc::now();
        assert_eq!(k.check(Some("Bearer k1"), "github", now), Ok("a"));
        assert_eq!(k.check(Some("bearer  k1 "), "GitHub", now), Ok("a"));
        assert_eq!(
            k.check(Some("Bearer k1"), "slack", now),
            Err(CallerRefusal::WrongConnector { id: "a".into() })
        );
        assert_eq!(
            k.check(Some("Bearer k2"), "github", now),
            Err(CallerRefusal::Expired { id: "b".into() })
        );
        for bad in [None, Some("Bearer"), Some("Basic k1"), Some("Bearer nope")] {
            assert_eq!(
                k.check(bad, "github", now),
                Err(CallerRefusal::Unauthenticated)
            );
        }
    }

    #[test]
    fn bad_files_name_the_entry() {
        let e = CallerKeys::from_yaml(
            "keys:\n  - {id: a, sha256: abc, expires: 2030-01-01, connectors: [x]}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("keys[0] (a): sha256"), "{e}");
        let e = CallerKeys::from_yaml(&format!(
            "keys:\n  - {{id: a, sha256: {}, expires: soon, connectors: [x]}}\n",
            "0".repeat(64)
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("expires"), "{e}");
    }

    #[test]
    fn new_keys_verify() {
        let (key, hex) = new_key();
        let k = CallerKeys::from_yaml(&format!(
            "keys:\n  - {{id: n, sha256: {hex}, expires: 2099-01-01, connectors: ['*']}}\n"
        ))
        .unwrap();
        assert_eq!(
            k.check(Some(&format!("Bearer {key}")), "x", Utc::now()),
            Ok("n")
        );
    }
}
