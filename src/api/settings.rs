//! API-mode settings, read through the one settings lookup ([`crate::settings`]) by both
//! shells: flags (`psoxy serve`), the environment, then the secret store the environment names
//! (`PATH_TO_INSTANCE_CONFIG`, `PATH_TO_SHARED_CONFIG`), where a rotated refresh token is also
//! written back.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "aws")]
use super::auth::shared::LockCreation;
use super::auth::{
    shared_token, AuthSettingsError, CredentialStore, LockTiming, Strategy, AUTH_SETTINGS,
};
use super::ip_allow::IpAllowList;
use super::path_prefix::PathNormalizer;
use super::rules::{ApiRuleSet, RuleSetError};
use crate::pseudonym::PseudonymSettings;
use crate::rules::sha256_hex;
#[cfg(feature = "aws")]
use crate::settings::aws::{AwsStore, Creation, SsmLocks};
use crate::settings::catalog::{
    ALLOWED_DATA_ACCESS_IP_BLOCKS, ASYNC_API_REQUEST_QUEUE_URL, ASYNC_OUTPUT_DESTINATION,
    AWS_LAMBDA_FUNCTION_NAME, FOLLOW_REDIRECTS, K_SERVICE, PATH_TO_INSTANCE_CONFIG,
    PSOXY_INSTANCE_ID, REQUEST_PATH_PREFIX_TO_TRIM, REQUEST_TIMEOUT_SECONDS, RULES,
    S3_FORCE_PATH_STYLE, SIDE_OUTPUT_ORIGINAL, SIDE_OUTPUT_SANITIZED, SSM_KMS_KEY_ID, TARGET_HOST,
    TLS_VERSION, TRUST_FORWARDED_FOR, UPSTREAM_TIMEOUT_SECONDS, USER_AGENT,
};
#[cfg(feature = "aws")]
use crate::settings::remote::StoreFuture;
#[cfg(feature = "aws")]
use crate::settings::SecretStore;
use crate::settings::{
    instance_id, pseudonym_settings, Flags, RemoteError, Setting, SettingError, Settings,
    StoreLocation, PSEUDONYM_SETTINGS,
};

/// Everything the proxy needs.
pub struct ApiSettings {
    /// Salt, keys and email handling (shared with bulk mode: same pseudonyms).
    pub pseudonym: PseudonymSettings,
    /// The endpoint rules, compiled.
    pub rules: ApiRuleSet,
    /// SHA-256 (hex) of the rules' text (`X-Psoxy-Rules-Sha`).
    pub rules_sha: String,
    /// Base URL requests are forwarded to (`TARGET_HOST`; `https://` when no scheme).
    pub target: reqwest::Url,
    /// Source credentials.
    pub strategy: Strategy,
    /// The access token is shared between instances, with these lock pauses
    /// (`USE_SHARED_TOKEN`).
    pub shared_token: Option<LockTiming>,
    /// `UPSTREAM_TIMEOUT_SECONDS` (default 55): the whole upstream exchange.
    pub upstream_timeout: Duration,
    /// `TLS_VERSION=TLSv1.2`: the highest TLS version towards the source and the token
    /// endpoint (`None`: 1.2 or 1.3, as negotiated).
    pub max_tls: Option<reqwest::tls::Version>,
    /// `PSOXY_INSTANCE_ID` (default: the Lambda function's name, else `psoxy`): the
    /// connector name caller keys are checked against.
    pub instance_id: String,
    /// `ALLOWED_DATA_ACCESS_IP_BLOCKS`: the callers allowed by address (disabled when unset).
    pub ip_allow: IpAllowList,
    /// `TRUST_FORWARDED_FOR`: the client address is the first `X-Forwarded-For` hop.
    pub trust_forwarded_for: bool,
    /// `REQUEST_PATH_PREFIX_TO_TRIM` and the function's name, removed from request paths.
    pub paths: PathNormalizer,
    /// `FOLLOW_REDIRECTS` (Psoxy's reading: unset or `true` in any case follows).
    pub follow_redirects: bool,
    /// `USER_AGENT`, or ours.
    pub user_agent: String,
    /// `ASYNC_OUTPUT_DESTINATION`: asynchronous requests are on (the shell builds the leg).
    pub async_destination: Option<crate::storage::ObjectPrefix>,
    /// `ASYNC_API_REQUEST_QUEUE_URL`.
    pub async_queue_url: Option<String>,
    /// `SIDE_OUTPUT_SANITIZED`.
    pub side_output_sanitized: Option<crate::storage::ObjectPrefix>,
    /// `SIDE_OUTPUT_ORIGINAL`.
    pub side_output_original: Option<crate::storage::ObjectPrefix>,
    /// `S3_FORCE_PATH_STYLE`: path-style addresses for the async and side-output buckets.
    pub s3_path_style: bool,
}

