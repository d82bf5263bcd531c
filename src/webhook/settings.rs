//! The collector's and batch handler's settings, read through the one settings lookup.

use super::cors::AllowOrigins;
use super::jwt::TokenPolicy;
use super::keys::{AcceptedKeys, KeySettingError};
use crate::api::ip_allow::IpAllowList;
use crate::pseudonym::PseudonymSettings;
use crate::rules::sha256_hex;
use crate::rules::webhook::{WebhookRules, WebhookRulesError};
use crate::settings::catalog::{
    ACCEPTED_AUTH_KEYS, ALLOWED_DATA_ACCESS_IP_BLOCKS, ALLOW_ORIGINS, AUTH_AUDIENCE, AUTH_ISSUER,
    AWS_LAMBDA_FUNCTION_NAME, PSOXY_INSTANCE_ID, REQUIRE_AUTHORIZATION_HEADER, RULES,
    S3_FORCE_PATH_STYLE, WEBHOOK_BATCH_OUTPUT, WEBHOOK_OUTPUT,
};
use crate::settings::{
    pseudonym_settings, Flags, RemoteError, SecretStore, Setting, SettingError, Settings,
    StoreLocation, PSEUDONYM_SETTINGS,
};
use crate::storage::{NotAPrefix, ObjectPrefix};

/// The collector's settings besides the pseudonym ones.
const OWN_SETTINGS: &[&Setting] = &[
    &RULES,
    &ACCEPTED_AUTH_KEYS,
    &REQUIRE_AUTHORIZATION_HEADER,
    &AUTH_ISSUER,
    &AUTH_AUDIENCE,
    &ALLOW_ORIGINS,
    &ALLOWED_DATA_ACCESS_IP_BLOCKS,
    &WEBHOOK_OUTPUT,
    &WEBHOOK_BATCH_OUTPUT,
    &PSOXY_INSTANCE_ID,
    &AWS_LAMBDA_FUNCTION_NAME,
    &S3_FORCE_PATH_STYLE,
];

/// Every setting the collector and its batch handler read.
pub fn webhook_settings() -> Vec<&'static Setting> {
    PSEUDONYM_SETTINGS
        .iter()
        .chain(OWN_SETTINGS)
        .copied()
        .collect()
}

