//! The AWS secret stores: Systems Manager Parameter Store (`GetParameters` with decryption, 10
//! names a call) and Secrets Manager (`GetSecretValue` per name, in parallel).

use std::collections::HashMap;

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use super::remote::{RemoteError, SecretStore, StoreFuture, StoreKind};

/// An AWS secret store client.
#[derive(Debug, Clone)]
pub enum AwsStore {
    /// Parameter Store; written parameters are `SecureString`s under the KMS key, when given
    /// (`SSM_KMS_KEY_ID`; else the account's default key).
    ParameterStore {
        /// The client.
        client: aws_sdk_ssm::Client,
        /// KMS key of written parameters.
        kms_key_id: Option<String>,
    },
    /// Secrets Manager.
    SecretsManager(aws_sdk_secretsmanager::Client),
}

impl AwsStore {
    /// A client for `kind`, configured like every AWS SDK client (`config`).
    pub fn new(
        kind: StoreKind,
        config: &aws_config::SdkConfig,
        kms_key_id: Option<String>,
    ) -> Self {
        match kind {
            // Only the Cloud Run services make a Secret Manager location, and they never build
            // an AWS store; `StoreLocation::from_lookup` refuses `GCP_SECRET_MANAGER`.
            StoreKind::ParameterStore | StoreKind::GcpSecretManager => AwsStore::ParameterStore {
                client: aws_sdk_ssm::Client::new(config),
                kms_key_id,
            },
            StoreKind::SecretsManager => {
                AwsStore::SecretsManager(aws_sdk_secretsmanager::Client::new(config))
            }
        }
    }

    fn error<E, R>(&self, parameter: &str, write: bool, e: &SdkError<E, R>) -> RemoteError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        sdk_error(self.service(), parameter, write, e)
    }

    /// The current value of one parameter (full name), uncached: `GetParameter` (with
    /// decryption) or `GetSecretValue`. Absent, access denied or a placeholder: `None`.
    pub async fn get_current(&self, name: &str) -> Result<Option<String>, RemoteError> {
        let value = match self {
            AwsStore::ParameterStore { client, .. } => {
                match client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                {
                    Ok(out) => out.parameter().and_then(|p| p.value()).map(str::to_owned),
                    Err(e) if is_absent(&e) => None,
                    Err(e) => return Err(self.error(name, false, &e)),
                }
            }
            AwsStore::SecretsManager(client) => {
                match client.get_secret_value().secret_id(name).send().await {
                    Ok(out) => out.secret_string().map(str::to_owned),
                    Err(e) if is_absent(&e) => None,
                    Err(e) => return Err(self.error(name, false, &e)),
                }
            }
        };
        Ok(value.filter(|v| !super::lookup::is_placeholder(v) && !v.trim().is_empty()))
    }

    async fn fetch_all(&self, names: &[String]) -> Result<HashMap<String, String>, RemoteError> {
        let mut found = HashMap::new();
        match self {
            AwsStore::ParameterStore { client, .. } => {
                // GetParameters takes at most 10 names; missing ones come back as invalid.
                for chunk in names.chunks(10) {
                    let out = match client
                        .get_parameters()
                        .set_names(Some(chunk.to_vec()))
                        .with_decryption(true)
                        .send()
                        .await
                    {
                        Ok(out) => out,
                        // A namespace this function may not read holds none of its settings
                        // (Psoxy: an AccessDenied read counts as absent).
                        Err(e) if is_access_denied(&e) => {
                            tracing::debug!(parameters = %chunk.join(", "), "access denied; read as absent");
                            continue;
                        }
                        Err(e) => return Err(self.error(&chunk.join(", "), false, &e)),
                    };
                    for p in out.parameters() {
                        if let (Some(name), Some(value)) = (p.name(), p.value()) {
                            found.insert(name.to_owned(), value.to_owned());
                        }
                    }
                }
            }
            AwsStore::SecretsManager(client) => {
                let mut tasks = tokio::task::JoinSet::new();
                for name in names {
                    let (client, name) = (client.clone(), name.clone());
                    tasks.spawn(async move {
                        let result = client.get_secret_value().secret_id(&name).send().await;
                        (name, result)
                    });
                }
                while let Some(joined) = tasks.join_next().await {
                    let (name, result) = joined.map_err(|e| RemoteError {
                        parameter: String::new(),
                        service: self.service(),
                        write: false,
                        detail: e.to_string(),
                    })?;
                    match result {
                        Ok(out) => {
                            if let Some(value) = out.secret_string() {
                                found.insert(name, value.to_owned());
                            }
                        }
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
                        Err(e) => return Err(self.error(&name, false, &e)),
                    }
                }
            }
        }
        Ok(found)
    }

    async fn put_one(&self, name: &str, value: &str) -> Result<(), RemoteError> {
        match self {
            AwsStore::ParameterStore { client, kms_key_id } => {
                client
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .overwrite(true)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .set_key_id(kms_key_id.clone())
                    .send()
                    .await
                    .map_err(|e| self.error(name, true, &e))?;
            }
            AwsStore::SecretsManager(client) => {
                client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| self.error(name, true, &e))?;
            }
        }
        Ok(())
    }
}