/// A setting of the proxy that is missing or invalid. Names the setting, never its value.
#[derive(Debug, thiserror::Error)]
pub enum ApiSettingsError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// `TARGET_HOST` is not a URL.
    #[error("setting TARGET_HOST is not a URL or host name: {0}")]
    TargetNotUrl(#[source] url::ParseError),
    /// `TARGET_HOST` is not an http(s) URL with a host.
    #[error("setting TARGET_HOST must be an http(s) URL with a host")]
    TargetNotHttp,
    /// `TARGET_HOST` has a query or fragment.
    #[error("setting TARGET_HOST must not have a query or fragment")]
    TargetHasQuery,
    /// The rules do not load or do not compile.
    #[error("setting RULES: {0}")]
    Rules(#[from] RuleSetError),
    /// An output setting is not an S3 URL.
    #[error(transparent)]
    OutputPrefix(#[from] crate::storage::NotAPrefix),
    /// The source credentials are incomplete or malformed.
    #[error(transparent)]
    Auth(#[from] AuthSettingsError),
    /// The secret store could not be read.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// This build cannot read the secret store.
    #[error(transparent)]
    NotBuilt(#[from] crate::features::NotBuilt),
    /// Secret Manager cannot be used.
    #[cfg(feature = "gcp")]
    #[error(transparent)]
    GcpStore(#[from] crate::settings::gcp::GcpStoreError),
}

/// API-mode settings besides the pseudonym and authentication ones.
const OWN_SETTINGS: &[&Setting] = &[
    &RULES,
    &TARGET_HOST,
    &UPSTREAM_TIMEOUT_SECONDS,
    &REQUEST_TIMEOUT_SECONDS,
    &TLS_VERSION,
    &PSOXY_INSTANCE_ID,
    &AWS_LAMBDA_FUNCTION_NAME,
    &K_SERVICE,
    &SSM_KMS_KEY_ID,
    &ALLOWED_DATA_ACCESS_IP_BLOCKS,
    &TRUST_FORWARDED_FOR,
    &REQUEST_PATH_PREFIX_TO_TRIM,
    &FOLLOW_REDIRECTS,
    &USER_AGENT,
    &ASYNC_OUTPUT_DESTINATION,
    &ASYNC_API_REQUEST_QUEUE_URL,
    &SIDE_OUTPUT_SANITIZED,
    &SIDE_OUTPUT_ORIGINAL,
    &S3_FORCE_PATH_STYLE,
];

/// The User-Agent towards the source when `USER_AGENT` is unset.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "psoxy/",
    env!("CARGO_PKG_VERSION"),
    " (API Data Sanitization; Rust)"
);

/// Every setting the proxy reads.
pub fn api_settings() -> Vec<&'static Setting> {
    PSEUDONYM_SETTINGS
        .iter()
        .chain(OWN_SETTINGS)
        .chain(AUTH_SETTINGS)
        .copied()
        .collect()
}

/// Parses `TARGET_HOST`: a base URL, or a host name (then `https://`).
pub fn parse_target(text: &str) -> Result<reqwest::Url, ApiSettingsError> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(ApiSettingsError::TargetNotUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiSettingsError::TargetNotHttp);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ApiSettingsError::TargetHasQuery);
    }
    Ok(url)
}

