//! Pseudonymization compatible with Worklytics Psoxy.
//!
//! * [`Pseudonymizer`] turns identifiers into salted-hash pseudonyms
//!   (`hash(v) = base64url_nopad(SHA-256(canonical(v) + SALT))`), emails being
//!   canonicalized first and their domain reported beside the hash.
//! * Reversible `p~` tokens embed the AES-256-CBC encryption of the value.
//! * IP addresses, the salt fingerprint and `textDigest` live in their own
//!   small modules.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

pub mod digest;
pub mod email;
pub mod encoding;
pub mod fingerprint;
pub mod hash;
pub mod ip;
pub mod reversible;
pub mod token_text;

pub use digest::text_digest;
pub use email::{canonical_email, looks_like_email, parse_mailbox, Mailbox};
pub use fingerprint::salt_sha;

use encoding::write_pseudonym;
use hash::{digest_salted, encode_digest, encoded_str, is_blank, Digest32, ShortMessage};
use reversible::{token_body, ReversibleKey, REVERSIBLE_PREFIX};

/// Prefix of a tokenized (hashed) email domain.
pub const DOMAIN_TOKEN_PREFIX: &str = "h~";
/// Prefix of an encrypted (reversible) email domain.
pub const DOMAIN_ENCRYPTED_PREFIX: &str = "e~";
/// Prefix of a hashed IP address (same as any URL-safe token).
pub const IP_TOKEN_PREFIX: &str = encoding::TOKEN_PREFIX;

/// Implements `FromStr` (case-insensitive), `Display`, and serde for a
/// settings enum from its canonical upper-case names.
macro_rules! setting_enum {
    ($ty:ident, $setting:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Canonical (upper-case) name of the setting value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl FromStr for $ty {
            type Err = PseudonymError;

            /// Parses the canonical name, ignoring ASCII case and surrounding whitespace.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($name) {
                    return Ok($ty::$variant);
                })+
                Err(PseudonymError::InvalidSetting {
                    setting: $setting,
                    value: s.to_owned(),
                })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// How the local part of an email is canonicalized before hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EmailCanonicalization {
    /// `STRICT`: lower-case, cut at the first `+`; dots are kept.
    #[default]
    Strict,
    /// `IGNORE_DOTS`: like `STRICT`, and every `.` of the local part is removed.
    IgnoreDots,
}

setting_enum!(EmailCanonicalization, "email canonicalization", {
    Strict => "STRICT",
    IgnoreDots => "IGNORE_DOTS",
});

/// What is reported beside the hash for an email's domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DomainHandling {
    /// `PRESERVE`: the domain as written.
    #[default]
    Preserve,
    /// `REDACT`: no domain.
    Redact,
    /// `TOKENIZE`: `h~` + hash of the domain (as written) with the domain salt.
    Tokenize,
    /// `ENCRYPT`: `e~` + reversible token body of the domain.
    Encrypt,
}

setting_enum!(DomainHandling, "email domain handling", {
    Preserve => "PRESERVE",
    Redact => "REDACT",
    Tokenize => "TOKENIZE",
    Encrypt => "ENCRYPT",
});

/// Encoding of a pseudonym in output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PseudonymFormat {
    /// `JSON`: `{"domain":"acme.com","hash":"<43>"}` (domain omitted when absent).
    #[default]
    Json,
    /// `URL_SAFE_TOKEN`: `t~<43>` plus `@<domain>` for emails.
    UrlSafeToken,
    /// `URL_SAFE_HASH_ONLY`: the 43-character hash alone.
    UrlSafeHashOnly,
}

setting_enum!(PseudonymFormat, "pseudonym format", {
    Json => "JSON",
    UrlSafeToken => "URL_SAFE_TOKEN",
    UrlSafeHashOnly => "URL_SAFE_HASH_ONLY",
});

