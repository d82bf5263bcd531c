//! Conformance vectors: every entry of `tests/fixtures/vectors.json` must match
//! byte for byte. All failures are collected and reported together.

use std::collections::HashMap;

use psoxy::pseudonym::{
    salt_sha, text_digest, DomainHandling, EmailCanonicalization, PseudonymFormat,
    PseudonymSettings, Pseudonymizer,
};
use serde_json::Value;

/// Pseudonymizers are cached by settings: PBKDF2 key derivation is slow.
#[derive(Default)]
struct Cache(HashMap<String, Pseudonymizer>);

impl Cache {
    fn get(&mut self, settings: PseudonymSettings) -> &Pseudonymizer {
        let key = format!(
            "{}|{:?}|{}|{}|{:?}|{:?}",
            settings.salt,
            settings.encryption_key,
            settings.email_canonicalization,
            settings.email_domain_handling,
            settings.salt_email_domains,
            settings.encryption_key_email_domains
        );
        self.0
            .entry(key)
            .or_insert_with(|| Pseudonymizer::new(&settings).expect("valid settings"))
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field `{name}`"))
}

fn opt_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The input as text: strings as-is, integers as their decimal text.
fn input_text(v: &Value) -> Result<String, String> {
    match v.get("input") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!("unsupported input {other:?}")),
    }
}

fn expected_opt(v: &Value) -> Result<Option<String>, String> {
    match v.get("expected") {
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        other => Err(format!("unsupported expected {other:?}")),
    }
}

fn base_settings(v: &Value) -> Result<PseudonymSettings, String> {
    Ok(PseudonymSettings {
        salt: str_field(v, "salt")?.to_owned(),
        encryption_key: opt_str(v, "encryptionKey"),
        ..Default::default()
    })
}

fn check(cache: &mut Cache, v: &Value) -> Result<(), String> {
    let kind = str_field(v, "kind")?;
    let (actual, expected): (Option<String>, Option<String>) = match kind {
        "pseudonym" => {
            let format: PseudonymFormat = str_field(v, "format")?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let canon: EmailCanonicalization = str_field(v, "emailCanonicalization")?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let p = cache.get(PseudonymSettings {
                email_canonicalization: canon,
                ..base_settings(v)?
            });
            let input = input_text(v)?;
            let actual = p.pseudonymize(&input, format);
            // The hot-path variant must agree.
            let mut out = String::from("prefix|");
            let wrote = p.pseudonymize_into(&input, format, &mut out);
            if wrote != actual.is_some() || (wrote && out[7..] != *actual.as_deref().unwrap()) {
                return Err(format!(
                    "pseudonymize_into disagrees: {out:?} vs {actual:?}"
                ));
            }
            if format == PseudonymFormat::UrlSafeToken && p.token(&input) != actual {
                return Err("token() disagrees with pseudonymize(URL_SAFE_TOKEN)".into());
            }
            (actual, expected_opt(v)?)
        }
        "reversible" => {
            let p = cache.get(base_settings(v)?);
            let input = input_text(v)?;
            let actual = p.reversible(&input).map_err(|e| e.to_string())?;
            if let Some(token) = &actual {
                let back = p
                    .decrypt(token)
                    .map_err(|e| format!("decrypt of own token: {e}"))?;
                if back != input {
                    return Err(format!("decrypt roundtrip gave {back:?}"));
                }
            }
            (actual, expected_opt(v)?)
        }
        "hashIp" => {
            let p = cache.get(base_settings(v)?);
            (p.hash_ip(&input_text(v)?), expected_opt(v)?)
        }
        "encryptIp" => {
            let p = cache.get(base_settings(v)?);
            let actual = p.encrypt_ip(&input_text(v)?).map_err(|e| e.to_string())?;
            (actual, expected_opt(v)?)
        }
        "domainTokenize" | "domainEncrypt" => {
            let handling = if kind == "domainTokenize" {
                DomainHandling::Tokenize
            } else {
                DomainHandling::Encrypt
            };
            let p = cache.get(PseudonymSettings {
                salt: "salt".into(),
                email_domain_handling: handling,
                salt_email_domains: opt_str(v, "saltEmailDomains"),
                encryption_key_email_domains: opt_str(v, "encryptionKeyEmailDomains"),
                ..Default::default()
            });
            let domain = input_text(v)?;
            let direct = p.domain_token(&domain);
            let token = p
                .token(&format!("x@{domain}"))
                .ok_or("no token for x@domain")?;
            let via_email = token.split_once('@').map(|(_, d)| d.to_owned());
            if direct != via_email {
                return Err(format!(
                    "domain_token {direct:?} != token suffix {via_email:?}"
                ));
            }
            if handling == DomainHandling::Encrypt {
                let d = direct.as_deref().ok_or("no domain token")?;
                let back = p.decrypt_domain(d).map_err(|e| e.to_string())?;
                if back != domain {
                    return Err(format!("decrypt_domain gave {back:?}"));
                }
            }
            (direct, expected_opt(v)?)
        }
        "saltSha" => (Some(salt_sha(str_field(v, "salt")?)), expected_opt(v)?),
        "textDigest" => {
            let keywords: Option<Vec<String>> = match v.get("keywords") {
                None | Some(Value::Null) => None,
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .map(|k| k.as_str().map(str::to_owned).ok_or("non-string keyword"))
                        .collect::<Result<_, _>>()?,
                ),
                other => return Err(format!("unsupported keywords {other:?}")),
            };
            let text = input_text(v)?;
            (
                Some(text_digest(&text, keywords.as_deref())),
                expected_opt(v)?,
            )
        }
        "decrypt" => {
            let p = cache.get(base_settings(v)?);
            let actual = p.decrypt(&input_text(v)?).map_err(|e| e.to_string())?;
            (Some(actual), expected_opt(v)?)
        }
        other => return Err(format!("unknown kind {other:?}")),
    };
    if actual == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

#[test]
fn all_vectors_match() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vectors.json");
    let text = std::fs::read_to_string(path).expect("read vectors.json");
    let doc: Value = serde_json::from_str(&text).expect("parse vectors.json");
    let vectors = doc["vectors"].as_array().expect("`vectors` array");
    assert_eq!(vectors.len(), 313, "unexpected number of vectors");

    let mut cache = Cache::default();
    let mut failures = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        if let Err(msg) = check(&mut cache, v) {
            failures.push(format!("#{i} {}: {msg}\n    {v}", v["kind"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