impl ApiSettings {
    /// Reads the proxy's settings from `settings` (resolved with [`api_settings`]).
    pub fn from_settings(settings: &Settings) -> Result<Self, ApiSettingsError> {
        let pseudonym = pseudonym_settings(settings)?;
        let rules_text = settings.required(&RULES)?;
        let rules = ApiRuleSet::from_bytes(rules_text.as_bytes())?;
        let target = parse_target(settings.required(&TARGET_HOST)?)?;
        let timeout_text = settings
            .either(&UPSTREAM_TIMEOUT_SECONDS, &REQUEST_TIMEOUT_SECONDS)?
            .or(UPSTREAM_TIMEOUT_SECONDS.default)
            .ok_or(SettingError::Missing(UPSTREAM_TIMEOUT_SECONDS.name))?;
        // Psoxy's value names the JDK's SSLContext, whose `TLSv1.3` still speaks 1.2 and
        // whose `TLSv1.2` stops at 1.2: a highest version, not a lowest.
        let max_tls = match settings
            .get(&TLS_VERSION)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None => None,
            Some(v) if v == "tlsv1.3" => None,
            Some(v) if v == "tlsv1.2" => Some(reqwest::tls::Version::TLS_1_2),
            Some(_) => {
                return Err(SettingError::Invalid {
                    name: TLS_VERSION.name,
                    expected: "TLSv1.3 or TLSv1.2",
                }
                .into())
            }
        };
        let upstream_timeout = match timeout_text.trim().parse::<u64>() {
            Ok(s) if (1..=900).contains(&s) => Duration::from_secs(s),
            _ => {
                return Err(SettingError::Invalid {
                    name: UPSTREAM_TIMEOUT_SECONDS.name,
                    expected: "whole seconds, 1 to 900",
                }
                .into())
            }
        };
        let (ip_allow, invalid_blocks) =
            IpAllowList::parse(settings.get(&ALLOWED_DATA_ACCESS_IP_BLOCKS).unwrap_or(""));
        if !invalid_blocks.is_empty() {
            tracing::warn!(
                invalid = invalid_blocks.len(),
                "ALLOWED_DATA_ACCESS_IP_BLOCKS has entries that are not addresses or CIDR blocks; they are ignored"
            );
        }
        let paths = PathNormalizer::new(
            settings.get(&REQUEST_PATH_PREFIX_TO_TRIM),
            settings
                .get(&AWS_LAMBDA_FUNCTION_NAME)
                .or_else(|| settings.get(&K_SERVICE)),
        );
        let strategy = Strategy::from_settings(settings)?;
        Ok(ApiSettings {
            ip_allow,
            trust_forwarded_for: settings.flag(&TRUST_FORWARDED_FOR)?,
            paths,
            follow_redirects: super::upstream::follow_redirects(settings.get(&FOLLOW_REDIRECTS)),
            user_agent: settings
                .get(&USER_AGENT)
                .map_or_else(|| DEFAULT_USER_AGENT.to_owned(), str::to_owned),
            pseudonym,
            rules,
            rules_sha: sha256_hex(rules_text.as_bytes()),
            target,
            shared_token: shared_token(settings, &strategy)?,
            strategy,
            upstream_timeout,
            max_tls,
            instance_id: instance_id(settings),
            async_destination: settings
                .get(&ASYNC_OUTPUT_DESTINATION)
                .map(|v| crate::storage::ObjectPrefix::parse(v, ASYNC_OUTPUT_DESTINATION.name))
                .transpose()?,
            async_queue_url: settings
                .get(&ASYNC_API_REQUEST_QUEUE_URL)
                .map(|s| s.trim().to_owned()),
            side_output_sanitized: settings
                .get(&SIDE_OUTPUT_SANITIZED)
                .map(|v| crate::storage::ObjectPrefix::parse(v, SIDE_OUTPUT_SANITIZED.name))
                .transpose()?,
            side_output_original: settings
                .get(&SIDE_OUTPUT_ORIGINAL)
                .map(|v| crate::storage::ObjectPrefix::parse(v, SIDE_OUTPUT_ORIGINAL.name))
                .transpose()?,
            s3_path_style: settings.flag(&S3_FORCE_PATH_STYLE)?,
        })
    }
}

