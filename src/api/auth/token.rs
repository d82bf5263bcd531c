//! OAuth 2.0 token endpoint requests (RFC 6749 section 4.4 and 6, RFC 7523 for JWT bearer
//! assertions) and their responses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::client_jwt::ClientKey;
use super::federation::AssertionSource;
use super::google::ServiceAccountKey;

/// How a token endpoint's answer is read (Psoxy's `TOKEN_RESPONSE_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenResponseType {
    /// RFC 6749 JSON: `access_token`, `expires_in`, `refresh_token`.
    OAuth,
    /// GitHub's installation token: `token`, `expires_at` (an ISO-8601 instant).
    GitHubAccessToken,
}

/// How a token request's parameters are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    Form,
    /// A JSON object, for the APIs that want one.
    Json,
}

/// A grant the proxy makes at a token endpoint.
#[derive(Clone)]
pub enum TokenGrant {
    /// `grant_type=client_credentials`.
    ClientCredentials {
        /// Token endpoint URL.
        endpoint: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Scopes (space-joined in the request; none: no `scope`).
        scopes: Vec<String>,
        /// Body format.
        format: TokenRequestFormat,
    },
    /// `grant_type=refresh_token`; the source may rotate the refresh token.
    RefreshToken {
        /// Token endpoint URL.
        endpoint: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// The current refresh token (replaced when the source rotates it).
        refresh_token: Arc<Mutex<String>>,
        /// Scopes.
        scopes: Vec<String>,
        /// Body format.
        format: TokenRequestFormat,
    },
    /// Zoom's Server-to-Server OAuth (Psoxy's `GRANT_TYPE=account_credentials`): form
    /// `account_id`, `grant_type=account_credentials`, client id and secret as HTTP Basic.
    AccountCredentials {
        /// Token endpoint URL.
        endpoint: String,
        /// The account (trimmed).
        account_id: String,
        /// Client id (trimmed).
        client_id: String,
        /// Client secret (trimmed).
        client_secret: String,
    },
    /// A refresh token sent in the endpoint's query (Psoxy's
    /// `GRANT_TYPE=refresh_token_via_query_parameter`, Gong): `?grant_type=refresh_token&
    /// refresh_token=...`, an empty form body, client id and secret as HTTP Basic. The source
    /// may rotate the refresh token.
    RefreshTokenViaQuery {
        /// Token endpoint URL (its own query is kept).
        endpoint: String,
        /// Client id (trimmed).
        client_id: String,
        /// Client secret (trimmed).
        client_secret: String,
        /// The current refresh token (replaced when the source rotates it).
        refresh_token: Arc<Mutex<String>>,
    },
    /// A GitHub App installation token (Psoxy's `GRANT_TYPE=certificate_credentials`): an
    /// empty form POST with `Authorization: Bearer <JWT signed by the app's key>`.
    CertificateCredentials {
        /// Token endpoint URL (`.../app/installations/<id>/access_tokens`).
        endpoint: String,
        /// The app's client id (the JWT's `iss` and `sub`).
        client_id: String,
        /// The app's private key.
        key: Box<ClientKey>,
        /// How the answer is read.
        response: TokenResponseType,
    },
    /// Client credentials proven by a signed client assertion (Psoxy's
    /// `GRANT_TYPE=client_credentials`, `CREDENTIALS_FLOW=jwt_assertion`; Entra ID).
    ClientAssertion {
        /// Token endpoint URL.
        endpoint: String,
        /// Client id.
        client_id: String,
        /// The certificate's private key.
        key: Box<ClientKey>,
        /// The certificate's `x5t` (base64url SHA-1 thumbprint).
        x5t: String,
        /// `scope`, when set.
        scope: Option<String>,
    },
    /// A Google service account's signed JWT exchanged for a token (domain-wide delegation
    /// when `subject` is set).
    GoogleServiceAccount {
        /// Token endpoint URL (the key's `token_uri` unless configured).
        endpoint: String,
        /// The key.
        key: Box<ServiceAccountKey>,
        /// Scopes.
        scopes: Vec<String>,
        /// The user to impersonate.
        subject: Option<String>,
    },
    /// A federated assertion (Microsoft Entra workload identity), read from a file at each
    /// request, exchanged for a token.
    FederatedAssertion {
        /// Token endpoint URL.
        endpoint: String,
        /// The application's client id.
        client_id: String,
        /// Where the current assertion (a JWT) comes from.
        assertion: AssertionSource,
        /// Scopes.
        scopes: Vec<String>,
    },
}

