//! Google service account keys and the signed JWT (RS256) they exchange for an access
//! token (Google's "OAuth 2.0 for server to server applications"; `sub` is the user to
//! impersonate under domain-wide delegation).

use serde::{Deserialize, Serialize};

/// The parts of a service account key file (JSON) the proxy uses.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's email (the JWT's issuer).
    pub client_email: String,
    /// PEM of the RSA private key.
    private_key: String,
    /// Key id (the JWT header's `kid`).
    #[serde(default)]
    private_key_id: Option<String>,
    /// Token endpoint.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: String,
    aud: &'a str,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

/// The service account's assertion cannot be signed. Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The key does not sign.
    #[error("the service account's private key is not usable")]
    KeyUnusable,
    /// Signing failed.
    #[error("cannot sign the service account assertion")]
    Sign,
}

/// `SERVICE_ACCOUNT_KEY` is not a usable key. Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceAccountKeyError {
    /// Not JSON of a key.
    #[error("setting SERVICE_ACCOUNT_KEY is not a service account key (JSON with client_email and private_key)")]
    NotAKey,
    /// The private key does not parse.
    #[error("setting SERVICE_ACCOUNT_KEY: private_key is not an RSA private key in PEM")]
    NotRsaPem,
}

/// Lifetime asked for in the assertion (Google's maximum).
const ASSERTION_LIFETIME_SECS: u64 = 3600;

impl ServiceAccountKey {
    /// Parses a key file's JSON. The error names the problem, never the key.
    pub fn parse(json: &str) -> Result<ServiceAccountKey, ServiceAccountKeyError> {
        let key: ServiceAccountKey =
            serde_json::from_str(json).map_err(|_| ServiceAccountKeyError::NotAKey)?;
        jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|_| ServiceAccountKeyError::NotRsaPem)?;
        Ok(key)
    }

    /// Parses `SERVICE_ACCOUNT_KEY` as Psoxy stores it: the key JSON, or the base64 of it
    /// (decided by whether the trimmed value starts with `{`).
    pub fn parse_json_or_base64(value: &str) -> Result<ServiceAccountKey, ServiceAccountKeyError> {
        use base64::Engine;
        let value = value.trim();
        if value.starts_with('{') {
            return Self::parse(value);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value.as_bytes())
            .map_err(|_| ServiceAccountKeyError::NotAKey)?;
        let json = String::from_utf8(decoded).map_err(|_| ServiceAccountKeyError::NotAKey)?;
        Self::parse(&json)
    }

    /// The signed assertion for `audience` (the token endpoint).
    pub fn signed_assertion(
        &self,
        audience: &str,
        scopes: &[String],
        subject: Option<&str>,
    ) -> Result<String, SigningError> {
        let now = super::unix_now().as_secs();
        let claims = Claims {
            iss: &self.client_email,
            scope: scopes.join(" "),
            aud: audience,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
            sub: subject,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key.as_bytes())
            .map_err(|_| SigningError::KeyUnusable)?;
        jsonwebtoken::encode(&header, &claims, &key).map_err(|_| SigningError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let e = ServiceAccountKey::parse(
            "{\"client_email\": \"a@b\", \"private_key\": \"not-a-key-SECRET\"}",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("PEM") && !e.contains("SECRET"), "{e}");
        assert!(ServiceAccountKey::parse("nope").is_err());
    }
}