#[cfg(feature = "aws")]
/// The secret store as the source credentials use it: rotated refresh tokens and the shared
/// access token are written to, and read from, the first prefix (the instance namespace); the
/// shared token's lock is an SSM parameter there.
struct ApiStore {
    store: AwsStore,
    locks: SsmLocks,
    location: StoreLocation,
}

#[cfg(feature = "aws")]
impl ApiStore {
    fn name(&self, setting: &str) -> String {
        self.location
            .first_name(setting)
            .unwrap_or_else(|| setting.to_owned())
    }
}

#[cfg(feature = "aws")]
impl CredentialStore for ApiStore {
    fn write<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.store.put(&self.name(name), value).await })
    }

    fn read<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move { self.store.get_current(&self.name(name)).await })
    }

    fn create_lock<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, LockCreation> {
        Box::pin(async move {
            Ok(match self.locks.create(&self.name(name), value).await? {
                Creation::Created => LockCreation::Created,
                Creation::Exists { last_modified } => LockCreation::Exists {
                    age: last_modified.and_then(|t| t.elapsed().ok()),
                },
            })
        })
    }

    fn read_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move { self.locks.read(&self.name(name)).await })
    }

    fn delete_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.locks.delete(&self.name(name)).await })
    }
}

/// `env`, with the instance namespace defaulting to the function's or service's name (Psoxy's
/// `PSOXY_ZOOM_` for `psoxy-zoom`).
fn with_instance_namespace<'a>(
    env: &'a dyn Fn(&str) -> Option<String>,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        env(name).or_else(|| {
            (name == PATH_TO_INSTANCE_CONFIG.name)
                .then(|| crate::settings::function_name(env))
                .flatten()
                .map(|f| StoreLocation::function_namespace(&f))
        })
    }
}

/// The proxy's settings on Google Cloud: `env` (Cloud Run binds secrets as variables), then
/// Secret Manager under the instance namespace (default: the service's name) and the shared
/// one; with Secret Manager as the store of rotated refresh tokens and the shared token.
#[cfg(feature = "gcp")]
pub async fn resolve_gcp(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Option<Arc<dyn CredentialStore>>), ApiSettingsError> {
    use crate::settings::gcp::store_from_env;
    let wanted = api_settings();
    let lookup = with_instance_namespace(env);
    let Some((location, store)) = store_from_env(&lookup).await? else {
        return Ok((Settings::from_sources(&wanted, &Flags::new(), env), None));
    };
    let settings =
        Settings::resolve(&wanted, &Flags::new(), env, Some((&location, &store))).await?;
    let writer: Arc<dyn CredentialStore> = Arc::new(
        super::gcp_store::SecretManagerCredentials::new(store, location),
    );
    Ok((settings, Some(writer)))
}

/// The proxy's settings: `flags`, then `env`, then the secret store `env` names (none: flags
/// and `env` only); with the store of rotated refresh tokens and the shared access token when
/// there is one.
pub async fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Option<Arc<dyn CredentialStore>>), ApiSettingsError> {
    let wanted = api_settings();
    let location = StoreLocation::from_lookup(&with_instance_namespace(env))?;
    let Some(location) = location else {
        return Ok((Settings::from_sources(&wanted, flags, env), None));
    };
    aws_store_settings(&wanted, location, flags, env).await
}