/// A token could not be obtained. Carries the HTTP status and the OAuth `error` code at most,
/// never the request, the response body or a secret.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The service account's assertion cannot be signed.
    #[error(transparent)]
    Signing(#[from] super::google::SigningError),
    /// The federated assertion cannot be obtained.
    #[error(transparent)]
    Federation(#[from] super::federation::FederationError),
    /// The token endpoint did not answer in time.
    #[error("the token endpoint timed out")]
    Timeout,
    /// The token endpoint cannot be reached.
    #[error("cannot reach the token endpoint")]
    Unreachable(#[source] reqwest::Error),
    /// The answer's body could not be read.
    #[error("cannot read the token endpoint's response")]
    UnreadableResponse(#[source] reqwest::Error),
    /// The token endpoint refused (with its OAuth `error` code when it gave a short one).
    #[error("the token endpoint answered {status}{}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The OAuth `error` code.
        code: Option<String>,
    },
    /// The answer is not a token.
    #[error("the token endpoint's response has no access_token")]
    NoAccessToken,
    /// The shared token or its lock cannot be read from the secret store.
    #[error(transparent)]
    Store(#[from] crate::settings::remote::RemoteError),
    /// Another instance held the shared token's lock through every attempt.
    #[error("another instance is refreshing the shared access token; retry shortly")]
    LockNotAcquired,
}

/// What a token endpoint issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The access token.
    pub access_token: String,
    /// Its lifetime (`expires_in`; one hour when the endpoint does not say).
    pub expires_in: Duration,
    /// A new refresh token, when the endpoint rotated it.
    pub refresh_token: Option<String>,
}

/// The name-value parameters of a token request.
type TokenParams = Vec<(&'static str, String)>;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// `expires_in` as whole seconds: an integer, or a decimal truncated (`3599.5` -> 3599);
/// negative or not a number -> `None` (one hour is then assumed).
fn whole_seconds(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds as u64)
}

/// GitHub's installation token answer.
#[derive(Deserialize)]
struct GitHubTokenResponse {
    token: String,
    expires_at: String,
}

/// Reads GitHub's `{"token", "expires_at"}`: the lifetime is the whole seconds from now to
/// `expires_at` (none when it is already past, so the token is refreshed at the next request).
fn github_token(body: &[u8]) -> Result<IssuedToken, TokenError> {
    let t: GitHubTokenResponse =
        serde_json::from_slice(body).map_err(|_| TokenError::NoAccessToken)?;
    let expires_at = chrono::DateTime::parse_from_rfc3339(t.expires_at.trim())
        .map_err(|_| TokenError::NoAccessToken)?;
    let seconds = (expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    Ok(IssuedToken {
        access_token: t.token,
        expires_in: Duration::from_secs(seconds.max(0) as u64),
        refresh_token: None,
    })
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
}

impl TokenGrant {
    /// The `SOURCE_AUTH_STRATEGY` name of the grant.
    pub fn strategy_name(&self) -> &'static str {
        match self {
            TokenGrant::ClientCredentials { .. } => "oauth2_client_credentials",
            TokenGrant::RefreshToken { .. } => "oauth2_refresh_token",
            TokenGrant::AccountCredentials { .. } => "account_credentials",
            TokenGrant::RefreshTokenViaQuery { .. } => "refresh_token_via_query_parameter",
            TokenGrant::CertificateCredentials { .. } => "certificate_credentials",
            TokenGrant::ClientAssertion { .. } => "client_credentials (jwt_assertion)",
            TokenGrant::GoogleServiceAccount { .. } => "google_service_account",
            TokenGrant::FederatedAssertion { .. } => "ms_workload_identity",
        }
    }

    fn endpoint(&self) -> &str {
        match self {
            TokenGrant::ClientCredentials { endpoint, .. }
            | TokenGrant::RefreshToken { endpoint, .. }
            | TokenGrant::AccountCredentials { endpoint, .. }
            | TokenGrant::RefreshTokenViaQuery { endpoint, .. }
            | TokenGrant::CertificateCredentials { endpoint, .. }
            | TokenGrant::ClientAssertion { endpoint, .. }
            | TokenGrant::GoogleServiceAccount { endpoint, .. }
            | TokenGrant::FederatedAssertion { endpoint, .. } => endpoint,
        }
    }

    /// The refresh token the source may rotate, for the grants that have one.
    fn refresh_token_cell(&self) -> Option<&Arc<Mutex<String>>> {
        match self {
            TokenGrant::RefreshToken { refresh_token, .. }
            | TokenGrant::RefreshTokenViaQuery { refresh_token, .. } => Some(refresh_token),
            _ => None,
        }
    }

    /// Whether the grant uses a refresh token (which the source may rotate).
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token_cell().is_some()
    }

    /// The current refresh token, for the grants that have one.
    pub fn current_refresh_token(&self) -> Option<String> {
        self.refresh_token_cell().map(|cell| {
            cell.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
    }

    /// Replaces the refresh token (for the grants that have one); whether it changed.
    pub fn replace_refresh_token(&self, new: &str) -> bool {
        let Some(cell) = self.refresh_token_cell() else {
            return false;
        };
        let mut current = cell
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = *current != new;
        if changed {
            new.clone_into(&mut current);
        }
        changed
    }

    /// The URL the token request goes to: the endpoint, plus the refresh token in the query
    /// for [`TokenGrant::RefreshTokenViaQuery`] (encoded once; Psoxy encodes it twice, which
    /// only differs for tokens that are not URL-safe).
    fn url(&self) -> String {
        match self {
            TokenGrant::RefreshTokenViaQuery { endpoint, .. } => {
                let current = self.current_refresh_token().unwrap_or_default();
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", &current)
                    .finish();
                let separator = if endpoint.contains('?') { '&' } else { '?' };
                format!("{endpoint}{separator}{query}")
            }
            _ => self.endpoint().to_owned(),
        }
    }

    /// HTTP Basic credentials of the token request, for the grants that send them so.
    fn basic_auth(&self) -> Option<(&str, &str)> {
        match self {
            TokenGrant::AccountCredentials {
                client_id,
                client_secret,
                ..
            }
            | TokenGrant::RefreshTokenViaQuery {
                client_id,
                client_secret,
                ..
            } => Some((client_id, client_secret)),
            _ => None,
        }
    }

    /// The request's parameters, and its format. `impersonate` replaces a Google service
    /// account's configured subject.
    fn params(
        &self,
        impersonate: Option<&str>,
        assertion: Option<String>,
    ) -> Result<(TokenParams, TokenRequestFormat), TokenError> {
        let scope = |scopes: &[String]| scopes.join(" ");
        let mut params = Vec::new();
        let format = match self {
            TokenGrant::ClientCredentials {
                client_id,
                client_secret,
                scopes,
                format,
                ..
            } => {
                params.push(("grant_type", "client_credentials".to_owned()));
                params.push(("client_id", client_id.clone()));
                params.push(("client_secret", client_secret.clone()));
                if !scopes.is_empty() {
                    params.push(("scope", scope(scopes)));
                }
                *format
            }
            TokenGrant::RefreshToken {
                client_id,
                client_secret,
                scopes,
                format,
                ..
            } => {
                params.push(("grant_type", "refresh_token".to_owned()));
                params.push((
                    "refresh_token",
                    self.current_refresh_token().unwrap_or_default(),
                ));
                params.push(("client_id", client_id.clone()));
                params.push(("client_secret", client_secret.clone()));
                if !scopes.is_empty() {
                    params.push(("scope", scope(scopes)));
                }
                *format
            }
            TokenGrant::AccountCredentials { account_id, .. } => {
                // Keys in alphabetical order, as Psoxy sends them.
                params.push(("account_id", account_id.clone()));
                params.push(("grant_type", "account_credentials".to_owned()));
                TokenRequestFormat::Form
            }
            TokenGrant::RefreshTokenViaQuery { .. } | TokenGrant::CertificateCredentials { .. } => {
                TokenRequestFormat::Form
            }
            TokenGrant::ClientAssertion {
                endpoint,
                client_id,
                key,
                x5t,
                scope,
            } => {
                // Keys in alphabetical order, as Psoxy sends them.
                params.push(("client_assertion", key.jwt(endpoint, client_id, Some(x5t))?));
                params.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                params.push(("client_id", client_id.clone()));
                params.push(("grant_type", "client_credentials".to_owned()));
                if let Some(scope) = scope {
                    params.push(("scope", scope.clone()));
                }
                TokenRequestFormat::Form
            }
            TokenGrant::GoogleServiceAccount {
                endpoint,
                key,
                scopes,
                subject,
            } => {
                let subject = impersonate.or(subject.as_deref());
                let assertion = key.signed_assertion(endpoint, scopes, subject)?;
                params.push((
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                ));
                params.push(("assertion", assertion));
                TokenRequestFormat::Form
            }
            TokenGrant::FederatedAssertion {
                client_id, scopes, ..
            } => {
                let assertion = assertion.unwrap_or_default();
                params.push(("grant_type", "client_credentials".to_owned()));
                params.push(("client_id", client_id.clone()));
                params.push(("scope", scope(scopes)));
                params.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                params.push(("client_assertion", assertion));
                TokenRequestFormat::Form
            }
        };
        Ok((params, format))
    }

    /// Asks the token endpoint for a new token. Errors carry the HTTP status and the OAuth
    /// `error` code at most (never the request or the response body).
    /// `impersonate`: the user a Google service account's token is delegated to (the
    /// assertion's `sub`), instead of the configured one; other grants ignore it.
    pub async fn request(
        &self,
        http: &reqwest::Client,
        impersonate: Option<&str>,
    ) -> Result<IssuedToken, TokenError> {
        let assertion = match self {
            TokenGrant::FederatedAssertion { assertion, .. } => {
                Some(assertion.assertion(http).await?)
            }
            _ => None,
        };
        let (params, format) = self.params(impersonate, assertion)?;
        let mut request = http.post(self.url()).header("accept", "application/json");
        if let Some((user, password)) = self.basic_auth() {
            request = request.basic_auth(user, Some(password));
        }
        if let TokenGrant::CertificateCredentials {
            endpoint,
            client_id,
            key,
            ..
        } = self
        {
            request = request.bearer_auth(key.jwt(endpoint, client_id, None)?);
        }
        let request = match format {
            TokenRequestFormat::Form => request.form(&params),
            TokenRequestFormat::Json => {
                let body: serde_json::Map<String, serde_json::Value> = params
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
                    .collect();
                request
                    .header("content-type", "application/json")
                    .body(serde_json::Value::Object(body).to_string())
            }
        };
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                TokenError::Timeout
            } else {
                // The error's URL may hold values: kept out of the error.
                TokenError::Unreachable(e.without_url())
            }
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TokenError::UnreadableResponse(e.without_url()))?;
        if !status.is_success() {
            let code = serde_json::from_slice::<TokenErrorResponse>(&body)
                .ok()
                .map(|e| e.error)
                .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_graphic()));
            return Err(TokenError::Refused { status, code });
        }
        if let TokenGrant::CertificateCredentials {
            response: TokenResponseType::GitHubAccessToken,
            ..
        } = self
        {
            return github_token(&body);
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| TokenError::NoAccessToken)?;
        let expires_in = match token.expires_in {
            Some(serde_json::Value::Number(n)) => whole_seconds(&n.to_string()),
            Some(serde_json::Value::String(s)) => whole_seconds(&s),
            _ => None,
        }
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(3600));
        Ok(IssuedToken {
            access_token: token.access_token,
            expires_in,
            refresh_token: token.refresh_token.filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_coerced_to_whole_seconds() {
        assert_eq!(whole_seconds("3599"), Some(3599));
        assert_eq!(whole_seconds(" 3599.9 "), Some(3599));
        assert_eq!(whole_seconds("3.6e3"), Some(3600));
        assert_eq!(whole_seconds("-1"), None);
        assert_eq!(whole_seconds("soon"), None);
    }

    #[test]
    fn github_installation_tokens() {
        let at = |t: chrono::DateTime<chrono::FixedOffset>| {
            let body = format!(r#"{{"token":"ghs_x","expires_at":"{}"}}"#, t.to_rfc3339());
            github_token(body.as_bytes())
        };
        let hour = chrono::Utc::now() + chrono::Duration::hours(1);
        let offset = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let t = at(hour.with_timezone(&offset)).unwrap();
        assert_eq!(t.access_token, "ghs_x");
        assert!((3590..=3600).contains(&t.expires_in.as_secs()), "{t:?}");
        let past = chrono::Utc::now() - chrono::Duration::minutes(5);
        assert_eq!(
            at(past.with_timezone(&offset)).unwrap().expires_in,
            Duration::ZERO,
            "already expired: refreshed at the next request"
        );
        assert!(matches!(
            github_token(br#"{"token":"ghs_x","expires_at":"tomorrow"}"#),
            Err(TokenError::NoAccessToken)
        ));
        assert!(matches!(
            github_token(br#"{"access_token":"x"}"#),
            Err(TokenError::NoAccessToken)
        ));
    }
}