/// A setting of the collector that is missing or invalid. Names it, never its value.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSettingsError {
    /// Missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The rules do not load.
    #[error("setting RULES: {0}")]
    Rules(#[from] WebhookRulesError),
    /// `ACCEPTED_AUTH_KEYS` does not parse.
    #[error(transparent)]
    Keys(#[from] KeySettingError),
    /// Tokens are not checked, yet the rules bind claims.
    #[error("REQUIRE_AUTHORIZATION_HEADER is false but the rules have jwtClaimsToVerify: claims can only be checked on tokens the collector verifies")]
    ClaimsWithoutTokens,
    /// `WEBHOOK_BATCH_OUTPUT` does not parse.
    #[error(transparent)]
    BatchOutput(#[from] NotAPrefix),
    /// The secret store could not be read.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// What the collector needs.
#[derive(Debug)]
pub struct WebhookSettings {
    /// Salt, keys and email handling (the same pseudonyms as every mode).
    pub pseudonym: PseudonymSettings,
    /// The rules.
    pub rules: WebhookRules,
    /// SHA-256 (hex) of the rules' text.
    pub rules_sha: String,
    /// The token check (`None`: `REQUIRE_AUTHORIZATION_HEADER=false`).
    pub auth: Option<(AcceptedKeys, TokenPolicy)>,
    /// `AUTH_ISSUER`, for the discovery document.
    pub issuer: Option<String>,
    /// `ALLOW_ORIGINS`.
    pub origins: AllowOrigins,
    /// `ALLOWED_DATA_ACCESS_IP_BLOCKS`.
    pub ip_allow: IpAllowList,
    /// `WEBHOOK_OUTPUT`: the queue's URL.
    pub queue_url: Option<String>,
    /// `WEBHOOK_BATCH_OUTPUT`.
    pub batch_output: Option<ObjectPrefix>,
}

impl WebhookSettings {
    /// Reads the settings (resolved with [`webhook_settings`]); `kms` fetches `aws-kms:` keys.
    pub fn from_settings(
        settings: &Settings,
        kms: Option<super::keys::KmsClient>,
    ) -> Result<WebhookSettings, WebhookSettingsError> {
        let pseudonym = pseudonym_settings(settings)?;
        let rules_text = settings.required(&RULES)?;
        let rules = WebhookRules::from_bytes(rules_text.as_bytes())?;
        let issuer = settings.get(&AUTH_ISSUER).map(|s| s.trim().to_owned());
        let auth = if settings.flag(&REQUIRE_AUTHORIZATION_HEADER)? {
            let keys = AcceptedKeys::parse(settings.required(&ACCEPTED_AUTH_KEYS)?, kms)?;
            let policy = TokenPolicy {
                issuer: issuer.clone(),
                audience: settings.get(&AUTH_AUDIENCE).map(|s| s.trim().to_owned()),
            };
            Some((keys, policy))
        } else {
            let binds = !rules.jwt_claims_to_verify.is_empty()
                || rules
                    .endpoints
                    .iter()
                    .any(|e| !e.jwt_claims_to_verify.is_empty());
            if binds {
                return Err(WebhookSettingsError::ClaimsWithoutTokens);
            }
            tracing::warn!("REQUIRE_AUTHORIZATION_HEADER=false: webhooks are accepted without a token; something in front must authenticate them");
            None
        };
        let (ip_allow, invalid) =
            IpAllowList::parse(settings.get(&ALLOWED_DATA_ACCESS_IP_BLOCKS).unwrap_or(""));
        if !invalid.is_empty() {
            tracing::warn!(
                invalid = invalid.len(),
                "ALLOWED_DATA_ACCESS_IP_BLOCKS has entries that are not addresses or CIDR blocks; they are ignored"
            );
        }
        Ok(WebhookSettings {
            pseudonym,
            rules_sha: sha256_hex(rules_text.as_bytes()),
            rules,
            auth,
            issuer,
            origins: AllowOrigins::parse(settings.get_or_default(&ALLOW_ORIGINS).unwrap_or("*")),
            ip_allow,
            queue_url: settings.get(&WEBHOOK_OUTPUT).map(|s| s.trim().to_owned()),
            batch_output: settings
                .get(&WEBHOOK_BATCH_OUTPUT)
                .map(|v| ObjectPrefix::parse(v, WEBHOOK_BATCH_OUTPUT.name))
                .transpose()?,
        })
    }
}

/// The settings from `flags`, then `env`, then the parameter store `env` names.
pub async fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    remote: Option<(&StoreLocation, &dyn SecretStore)>,
) -> Result<Settings, RemoteError> {
    Settings::resolve(&webhook_settings(), flags, env, remote).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        pairs: &'static [(&'static str, &'static str)],
    ) -> Result<WebhookSettings, WebhookSettingsError> {
        WebhookSettings::from_settings(
            &Settings::from_sources(
                &webhook_settings(),
                &Flags::new(),
                &crate::settings::test_lookup(pairs),
            ),
            None,
        )
    }

    const RULES_TEXT: &str = "endpoints: [{jwtClaimsToVerify: {sub: {payloadContents: ['$.a']}}}]";

    #[test]
    fn tokens_are_required_by_default_and_claims_need_them() {
        let e = read(&[("PSOXY_SALT", "s"), ("RULES", RULES_TEXT)]).unwrap_err();
        assert!(e.to_string().contains("ACCEPTED_AUTH_KEYS"), "{e}");
        let e = read(&[
            ("PSOXY_SALT", "s"),
            ("RULES", RULES_TEXT),
            ("REQUIRE_AUTHORIZATION_HEADER", "false"),
        ])
        .unwrap_err();
        assert!(matches!(e, WebhookSettingsError::ClaimsWithoutTokens));
        let s = read(&[
            ("PSOXY_SALT", "s"),
            ("RULES", "endpoints: [{}]"),
            ("REQUIRE_AUTHORIZATION_HEADER", "false"),
            ("WEBHOOK_BATCH_OUTPUT", "s3://out/hooks"),
        ])
        .unwrap();
        assert!(s.auth.is_none());
        assert_eq!(s.origins, AllowOrigins::Any);
        assert_eq!(s.batch_output.unwrap().prefix, "hooks/");
    }
}
