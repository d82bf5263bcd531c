//! Where the federated assertion of Microsoft workload identity federation comes from: the
//! JWT an Entra application trusts (a federated credential: issuer, subject, audience) and that
//! the proxy sends as `client_assertion` instead of a secret.
//!
//! - **AWS** (Psoxy's `IDENTITY_POOL_ID`, `IDENTITY_ID`, `DEVELOPER_NAME_ID`): a Cognito
//!   identity pool with a developer provider. `GetOpenIdTokenForDeveloperIdentity` with the
//!   login `DEVELOPER_NAME_ID=CLIENT_ID` returns an OpenID token whose issuer is
//!   `https://cognito-identity.amazonaws.com`, audience the pool and subject the identity.
//! - **GCP** (Psoxy's `AUDIENCE`): the metadata server's ID token for that audience
//!   (`api://AzureADTokenExchange`).
//! - **A file** (ours, `MS_FEDERATED_TOKEN_FILE`): whatever keeps it current (e.g. a Kubernetes
//!   projected token).

#[cfg(feature = "aws")]
use std::collections::HashMap;

#[cfg(feature = "aws")]
use aws_sdk_cognitoidentity::error::ProvideErrorMetadata;

/// The federated assertion cannot be obtained. Holds a status or an error code, never a token.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The assertion's file cannot be read.
    #[error("cannot read the federated token file (MS_FEDERATED_TOKEN_FILE): {0}")]
    File(#[source] std::io::Error),
    /// The service that issues it refused or cannot be reached.
    #[error("cannot get the federated assertion from {from}: {detail}")]
    Service {
        /// Where it was asked for.
        from: &'static str,
        /// The error code or status.
        detail: String,
    },
    /// This build cannot ask Cognito (no `aws` feature).
    #[error(transparent)]
    NotBuilt(#[from] crate::features::NotBuilt),
}

/// The Cognito developer identity whose OpenID token is the assertion.
#[derive(Clone)]
pub struct CognitoIdentity {
    /// `IDENTITY_POOL_ID` (`region:guid`).
    pub pool_id: String,
    /// `IDENTITY_ID`, when known (else Cognito finds the identity linked to the login).
    pub identity_id: Option<String>,
    /// `DEVELOPER_NAME_ID`: the pool's developer provider name.
    pub developer_provider: String,
    /// The login's identifier (the Entra application's client id).
    pub login: String,
    #[cfg(feature = "aws")]
    client: tokio::sync::OnceCell<aws_sdk_cognitoidentity::Client>,
}

impl CognitoIdentity {
    /// The identity of `login` under `developer_provider` in `pool_id`.
    pub fn new(
        pool_id: String,
        identity_id: Option<String>,
        developer_provider: String,
        login: String,
    ) -> Self {
        CognitoIdentity {
            pool_id,
            identity_id,
            developer_provider,
            login,
            #[cfg(feature = "aws")]
            client: tokio::sync::OnceCell::new(),
        }
    }

    #[cfg(not(feature = "aws"))]
    async fn open_id_token(&self) -> Result<String, FederationError> {
        Err(
            crate::features::NotBuilt::aws("IDENTITY_POOL_ID (a Cognito developer identity)")
                .into(),
        )
    }

    #[cfg(feature = "aws")]
    async fn open_id_token(&self) -> Result<String, FederationError> {
        let client = self
            .client
            .get_or_init(|| async {
                aws_sdk_cognitoidentity::Client::new(&crate::aws_sdk::sdk_config().await)
            })
            .await;
        let out = client
            .get_open_id_token_for_developer_identity()
            .identity_pool_id(&self.pool_id)
            .set_identity_id(self.identity_id.clone())
            .set_logins(Some(HashMap::from([(
                self.developer_provider.clone(),
                self.login.clone(),
            )])))
            .send()
            .await
            .map_err(|e| FederationError::Service {
                from: "Cognito GetOpenIdTokenForDeveloperIdentity",
                detail: e
                    .as_service_error()
                    .and_then(|s| s.code())
                    .map_or_else(|| "cannot reach the service".to_owned(), str::to_owned),
            })?;
        if let (Some(wanted), Some(got)) = (&self.identity_id, out.identity_id()) {
            if wanted != got {
                tracing::warn!(
                    "Cognito returned another identity than IDENTITY_ID; the Entra federated credential's subject must be the one returned"
                );
            }
        }
        out.token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or(FederationError::Service {
                from: "Cognito GetOpenIdTokenForDeveloperIdentity",
                detail: "no token in the answer".into(),
            })
    }
}

/// Where the assertion comes from.
#[derive(Clone)]
pub enum AssertionSource {
    /// A file, read at each token request.
    File(String),
    /// A Cognito developer identity (AWS).
    Cognito(Box<CognitoIdentity>),
    /// The GCP metadata server's ID token for `audience`.
    GcpMetadata {
        /// The token's audience.
        audience: String,
    },
}

/// Host of the GCP metadata server (`GCE_METADATA_HOST` overrides it, as in Google's
/// libraries).
const METADATA_HOST: &str = "metadata.google.internal";

impl AssertionSource {
    /// What the settings call it, for errors.
    pub fn describe(&self) -> &'static str {
        match self {
            AssertionSource::File(_) => "MS_FEDERATED_TOKEN_FILE",
            AssertionSource::Cognito(_) => "a Cognito developer identity",
            AssertionSource::GcpMetadata { .. } => "the GCP metadata server",
        }
    }

    /// A current assertion.
    pub async fn assertion(&self, http: &reqwest::Client) -> Result<String, FederationError> {
        match self {
            AssertionSource::File(path) => Ok(tokio::fs::read_to_string(path)
                .await
                .map_err(FederationError::File)?
                .trim()
                .to_owned()),
            AssertionSource::Cognito(identity) => identity.open_id_token().await,
            AssertionSource::GcpMetadata { audience } => {
                let host = std::env::var("GCE_METADATA_HOST")
                    .ok()
                    .filter(|h| !h.trim().is_empty())
                    .unwrap_or_else(|| METADATA_HOST.to_owned());
                let failed = |detail: String| FederationError::Service {
                    from: "the GCP metadata server",
                    detail,
                };
                let response = http
                    .get(format!(
                        "http://{host}/computeMetadata/v1/instance/service-accounts/default/identity"
                    ))
                    .query(&[("audience", audience.as_str())])
                    .header("metadata-flavor", "Google")
                    .send()
                    .await
                    .map_err(|_| failed("cannot reach it".into()))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(failed(format!("it answered {status}")));
                }
                let token = response
                    .text()
                    .await
                    .map_err(|_| failed("cannot read its answer".into()))?;
                let token = token.trim();
                if token.is_empty() {
                    return Err(failed("empty token".into()));
                }
                Ok(token.to_owned())
            }
        }
    }
}