/// All secrets and settings of pseudonymization.
///
/// Optional secrets that are `None` *or empty* fall back to the main ones.
/// The `Debug` output never shows salts or keys.
#[derive(Clone, Default)]
pub struct PseudonymSettings {
    /// Main salt (`SALT`); must not be empty.
    pub salt: String,
    /// Main encryption key (`ENCRYPTION_KEY`), needed for reversible tokens.
    pub encryption_key: Option<String>,
    /// Email local-part canonicalization (`EMAIL_CANONICALIZATION`).
    pub email_canonicalization: EmailCanonicalization,
    /// What to report for email domains (`EMAIL_DOMAIN_HANDLING`).
    pub email_domain_handling: DomainHandling,
    /// Salt for tokenized/encrypted domains (`SALT_EMAIL_DOMAINS`).
    pub salt_email_domains: Option<String>,
    /// Key for encrypted domains (`ENCRYPTION_KEY_EMAIL_DOMAINS`).
    pub encryption_key_email_domains: Option<String>,
    /// Salt for IP addresses (`SALT_IP`).
    pub salt_ip: Option<String>,
    /// Key for encrypted IP addresses (`ENCRYPTION_KEY_IP`).
    pub encryption_key_ip: Option<String>,
}

/// Debug placeholder for a secret that is set.
const REDACTED: &str = "<redacted>";

/// Shows whether an optional secret is set, never its value.
fn redacted_opt(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

impl fmt::Debug for PseudonymSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymSettings")
            .field("salt", &REDACTED)
            .field("encryption_key", &redacted_opt(&self.encryption_key))
            .field("email_canonicalization", &self.email_canonicalization)
            .field("email_domain_handling", &self.email_domain_handling)
            .field(
                "salt_email_domains",
                &redacted_opt(&self.salt_email_domains),
            )
            .field(
                "encryption_key_email_domains",
                &redacted_opt(&self.encryption_key_email_domains),
            )
            .field("salt_ip", &redacted_opt(&self.salt_ip))
            .field("encryption_key_ip", &redacted_opt(&self.encryption_key_ip))
            .finish()
    }
}

/// Errors of pseudonymization. Messages never contain secrets or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymError {
    /// The main salt is empty.
    #[error("the salt must not be empty")]
    EmptySalt,
    /// A reversible operation was requested but no encryption key is configured.
    #[error("no encryption key is configured for reversible pseudonyms")]
    MissingEncryptionKey,
    /// A token could not be decoded, decrypted or verified.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A setting value was not recognized.
    #[error("invalid {setting} `{value}`")]
    InvalidSetting {
        /// Which setting.
        setting: &'static str,
        /// The rejected (non-secret) value.
        value: String,
    },
}

/// Non-empty secret or `None`.
fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Pseudonymizes values with one set of secrets.
///
/// Built once per process/run (AES keys are derived here with PBKDF2, which is
/// deliberately slow); immutable afterwards, so it can be shared across
/// threads.
pub struct Pseudonymizer {
    settings: PseudonymSettings,
    /// Key derived from the main key and salt.
    key: Option<ReversibleKey>,
    /// Resolved salt for email domains.
    domain_salt: String,
    /// Key for encrypted domains (only when domain handling is `ENCRYPT`).
    domain_key: Option<ReversibleKey>,
    /// Resolved salt for IP addresses.
    ip_salt: String,
    /// Key for encrypted IP addresses.
    ip_key: Option<ReversibleKey>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("settings", &self.settings)
            .field("reversible", &self.key.is_some())
            .field("domain_encryption", &self.domain_key.is_some())
            .field("ip_encryption", &self.ip_key.is_some())
            .finish()
    }
}

/// Derives a key for `(password, salt)`, reusing `main` when it was derived
/// from the same pair.
fn derive_or_reuse(
    password: Option<&str>,
    salt: &str,
    main: Option<(&str, &str, &ReversibleKey)>,
) -> Option<ReversibleKey> {
    let password = password?;
    match main {
        Some((p, s, k)) if p == password && s == salt => Some(k.clone()),
        _ => Some(ReversibleKey::derive(password, salt)),
    }
}