/// An AWS SDK error as a [`RemoteError`] naming `parameter` (never a value).
fn sdk_error<E, R>(
    service: &'static str,
    parameter: &str,
    write: bool,
    e: &SdkError<E, R>,
) -> RemoteError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}{}",
                err.code().unwrap_or("service error"),
                err.message().map(|m| format!(": {m}")).unwrap_or_default()
            )
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => "cannot connect".into(),
        other => format!("{other}"),
    };
    RemoteError {
        parameter: parameter.to_owned(),
        service,
        write,
        detail,
    }
}

/// The service's error code, when it answered with one.
fn error_code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

fn is_access_denied<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    error_code(e).is_some_and(|c| c == "AccessDeniedException" || c == "AccessDenied")
}

/// Not found, or not readable by this function: absent.
fn is_absent<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    is_access_denied(e)
        || error_code(e)
            .is_some_and(|c| c == "ParameterNotFound" || c == "ResourceNotFoundException")
}

/// What creating a parameter only if it is absent found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// It was absent and now holds the value.
    Created,
    /// It exists; when it was last written, if SSM says.
    Exists {
        /// `LastModifiedDate`.
        last_modified: Option<std::time::SystemTime>,
    },
}

/// Plain SSM `String` parameters used as locks (always Parameter Store, even when the secrets
/// are in Secrets Manager, as in Psoxy).
#[derive(Debug, Clone)]
pub struct SsmLocks {
    client: aws_sdk_ssm::Client,
}

const SSM: &str = "SSM Parameter Store";

impl SsmLocks {
    /// Locks in the Parameter Store of `config`.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SsmLocks {
            client: aws_sdk_ssm::Client::new(config),
        }
    }

    /// `PutParameter` (`String`, `Overwrite=false`): created, or it already exists.
    pub async fn create(&self, name: &str, value: &str) -> Result<Creation, RemoteError> {
        let put = self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Creation::Created),
            Err(e) if error_code(&e) == Some("ParameterAlreadyExists") => {
                let found = self
                    .client
                    .get_parameter()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error(SSM, name, false, &e))?;
                let last_modified = found
                    .parameter()
                    .and_then(|p| p.last_modified_date())
                    .and_then(|d| std::time::SystemTime::try_from(*d).ok());
                Ok(Creation::Exists { last_modified })
            }
            Err(e) => Err(sdk_error(SSM, name, true, &e)),
        }
    }

    /// The parameter's value (`None`: absent).
    pub async fn read(&self, name: &str) -> Result<Option<String>, RemoteError> {
        match self.client.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
            Err(e) if error_code(&e) == Some("ParameterNotFound") => Ok(None),
            Err(e) => Err(sdk_error(SSM, name, false, &e)),
        }
    }

    /// `DeleteParameter`; an absent one is already deleted.
    pub async fn delete(&self, name: &str) -> Result<(), RemoteError> {
        match self.client.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ParameterNotFound") => {
                tracing::warn!("the lock parameter was already gone");
                Ok(())
            }
            Err(e) => Err(sdk_error(SSM, name, true, &e)),
        }
    }
}

impl SecretStore for AwsStore {
    fn service(&self) -> &'static str {
        match self {
            AwsStore::ParameterStore { .. } => "SSM Parameter Store",
            AwsStore::SecretsManager(_) => "Secrets Manager",
        }
    }

    fn fetch<'a>(&'a self, names: &'a [String]) -> StoreFuture<'a, HashMap<String, String>> {
        Box::pin(self.fetch_all(names))
    }

    fn put<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.put_one(name, value))
    }
}
