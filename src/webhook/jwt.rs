//! Verifying a webhook's bearer token: an RSA-signed JWT (RS256/384/512, PS256/384/512; never
//! `none` or HMAC) signed by one of the accepted keys, with `iat` and `exp` present and sane,
//! and `iss` / `aud` when configured. A refusal says why in words that hold no token content.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::keys::VerifyingKey;

/// How far a token's `iat` may lie ahead of this clock, and its `exp` behind it (seconds).
pub const CLOCK_SKEW_SECONDS: i64 = 120;
/// How far ahead a token's `exp` may lie (365 days, in seconds).
pub const MAX_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

/// What a token must also carry, besides a good signature and times.
#[derive(Debug, Clone, Default)]
pub struct TokenPolicy {
    /// `AUTH_ISSUER`: the `iss` a token must have.
    pub issuer: Option<String>,
    /// `AUTH_AUDIENCE`: a value the token's `aud` must hold.
    pub audience: Option<String>,
}

/// Why a token was refused (each a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No `Authorization` / `X-Psoxy-Authorization` header.
    #[error("no bearer token (Authorization or X-Psoxy-Authorization)")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the authorization header is not a bearer token")]
    NotBearer,
    /// Not three base64url parts with JSON header and claims.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is not an RSA signature algorithm an accepted key allows (`none`, HMAC, ...).
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// No accepted key verifies the signature.
    #[error("the token's signature does not verify with any accepted key")]
    Signature,
    /// No numeric `iat`.
    #[error("the token has no issued-at time (iat)")]
    NoIssuedAt,
    /// `iat` more than the allowed skew ahead.
    #[error("the token's issued-at time (iat) is in the future")]
    IssuedInFuture,
    /// No numeric `exp`.
    #[error("the token has no expiry (exp)")]
    NoExpiry,
    /// `exp` passed (beyond the allowed skew).
    #[error("the token has expired")]
    Expired,
    /// `exp` more than 365 days ahead.
    #[error("the token's expiry (exp) is more than 365 days ahead")]
    ExpiryTooFar,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer (iss) is not accepted")]
    Issuer,
    /// `aud` does not hold the configured audience.
    #[error("the token's audience (aud) is not accepted")]
    Audience,
}

/// The token of a request's headers: `X-Psoxy-Authorization` when present (a platform
/// authorizer may own `Authorization`), else `Authorization`; `Bearer ` ignoring case.
pub fn bearer_token<'a>(
    psoxy_authorization: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Result<&'a str, TokenRefusal> {
    let header = psoxy_authorization
        .or(authorization)
        .ok_or(TokenRefusal::Missing)?
        .trim();
    let (scheme, token) = header.split_once(' ').ok_or(TokenRefusal::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenRefusal::NotBearer);
    }
    Ok(token.trim())
}

/// Verifies `token` against `keys` at `now` (seconds since the epoch); its claims when good.
pub fn verify(
    token: &str,
    keys: &[Arc<VerifyingKey>],
    policy: &TokenPolicy,
    now: i64,
) -> Result<Map<String, Value>, TokenRefusal> {
    // The header first: `none` and unknown algorithms fail to parse, HMAC is not RSA.
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::Json(_) => TokenRefusal::Algorithm,
        _ => TokenRefusal::Malformed,
    })?;
    let alg = header.alg;
    let candidates: Vec<&Arc<VerifyingKey>> = {
        let mut allowed: Vec<&Arc<VerifyingKey>> = keys
            .iter()
            .filter(|k| k.algorithms.contains(&alg))
            .collect();
        // The key the token names first.
        if let Some(kid) = header.kid.as_deref() {
            allowed.sort_by_key(|k| k.kid != kid);
        }
        allowed
    };
    if candidates.is_empty() {
        return Err(TokenRefusal::Algorithm);
    }
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut refusal = TokenRefusal::Signature;
    let mut claims = None;
    for key in candidates {
        match jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding(), &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => {
                if !matches!(
                    e.kind(),
                    jsonwebtoken::errors::ErrorKind::InvalidSignature
                        | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                        | jsonwebtoken::errors::ErrorKind::Crypto(_)
                ) {
                    refusal = TokenRefusal::Malformed;
                }
            }
        }
    }
    let claims = claims.ok_or(refusal)?;
    check_times(&claims, now)?;
    if let Some(issuer) = &policy.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(TokenRefusal::Issuer);
        }
    }
    if let Some(audience) = &policy.audience {
        let holds = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !holds {
            return Err(TokenRefusal::Audience);
        }
    }
    Ok(claims)
}

fn check_times(claims: &Map<String, Value>, now: i64) -> Result<(), TokenRefusal> {
    let time = |name: &str| claims.get(name).and_then(Value::as_f64);
    let iat = time("iat").ok_or(TokenRefusal::NoIssuedAt)?;
    if iat > (now + CLOCK_SKEW_SECONDS) as f64 {
        return Err(TokenRefusal::IssuedInFuture);
    }
    let exp = time("exp").ok_or(TokenRefusal::NoExpiry)?;
    if exp < (now - CLOCK_SKEW_SECONDS) as f64 {
        return Err(TokenRefusal::Expired);
    }
    if exp > (now + MAX_LIFETIME_SECONDS) as f64 {
        return Err(TokenRefusal::ExpiryTooFar);
    }
    Ok(())
}

/// The algorithms `jsonwebtoken` names as JOSE does (for the discovery document).
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        _ => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_come_from_either_header() {
        assert_eq!(bearer_token(None, Some("Bearer abc")), Ok("abc"));
        assert_eq!(
            bearer_token(Some("bearer xyz"), Some("AWS4 sig")),
            Ok("xyz")
        );
        assert_eq!(bearer_token(None, None), Err(TokenRefusal::Missing));
        assert_eq!(
            bearer_token(None, Some("Basic abc")),
            Err(TokenRefusal::NotBearer)
        );
        assert_eq!(
            bearer_token(None, Some("Bearer ")),
            Err(TokenRefusal::NotBearer)
        );
    }

    #[test]
    fn times_are_checked_with_two_minutes_of_skew() {
        let now = 1_800_000_000;
        let claims = |iat: Option<i64>, exp: Option<i64>| {
            let mut m = Map::new();
            if let Some(i) = iat {
                m.insert("iat".into(), i.into());
            }
            if let Some(e) = exp {
                m.insert("exp".into(), e.into());
            }
            m
        };
        let ok = |i, e| check_times(&claims(i, e), now);
        assert_eq!(ok(Some(now), Some(now + 60)), Ok(()));
        assert_eq!(ok(Some(now + 120), Some(now - 120)), Ok(()));
        assert_eq!(
            ok(Some(now + 121), Some(now + 60)),
            Err(TokenRefusal::IssuedInFuture)
        );
        assert_eq!(ok(Some(now), Some(now - 121)), Err(TokenRefusal::Expired));
        assert_eq!(
            ok(Some(now), Some(now + MAX_LIFETIME_SECONDS + 1)),
            Err(TokenRefusal::ExpiryTooFar)
        );
        assert_eq!(ok(None, Some(now)), Err(TokenRefusal::NoIssuedAt));
        assert_eq!(ok(Some(now), None), Err(TokenRefusal::NoExpiry));
    }
}
