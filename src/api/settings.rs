//! API-mode settings, read by name from a lookup (the environment, then a parameter store),
//! like bulk mode's.

use std::time::Duration;

use super::auth::{Strategy, AUTH_SETTING_NAMES};
use super::rules::ApiRules;
use crate::bulk::settings::{pseudonym_settings, sha256_hex, PSEUDONYM_SETTING_NAMES};
use crate::pseudonym::PseudonymSettings;

/// Everything the proxy needs.
#[derive(Clone)]
pub struct ApiSettings {
    /// Salt, keys and email handling (shared with bulk mode: same pseudonyms).
    pub pseudonym: PseudonymSettings,
    /// The endpoint rules.
    pub rules: ApiRules,
    /// SHA-256 (hex) of the rules' text (`X-Psoxy-Rules-Sha`).
    pub rules_sha: String,
    /// Base URL requests are forwarded to (`TARGET_HOST`; `https://` when no scheme).
    pub target: reqwest::Url,
    /// Source credentials.
    pub strategy: Strategy,
    /// `UPSTREAM_TIMEOUT_SECONDS` (default 55): the whole upstream exchange.
    pub upstream_timeout: Duration,
    /// `PSOXY_INSTANCE_ID` (default: the Lambda function's name, else `psoxy`): the
    /// connector name caller keys are checked against.
    pub instance_id: String,
}

/// API-mode settings besides the pseudonym and authentication ones.
const OWN_SETTING_NAMES: &[&str] = &[
    "RULES",
    "TARGET_HOST",
    "UPSTREAM_TIMEOUT_SECONDS",
    "PSOXY_INSTANCE_ID",
];

/// Every setting [`ApiSettings::from_lookup`] reads (besides `AWS_LAMBDA_FUNCTION_NAME`).
pub fn setting_names() -> Vec<&'static str> {
    PSEUDONYM_SETTING_NAMES
        .iter()
        .chain(OWN_SETTING_NAMES)
        .chain(AUTH_SETTING_NAMES)
        .copied()
        .collect()
}

/// Default of `UPSTREAM_TIMEOUT_SECONDS`: under a Lambda function URL's limits.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(55);

/// Parses `TARGET_HOST`: a base URL, or a host name (then `https://`).
pub fn parse_target(text: &str) -> Result<reqwest::Url, String> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| format!("setting TARGET_HOST is not a URL or host name: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("setting TARGET_HOST must be an http(s) URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("setting TARGET_HOST must not have a query or fragment".into());
    }
    Ok(url)
}

impl ApiSettings {
    /// Reads the settings by name through `get` (empty values count as unset). Errors name
    /// the setting, never its value.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let pseudonym = pseudonym_settings(&get).map_err(|e| e.to_string())?;
        let rules_text = get("RULES").ok_or("setting RULES is required but not set")?;
        let rules = ApiRules::from_bytes(rules_text.as_bytes())
            .map_err(|e| format!("setting RULES: {e}"))?;
        let target = parse_target(
            &get("TARGET_HOST").ok_or("setting TARGET_HOST is required but not set")?,
        )?;
        let upstream_timeout = match get("UPSTREAM_TIMEOUT_SECONDS") {
            None => DEFAULT_UPSTREAM_TIMEOUT,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s) if (1..=900).contains(&s) => Duration::from_secs(s),
                _ => return Err(
                    "setting UPSTREAM_TIMEOUT_SECONDS is invalid: expected whole seconds, 1 to 900"
                        .into(),
                ),
            },
        };
        Ok(ApiSettings {
            pseudonym,
            rules,
            rules_sha: sha256_hex(rules_text.as_bytes()),
            target,
            strategy: Strategy::from_lookup(&get)?,
            upstream_timeout,
            instance_id: get("PSOXY_INSTANCE_ID")
                .or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "psoxy".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("api.github.com").unwrap().as_str(),
            "https://api.github.com/"
        );
        assert_eq!(
            parse_target("http://127.0.0.1:8080/base").unwrap().as_str(),
            "http://127.0.0.1:8080/base"
        );
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target("https://x/?q=1").is_err());
    }

    #[test]
    fn missing_settings_are_named() {
        let e = ApiSettings::from_lookup(&|k| (k == "PSOXY_SALT").then(|| "s".into()))
            .err()
            .unwrap();
        assert!(e.contains("RULES"), "{e}");
        let e = ApiSettings::from_lookup(&|k| match k {
            "PSOXY_SALT" => Some("s".into()),
            "RULES" => Some("endpoints: []".into()),
            "TARGET_HOST" => Some("api.example.com".into()),
            "UPSTREAM_TIMEOUT_SECONDS" => Some("soon".into()),
            _ => None,
        })
        .err()
        .unwrap();
        assert!(e.contains("UPSTREAM_TIMEOUT_SECONDS"), "{e}");
    }
}
