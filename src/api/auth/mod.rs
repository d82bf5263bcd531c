//! Source authentication: the credentials the proxy adds to every request it forwards
//! (SPEC-API "Source authentication"). Callers never see them.
//!
//! | `SOURCE_AUTH_STRATEGY` | settings |
//! |---|---|
//! | `none` | |
//! | `bearer` | `ACCESS_TOKEN` |
//! | `header` | `API_KEY_HEADER` (name), `ACCESS_TOKEN` (value) |
//! | `basic` | `BASIC_AUTH_USER`, `BASIC_AUTH_PASSWORD` |
//! | `oauth2_client_credentials` | `TOKEN_ENDPOINT`, `CLIENT_ID`, `CLIENT_SECRET`, `OAUTH_SCOPES`, `TOKEN_REQUEST_FORMAT` (`form` or `json`) |
//! | `oauth2_refresh_token` | the same plus `REFRESH_TOKEN` (a rotated one is written back) |
//! | `google_service_account` | `SERVICE_ACCOUNT_KEY` (the key JSON), `OAUTH_SCOPES`, `ACCOUNT_TO_IMPERSONATE` |
//! | `ms_workload_identity` | `MS_TENANT_ID`, `CLIENT_ID`, `MS_FEDERATED_TOKEN_FILE`, `OAUTH_SCOPES` |
//!
//! Tokens are cached and refreshed a few minutes before they expire (with jitter, so many
//! instances do not refresh together); [`SourceAuth::credentials`] with `force` set gets a
//! new one (after a 401 from the source). Errors never contain a secret.

mod google;
mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

pub use google::{ServiceAccountKey, ServiceAccountKeyError};
pub use token::{TokenError, TokenGrant, TokenRequestFormat};

use crate::settings::catalog::{
    ACCESS_TOKEN, ACCOUNT_TO_IMPERSONATE, API_KEY_HEADER, BASIC_AUTH_PASSWORD, BASIC_AUTH_USER,
    CLIENT_ID, CLIENT_SECRET, MS_FEDERATED_TOKEN_FILE, MS_TENANT_ID, OAUTH_SCOPES, REFRESH_TOKEN,
    SERVICE_ACCOUNT_KEY, SOURCE_AUTH_STRATEGY, TOKEN_ENDPOINT, TOKEN_REQUEST_FORMAT,
};
use crate::settings::remote::StoreFuture;
use crate::settings::{Setting, SettingError, Settings};

/// Every setting the strategies read (resolved like the other settings).
pub const AUTH_SETTINGS: &[&Setting] = &[
    &SOURCE_AUTH_STRATEGY,
    &ACCESS_TOKEN,
    &API_KEY_HEADER,
    &BASIC_AUTH_USER,
    &BASIC_AUTH_PASSWORD,
    &TOKEN_ENDPOINT,
    &CLIENT_ID,
    &CLIENT_SECRET,
    &OAUTH_SCOPES,
    &TOKEN_REQUEST_FORMAT,
    &REFRESH_TOKEN,
    &SERVICE_ACCOUNT_KEY,
    &ACCOUNT_TO_IMPERSONATE,
    &MS_TENANT_ID,
    &MS_FEDERATED_TOKEN_FILE,
];

/// The source credentials' settings are incomplete or malformed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum AuthSettingsError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// `SERVICE_ACCOUNT_KEY` is not a usable key.
    #[error(transparent)]
    ServiceAccountKey(#[from] ServiceAccountKeyError),
}

