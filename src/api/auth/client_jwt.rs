//! The RS256 JWTs a client signs for itself: GitHub App installation tokens
//! (`GRANT_TYPE=certificate_credentials`) and Entra client assertions (`client_credentials`
//! with `CREDENTIALS_FLOW=jwt_assertion`), as Psoxy builds them (SPEC-API-PARITY §4.3.2,
//! §4.3.4).
//!
//! Header `{"alg":"RS256","typ":"JWT"}` (plus `"x5t"` for Entra), claims in alphabetical order
//! `aud` (the token endpoint), `exp` (now + 300 s), `iat` (now), `iss`, `jti` (a random UUID),
//! `sub` (both the client id); compact JSON, base64url without padding. The header and claims
//! are written by hand so the bytes are Psoxy's (its test vectors can be reproduced).

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;

use super::google::SigningError;

/// Lifetime of a client JWT, in seconds.
pub const CLIENT_JWT_LIFETIME_SECS: u64 = 300;

/// `PRIVATE_KEY` or `PRIVATE_KEY_ID` is not usable. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientKeyError {
    /// Not an RSA private key in PEM (PKCS#1 or PKCS#8), nor the base64 of one.
    #[error("setting PRIVATE_KEY is not an RSA private key in PEM (PKCS#1 or PKCS#8), nor the base64 of one")]
    NotRsaPem,
    /// Not a hex SHA-1 thumbprint.
    #[error("setting PRIVATE_KEY_ID is not a certificate's SHA-1 thumbprint in hex")]
    NotThumbprint,
}

/// A client's RSA signing key, parsed once at start.
#[derive(Clone)]
pub struct ClientKey {
    key: EncodingKey,
}

impl ClientKey {
    /// Reads `PRIVATE_KEY`: trimmed, as PEM, else base64 (standard alphabet) of PEM.
    pub fn parse(value: &str) -> Result<ClientKey, ClientKeyError> {
        let value = value.trim();
        let pem = if value.starts_with("-----BEGIN") {
            value.as_bytes().to_vec()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(value.split_whitespace().collect::<String>())
                .map_err(|_| ClientKeyError::NotRsaPem)?
        };
        let key = EncodingKey::from_rsa_pem(&pem).map_err(|_| ClientKeyError::NotRsaPem)?;
        Ok(ClientKey { key })
    }

    /// The signed JWT for `audience` (the token endpoint), issued by `client_id` at `now`
    /// (seconds since the epoch) with id `jti`, and an `x5t` header when given.
    pub fn jwt_at(
        &self,
        audience: &str,
        client_id: &str,
        x5t: Option<&str>,
        now: u64,
        jti: &str,
    ) -> Result<String, SigningError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            x5t: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: u64,
            iat: u64,
            iss: &'a str,
            jti: &'a str,
            sub: &'a str,
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = serde_json::to_vec(&Header {
            alg: "RS256",
            typ: "JWT",
            x5t,
        })
        .map_err(|_| SigningError::Sign)?;
        let claims = serde_json::to_vec(&Claims {
            aud: audience,
            exp: now + CLIENT_JWT_LIFETIME_SECS,
            iat: now,
            iss: client_id,
            jti,
            sub: client_id,
        })
        .map_err(|_| SigningError::Sign)?;
        let message = format!("{}.{}", b64.encode(header), b64.encode(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::RS256)
            .map_err(|_| SigningError::Sign)?;
        Ok(format!("{message}.{signature}"))
    }

    /// [`ClientKey::jwt_at`] now, with a random `jti`.
    pub fn jwt(
        &self,
        audience: &str,
        client_id: &str,
        x5t: Option<&str>,
    ) -> Result<String, SigningError> {
        let now = super::unix_now().as_secs();
        self.jwt_at(audience, client_id, x5t, now, &random_uuid())
    }
}

