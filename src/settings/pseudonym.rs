//! The pseudonym settings (salt, keys, email handling): the same in every mode, so a value
//! gets the same pseudonym from the CLI, the bulk function and the proxy.

use super::catalog::{
    EMAIL_CANONICALIZATION, EMAIL_DOMAIN_HANDLING, ENCRYPTION_KEY_EMAIL_DOMAINS, ENCRYPTION_KEY_IP,
    PSOXY_ENCRYPTION_KEY, PSOXY_SALT, SALT_EMAIL_DOMAINS, SALT_IP,
};
use super::{Setting, SettingError, Settings};
use crate::pseudonym::PseudonymSettings;

/// The settings [`pseudonym_settings`] reads.
pub const PSEUDONYM_SETTINGS: &[&Setting] = &[
    &PSOXY_SALT,
    &PSOXY_ENCRYPTION_KEY,
    &EMAIL_CANONICALIZATION,
    &EMAIL_DOMAIN_HANDLING,
    &SALT_EMAIL_DOMAINS,
    &ENCRYPTION_KEY_EMAIL_DOMAINS,
    &SALT_IP,
    &ENCRYPTION_KEY_IP,
];

/// Reads the pseudonym settings; the salt is required.
pub fn pseudonym_settings(settings: &Settings) -> Result<PseudonymSettings, SettingError> {
    let owned = |s: &Setting| settings.get(s).map(str::to_owned);
    let choice = |s: &'static Setting, expected: &'static str| SettingError::Invalid {
        name: s.name,
        expected,
    };
    Ok(PseudonymSettings {
        salt: settings.required(&PSOXY_SALT)?.to_owned(),
        encryption_key: owned(&PSOXY_ENCRYPTION_KEY),
        email_canonicalization: settings
            .get_or_default(&EMAIL_CANONICALIZATION)
            .unwrap_or_default()
            .parse()
            .map_err(|_| choice(&EMAIL_CANONICALIZATION, "STRICT or IGNORE_DOTS"))?,
        email_domain_handling: settings
            .get_or_default(&EMAIL_DOMAIN_HANDLING)
            .unwrap_or_default()
            .parse()
            .map_err(|_| {
                choice(
                    &EMAIL_DOMAIN_HANDLING,
                    "PRESERVE, REDACT, TOKENIZE or ENCRYPT",
                )
            })?,
        salt_email_domains: owned(&SALT_EMAIL_DOMAINS),
        encryption_key_email_domains: owned(&ENCRYPTION_KEY_EMAIL_DOMAINS),
        salt_ip: owned(&SALT_IP),
        encryption_key_ip: owned(&ENCRYPTION_KEY_IP),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::{DomainHandling, EmailCanonicalization};
    use crate::settings::Flags;

    #[test]
    fn defaults_and_choices() {
        let s = Settings::from_sources(PSEUDONYM_SETTINGS, &Flags::new(), &|k| {
            (k == "PSOXY_SALT").then(|| "s".to_owned())
        });
        let p = pseudonym_settings(&s).unwrap();
        assert_eq!(p.email_canonicalization, EmailCanonicalization::Strict);
        assert_eq!(p.email_domain_handling, DomainHandling::Preserve);
        let s = Settings::from_sources(PSEUDONYM_SETTINGS, &Flags::new(), &|k| match k {
            "PSOXY_SALT" => Some("s".into()),
            "EMAIL_DOMAIN_HANDLING" => Some("hide-it".into()),
            _ => None,
        });
        let e = pseudonym_settings(&s).unwrap_err().to_string();
        assert!(
            e.contains("EMAIL_DOMAIN_HANDLING") && !e.contains("hide-it"),
            "{e}"
        );
        let none = Settings::from_sources(PSEUDONYM_SETTINGS, &Flags::new(), &|_| None);
        assert_eq!(
            pseudonym_settings(&none).unwrap_err().to_string(),
            "setting PSOXY_SALT is required but not set"
        );
    }
}
