//! Settings from a secret store: where they are ([`StoreLocation`], from `SECRETS_STORE`,
//! `PATH_TO_INSTANCE_CONFIG` and `PATH_TO_SHARED_CONFIG`) and the [`SecretStore`] interface
//! every store implements (AWS in [`super::aws`]; GCP Secret Manager will be another).
//!
//! A parameter's name is the prefix followed by the setting's name, e.g.
//! `/psoxy/hris/PSOXY_SALT` or `PSOXY_SHARED_PSOXY_SALT`. Settings are read once, when the
//! process starts.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use super::catalog::{
    GOOGLE_CLOUD_PROJECT, PATH_TO_INSTANCE_CONFIG, PATH_TO_SHARED_CONFIG, SECRETS_STORE,
    SECRET_MANAGER_ENDPOINT,
};
use super::{Setting, SettingError};

/// The settings that say where the secret store is (read from the flags and the environment
/// only, by the shells that use a store; the last two on Google Cloud only).
pub const LOCATION_SETTINGS: &[&Setting] = &[
    &SECRETS_STORE,
    &PATH_TO_INSTANCE_CONFIG,
    &PATH_TO_SHARED_CONFIG,
    &GOOGLE_CLOUD_PROJECT,
    &SECRET_MANAGER_ENDPOINT,
];

/// A boxed future, as the object-safe [`SecretStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RemoteError>> + Send + 'a>>;

/// Which service holds the remote settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// AWS Systems Manager Parameter Store (`SECRETS_STORE` unset or `AWS_SSM_PARAMETER_STORE`).
    ParameterStore,
    /// AWS Secrets Manager (`SECRETS_STORE=AWS_SECRETS_MANAGER`).
    SecretsManager,
    /// Google Cloud Secret Manager (the Cloud Run services; [`StoreLocation::for_gcp`]).
    GcpSecretManager,
}

/// Where remote settings live: the store and the prefixes to try, instance first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    /// The service.
    pub kind: StoreKind,
    /// Name prefixes, in the order they are tried.
    pub prefixes: Vec<String>,
}

/// A setting could not be read from (or written to) the secret store. Names the parameter,
/// never a value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot {verb} configuration parameter `{parameter}` {preposition} {service}: {detail}", verb = if *.write { "write" } else { "read" }, preposition = if *.write { "to" } else { "from" })]
pub struct RemoteError {
    /// The parameter's full name (prefix + setting).
    pub parameter: String,
    /// The service, e.g. `SSM Parameter Store`.
    pub service: &'static str,
    /// Whether it was a write.
    pub write: bool,
    /// The service's error code and message, or what failed on the way.
    pub detail: String,
}

/// A store of settings (secrets and others), read by parameter name.
pub trait SecretStore: Send + Sync {
    /// The service's name, for errors.
    fn service(&self) -> &'static str;
    /// The values of those of `names` (full names) that exist.
    fn fetch<'a>(&'a self, names: &'a [String]) -> StoreFuture<'a, HashMap<String, String>>;
    /// Overwrites parameter `name` (full name) with `value` (a rotated refresh token).
    fn put<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()>;
}

impl StoreLocation {
    /// Reads `SECRETS_STORE`, `PATH_TO_INSTANCE_CONFIG` and `PATH_TO_SHARED_CONFIG` through
    /// `lookup`. `None` when neither prefix is set: every setting then comes from the flags and
    /// the environment.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<StoreLocation>, SettingError> {
        let kind = match lookup(SECRETS_STORE.name)
            .map(|s| s.trim().to_ascii_uppercase())
            .as_deref()
        {
            None | Some("") | Some("AWS_SSM_PARAMETER_STORE") => StoreKind::ParameterStore,
            Some("AWS_SECRETS_MANAGER") => StoreKind::SecretsManager,
            Some(_) => {
                return Err(SettingError::Invalid {
                    name: SECRETS_STORE.name,
                    expected: "AWS_SSM_PARAMETER_STORE or AWS_SECRETS_MANAGER",
                })
            }
        };
        let prefixes: Vec<String> = [PATH_TO_INSTANCE_CONFIG.name, PATH_TO_SHARED_CONFIG.name]
            .iter()
            .filter_map(|name| lookup(name))
            .filter(|p| !p.trim().is_empty())
            .map(|p| match kind {
                // SSM names with a `/` are paths, which must start with one (as Psoxy does).
                StoreKind::ParameterStore if p.contains('/') && !p.starts_with('/') => {
                    format!("/{p}")
                }
                _ => p,
            })
            .collect();
        Ok((!prefixes.is_empty()).then_some(StoreLocation { kind, prefixes }))
    }

    /// Where the Cloud Run services' settings are: Secret Manager, under the prefixes of
    /// `PATH_TO_INSTANCE_CONFIG` and `PATH_TO_SHARED_CONFIG` (secret ids: prefix + name, e.g.
    /// `PSOXY_SHARED_PSOXY_SALT`). `SECRETS_STORE` may be unset or `GCP_SECRET_MANAGER`.
    /// `None` when neither prefix is set.
    pub fn for_gcp(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<StoreLocation>, SettingError> {
        match lookup(SECRETS_STORE.name)
            .map(|s| s.trim().to_ascii_uppercase())
            .as_deref()
        {
            None | Some("") | Some("GCP_SECRET_MANAGER") => {}
            Some(_) => {
                return Err(SettingError::Invalid {
                    name: SECRETS_STORE.name,
                    expected: "GCP_SECRET_MANAGER (or unset) on Google Cloud",
                })
            }
        }
        let prefixes: Vec<String> = [PATH_TO_INSTANCE_CONFIG.name, PATH_TO_SHARED_CONFIG.name]
            .iter()
            .filter_map(|name| lookup(name))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        Ok((!prefixes.is_empty()).then_some(StoreLocation {
            kind: StoreKind::GcpSecretManager,
            prefixes,
        }))
    }

    /// Psoxy's default instance namespace of a function: its name upper-cased, `-` as `_`,
    /// and a `_` (`psoxy-zoom` -> `PSOXY_ZOOM_`).
    pub fn function_namespace(function_name: &str) -> String {
        format!(
            "{}_",
            function_name.trim().to_ascii_uppercase().replace('-', "_")
        )
    }

    /// The full name of `setting` under the first prefix (where a rotated value is written).
    pub fn first_name(&self, setting: &str) -> Option<String> {
        self.prefixes.first().map(|p| format!("{p}{setting}"))
    }
}