/// The `x5t` header of `PRIVATE_KEY_ID`: trimmed, a leading `sha1 Fingerprint=` and every `:`
/// removed, hex-decoded, then base64url **with** padding (as Psoxy sends it).
pub fn x5t_of_thumbprint(value: &str) -> Result<String, ClientKeyError> {
    let value = value.trim();
    let value = strip_prefix_ignore_case(value, "sha1 fingerprint=").unwrap_or(value);
    let hex: String = value.chars().filter(|c| *c != ':').collect();
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return Err(ClientKeyError::NotThumbprint);
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or(ClientKeyError::NotThumbprint)?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(bytes))
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// A random (version 4) UUID in its usual text form.
fn random_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x5t_vector() {
        // SPEC-API-PARITY §4.3.4.
        assert_eq!(
            x5t_of_thumbprint("F4194D924E8471C804F65E77BCF90418CEEB0DA2").unwrap(),
            "9BlNkk6EccgE9l53vPkEGM7rDaI="
        );
        assert_eq!(
            x5t_of_thumbprint(
                " sha1 Fingerprint=F4:19:4D:92:4E:84:71:C8:04:F6:5E:77:BC:F9:04:18:CE:EB:0D:A2\n"
            )
            .unwrap(),
            "9BlNkk6EccgE9l53vPkEGM7rDaI="
        );
        assert_eq!(
            x5t_of_thumbprint("F4194"),
            Err(ClientKeyError::NotThumbprint)
        );
        assert_eq!(x5t_of_thumbprint("zz"), Err(ClientKeyError::NotThumbprint));
        // base64url, not base64: `+/` would be `-_`.
        assert_eq!(x5t_of_thumbprint("FBFF").unwrap(), "-_8=");
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/api/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn github_app_jwt_is_psoxys_bytes_and_verifies() {
        // SPEC-API-PARITY §4.3.2's test vector: clock 2021-12-15T00:00:00Z, fixed jti.
        let key = ClientKey::parse(&fixture("test-rsa-pkcs1.pem")).unwrap();
        let aud = "https://api.github.com/app/installations/39494331/access_tokens";
        let jti = "886cd2d1-2a1d-43e9-91d4-6a2b166dff9e";
        let jwt = key.jwt_at(aud, "359050", None, 1639526400, jti).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        assert_eq!(
            b64.decode(parts[0]).unwrap(),
            br#"{"alg":"RS256","typ":"JWT"}"#
        );
        assert_eq!(
            String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap(),
            r#"{"aud":"https://api.github.com/app/installations/39494331/access_tokens","exp":1639526700,"iat":1639526400,"iss":"359050","jti":"886cd2d1-2a1d-43e9-91d4-6a2b166dff9e","sub":"359050"}"#
        );
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(
            fixture("test-service-account.pub.pem").as_bytes(),
        )
        .unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        assert!(jsonwebtoken::crypto::verify(
            parts[2],
            message.as_bytes(),
            &public,
            Algorithm::RS256
        )
        .unwrap());
        // PKCS#8, and the base64 of the PEM, are the same key.
        let sa: serde_json::Value =
            serde_json::from_str(&fixture("test-service-account.json")).unwrap();
        let pkcs8 = sa["private_key"].as_str().unwrap();
        let b64pem = base64::engine::general_purpose::STANDARD.encode(pkcs8);
        for k in [pkcs8.to_owned(), format!("\n{b64pem}\n")] {
            let again = ClientKey::parse(&k)
                .unwrap()
                .jwt_at(aud, "359050", None, 1639526400, jti)
                .unwrap();
            assert_eq!(again, jwt, "PKCS#1 v1.5 signatures are deterministic");
        }
    }

    #[test]
    fn entra_assertion_header_has_x5t() {
        let key = ClientKey::parse(&fixture("test-rsa-pkcs1.pem")).unwrap();
        let x5t = x5t_of_thumbprint("F4194D924E8471C804F65E77BCF90418CEEB0DA2").unwrap();
        let jwt = key
            .jwt("https://login.example/token", "app", Some(&x5t))
            .unwrap();
        let header = jwt.split('.').next().unwrap();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
            br#"{"alg":"RS256","typ":"JWT","x5t":"9BlNkk6EccgE9l53vPkEGM7rDaI="}"#
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, random_uuid());
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for v in [
            "",
            "secret-ish",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            let e = ClientKey::parse(v).err().unwrap();
            assert_eq!(e, ClientKeyError::NotRsaPem);
            assert!(!e.to_string().contains("secret-ish"));
        }
    }
}
