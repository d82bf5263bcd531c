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
            StoreKind::ParameterStore => AwsStore::ParameterStore {
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
            service: self.service(),
            write,
            detail,
        }
    }

    async fn fetch_all(&self, names: &[String]) -> Result<HashMap<String, String>, RemoteError> {
        let mut found = HashMap::new();
        match self {
            AwsStore::ParameterStore { client, .. } => {
                // GetParameters takes at most 10 names; missing ones come back as invalid.
                for chunk in names.chunks(10) {
                    let out = client
                        .get_parameters()
                        .set_names(Some(chunk.to_vec()))
                        .with_decryption(true)
                        .send()
                        .await
                        .map_err(|e| self.error(&chunk.join(", "), false, &e))?;
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