/// Finds `names` in `store`: each under the first prefix of `location` that has it (a blank
/// value counts as absent). Returns the values found, by setting name.
pub(crate) async fn resolve_remote(
    names: &[&'static str],
    location: &StoreLocation,
    store: &dyn SecretStore,
) -> Result<HashMap<&'static str, String>, RemoteError> {
    let mut values = HashMap::new();
    let mut missing = names.to_vec();
    for prefix in &location.prefixes {
        if missing.is_empty() {
            break;
        }
        let full: Vec<String> = missing.iter().map(|n| format!("{prefix}{n}")).collect();
        let found = store.fetch(&full).await?;
        missing.retain(|name| match found.get(&format!("{prefix}{name}")) {
            Some(v) if !v.trim().is_empty() => {
                values.insert(*name, v.clone());
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

    use crate::settings::test_lookup as lookup;

    #[test]
    fn location_from_the_environment() {
        assert_eq!(StoreLocation::from_lookup(&lookup(&[])).unwrap(), None);
        let loc = StoreLocation::from_lookup(&lookup(&[
            ("PATH_TO_INSTANCE_CONFIG", "/psoxy/hris/"),
            ("PATH_TO_SHARED_CONFIG", "/psoxy/"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(loc.kind, StoreKind::ParameterStore);
        assert_eq!(loc.prefixes, ["/psoxy/hris/", "/psoxy/"]);
        assert_eq!(
            loc.first_name("REFRESH_TOKEN").as_deref(),
            Some("/psoxy/hris/REFRESH_TOKEN")
        );
        let loc = StoreLocation::from_lookup(&lookup(&[
            ("SECRETS_STORE", "aws_secrets_manager"),
            ("PATH_TO_SHARED_CONFIG", "psoxy_"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(loc.kind, StoreKind::SecretsManager);
        assert_eq!(loc.prefixes, ["psoxy_"]);
        assert!(StoreLocation::from_lookup(&lookup(&[("SECRETS_STORE", "VAULT")])).is_err());
        let loc =
            StoreLocation::from_lookup(&lookup(&[("PATH_TO_INSTANCE_CONFIG", "psoxy/zoom/")]))
                .unwrap()
                .unwrap();
        assert_eq!(
            loc.prefixes,
            ["/psoxy/zoom/"],
            "an SSM path starts with `/`"
        );
        assert_eq!(
            StoreLocation::function_namespace("psoxy-zoom"),
            "PSOXY_ZOOM_"
        );
        assert!(
            StoreLocation::from_lookup(&lookup(&[("SECRETS_STORE", "GCP_SECRET_MANAGER")]))
                .is_err(),
            "an AWS shell has no Secret Manager"
        );
        let loc = StoreLocation::for_gcp(&lookup(&[
            ("PATH_TO_INSTANCE_CONFIG", "PSOXY_HRIS_"),
            ("PATH_TO_SHARED_CONFIG", "PSOXY_SHARED_"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(loc.kind, StoreKind::GcpSecretManager);
        assert_eq!(loc.prefixes, ["PSOXY_HRIS_", "PSOXY_SHARED_"]);
        assert!(
            StoreLocation::for_gcp(&lookup(&[("SECRETS_STORE", "AWS_SECRETS_MANAGER")])).is_err()
        );
        assert_eq!(StoreLocation::for_gcp(&lookup(&[])).unwrap(), None);
    }

    /// A store in memory, counting the names asked for.
    struct Memory(HashMap<String, String>);

    impl SecretStore for Memory {
        fn service(&self) -> &'static str {
            "memory"
        }
        fn fetch<'a>(&'a self, names: &'a [String]) -> StoreFuture<'a, HashMap<String, String>> {
            Box::pin(async move {
                Ok(names
                    .iter()
                    .filter_map(|n| Some((n.clone(), self.0.get(n)?.clone())))
                    .collect())
            })
        }
        fn put<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn instance_prefix_first_then_shared_blank_is_absent() {
        let store = Memory(HashMap::from([
            ("/i/PSOXY_SALT".to_owned(), "instance".to_owned()),
            ("/s/PSOXY_SALT".to_owned(), "shared".to_owned()),
            ("/i/RULES".to_owned(), " ".to_owned()),
            ("/s/RULES".to_owned(), "shared-rules".to_owned()),
        ]));
        let location = StoreLocation {
            kind: StoreKind::ParameterStore,
            prefixes: vec!["/i/".into(), "/s/".into()],
        };
        let found = resolve_remote(&["PSOXY_SALT", "RULES", "OTHER"], &location, &store)
            .await
            .unwrap();
        assert_eq!(found["PSOXY_SALT"], "instance");
        assert_eq!(found["RULES"], "shared-rules");
        assert!(!found.contains_key("OTHER"));
    }
}