/// How the proxy authenticates to the source, with its secrets.
#[derive(Clone)]
pub enum Strategy {
    /// No credentials (public APIs, tests).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A header of the source's choosing (`X-API-Key: <value>`).
    Header {
        /// The header's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// An OAuth 2.0 token endpoint grant (client credentials, refresh token, JWT bearer for
    /// Google service accounts, federated client assertion for Microsoft).
    OAuth(TokenGrant),
}

impl std::fmt::Debug for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Strategy {
    /// The strategy's name as `SOURCE_AUTH_STRATEGY` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Bearer(_) => "bearer",
            Strategy::Header { .. } => "header",
            Strategy::Basic { .. } => "basic",
            Strategy::OAuth(g) => g.strategy_name(),
        }
    }

    /// Reads the strategy and its settings. Errors name the missing or invalid setting,
    /// never a value.
    pub fn from_settings(settings: &Settings) -> Result<Strategy, AuthSettingsError> {
        let get = |s: &Setting| settings.get(s).map(str::to_owned);
        let need = |s: &'static Setting| {
            get(s).ok_or(SettingError::RequiredBy {
                name: s.name,
                by: SOURCE_AUTH_STRATEGY.name,
            })
        };
        let name = settings
            .get_or_default(&SOURCE_AUTH_STRATEGY)
            .unwrap_or("none")
            .trim()
            .to_ascii_lowercase();
        let scopes = || -> Vec<String> {
            get(&OAUTH_SCOPES)
                .map(|s| {
                    s.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let format = || -> Result<TokenRequestFormat, SettingError> {
            match get(&TOKEN_REQUEST_FORMAT)
                .map(|f| f.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("form") => Ok(TokenRequestFormat::Form),
                Some("json") => Ok(TokenRequestFormat::Json),
                Some(_) => Err(SettingError::Invalid {
                    name: TOKEN_REQUEST_FORMAT.name,
                    expected: "form or json",
                }),
            }
        };
        Ok(match name.as_str() {
            "none" => Strategy::None,
            "bearer" => Strategy::Bearer(need(&ACCESS_TOKEN)?),
            "header" => Strategy::Header {
                name: need(&API_KEY_HEADER)?,
                value: need(&ACCESS_TOKEN)?,
            },
            "basic" => Strategy::Basic {
                user: need(&BASIC_AUTH_USER)?,
                password: need(&BASIC_AUTH_PASSWORD)?,
            },
            "oauth2_client_credentials" => Strategy::OAuth(TokenGrant::ClientCredentials {
                endpoint: need(&TOKEN_ENDPOINT)?,
                client_id: need(&CLIENT_ID)?,
                client_secret: need(&CLIENT_SECRET)?,
                scopes: scopes(),
                format: format()?,
            }),
            "oauth2_refresh_token" => Strategy::OAuth(TokenGrant::RefreshToken {
                endpoint: need(&TOKEN_ENDPOINT)?,
                client_id: need(&CLIENT_ID)?,
                client_secret: need(&CLIENT_SECRET)?,
                refresh_token: Arc::new(std::sync::Mutex::new(need(&REFRESH_TOKEN)?)),
                scopes: scopes(),
                format: format()?,
            }),
            "google_service_account" => {
                let key = ServiceAccountKey::parse(&need(&SERVICE_ACCOUNT_KEY)?)?;
                Strategy::OAuth(TokenGrant::GoogleServiceAccount {
                    endpoint: get(&TOKEN_ENDPOINT).unwrap_or_else(|| key.token_uri.clone()),
                    key: Box::new(key),
                    scopes: scopes(),
                    subject: get(&ACCOUNT_TO_IMPERSONATE),
                })
            }
            "ms_workload_identity" => {
                let tenant = need(&MS_TENANT_ID)?;
                Strategy::OAuth(TokenGrant::FederatedAssertion {
                    endpoint: get(&TOKEN_ENDPOINT).unwrap_or_else(|| {
                        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
                    }),
                    client_id: need(&CLIENT_ID)?,
                    assertion_file: need(&MS_FEDERATED_TOKEN_FILE)?,
                    scopes: {
                        let s: Vec<String> = scopes();
                        if s.is_empty() {
                            vec!["https://graph.microsoft.com/.default".into()]
                        } else {
                            s
                        }
                    },
                })
            }
            _ => {
                // The value is not repeated: errors never show setting values.
                return Err(SettingError::Invalid {
                    name: SOURCE_AUTH_STRATEGY.name,
                    expected: "none, bearer, header, basic, oauth2_client_credentials, oauth2_refresh_token, google_service_account or ms_workload_identity",
                }
                .into());
            }
        })
    }
}

/// The source credentials could not be obtained. Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[error("source authentication ({strategy}) failed: {source}")]
pub struct AuthError {
    /// The strategy's name.
    pub strategy: &'static str,
    /// What went wrong (a status, an OAuth error code, a setting name).
    pub source: TokenError,
}

/// Where a rotated refresh token is written back.
pub trait SecretWriter: Send + Sync {
    /// Stores `value` as the setting `name`.
    fn write<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()>;
}

#[derive(Clone)]
struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

/// Source credentials with their token cache. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct SourceAuth {
    strategy: Strategy,
    http: reqwest::Client,
    cache: Arc<Mutex<Option<CachedToken>>>,
    writer: Option<Arc<dyn SecretWriter>>,
}

/// How long before a token's expiry it is refreshed (plus up to [`REFRESH_JITTER`]).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(180);
/// Random extra margin, so instances do not all refresh at once.
pub const REFRESH_JITTER: Duration = Duration::from_secs(60);

