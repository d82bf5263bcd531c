//! What the webhook tests share: the fixtures' keys and rules, tokens signed with them, and
//! a payload whose sanitized form the tests know.
#![allow(dead_code)]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// The issuer the tokens name (`AUTH_ISSUER`).
pub const ISSUER: &str = "https://hooks.acme.example";
/// An email in every payload (never in a queued message or a log).
pub const ALICE: &str = "alice@acme.example";

/// `tests/fixtures/webhook/<name>`.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhook")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Now, in seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for `sub`: our issuer, issued now, expiring in an hour.
pub fn claims(sub: &str) -> Value {
    json!({"iss": ISSUER, "sub": sub, "iat": now(), "exp": now() + 3600})
}

/// `claims` signed with the fixture key `key` (a PEM file name).
pub fn sign(key: &str, alg: Algorithm, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(fixture(key).as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(alg), claims, &key).unwrap()
}

/// An event of `actor`: the rules pseudonymize the emails and redact the comment.
pub fn payload(actor: &str) -> Value {
    json!({
        "event": "meeting.ended",
        "actor": {"id": actor, "email": ALICE},
        "attendees": ["bob@acme.example", ALICE],
        "comment": "private notes of alice@acme.example",
        "minutes": 30
    })
}
