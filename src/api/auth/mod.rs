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
//! Psoxy's `SOURCE_AUTH_STRATEGY_IDENTIFIER` (with `GRANT_TYPE` for `oauth2_refresh_token`)
//! is read too and mapped onto these strategies and grants (`docs/settings.md`, "Psoxy's
//! names"). One of the two must be set: `none` is never a default.
//!
//! Tokens are cached and refreshed a few minutes before they expire (with jitter, so many
//! instances do not refresh together); [`SourceAuth::credentials`] with `force` set gets a
//! new one (after a 401 from the source). Errors never contain a secret.

mod client_jwt;
mod federation;
mod google;
mod service_key;
pub mod shared;
mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

pub use client_jwt::{ClientKey, ClientKeyError};
pub use federation::{AssertionSource, CognitoIdentity, FederationError};
pub use google::{ServiceAccountKey, ServiceAccountKeyError};
pub use service_key::{with_service_key, ServiceKeyBodyError};
pub use shared::{CredentialStore, LockTiming, SharedToken};
pub use token::{TokenError, TokenGrant, TokenRequestFormat, TokenResponseType};

use crate::settings::catalog::{
    ACCESS_TOKEN, ACCOUNT_ID, ACCOUNT_TO_IMPERSONATE, ADMIN_API_KEY, API_KEY_HEADER, AUDIENCE,
    BASIC_AUTH_PASSWORD, BASIC_AUTH_USER, BASIC_AUTH_USER_ID, CLIENT_ID, CLIENT_SECRET,
    CREDENTIALS_FLOW, DEVELOPER_NAME_ID, GRANT_TYPE, IDENTITY_ID, IDENTITY_POOL_ID,
    MS_FEDERATED_TOKEN_FILE, MS_TENANT_ID, OAUTH_SCOPES, PRIVATE_KEY, PRIVATE_KEY_ID,
    REFRESH_ENDPOINT, REFRESH_TOKEN, SERVICE_ACCOUNT_KEY, SERVICE_KEY, SOURCE_AUTH_STRATEGY,
    SOURCE_AUTH_STRATEGY_IDENTIFIER, TOKEN_ENDPOINT, TOKEN_LOCK_WAIT_MS, TOKEN_REQUEST_FORMAT,
    TOKEN_RESPONSE_TYPE, TOKEN_SCOPE, USE_SHARED_TOKEN,
};
use crate::settings::{Setting, SettingError, Settings};
use client_jwt::x5t_of_thumbprint;
use shared::{SharedTokens, LOCK_ATTEMPTS};

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
    &SOURCE_AUTH_STRATEGY_IDENTIFIER,
    &GRANT_TYPE,
    &TOKEN_RESPONSE_TYPE,
    &REFRESH_ENDPOINT,
    &ACCOUNT_ID,
    &CREDENTIALS_FLOW,
    &TOKEN_SCOPE,
    &USE_SHARED_TOKEN,
    &TOKEN_LOCK_WAIT_MS,
    &IDENTITY_POOL_ID,
    &IDENTITY_ID,
    &DEVELOPER_NAME_ID,
    &AUDIENCE,
    &ADMIN_API_KEY,
    &BASIC_AUTH_USER_ID,
    &PRIVATE_KEY,
    &PRIVATE_KEY_ID,
    &SERVICE_KEY,
];