impl Pseudonymizer {
    /// Validates the settings and derives the AES keys that are configured.
    ///
    /// Errors: [`PseudonymError::EmptySalt`], or
    /// [`PseudonymError::MissingEncryptionKey`] when domain handling is
    /// `ENCRYPT` but neither a domain key nor a main key is set.
    pub fn new(settings: &PseudonymSettings) -> Result<Self, PseudonymError> {
        if settings.salt.is_empty() {
            return Err(PseudonymError::EmptySalt);
        }
        let salt = settings.salt.as_str();
        let main_password = non_empty(&settings.encryption_key);
        let key = main_password.map(|p| ReversibleKey::derive(p, salt));
        let main = main_password.zip(key.as_ref()).map(|(p, k)| (p, salt, k));

        let domain_salt = non_empty(&settings.salt_email_domains).unwrap_or(salt);
        let domain_key = if settings.email_domain_handling == DomainHandling::Encrypt {
            let password = non_empty(&settings.encryption_key_email_domains).or(main_password);
            let k = derive_or_reuse(password, domain_salt, main);
            Some(k.ok_or(PseudonymError::MissingEncryptionKey)?)
        } else {
            None
        };

        let ip_salt = non_empty(&settings.salt_ip).unwrap_or(salt);
        let ip_password = non_empty(&settings.encryption_key_ip).or(main_password);
        let ip_key = derive_or_reuse(ip_password, ip_salt, main);

        Ok(Pseudonymizer {
            domain_salt: domain_salt.to_owned(),
            ip_salt: ip_salt.to_owned(),
            settings: settings.clone(),
            key,
            domain_key,
            ip_key,
        })
    }

    /// Whether a main encryption key is configured (needed for `p~` tokens).
    pub fn has_encryption_key(&self) -> bool {
        self.key.is_some()
    }

    /// The settings this pseudonymizer was built from.
    pub fn settings(&self) -> &PseudonymSettings {
        &self.settings
    }

    /// Columnar pseudonym: `None` for blank (empty or whitespace-only) input,
    /// else the pseudonym encoded in `format`.
    pub fn pseudonymize(&self, value: &str, format: PseudonymFormat) -> Option<String> {
        let mut out = String::with_capacity(64);
        self.pseudonymize_into(value, format, &mut out)
            .then_some(out)
    }

    /// Hot-path variant of [`pseudonymize`](Self::pseudonymize): appends the
    /// pseudonym to `out`; returns false (appending nothing) for blank input.
    pub fn pseudonymize_into(
        &self,
        value: &str,
        format: PseudonymFormat,
        out: &mut String,
    ) -> bool {
        if is_blank(value) {
            return false;
        }
        let mailbox = parse_mailbox(value);
        let digest = self.value_digest(value, mailbox.as_ref());
        let hash = encode_digest(&digest);
        let domain = match (&mailbox, format) {
            // The hash-only format never shows the domain: skip computing it.
            (Some(m), PseudonymFormat::Json | PseudonymFormat::UrlSafeToken) => {
                self.reported_domain(m.domain)
            }
            _ => None,
        };
        write_pseudonym(format, encoded_str(&hash), domain.as_deref(), out);
        true
    }

    /// Record-rule token (`t~...`, with `@domain` for emails): same as
    /// `pseudonymize(value, PseudonymFormat::UrlSafeToken)`.
    pub fn token(&self, value: &str) -> Option<String> {
        self.pseudonymize(value, PseudonymFormat::UrlSafeToken)
    }

    /// Reversible `p~` token of `value` (plus `@<domain>` for emails).
    ///
    /// Errors with [`PseudonymError::MissingEncryptionKey`] when no key is
    /// configured (checked first); `Ok(None)` for blank input.
    pub fn reversible(&self, value: &str) -> Result<Option<String>, PseudonymError> {
        let key = self
            .key
            .as_ref()
            .ok_or(PseudonymError::MissingEncryptionKey)?;
        if is_blank(value) {
            return Ok(None);
        }
        let mailbox = parse_mailbox(value);
        let digest = self.value_digest(value, mailbox.as_ref());
        let mut out = String::with_capacity(2 + 43 + value.len() * 4 / 3 + 40);
        out.push_str(REVERSIBLE_PREFIX);
        key.encrypt_body(&digest, value, &mut out);
        if let Some(domain) = mailbox.and_then(|m| self.reported_domain(m.domain)) {
            out.push('@');
            out.push_str(&domain);
        }
        Ok(Some(out))
    }

