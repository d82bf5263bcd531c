//! Mailbox recognition and canonicalization on arbitrary UTF-8, and the pseudonyms built from
//! them: a pseudonym's hash must be the salted hash of the canonical email (or of the value
//! itself when it is not an email), and the JSON encoding must be valid JSON.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use psoxy::pseudonym::hash::{hash, is_blank};
use psoxy::pseudonym::{
    canonical_email, looks_like_email, parse_mailbox, DomainHandling, EmailCanonicalization,
    PseudonymFormat, PseudonymSettings, Pseudonymizer,
};
use serde_json::Value;

const SALT: &str = "fuzz-salt";

/// Pseudonymizers without encryption keys (nothing slow to derive), one per canonicalization.
fn pseudonymizers() -> &'static [(EmailCanonicalization, Pseudonymizer)] {
    static P: OnceLock<Vec<(EmailCanonicalization, Pseudonymizer)>> = OnceLock::new();
    P.get_or_init(|| {
        [
            (EmailCanonicalization::Strict, DomainHandling::Preserve),
            (EmailCanonicalization::IgnoreDots, DomainHandling::Tokenize),
        ]
        .into_iter()
        .map(|(mode, domains)| {
            let p = Pseudonymizer::new(&PseudonymSettings {
                salt: SALT.into(),
                email_canonicalization: mode,
                email_domain_handling: domains,
                ..Default::default()
            })
            .expect("settings are valid");
            (mode, p)
        })
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let mailbox = parse_mailbox(s);
    assert_eq!(looks_like_email(s), mailbox.is_some());
    if let Some(m) = &mailbox {
        assert!(
            m.domain.is_ascii() && m.local.is_ascii(),
            "non-ASCII email {s:?}"
        );
        assert!(s.contains(m.domain), "domain is not from the input");
        for mode in [
            EmailCanonicalization::Strict,
            EmailCanonicalization::IgnoreDots,
        ] {
            let c = canonical_email(m, mode);
            assert_eq!(
                c,
                c.to_ascii_lowercase(),
                "canonical email is not lower case"
            );
            assert!(
                c.ends_with(&format!("@{}", m.domain.to_ascii_lowercase())),
                "canonical email {c:?} does not end with its domain"
            );
            let local = &c[..c.len() - m.domain.len() - 1];
            assert!(!local.contains('+'), "canonical local part keeps a `+`");
            if mode == EmailCanonicalization::IgnoreDots {
                assert!(!local.contains('.'), "IGNORE_DOTS keeps a `.`");
            }
        }
    }

    for (mode, p) in pseudonymizers() {
        let expected_hash = match &mailbox {
            Some(m) => hash(&canonical_email(m, *mode), SALT),
            None => hash(s, SALT),
        };
        for format in [
            PseudonymFormat::Json,
            PseudonymFormat::UrlSafeToken,
            PseudonymFormat::UrlSafeHashOnly,
        ] {
            let out = p.pseudonymize(s, format);
            assert_eq!(out.is_none(), is_blank(s), "blank handling differs");
            let Some(out) = out else { continue };
            match format {
                PseudonymFormat::UrlSafeHashOnly => assert_eq!(out, expected_hash),
                PseudonymFormat::UrlSafeToken => {
                    let rest = out.strip_prefix("t~").expect("t~ prefix");
                    assert_eq!(&rest[..43], expected_hash);
                    assert_eq!(rest.len() > 43, mailbox.is_some());
                }
                PseudonymFormat::Json => {
                    let v: Value = serde_json::from_str(&out)
                        .unwrap_or_else(|e| panic!("JSON pseudonym {out:?} is not JSON: {e}"));
                    assert_eq!(v["hash"].as_str(), Some(expected_hash.as_str()));
                    assert_eq!(v.get("domain").is_some(), mailbox.is_some());
                }
            }
        }
        assert_eq!(p.token(s), p.pseudonymize(s, PseudonymFormat::UrlSafeToken));
    }
});