/// Without the `aws` feature there is no SSM or Secrets Manager to read.
#[cfg(not(feature = "aws"))]
async fn aws_store_settings(
    _: &[&'static crate::settings::Setting],
    _: StoreLocation,
    _: &Flags,
    _: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Option<Arc<dyn CredentialStore>>), ApiSettingsError> {
    let needed_by = "a secret store (SSM Parameter Store or Secrets Manager)";
    Err(crate::features::NotBuilt::aws(needed_by).into())
}

/// The settings from `flags`, `env` and the AWS store at `location`, with that store as the
/// store of rotated refresh tokens and the shared token.
#[cfg(feature = "aws")]
async fn aws_store_settings(
    wanted: &[&'static crate::settings::Setting],
    location: StoreLocation,
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Option<Arc<dyn CredentialStore>>), ApiSettingsError> {
    let sdk = crate::aws_sdk::sdk_config().await;
    // The key encrypts what is written to the store, so it is read before the store is.
    let kms = Settings::from_sources(&[&SSM_KMS_KEY_ID], flags, env)
        .get(&SSM_KMS_KEY_ID)
        .map(str::to_owned);
    let store = AwsStore::new(location.kind, &sdk, kms);
    let settings = Settings::resolve(wanted, flags, env, Some((&location, &store))).await?;
    let writer: Arc<dyn CredentialStore> = Arc::new(ApiStore {
        store,
        locks: SsmLocks::new(&sdk),
        location,
    });
    Ok((settings, Some(writer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &'static [(&'static str, &'static str)]) -> Settings {
        Settings::from_sources(
            &api_settings(),
            &Flags::new(),
            &crate::settings::test_lookup(pairs),
        )
    }

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
        let e = ApiSettings::from_settings(&settings(&[("PSOXY_SALT", "s")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("RULES"), "{e}");
        let e = ApiSettings::from_settings(&settings(&[
            ("PSOXY_SALT", "s"),
            ("RULES", "endpoints: []"),
            ("TARGET_HOST", "api.example.com"),
            ("UPSTREAM_TIMEOUT_SECONDS", "soon"),
        ]))
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("UPSTREAM_TIMEOUT_SECONDS"), "{e}");
    }

    #[test]
    fn psoxys_timeout_name_and_tls_version() {
        const BASE: [(&str, &str); 4] = [
            ("PSOXY_SALT", "s"),
            ("RULES", "endpoints: []"),
            ("TARGET_HOST", "api.example.com"),
            ("SOURCE_AUTH_STRATEGY", "none"),
        ];
        let with = |extra: &'static [(&'static str, &'static str)]| {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak([&BASE[..], extra].concat().into_boxed_slice());
            ApiSettings::from_settings(&settings(pairs))
        };
        let s = with(&[
            ("REQUEST_TIMEOUT_SECONDS", "180"),
            ("TLS_VERSION", "TLSv1.2"),
        ])
        .unwrap();
        assert_eq!(s.upstream_timeout, Duration::from_secs(180));
        assert_eq!(s.max_tls, Some(reqwest::tls::Version::TLS_1_2));
        let s = with(&[("TLS_VERSION", "tlsv1.3")]).unwrap();
        assert_eq!(s.max_tls, None);
        let s = with(&[]).unwrap();
        assert_eq!(s.upstream_timeout, Duration::from_secs(55));
        assert_eq!(s.max_tls, None);
        let e = with(&[
            ("REQUEST_TIMEOUT_SECONDS", "180"),
            ("UPSTREAM_TIMEOUT_SECONDS", "55"),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("UPSTREAM_TIMEOUT_SECONDS and REQUEST_TIMEOUT_SECONDS are both set"),
            "{e}"
        );
        let e = with(&[("TLS_VERSION", "SSLv3")]).err().unwrap().to_string();
        assert!(e.contains("TLS_VERSION") && !e.contains("SSLv3"), "{e}");
    }
}