    /// Decrypts a `p~` token made with the main salt and key, returning the
    /// original value. Any `@domain` suffix is ignored. The embedded hash is
    /// checked against the decrypted value (under either email
    /// canonicalization), so a wrong key or salt is reported as an error.
    pub fn decrypt(&self, token: &str) -> Result<String, PseudonymError> {
        let key = self
            .key
            .as_ref()
            .ok_or(PseudonymError::MissingEncryptionKey)?;
        let (digest, plaintext) = key.decrypt_body(token_body(token, REVERSIBLE_PREFIX)?)?;
        let mailbox = parse_mailbox(&plaintext);
        let matches = match &mailbox {
            None => digest_salted(&plaintext, &self.settings.salt) == digest,
            Some(m) => [
                EmailCanonicalization::Strict,
                EmailCanonicalization::IgnoreDots,
            ]
            .into_iter()
            .any(|mode| self.email_digest(m, mode) == digest),
        };
        if !matches {
            return Err(hash_mismatch());
        }
        Ok(plaintext)
    }

    /// Decrypts an `e~` encrypted domain (see [`DomainHandling::Encrypt`]).
    pub fn decrypt_domain(&self, token: &str) -> Result<String, PseudonymError> {
        let key = self
            .domain_key
            .as_ref()
            .ok_or(PseudonymError::MissingEncryptionKey)?;
        let (digest, domain) = key.decrypt_body(token_body(token, DOMAIN_ENCRYPTED_PREFIX)?)?;
        if digest_salted(&domain, &self.domain_salt) != digest {
            return Err(hash_mismatch());
        }
        Ok(domain)
    }

    /// Decrypts a `p~` token made by [`encrypt_ip`](Self::encrypt_ip),
    /// returning the canonical IP address.
    pub fn decrypt_ip(&self, token: &str) -> Result<String, PseudonymError> {
        let key = self
            .ip_key
            .as_ref()
            .ok_or(PseudonymError::MissingEncryptionKey)?;
        let (digest, ip) = key.decrypt_body(token_body(token, REVERSIBLE_PREFIX)?)?;
        if digest_salted(&ip, &self.ip_salt) != digest {
            return Err(hash_mismatch());
        }
        Ok(ip)
    }

    /// `t~` + hash(canonical IP + SALT_IP); `None` when `value` is not an IP
    /// address (see [`ip::canonical_ip`]).
    pub fn hash_ip(&self, value: &str) -> Option<String> {
        let ip = ip::canonical_ip(value)?;
        let hash = encode_digest(&digest_salted(&ip, &self.ip_salt));
        let mut out = String::with_capacity(IP_TOKEN_PREFIX.len() + hash.len());
        out.push_str(IP_TOKEN_PREFIX);
        out.push_str(encoded_str(&hash));
        Some(out)
    }

    /// `p~` reversible token of the canonical IP address (salt SALT_IP, key
    /// ENCRYPTION_KEY_IP). Errors when no key is configured; `Ok(None)` when
    /// `value` is not an IP address. The encrypted plaintext is the canonical
    /// address, not the original text.
    pub fn encrypt_ip(&self, value: &str) -> Result<Option<String>, PseudonymError> {
        let key = self
            .ip_key
            .as_ref()
            .ok_or(PseudonymError::MissingEncryptionKey)?;
        let Some(ip) = ip::canonical_ip(value) else {
            return Ok(None);
        };
        let mut out = String::with_capacity(96);
        out.push_str(REVERSIBLE_PREFIX);
        key.encrypt_body(&digest_salted(&ip, &self.ip_salt), &ip, &mut out);
        Ok(Some(out))
    }

    /// `psoxy-salt-sha` fingerprint of the main salt (see [`salt_sha`]).
    pub fn salt_fingerprint(&self) -> String {
        salt_sha(&self.settings.salt)
    }

