//! Where the function's settings come from: the environment first, then AWS Systems Manager
//! Parameter Store (or Secrets Manager when `SECRETS_STORE=AWS_SECRETS_MANAGER`), under the
//! instance prefix (`PATH_TO_INSTANCE_CONFIG`) and then the shared one
//! (`PATH_TO_SHARED_CONFIG`). A parameter's name is the prefix followed by the setting's name,
//! e.g. `/psoxy/hris/PSOXY_SALT` or `PSOXY_SHARED_PSOXY_SALT`.
//!
//! [`resolve`] reads every setting once and returns them all; the function does this when its
//! process starts and keeps the result for every invocation. Values are never logged and never
//! appear in errors: errors name the parameter only.

use std::collections::HashMap;

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

/// Which service holds the remote settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsStore {
    /// AWS Systems Manager Parameter Store (`SECRETS_STORE` unset or `AWS_SSM_PARAMETER_STORE`).
    ParameterStore,
    /// AWS Secrets Manager (`SECRETS_STORE=AWS_SECRETS_MANAGER`).
    SecretsManager,
}

/// Where remote settings live: the store and the prefixes to try, instance first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The service.
    pub store: SecretsStore,
    /// Name prefixes, in the order they are tried.
    pub prefixes: Vec<String>,
}

/// A setting could not be read from the remote store. Names the parameter, never a value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read configuration parameter `{parameter}` from {service}: {message}")]
pub struct ConfigError {
    /// The parameter's full name (prefix + setting).
    pub parameter: String,
    /// `SSM Parameter Store` or `Secrets Manager`.
    pub service: &'static str,
    /// Why.
    pub message: String,
}

impl ConfigLocation {
    /// Reads `SECRETS_STORE`, `PATH_TO_INSTANCE_CONFIG` and `PATH_TO_SHARED_CONFIG` through
    /// `env`. `None` when neither prefix is set: every setting then comes from the environment.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let store = match env("SECRETS_STORE")
            .map(|s| s.trim().to_ascii_uppercase())
            .as_deref()
        {
            None | Some("") | Some("AWS_SSM_PARAMETER_STORE") => SecretsStore::ParameterStore,
            Some("AWS_SECRETS_MANAGER") => SecretsStore::SecretsManager,
            Some(_) => {
                return Err(
                    "setting SECRETS_STORE is invalid: expected AWS_SSM_PARAMETER_STORE or AWS_SECRETS_MANAGER"
                        .into(),
                )
            }
        };
        let prefixes: Vec<String> = ["PATH_TO_INSTANCE_CONFIG", "PATH_TO_SHARED_CONFIG"]
            .iter()
            .filter_map(|name| env(name))
            .filter(|p| !p.trim().is_empty())
            .collect();
        Ok((!prefixes.is_empty()).then_some(ConfigLocation { store, prefixes }))
    }
}

/// A client of the remote store.
#[derive(Debug, Clone)]
pub enum RemoteClient {
    /// Parameter Store.
    ParameterStore(aws_sdk_ssm::Client),
    /// Secrets Manager.
    SecretsManager(aws_sdk_secretsmanager::Client),
}

impl RemoteClient {
    /// A client for `store`, configured like every AWS SDK client (`config`).
    pub fn new(store: SecretsStore, config: &aws_config::SdkConfig) -> Self {
        match store {
            SecretsStore::ParameterStore => {
                RemoteClient::ParameterStore(aws_sdk_ssm::Client::new(config))
            }
            SecretsStore::SecretsManager => {
                RemoteClient::SecretsManager(aws_sdk_secretsmanager::Client::new(config))
            }
        }
    }