/// The source credentials' settings are incomplete or malformed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum AuthSettingsError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The settings need a part this build was compiled without (Cognito needs `aws`).
    #[error(transparent)]
    NotBuilt(#[from] crate::features::NotBuilt),
    /// Neither `SOURCE_AUTH_STRATEGY_IDENTIFIER` nor `SOURCE_AUTH_STRATEGY` is set.
    #[error("no source authentication strategy: set SOURCE_AUTH_STRATEGY_IDENTIFIER (Psoxy's name) or SOURCE_AUTH_STRATEGY; `none` forwards requests without credentials and must be chosen explicitly")]
    NoStrategy,
    /// `PRIVATE_KEY` or `PRIVATE_KEY_ID` is not usable.
    #[error(transparent)]
    ClientKey(#[from] ClientKeyError),
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
    /// Psoxy's `windsurf_service_key`: the key as `service_key` in every JSON body, no header.
    ServiceKeyInBody(String),
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
            Strategy::ServiceKeyInBody(_) => "windsurf_service_key",
            Strategy::OAuth(g) => g.strategy_name(),
        }
    }

    /// Reads the strategy and its settings, in our spelling (`SOURCE_AUTH_STRATEGY`) or in
    /// Psoxy's (`SOURCE_AUTH_STRATEGY_IDENTIFIER`, SPEC-API-PARITY §4.2). One of them must be
    /// set: forwarding without credentials is chosen with `none`, never by default. Errors
    /// name the missing, conflicting or invalid setting, never a value.
    pub fn from_settings(settings: &Settings) -> Result<Strategy, AuthSettingsError> {
        let ours = settings.get(&SOURCE_AUTH_STRATEGY).map(normalized_name);
        let psoxy = settings
            .get(&SOURCE_AUTH_STRATEGY_IDENTIFIER)
            .map(normalized_name);
        match (ours, psoxy) {
            (Some(a), Some(b)) if a != b => Err(SettingError::Conflict {
                ours: SOURCE_AUTH_STRATEGY.name,
                psoxy: SOURCE_AUTH_STRATEGY_IDENTIFIER.name,
            }
            .into()),
            // Both spell `oauth2_refresh_token`: without GRANT_TYPE it is ours.
            (Some(name), Some(_))
                if name == "oauth2_refresh_token" && settings.get(&GRANT_TYPE).is_none() =>
            {
                Self::ours_from_settings(settings, &name)
            }
            (_, Some(name)) => psoxy_strategy(settings, &name),
            (Some(name), None) => Self::ours_from_settings(settings, &name),
            (None, None) => Err(AuthSettingsError::NoStrategy),
        }
    }

    /// Our strategies, named by `SOURCE_AUTH_STRATEGY`.
    fn ours_from_settings(settings: &Settings, name: &str) -> Result<Strategy, AuthSettingsError> {
        let get = |s: &Setting| settings.get(s).map(str::to_owned);
        let need = |s: &'static Setting| required_by(settings.get(s), s, &SOURCE_AUTH_STRATEGY);
        let endpoint = || -> Result<String, SettingError> {
            required_by(
                settings.either(&TOKEN_ENDPOINT, &REFRESH_ENDPOINT)?,
                &TOKEN_ENDPOINT,
                &SOURCE_AUTH_STRATEGY,
            )
        };
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
        Ok(match name {
            "none" => Strategy::None,
            "bearer" => Strategy::Bearer(need(&ACCESS_TOKEN)?),
            "header" => Strategy::Header {
                name: need(&API_KEY_HEADER)?,
                value: need(&ACCESS_TOKEN)?,
            },
            "basic" => Strategy::Basic {
                user: required_by(
                    settings.either(&BASIC_AUTH_USER, &BASIC_AUTH_USER_ID)?,
                    &BASIC_AUTH_USER,
                    &SOURCE_AUTH_STRATEGY,
                )?,
                password: need(&BASIC_AUTH_PASSWORD)?,
            },
            "oauth2_client_credentials" => Strategy::OAuth(TokenGrant::ClientCredentials {
                endpoint: endpoint()?,
                client_id: need(&CLIENT_ID)?,
                client_secret: need(&CLIENT_SECRET)?,
                scopes: scopes(),
                format: format()?,
            }),
            "oauth2_refresh_token" => Strategy::OAuth(TokenGrant::RefreshToken {
                endpoint: endpoint()?,
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
                    assertion: AssertionSource::File(need(&MS_FEDERATED_TOKEN_FILE)?),
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

/// A strategy or grant name as compared: trimmed, lower case.
fn normalized_name(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

/// Psoxy's strategies, named by `SOURCE_AUTH_STRATEGY_IDENTIFIER` (SPEC-API-PARITY §4.2-4.3).
fn psoxy_strategy(settings: &Settings, name: &str) -> Result<Strategy, AuthSettingsError> {
    let by = &SOURCE_AUTH_STRATEGY_IDENTIFIER;
    let required = |value: Option<&str>, s: &'static Setting| required_by(value, s, by);
    let need = |s: &'static Setting| required(settings.get(s), s);
    Ok(match name {
        "none" => Strategy::None,
        "oauth2_access_token" => Strategy::Bearer(need(&ACCESS_TOKEN)?),
        "basic_auth" => Strategy::Basic {
            // Both optional in Psoxy (Cursor: the API key as user, no password).
            user: settings.either(&BASIC_AUTH_USER, &BASIC_AUTH_USER_ID)?
                .unwrap_or_default()
                .to_owned(),
            password: settings
                .get(&BASIC_AUTH_PASSWORD)
                .unwrap_or_default()
                .to_owned(),
        },
        "claude_admin_api_key" => Strategy::Header {
            name: "x-api-key".to_owned(),
            value: need(&ADMIN_API_KEY)?.trim().to_owned(),
        },
        "gcp_service_account_key" => {
            let key = ServiceAccountKey::parse_json_or_base64(&need(&SERVICE_ACCOUNT_KEY)?)?;
            Strategy::OAuth(TokenGrant::GoogleServiceAccount {
                // The key's `token_uri`, as Psoxy; our `TOKEN_ENDPOINT` may override it.
                endpoint: settings
                    .get(&TOKEN_ENDPOINT)
                    .map_or_else(|| key.token_uri.clone(), str::to_owned),
                key: Box::new(key),
                scopes: settings
                    .get(&OAUTH_SCOPES)
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                subject: settings.get(&ACCOUNT_TO_IMPERSONATE).map(str::to_owned),
            })
        }
        "oauth2_refresh_token" => Strategy::OAuth(psoxy_grant(settings)?),
        "windsurf_service_key" => Strategy::ServiceKeyInBody(need(&SERVICE_KEY)?.trim().to_owned()),
        _ => {
            return Err(SettingError::Invalid {
                name: SOURCE_AUTH_STRATEGY_IDENTIFIER.name,
                expected: "none, oauth2_access_token, oauth2_refresh_token, basic_auth, claude_admin_api_key, gcp_service_account_key or windsurf_service_key",
            }
            .into())
        }
    })
}

/// `value`, or the error that `setting` is required by the choice made in `by`.
fn required_by(
    value: Option<&str>,
    setting: &'static Setting,
    by: &'static Setting,
) -> Result<String, SettingError> {
    value.map(str::to_owned).ok_or(SettingError::RequiredBy {
        name: setting.name,
        by: by.name,
    })
}

/// The token request of Psoxy's `oauth2_refresh_token`, chosen by `GRANT_TYPE`.
fn psoxy_grant(settings: &Settings) -> Result<TokenGrant, AuthSettingsError> {
    let need = |s: &'static Setting| required_by(settings.get(s), s, &GRANT_TYPE);
    let response = match settings.get(&TOKEN_RESPONSE_TYPE).map(normalized_name) {
        None => TokenResponseType::OAuth,
        Some(t) if t == "github_access_token" => TokenResponseType::GitHubAccessToken,
        Some(_) => {
            return Err(SettingError::Invalid {
                name: TOKEN_RESPONSE_TYPE.name,
                expected: "unset (OAuth 2.0 JSON) or GITHUB_ACCESS_TOKEN",
            }
            .into())
        }
    };
    let endpoint = required_by(
        settings.either(&TOKEN_ENDPOINT, &REFRESH_ENDPOINT)?,
        &REFRESH_ENDPOINT,
        &GRANT_TYPE,
    )?;
    let grant = normalized_name(&required_by(
        settings.get(&GRANT_TYPE),
        &GRANT_TYPE,
        &SOURCE_AUTH_STRATEGY_IDENTIFIER,
    )?);
    let trimmed = |s: &'static Setting| need(s).map(|v| v.trim().to_owned());
    if response == TokenResponseType::GitHubAccessToken && grant != "certificate_credentials" {
        return Err(SettingError::Invalid {
            name: TOKEN_RESPONSE_TYPE.name,
            expected: "GITHUB_ACCESS_TOKEN only with GRANT_TYPE=certificate_credentials",
        }
        .into());
    }
    let private_key = || -> Result<Box<ClientKey>, AuthSettingsError> {
        Ok(Box::new(ClientKey::parse(&need(&PRIVATE_KEY)?)?))
    };
    Ok(match grant.as_str() {
        "refresh_token" => TokenGrant::RefreshToken {
            endpoint,
            client_id: need(&CLIENT_ID)?,
            client_secret: need(&CLIENT_SECRET)?,
            refresh_token: Arc::new(std::sync::Mutex::new(need(&REFRESH_TOKEN)?)),
            scopes: Vec::new(),
            format: TokenRequestFormat::Form,
        },
        "refresh_token_via_query_parameter" => TokenGrant::RefreshTokenViaQuery {
            endpoint,
            client_id: trimmed(&CLIENT_ID)?,
            client_secret: trimmed(&CLIENT_SECRET)?,
            refresh_token: Arc::new(std::sync::Mutex::new(need(&REFRESH_TOKEN)?)),
        },
        "account_credentials" => TokenGrant::AccountCredentials {
            endpoint,
            account_id: trimmed(&ACCOUNT_ID)?,
            client_id: trimmed(&CLIENT_ID)?,
            client_secret: trimmed(&CLIENT_SECRET)?,
        },
        "client_credentials" => {
            let flow = settings
                .get(&CREDENTIALS_FLOW)
                .map(normalized_name)
                .unwrap_or_else(|| "jwt_assertion".to_owned());
            match flow.as_str() {
                "client_secret" => TokenGrant::ClientCredentials {
                    endpoint,
                    client_id: need(&CLIENT_ID)?,
                    client_secret: need(&CLIENT_SECRET)?,
                    scopes: settings.either(&OAUTH_SCOPES, &TOKEN_SCOPE)?
                        .map(|s| vec![s.to_owned()])
                        .unwrap_or_default(),
                    format: TokenRequestFormat::Form,
                },
                "jwt_assertion" => TokenGrant::ClientAssertion {
                    endpoint,
                    client_id: need(&CLIENT_ID)?,
                    key: private_key()?,
                    x5t: x5t_of_thumbprint(&need(&PRIVATE_KEY_ID)?)?,
                    scope: settings.either(&OAUTH_SCOPES, &TOKEN_SCOPE)?.map(str::to_owned),
                },
                _ => {
                    return Err(SettingError::Invalid {
                        name: CREDENTIALS_FLOW.name,
                        expected: "client_secret or jwt_assertion",
                    }
                    .into())
                }
            }
        }
        "certificate_credentials" => TokenGrant::CertificateCredentials {
            endpoint,
            client_id: trimmed(&CLIENT_ID)?,
            key: private_key()?,
            response,
        },
        "workload_identity_federation" => {
            let client_id = trimmed(&CLIENT_ID)?;
            let assertion = if let Some(pool) = settings.get(&IDENTITY_POOL_ID) {
                if !cfg!(feature = "aws") {
                    let needed_by = "IDENTITY_POOL_ID (a Cognito developer identity)";
                    return Err(crate::features::NotBuilt::aws(needed_by).into());
                }
                AssertionSource::Cognito(Box::new(CognitoIdentity::new(
                    pool.trim().to_owned(),
                    settings.get(&IDENTITY_ID).map(|s| s.trim().to_owned()),
                    trimmed(&DEVELOPER_NAME_ID)?,
                    client_id.clone(),
                )))
            } else if let Some(audience) = settings.get(&AUDIENCE) {
                AssertionSource::GcpMetadata {
                    audience: audience.trim().to_owned(),
                }
            } else if let Some(file) = settings.get(&MS_FEDERATED_TOKEN_FILE) {
                AssertionSource::File(file.to_owned())
            } else {
                return Err(SettingError::RequiredBy {
                    name: "IDENTITY_POOL_ID (AWS), AUDIENCE (GCP) or MS_FEDERATED_TOKEN_FILE",
                    by: GRANT_TYPE.name,
                }
                .into());
            };
            TokenGrant::FederatedAssertion {
                endpoint,
                client_id,
                assertion,
                scopes: vec![trimmed(&TOKEN_SCOPE)?],
            }
        }
        _ => {
            return Err(SettingError::Invalid {
                name: GRANT_TYPE.name,
                expected: "refresh_token, refresh_token_via_query_parameter, account_credentials, client_credentials, certificate_credentials or workload_identity_federation",
            }
            .into())
        }
    })
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

#[derive(Clone)]
struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

impl CachedToken {
    /// A token valid for `lifetime` from `now`, refreshed early (the margin drawn once).
    fn new(access_token: String, now: Instant, lifetime: Duration) -> CachedToken {
        CachedToken {
            access_token,
            refresh_at: now + refresh_after(lifetime),
        }
    }
}

/// One user's token; locked while it is being obtained, so that only its own requests wait.
type TokenSlot = Arc<Mutex<Option<CachedToken>>>;

/// Token slots by the user they are delegated to (`None`: the strategy's own), with when
/// each was last used.
type TokenCache = std::collections::HashMap<Option<String>, (TokenSlot, Instant)>;

/// At most this many delegated (per-user) tokens are kept; the least recently used goes.
pub const MAX_DELEGATED_TOKENS: usize = 50;

/// Source credentials with their token cache. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct SourceAuth {
    strategy: Strategy,
    http: reqwest::Client,
    cache: Arc<std::sync::Mutex<TokenCache>>,
    store: Option<Arc<dyn CredentialStore>>,
    shared: Option<SharedTokens>,
}

/// How long before a token's expiry it is refreshed (plus up to [`REFRESH_JITTER`]).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(180);
/// Random extra margin, so instances do not all refresh at once.
pub const REFRESH_JITTER: Duration = Duration::from_secs(60);

impl SourceAuth {
    /// Credentials of `strategy`; token requests go through `http`, rotated refresh tokens
    /// to `store` (when there is one). `shared`: the access token is shared with the other
    /// instances through `store`, refreshed under its lock (`USE_SHARED_TOKEN`; needs a store).
    pub fn new(
        strategy: Strategy,
        http: reqwest::Client,
        store: Option<Arc<dyn CredentialStore>>,
        shared: Option<LockTiming>,
    ) -> Self {
        let shared = match (&store, shared) {
            (Some(store), Some(timing)) => Some(SharedTokens::new(store.clone(), timing)),
            (None, Some(_)) => {
                tracing::warn!("USE_SHARED_TOKEN needs a secret store (PATH_TO_INSTANCE_CONFIG); this instance keeps its own access token");
                None
            }
            _ => None,
        };
        SourceAuth {
            strategy,
            http,
            cache: Arc::new(std::sync::Mutex::new(TokenCache::new())),
            store,
            shared,
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// The headers to add to a forwarded request. `refused`: the credentials the source just
    /// answered 401 to; a new token is obtained unless another request already replaced that
    /// one (so concurrent 401s make one refresh). `impersonate` (the
    /// request's `X-Psoxy-User-To-Impersonate`, where the rules allow it) delegates a Google
    /// service account's token to that user; other strategies ignore it.
    pub async fn credentials(
        &self,
        refused: Option<&[(String, String)]>,
        impersonate: Option<&str>,
    ) -> Result<Vec<(String, String)>, AuthError> {
        match &self.strategy {
            Strategy::None | Strategy::ServiceKeyInBody(_) => Ok(Vec::new()),
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
                let subject = match grant {
                    TokenGrant::GoogleServiceAccount { .. } => {
                        impersonate.map(str::trim).filter(|s| !s.is_empty())
                    }
                    _ => None,
                };
                let now = Instant::now();
                let slot = {
                    let mut cache = self
                        .cache
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let entry = cache
                        .entry(subject.map(str::to_owned))
                        .or_insert_with(|| (TokenSlot::default(), now));
                    entry.1 = now;
                    let slot = entry.0.clone();
                    evict_delegated(&mut cache);
                    slot
                };
                let mut cached = slot.lock().await;
                if let Some(t) = cached.as_ref().filter(|t| t.refresh_at > now) {
                    let headers = bearer(&t.access_token);
                    if refused != Some(headers.as_slice()) {
                        return Ok(headers);
                    }
                }
                // The token being replaced: the stale or refused one.
                let replacing = cached
                    .as_ref()
                    .map(|t| t.access_token.clone())
                    .or_else(|| refused.and_then(bearer_token));
                let token = match (&self.shared, subject) {
                    (Some(shared), None) => {
                        self.shared_token(grant, shared, replacing.as_deref()).await
                    }
                    _ => self.own_token(grant, subject).await,
                }
                .map_err(|source| AuthError {
                    strategy: grant.strategy_name(),
                    source,
                })?;
                let headers = bearer(&token.access_token);
                *cached = Some(token);
                Ok(headers)
            }
        }
    }

    /// A new token from the token endpoint for this instance alone.
    async fn own_token(
        &self,
        grant: &TokenGrant,
        subject: Option<&str>,
    ) -> Result<CachedToken, TokenError> {
        let now = Instant::now();
        let issued = grant.request(&self.http, subject).await?;
        self.keep_rotated_refresh_token(grant, issued.refresh_token.as_deref())
            .await;
        Ok(CachedToken::new(
            issued.access_token,
            now,
            issued.expires_in,
        ))
    }

    /// The shared token: the stored one while it is fresh and not `replacing`, else a new one
    /// obtained under the lock and stored for the other instances.
    async fn shared_token(
        &self,
        grant: &TokenGrant,
        shared: &SharedTokens,
        replacing: Option<&str>,
    ) -> Result<CachedToken, TokenError> {
        let from_store =
            |(t, left): (SharedToken, Duration)| CachedToken::new(t.token, Instant::now(), left);
        for attempt in 0..LOCK_ATTEMPTS {
            // Another instance may have refreshed it meanwhile.
            if let Some(found) = shared.fresh(replacing).await? {
                return Ok(from_store(found));
            }
            if !shared.try_acquire().await {
                tracing::info!(attempt, "another instance holds the token lock; waiting");
                tokio::time::sleep(shared.retry_pause(attempt)).await;
                continue;
            }
            let result = async {
                if let Some(found) = shared.fresh(replacing).await? {
                    return Ok(from_store(found));
                }
                // The refresh token another instance may have rotated since this one started.
                if grant.has_refresh_token() {
                    if let Some(stored) = shared.read(REFRESH_TOKEN.name).await? {
                        grant.replace_refresh_token(stored.trim());
                    }
                }
                let now = Instant::now();
                let issued = grant.request(&self.http, None).await?;
                self.keep_rotated_refresh_token(grant, issued.refresh_token.as_deref())
                    .await;
                let stored = SharedToken::new(
                    issued.access_token.clone(),
                    std::time::SystemTime::now(),
                    issued.expires_in,
                );
                if let Err(e) = shared.store(&stored).await {
                    tracing::error!(error = %e, "cannot store the shared access token");
                } else {
                    tracing::info!("stored a new shared access token");
                }
                Ok(CachedToken::new(
                    issued.access_token,
                    now,
                    issued.expires_in,
                ))
            }
            .await;
            shared.release().await;
            return result;
        }
        Err(TokenError::LockNotAcquired)
    }

    /// Keeps a refresh token the source rotated: in memory, and in the store when it differs.
    async fn keep_rotated_refresh_token(&self, grant: &TokenGrant, new: Option<&str>) {
        let Some(new) = new else { return };
        if !grant.replace_refresh_token(new) {
            return;
        }
        let written = match (&self.shared, &self.store) {
            (Some(shared), _) => shared.write(REFRESH_TOKEN.name, new).await,
            // Psoxy's write: three attempts, 150 ms apart, with or without a shared token.
            (None, Some(store)) => {
                shared::write_with_retries(store.as_ref(), REFRESH_TOKEN.name, new).await
            }
            (None, None) => {
                tracing::warn!("the source rotated its refresh token; it is kept in memory only (no parameter store configured)");
                return;
            }
        };
        match written {
            Ok(()) => tracing::info!("stored the rotated refresh token"),
            Err(e) => tracing::error!(error = %e, "cannot store the rotated refresh token"),
        }
    }
}

/// Time since the Unix epoch (zero if the clock is before it).
pub(crate) fn unix_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// The token of a `Bearer` authorization among `headers`.
fn bearer_token(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .and_then(|(_, value)| value.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// Whether the access token is shared between instances (`USE_SHARED_TOKEN`: only `true`, in
/// any case, as Java's `Boolean.parseBoolean`; default: only for
/// `GRANT_TYPE=account_credentials`), and the lock's pauses (`TOKEN_LOCK_WAIT_MS`). Only the
/// token grants share; a Google service account's delegated tokens never do.
pub fn shared_token(
    settings: &Settings,
    strategy: &Strategy,
) -> Result<Option<LockTiming>, AuthSettingsError> {
    let wanted = match settings.get(&USE_SHARED_TOKEN) {
        Some(v) => v.trim().eq_ignore_ascii_case("true"),
        None => settings
            .get(&GRANT_TYPE)
            .is_some_and(|g| normalized_name(g) == "account_credentials"),
    };
    if !wanted || !matches!(strategy, Strategy::OAuth(_)) {
        return Ok(None);
    }
    let wait = match settings.get_or_default(&TOKEN_LOCK_WAIT_MS) {
        Some(v) => v.trim().parse::<u64>().map_err(|_| SettingError::Invalid {
            name: TOKEN_LOCK_WAIT_MS.name,
            expected: "a number of milliseconds",
        })?,
        None => 4000,
    };
    Ok(Some(LockTiming {
        hold: Duration::from_millis(wait / 2),
        retry: Duration::from_millis(wait),
    }))
}

/// Drops the least recently used delegated tokens beyond [`MAX_DELEGATED_TOKENS`].
fn evict_delegated(cache: &mut TokenCache) {
    while cache.keys().filter(|k| k.is_some()).count() > MAX_DELEGATED_TOKENS {
        let oldest = cache
            .iter()
            .filter(|(k, _)| k.is_some())
            .min_by_key(|(_, (_, last_used))| *last_used)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => cache.remove(&k),
            None => break,
        };
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
        let e = Strategy::from_settings(&lookup(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SOURCE_AUTH_STRATEGY_IDENTIFIER") && e.contains("`none`"),
            "no strategy is never a silent `none`: {e}"
        );
        assert_eq!(
            Strategy::from_settings(&lookup(&[("SOURCE_AUTH_STRATEGY", "none")]))
                .unwrap()
                .name(),
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

    fn psoxy_name(pairs: &'static [(&'static str, &'static str)]) -> String {
        match Strategy::from_settings(&lookup(pairs)) {
            Ok(s) => s.name().to_owned(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn psoxy_strategy_names() {
        const ZOOM: &[(&str, &str)] = &[
            ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
            ("GRANT_TYPE", "account_credentials"),
            ("REFRESH_ENDPOINT", "https://zoom.us/oauth/token"),
            ("ACCOUNT_ID", "a"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "s"),
            ("USE_SHARED_TOKEN", "TRUE"),
        ];
        assert_eq!(psoxy_name(ZOOM), "account_credentials");
        for (pairs, want) in [
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_access_token"),
                    ("ACCESS_TOKEN", "t"),
                ][..],
                "bearer",
            ),
            (
                &[("SOURCE_AUTH_STRATEGY_IDENTIFIER", " BASIC_AUTH ")][..],
                "basic",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "claude_admin_api_key"),
                    ("ADMIN_API_KEY", "k"),
                ][..],
                "header",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("GRANT_TYPE", "refresh_token_via_query_parameter"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://app.gong.io/oauth2/generate-customer-token",
                    ),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                    ("REFRESH_TOKEN", "r"),
                ][..],
                "refresh_token_via_query_parameter",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("GRANT_TYPE", "client_credentials"),
                    ("CREDENTIALS_FLOW", "CLIENT_SECRET"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://login.salesforce.com/services/oauth2/token",
                    ),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                ][..],
                "oauth2_client_credentials",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("GRANT_TYPE", "refresh_token"),
                    ("REFRESH_ENDPOINT", "https://auth.atlassian.com/oauth/token"),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                    ("REFRESH_TOKEN", "r"),
                ][..],
                "oauth2_refresh_token",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "windsurf_service_key"),
                    ("SERVICE_KEY", "k"),
                ][..],
                "windsurf_service_key",
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY", "oauth2_refresh_token"),
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("TOKEN_ENDPOINT", "https://a.example/token"),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                    ("REFRESH_TOKEN", "r"),
                ][..],
                "oauth2_refresh_token",
            ),
            // The same value in both spellings is no conflict.
            (
                &[
                    ("SOURCE_AUTH_STRATEGY", "none"),
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "NONE"),
                ][..],
                "none",
            ),
        ] {
            assert_eq!(psoxy_name(pairs), want, "{pairs:?}");
        }
    }

    #[test]
    fn psoxy_settings_errors_name_settings() {
        for (pairs, names) in [
            (
                &[
                    ("SOURCE_AUTH_STRATEGY", "bearer"),
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_access_token"),
                    ("ACCESS_TOKEN", "t"),
                ][..],
                &["SOURCE_AUTH_STRATEGY and SOURCE_AUTH_STRATEGY_IDENTIFIER are both set"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY", "oauth2_client_credentials"),
                    ("TOKEN_ENDPOINT", "https://a.example/token"),
                    ("REFRESH_ENDPOINT", "https://b.example/token"),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                ][..],
                &["TOKEN_ENDPOINT and REFRESH_ENDPOINT are both set and differ"][..],
            ),
            (
                &[("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token")][..],
                &["REFRESH_ENDPOINT"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("REFRESH_ENDPOINT", "https://zoom.us/oauth/token"),
                ][..],
                &["GRANT_TYPE is required by this SOURCE_AUTH_STRATEGY_IDENTIFIER"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("REFRESH_ENDPOINT", "https://zoom.us/oauth/token"),
                    ("GRANT_TYPE", "password"),
                ][..],
                &["GRANT_TYPE is invalid", "account_credentials"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("REFRESH_ENDPOINT", "https://zoom.us/oauth/token"),
                    ("GRANT_TYPE", "account_credentials"),
                    ("CLIENT_ID", "c"),
                    ("CLIENT_SECRET", "s"),
                ][..],
                &["ACCOUNT_ID is required by this GRANT_TYPE"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://login.microsoftonline.com/t/token",
                    ),
                    ("GRANT_TYPE", "workload_identity_federation"),
                    ("CLIENT_ID", "app"),
                    ("TOKEN_SCOPE", "https://graph.microsoft.com/.default"),
                ][..],
                &["IDENTITY_POOL_ID (AWS), AUDIENCE (GCP) or MS_FEDERATED_TOKEN_FILE is required by this GRANT_TYPE"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://login.microsoftonline.com/t/token",
                    ),
                    ("GRANT_TYPE", "workload_identity_federation"),
                    ("CLIENT_ID", "app"),
                    ("TOKEN_SCOPE", "https://graph.microsoft.com/.default"),
                    ("IDENTITY_POOL_ID", "us-east-1:abc"),
                ][..],
                &[if cfg!(feature = "aws") {
                    "DEVELOPER_NAME_ID is required by this GRANT_TYPE"
                } else {
                    "IDENTITY_POOL_ID (a Cognito developer identity) needs the `aws` feature"
                }][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://api.github.com/app/installations/1/x",
                    ),
                    ("GRANT_TYPE", "certificate_credentials"),
                    ("CLIENT_ID", "359050"),
                ][..],
                &["PRIVATE_KEY is required by this GRANT_TYPE"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    (
                        "REFRESH_ENDPOINT",
                        "https://api.github.com/app/installations/1/x",
                    ),
                    ("GRANT_TYPE", "certificate_credentials"),
                    ("CLIENT_ID", "359050"),
                    ("PRIVATE_KEY", "not-a-key"),
                ][..],
                &["PRIVATE_KEY is not an RSA private key"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "oauth2_refresh_token"),
                    ("REFRESH_ENDPOINT", "https://zoom.us/oauth/token"),
                    ("GRANT_TYPE", "account_credentials"),
                    ("TOKEN_RESPONSE_TYPE", "GITHUB_ACCESS_TOKEN"),
                ][..],
                &["TOKEN_RESPONSE_TYPE is invalid"][..],
            ),
            (
                &[
                    ("SOURCE_AUTH_STRATEGY_IDENTIFIER", "claude_admin_api_key"),
                    ("ADMIN_API_KEY", "  \n\t"),
                ][..],
                &["ADMIN_API_KEY is required"][..],
            ),
            (
                &[("SOURCE_AUTH_STRATEGY_IDENTIFIER", "kerberos")][..],
                &["SOURCE_AUTH_STRATEGY_IDENTIFIER is invalid"][..],
            ),
        ] {
            let got = psoxy_name(pairs);
            for n in names {
                assert!(got.contains(n), "{pairs:?}: {got}");
            }
            for (_, v) in pairs {
                if v.len() > 3 && !v.contains('_') {
                    assert!(!got.contains(v), "a value in an error: {got}");
                }
            }
        }
    }

    #[test]
    fn service_account_keys_as_json_or_base64() {
        use base64::Engine;
        let json = r#"{"client_email":"a@b.iam.gserviceaccount.com","private_key":"x","token_uri":"https://oauth2.googleapis.com/token"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        // Both reach the PEM check (so both were read as the key's JSON).
        for v in [json.to_owned(), format!(" {b64}\n")] {
            assert_eq!(
                ServiceAccountKey::parse_json_or_base64(&v).err(),
                Some(ServiceAccountKeyError::NotRsaPem)
            );
        }
        assert_eq!(
            ServiceAccountKey::parse_json_or_base64("not base64!").err(),
            Some(ServiceAccountKeyError::NotAKey)
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
            None,
        );
        assert_eq!(
            basic.credentials(None, None).await.unwrap(),
            [("authorization".to_owned(), "Basic dTpw".to_owned())]
        );
        let header = SourceAuth::new(
            Strategy::Header {
                name: "X-API-Key".into(),
                value: "k".into(),
            },
            http,
            None,
            None,
        );
        assert_eq!(
            header
                .credentials(Some(&[]), Some("alice@acme.example"))
                .await
                .unwrap(),
            [("x-api-key".to_owned(), "k".to_owned())]
        );
    }

    #[test]
    fn delegated_tokens_are_bounded_least_recently_used_first() {
        let start = Instant::now();
        let at = |secs: u64| (TokenSlot::default(), start + Duration::from_secs(secs));
        let mut cache = TokenCache::new();
        cache.insert(None, at(0));
        for n in 0..=MAX_DELEGATED_TOKENS as u64 {
            cache.insert(Some(format!("user{n}")), at(n + 1));
        }
        // user0 was used first; the strategy's own token is never evicted.
        cache.get_mut(&Some("user1".to_owned())).unwrap().1 = start + Duration::from_secs(99);
        evict_delegated(&mut cache);
        assert_eq!(cache.len(), MAX_DELEGATED_TOKENS + 1);
        assert!(cache.contains_key(&None));
        assert!(!cache.contains_key(&Some("user0".to_owned())));
        cache.insert(Some("late".to_owned()), at(100));
        evict_delegated(&mut cache);
        assert!(!cache.contains_key(&Some("user2".to_owned())));
        assert!(cache.contains_key(&Some("user1".to_owned())));
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