impl SourceAuth {
    /// Credentials of `strategy`; token requests go through `http`, rotated refresh tokens
    /// to `writer` (when there is one).
    pub fn new(
        strategy: Strategy,
        http: reqwest::Client,
        writer: Option<Arc<dyn SecretWriter>>,
    ) -> Self {
        SourceAuth {
            strategy,
            http,
            cache: Arc::new(Mutex::new(None)),
            writer,
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// The headers to add to a forwarded request. With `force`, a cached token is dropped
    /// and a new one obtained (used once after the source answers 401).
    pub async fn credentials(&self, force: bool) -> Result<Vec<(String, String)>, AuthError> {
        match &self.strategy {
            Strategy::None => Ok(Vec::new()),
            Strategy::Bearer(t) => Ok(vec![("authorization".into(), format!("Bearer {t}"))]),
            Strategy::Header { name, value } => {
                Ok(vec![(name.to_ascii_lowercase(), value.clone())])
            }
            Strategy::Basic { user, password } => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Ok(vec![("authorization".into(), format!("Basic {encoded}"))])
            }
            Strategy::OAuth(grant) => {
                let mut cache = self.cache.lock().await;
                let now = Instant::now();
                if !force {
                    if let Some(t) = cache.as_ref().filter(|t| t.refresh_at > now) {
                        return Ok(bearer(&t.access_token));
                    }
                }
                let fail = |source: TokenError| AuthError {
                    strategy: grant.strategy_name(),
                    source,
                };
                let issued = grant.request(&self.http).await.map_err(fail)?;
                if let (Some(new), TokenGrant::RefreshToken { refresh_token, .. }) =
                    (&issued.refresh_token, grant)
                {
                    let changed = {
                        let mut current = refresh_token
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        let changed = *current != *new;
                        *current = new.clone();
                        changed
                    };
                    if changed {
                        match &self.writer {
                            Some(w) => {
                                if let Err(e) = w.write(REFRESH_TOKEN.name, new).await {
                                    tracing::error!(error = %e, "cannot store the rotated refresh token");
                                } else {
                                    tracing::info!("stored the rotated refresh token");
                                }
                            }
                            None => tracing::warn!(
                                "the source rotated its refresh token; it is kept in memory only (no parameter store configured)"
                            ),
                        }
                    }
                }
                let token = CachedToken {
                    refresh_at: now + refresh_after(issued.expires_in),
                    access_token: issued.access_token,
                };
                let headers = bearer(&token.access_token);
                *cache = Some(token);
                Ok(headers)
            }
        }
    }
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

/// How long a token with `expires_in` is used: up to [`REFRESH_MARGIN`] plus jitter before
/// it expires, and at least half its lifetime for short-lived tokens.
pub fn refresh_after(expires_in: Duration) -> Duration {
    use rand::RngCore;
    let jitter =
        Duration::from_millis(rand::rngs::OsRng.next_u64() % REFRESH_JITTER.as_millis() as u64);
    let early = expires_in.saturating_sub(REFRESH_MARGIN + jitter);
    early.max(expires_in / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> Settings {
        Settings::from_sources(
            AUTH_SETTINGS,
            &crate::settings::Flags::new(),
            &crate::settings::test_lookup(pairs),
        )
    }

    #[test]
    fn strategies_from_settings() {
        assert_eq!(
            Strategy::from_settings(&lookup(&[])).unwrap().name(),
            "none"
        );
        let s = Strategy::from_settings(&lookup(&[
            ("SOURCE_AUTH_STRATEGY", "OAUTH2_CLIENT_CREDENTIALS"),
            ("TOKEN_ENDPOINT", "http://127.0.0.1:1/token"),
            ("CLIENT_ID", "id"),
            ("CLIENT_SECRET", "s3cr3t"),
        ]))
        .unwrap();
        assert_eq!(s.name(), "oauth2_client_credentials");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let e = Strategy::from_settings(&lookup(&[("SOURCE_AUTH_STRATEGY", "bearer")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ACCESS_TOKEN"), "{e}");
        let e = Strategy::from_settings(&lookup(&[("SOURCE_AUTH_STRATEGY", "kerberos")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SOURCE_AUTH_STRATEGY") && !e.contains("kerberos"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn static_credentials() {
        let http = reqwest::Client::new();
        let basic = SourceAuth::new(
            Strategy::Basic {
                user: "u".into(),
                password: "p".into(),
            },
            http.clone(),
            None,
        );
        assert_eq!(
            basic.credentials(false).await.unwrap(),
            [("authorization".to_owned(), "Basic dTpw".to_owned())]
        );
        let header = SourceAuth::new(
            Strategy::Header {
                name: "X-API-Key".into(),
                value: "k".into(),
            },
            http,
            None,
        );
        assert_eq!(
            header.credentials(true).await.unwrap(),
            [("x-api-key".to_owned(), "k".to_owned())]
        );
    }

    #[test]
    fn refresh_margin() {
        let d = refresh_after(Duration::from_secs(3600));
        assert!(
            d <= Duration::from_secs(3420) && d >= Duration::from_secs(3360),
            "{d:?}"
        );
        assert_eq!(
            refresh_after(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
    }
}