    fn service(&self) -> &'static str {
        match self {
            RemoteClient::ParameterStore(_) => "SSM Parameter Store",
            RemoteClient::SecretsManager(_) => "Secrets Manager",
        }
    }

    /// Values of the parameters that exist among `names` (full names).
    async fn fetch(&self, names: &[String]) -> Result<HashMap<String, String>, ConfigError> {
        let mut found = HashMap::new();
        match self {
            RemoteClient::ParameterStore(client) => {
                // GetParameters takes at most 10 names; missing ones come back as invalid.
                for chunk in names.chunks(10) {
                    let out = client
                        .get_parameters()
                        .set_names(Some(chunk.to_vec()))
                        .with_decryption(true)
                        .send()
                        .await
                        .map_err(|e| self.error(&chunk.join(", "), &e))?;
                    for p in out.parameters() {
                        if let (Some(name), Some(value)) = (p.name(), p.value()) {
                            found.insert(name.to_owned(), value.to_owned());
                        }
                    }
                }
            }
            RemoteClient::SecretsManager(client) => {
                let mut tasks = tokio::task::JoinSet::new();
                for name in names {
                    let (client, name) = (client.clone(), name.clone());
                    tasks.spawn(async move {
                        let result = client.get_secret_value().secret_id(&name).send().await;
                        (name, result)
                    });
                }
                while let Some(joined) = tasks.join_next().await {
                    let (name, result) = joined.map_err(|e| ConfigError {
                        parameter: String::new(),
                        service: self.service(),
                        message: e.to_string(),
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
                        Err(e) => return Err(self.error(&name, &e)),
                    }
                }
            }
        }
        Ok(found)
    }

    /// Overwrites the parameter `name` (full name) with `value` (a rotated refresh token).
    /// Parameter Store keeps it a `SecureString` under `kms_key_id` when given (else the
    /// account's default key).
    pub async fn put(
        &self,
        name: &str,
        value: &str,
        kms_key_id: Option<&str>,
    ) -> Result<(), ConfigError> {
        match self {
            RemoteClient::ParameterStore(client) => {
                client
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .overwrite(true)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .set_key_id(kms_key_id.map(str::to_owned))
                    .send()
                    .await
                    .map_err(|e| self.error(name, &e))?;
            }
            RemoteClient::SecretsManager(client) => {
                client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| self.error(name, &e))?;
            }
        }
        Ok(())
    }

    fn error<E, R>(&self, parameter: &str, e: &SdkError<E, R>) -> ConfigError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = match e {
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
        ConfigError {
            parameter: parameter.to_owned(),
            service: self.service(),
            message,
        }
    }
}

/// Resolves `names`: each from `env` when set there (and not empty), otherwise from the remote
/// store under the first prefix that has it. Returns the values found; unset names are absent.
pub async fn resolve(
    names: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
    remote: Option<(&ConfigLocation, &RemoteClient)>,
) -> Result<HashMap<String, String>, ConfigError> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for name in names {
        match env(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => {
                values.insert((*name).to_owned(), v);
            }
            None => missing.push(*name),
        }
    }
    let Some((location, client)) = remote else {
        return Ok(values);
    };
    for prefix in &location.prefixes {
        if missing.is_empty() {
            break;
        }
        let full: Vec<String> = missing.iter().map(|n| format!("{prefix}{n}")).collect();
        let found = client.fetch(&full).await?;
        missing.retain(|name| match found.get(&format!("{prefix}{name}")) {
            Some(v) if !v.trim().is_empty() => {
                values.insert((*name).to_owned(), v.clone());
                false
            }
            _ => true,
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn location_from_environment() {
        assert_eq!(ConfigLocation::from_env(&env(&[])).unwrap(), None);
        let loc = ConfigLocation::from_env(&env(&[
            ("PATH_TO_INSTANCE_CONFIG", "/psoxy/hris/"),
            ("PATH_TO_SHARED_CONFIG", "/psoxy/"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(loc.store, SecretsStore::ParameterStore);
        assert_eq!(loc.prefixes, ["/psoxy/hris/", "/psoxy/"]);
        let loc = ConfigLocation::from_env(&env(&[
            ("SECRETS_STORE", "aws_secrets_manager"),
            ("PATH_TO_SHARED_CONFIG", "psoxy_"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(loc.store, SecretsStore::SecretsManager);
        assert_eq!(loc.prefixes, ["psoxy_"]);
        assert!(ConfigLocation::from_env(&env(&[("SECRETS_STORE", "VAULT")])).is_err());
    }

    #[tokio::test]
    async fn environment_only_without_a_location() {
        let values = resolve(
            &["PSOXY_SALT", "RULES"],
            &env(&[("PSOXY_SALT", "x"), ("RULES", " ")]),
            None,
        )
        .await
        .unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values["PSOXY_SALT"], "x");
    }
}