    /// The domain as reported by the configured domain handling: as written,
    /// `None` (redacted), `h~<hash>` or `e~<reversible body>`.
    pub fn domain_token(&self, domain: &str) -> Option<String> {
        self.reported_domain(domain).map(Cow::into_owned)
    }

    fn reported_domain<'d>(&self, domain: &'d str) -> Option<Cow<'d, str>> {
        match self.settings.email_domain_handling {
            DomainHandling::Preserve => Some(Cow::Borrowed(domain)),
            DomainHandling::Redact => None,
            DomainHandling::Tokenize => {
                let hash = encode_digest(&digest_salted(domain, &self.domain_salt));
                Some(Cow::Owned(format!(
                    "{DOMAIN_TOKEN_PREFIX}{}",
                    encoded_str(&hash)
                )))
            }
            DomainHandling::Encrypt => {
                let key = self
                    .domain_key
                    .as_ref()
                    .expect("Pseudonymizer::new derives the domain key for ENCRYPT");
                let mut out = String::from(DOMAIN_ENCRYPTED_PREFIX);
                key.encrypt_body(&digest_salted(domain, &self.domain_salt), domain, &mut out);
                Some(Cow::Owned(out))
            }
        }
    }

    /// Salted digest of a value: its canonical email form when it is an
    /// email, else the value verbatim.
    fn value_digest(&self, value: &str, mailbox: Option<&Mailbox<'_>>) -> Digest32 {
        match mailbox {
            Some(m) => self.email_digest(m, self.settings.email_canonicalization),
            None => digest_salted(value, &self.settings.salt),
        }
    }

    /// SHA-256(canonical email + salt), without allocating.
    fn email_digest(&self, m: &Mailbox<'_>, mode: EmailCanonicalization) -> Digest32 {
        let salt = self.settings.salt.as_bytes();
        let mut short = ShortMessage::new();
        let mut fits = true;
        email::canonical_pieces(m, mode, |piece| fits &= short.push_lowercase(piece));
        if fits && short.push(salt) {
            return short.digest();
        }
        let mut hasher = Sha256::new();
        let mut lower = Vec::new();
        email::canonical_pieces(m, mode, |piece| {
            lower.clear();
            lower.extend(piece.iter().map(u8::to_ascii_lowercase));
            hasher.update(&lower);
        });
        hasher.update(salt);
        hasher.finalize().into()
    }
}

fn hash_mismatch() -> PseudonymError {
    PseudonymError::InvalidToken(
        "embedded hash does not match the decrypted value (wrong salt or key?)".to_owned(),
    )
}

/// For unit tests across the crate.
#[cfg(test)]
impl Pseudonymizer {
    /// A pseudonymizer of the default settings with `salt`: no key, default formats.
    pub(crate) fn salted(salt: &str) -> Pseudonymizer {
        Pseudonymizer::new(&PseudonymSettings {
            salt: salt.into(),
            ..Default::default()
        })
        .expect("a salt alone is a valid setting")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    const ALICE_HASH: &str = "UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk";

    fn settings() -> PseudonymSettings {
        PseudonymSettings {
            salt: "salt".into(),
            encryption_key: Some("secret".into()),
            ..Default::default()
        }
    }

    /// Main salt "salt", key "secret", defaults otherwise (derived once).
    fn shared() -> &'static Pseudonymizer {
        static P: OnceLock<Pseudonymizer> = OnceLock::new();
        P.get_or_init(|| Pseudonymizer::new(&settings()).unwrap())
    }

