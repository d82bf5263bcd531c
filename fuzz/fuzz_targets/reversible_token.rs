//! Reversible tokens: decrypting arbitrary strings (as given, and behind the `p~` / `e~`
//! prefixes so the base64/AES path is reached) must never panic, and every value must
//! round-trip: decrypt(reversible(s)) == s, decrypt_domain(domain_token(d)) == d and
//! decrypt_ip(encrypt_ip(s)) == canonical_ip(s).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use psoxy::pseudonym::hash::is_blank;
use psoxy::pseudonym::ip::canonical_ip;
use psoxy::pseudonym::{parse_mailbox, DomainHandling, PseudonymSettings, Pseudonymizer};

/// Key derivation (PBKDF2, 65536 rounds) is slow: once per process. Domain handling is
/// ENCRYPT so that `decrypt_domain` has a key (it reuses the main one: same key and salt).
fn pseudonymizer() -> &'static Pseudonymizer {
    static P: OnceLock<Pseudonymizer> = OnceLock::new();
    P.get_or_init(|| {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "fuzz-salt".into(),
            encryption_key: Some("fuzz-key".into()),
            email_domain_handling: DomainHandling::Encrypt,
            ..Default::default()
        })
        .expect("settings are valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let p = pseudonymizer();

    let _ = p.decrypt(s);
    let _ = p.decrypt_domain(s);
    let _ = p.decrypt_ip(s);
    let _ = p.decrypt(&format!("p~{s}"));
    let _ = p.decrypt_domain(&format!("e~{s}"));
    let _ = p.decrypt_ip(&format!("p~{s}"));

    match p.reversible(s).expect("a key is configured") {
        Some(token) => {
            assert!(token.starts_with("p~"));
            match p.decrypt(&token) {
                Ok(back) => assert_eq!(back, s, "decrypt(reversible(s)) != s"),
                Err(e) => panic!("decrypt(reversible({s:?})) failed: {e}"),
            }
        }
        None => assert!(is_blank(s), "no token for a non-blank value"),
    }

    if let Some(m) = parse_mailbox(s) {
        let token = p
            .domain_token(m.domain)
            .expect("ENCRYPT reports the domain");
        match p.decrypt_domain(&token) {
            Ok(back) => assert_eq!(back, m.domain),
            Err(e) => panic!("decrypt_domain(domain_token({:?})) failed: {e}", m.domain),
        }
    }

    match p.encrypt_ip(s).expect("an IP key is configured") {
        Some(token) => {
            let canonical = canonical_ip(s).expect("encrypted, so an IP");
            match p.decrypt_ip(&token) {
                Ok(back) => assert_eq!(back, canonical),
                Err(e) => panic!("decrypt_ip(encrypt_ip({s:?})) failed: {e}"),
            }
        }
        None => assert!(canonical_ip(s).is_none()),
    }
});