    fn without_key(handling: DomainHandling) -> Pseudonymizer {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            email_domain_handling: handling,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn email_digest_is_the_hash_of_the_canonical_email_at_any_length() {
        // Short emails take the stack message; long ones (over 119 bytes with the salt)
        // the streaming hasher. Both give hash(canonical + salt).
        for local_len in [1, 40, 100, 110, 120, 300] {
            for mode in [
                EmailCanonicalization::Strict,
                EmailCanonicalization::IgnoreDots,
            ] {
                let local = "Ab.c+"
                    .repeat(local_len / 5 + 1)
                    .replacen('+', "", local_len / 5);
                let email = format!("{local}@Sub.Acme.com");
                let m = parse_mailbox(&email).expect("an email");
                let canonical = canonical_email(&m, mode);
                assert_eq!(
                    shared().email_digest(&m, mode),
                    digest_salted(&canonical, "salt"),
                    "{email} {mode:?}"
                );
            }
        }
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pseudonymizer>();
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = PseudonymSettings {
            salt: "very-secret-salt".into(),
            encryption_key: Some("very-secret-key".into()),
            salt_email_domains: Some("very-secret-dsalt".into()),
            encryption_key_email_domains: Some("very-secret-dkey".into()),
            salt_ip: Some("very-secret-isalt".into()),
            encryption_key_ip: Some("very-secret-ikey".into()),
            ..Default::default()
        };
        let dbg = format!("{s:?} {s:#?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        let p = Pseudonymizer::new(&s).unwrap();
        let dbg = format!("{p:?} {p:#?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
    }

    #[test]
    fn settings_parse_case_insensitively() {
        assert_eq!(
            "strict".parse::<EmailCanonicalization>().unwrap(),
            EmailCanonicalization::Strict
        );
        assert_eq!(
            "Ignore_Dots".parse::<EmailCanonicalization>().unwrap(),
            EmailCanonicalization::IgnoreDots
        );
        assert_eq!(
            "tokenize".parse::<DomainHandling>().unwrap(),
            DomainHandling::Tokenize
        );
        assert_eq!(
            "url_safe_hash_only".parse::<PseudonymFormat>().unwrap(),
            PseudonymFormat::UrlSafeHashOnly
        );
        assert!("IGNOREDOTS".parse::<EmailCanonicalization>().is_err());
        assert!("".parse::<PseudonymFormat>().is_err());
        for f in [
            PseudonymFormat::Json,
            PseudonymFormat::UrlSafeToken,
            PseudonymFormat::UrlSafeHashOnly,
        ] {
            assert_eq!(f.to_string().parse::<PseudonymFormat>().unwrap(), f);
        }
        assert_eq!(DomainHandling::Encrypt.to_string(), "ENCRYPT");
        assert_eq!(EmailCanonicalization::IgnoreDots.to_string(), "IGNORE_DOTS");
    }

    #[test]
    fn formats_deserialize_from_strings() {
        let f: PseudonymFormat = serde_json::from_str("\"URL_SAFE_TOKEN\"").unwrap();
        assert_eq!(f, PseudonymFormat::UrlSafeToken);
        let f: PseudonymFormat = serde_json::from_str("\"json\"").unwrap();
        assert_eq!(f, PseudonymFormat::Json);
        assert!(serde_json::from_str::<PseudonymFormat>("\"XML\"").is_err());
        let d: DomainHandling = serde_json::from_str("\"REDACT\"").unwrap();
        assert_eq!(d, DomainHandling::Redact);
        assert_eq!(
            serde_json::to_string(&PseudonymFormat::UrlSafeHashOnly).unwrap(),
            "\"URL_SAFE_HASH_ONLY\""
        );
    }

    #[test]
    fn empty_salt_is_an_error() {
        let err = Pseudonymizer::new(&PseudonymSettings::default()).unwrap_err();
        assert!(matches!(err, PseudonymError::EmptySalt));
    }

    #[test]
    fn blank_values_are_not_pseudonymized() {
        let p = shared();
        for v in ["", " ", "\t\r\n", "\u{3000}"] {
            assert_eq!(p.pseudonymize(v, PseudonymFormat::Json), None);
            assert_eq!(p.token(v), None);
            assert_eq!(p.reversible(v).unwrap(), None);
            let mut out = String::from("keep");
            assert!(!p.pseudonymize_into(v, PseudonymFormat::UrlSafeToken, &mut out));
            assert_eq!(out, "keep");
        }
    }

    #[test]
    fn pseudonymize_into_appends() {
        let mut out = String::from("x,");
        assert!(shared().pseudonymize_into(
            "alice@acme.com",
            PseudonymFormat::UrlSafeToken,
            &mut out
        ));
        assert_eq!(out, format!("x,t~{ALICE_HASH}@acme.com"));
    }

    #[test]
    fn non_emails_are_hashed_verbatim() {
        let p = shared();
        assert_eq!(
            p.pseudonymize("1", PseudonymFormat::UrlSafeHashOnly)
                .unwrap(),
            "0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc"
        );
        assert_ne!(p.token("E001"), p.token("e001"));
        assert_ne!(p.token(" E001"), p.token("E001"));
        assert_eq!(
            p.pseudonymize("alice@localhost", PseudonymFormat::Json)
                .unwrap(),
            "{\"hash\":\"tUmUYUz8UjssgjdDKdL4eSEX_kBcCpPVNTzVwpZKK8s\"}"
        );
    }

    #[test]
    fn email_domain_keeps_case_but_hash_does_not() {
        assert_eq!(
            shared().token("employee@acme.COM").unwrap(),
            format!("t~{}@acme.COM", hash::hash("employee@acme.com", "salt"))
        );
    }

    #[test]
    fn redacted_domain() {
        let p = without_key(DomainHandling::Redact);
        assert_eq!(
            p.token("alice@acme.com").unwrap(),
            format!("t~{ALICE_HASH}")
        );
        assert_eq!(
            p.pseudonymize("alice@acme.com", PseudonymFormat::Json)
                .unwrap(),
            format!("{{\"hash\":\"{ALICE_HASH}\"}}")
        );
        assert!(matches!(
            p.reversible("alice@acme.com"),
            Err(PseudonymError::MissingEncryptionKey)
        ));
    }

    #[test]
    fn tokenized_domain_falls_back_to_main_salt() {
        let p = without_key(DomainHandling::Tokenize);
        let expected = format!("h~{}", hash::hash("acme.COM", "salt"));
        assert_eq!(
            p.token("alice@acme.COM").unwrap(),
            format!("t~{ALICE_HASH}@{expected}")
        );
        assert_eq!(
            p.pseudonymize("alice@acme.COM", PseudonymFormat::Json)
                .unwrap(),
            format!("{{\"domain\":\"{expected}\",\"hash\":\"{ALICE_HASH}\"}}")
        );
        assert_eq!(
            p.pseudonymize("alice@acme.COM", PseudonymFormat::UrlSafeHashOnly)
                .unwrap(),
            ALICE_HASH
        );
    }

    #[test]
    fn encrypted_domain_requires_a_key_and_roundtrips() {
        let err = Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            email_domain_handling: DomainHandling::Encrypt,
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, PseudonymError::MissingEncryptionKey));

        let p = Pseudonymizer::new(&PseudonymSettings {
            email_domain_handling: DomainHandling::Encrypt,
            ..settings()
        })
        .unwrap();
        let token = p.token("alice@Acme.com").unwrap();
        let (hash, domain) = token.split_once('@').unwrap();
        assert_eq!(hash, format!("t~{ALICE_HASH}"));
        assert!(domain.starts_with("e~"));
        assert_eq!(p.decrypt_domain(domain).unwrap(), "Acme.com");
        // Reversible tokens carry the encrypted domain too and still decrypt.
        let rev = p.reversible("alice@Acme.com").unwrap().unwrap();
        assert!(rev.ends_with(&format!("@{domain}")));
        assert_eq!(p.decrypt(&rev).unwrap(), "alice@Acme.com");
    }

    #[test]
    fn decrypt_roundtrip() {
        let p = shared();
        for v in [
            "alice@acme.com",
            " Alice <al.ice+x@Acme.com> ",
            "E001",
            "社員",
            "x",
            "a\"b\\c",
        ] {
            let token = p.reversible(v).unwrap().unwrap();
            assert!(token.starts_with("p~"));
            assert_eq!(p.decrypt(&token).unwrap(), v);
        }
    }

    #[test]
    fn decrypt_accepts_tokens_made_under_either_canonicalization() {
        let dots = Pseudonymizer::new(&PseudonymSettings {
            email_canonicalization: EmailCanonicalization::IgnoreDots,
            ..settings()
        })
        .unwrap();
        let token = dots.reversible("al.ice@acme.com").unwrap().unwrap();
        assert_eq!(shared().decrypt(&token).unwrap(), "al.ice@acme.com");
    }

    #[test]
    fn decrypt_errors() {
        let p = shared();
        let good = p.reversible("E001").unwrap().unwrap();
        for bad in [
            "",
            "p~",
            "p~@acme.com",
            "t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk",
            "p~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk",
            "p~not base64!",
            "p~AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &good[2..],
            &good[..good.len() - 3],
        ] {
            assert!(
                matches!(p.decrypt(bad), Err(PseudonymError::InvalidToken(_))),
                "{bad:?}"
            );
        }
        // Same key, other salt: decrypts or fails to unpad, but never verifies.
        let other = Pseudonymizer::new(&PseudonymSettings {
            salt: "other".into(),
            ..settings()
        })
        .unwrap();
        assert!(other.decrypt(&good).is_err());
        // No key at all.
        assert!(matches!(
            without_key(DomainHandling::Preserve).decrypt(&good),
            Err(PseudonymError::MissingEncryptionKey)
        ));
    }

    #[test]
    fn error_messages_do_not_leak() {
        let p = shared();
        let token = p.reversible("top-secret-value").unwrap().unwrap();
        let corrupted = format!("{}A", &token[..token.len() - 1]);
        if let Err(e) = p.decrypt(&corrupted) {
            let msg = format!("{e} {e:?}");
            assert!(
                !msg.contains("top-secret-value") && !msg.contains("secret\""),
                "{msg}"
            );
        }
    }

    #[test]
    fn ip_settings_fall_back_and_override() {
        let p = shared();
        assert_eq!(
            p.hash_ip("10.0.0.1").unwrap(),
            "t~3BU4goNN07w3ofq8v5ig2enxSWj9xnAnPOThel4mHTk"
        );
        assert_eq!(p.hash_ip("nope"), None);
        assert_eq!(p.encrypt_ip("nope").unwrap(), None);
        let token = p.encrypt_ip("::ffff:10.0.0.1").unwrap().unwrap();
        assert_eq!(p.decrypt_ip(&token).unwrap(), "10.0.0.1");
        // With the fallbacks, IP tokens are ordinary p~ tokens.
        assert_eq!(p.decrypt(&token).unwrap(), "10.0.0.1");

        let own = Pseudonymizer::new(&PseudonymSettings {
            salt_ip: Some("ip-salt".into()),
            encryption_key_ip: Some("ip-key".into()),
            ..settings()
        })
        .unwrap();
        assert_eq!(
            own.hash_ip("10.0.0.1").unwrap(),
            format!("t~{}", hash::hash("10.0.0.1", "ip-salt"))
        );
        let token = own.encrypt_ip("10.0.0.1").unwrap().unwrap();
        assert_eq!(own.decrypt_ip(&token).unwrap(), "10.0.0.1");
        assert!(own.decrypt(&token).is_err());
        assert!(matches!(
            without_key(DomainHandling::Preserve).encrypt_ip("10.0.0.1"),
            Err(PseudonymError::MissingEncryptionKey)
        ));
    }

    #[test]
    fn empty_optional_secrets_fall_back() {
        let p = Pseudonymizer::new(&PseudonymSettings {
            salt_ip: Some(String::new()),
            salt_email_domains: Some(String::new()),
            email_domain_handling: DomainHandling::Tokenize,
            ..settings()
        })
        .unwrap();
        assert_eq!(p.hash_ip("10.0.0.1"), shared().hash_ip("10.0.0.1"));
        assert_eq!(
            p.domain_token("acme.com").unwrap(),
            format!("h~{}", hash::hash("acme.com", "salt"))
        );
    }

    #[test]
    fn salt_fingerprint() {
        assert_eq!(
            shared().salt_fingerprint(),
            "pRwka918R7CEI6El1noIhIMJzqBGYUvvqXYHyMvxl2Y"
        );
    }
}
