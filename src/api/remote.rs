//! API-mode settings from the environment and, when `PATH_TO_INSTANCE_CONFIG` /
//! `PATH_TO_SHARED_CONFIG` are set, the parameter store (SSM Parameter Store or Secrets
//! Manager, as in bulk mode); and the write-back of a rotated refresh token there. Used by
//! both shells.

use std::collections::HashMap;
use std::sync::Arc;

use super::auth::SecretWriter;
use super::settings::setting_names;
use crate::config::{resolve, ConfigLocation, RemoteClient};

/// Value Terraform gives a credential parameter until an operator fills it; read as unset.
pub const PLACEHOLDER_PREFIX: &str = "PLACEHOLDER";

/// Writes a rotated refresh token back to the first configured parameter prefix.
struct StoreWriter {
    client: RemoteClient,
    prefix: String,
    kms_key_id: Option<String>,
}

impl SecretWriter for StoreWriter {
    fn write<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.client
                .put(
                    &format!("{}{name}", self.prefix),
                    value,
                    self.kms_key_id.as_deref(),
                )
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The settings found, and where a rotated refresh token goes.
pub struct ResolvedSettings {
    values: HashMap<String, String>,
    /// The parameter store's writer, when settings come from one.
    pub writer: Option<Arc<dyn SecretWriter>>,
}

impl ResolvedSettings {
    /// A setting's value; a Terraform placeholder counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .filter(|v| !v.trim_start().starts_with(PLACEHOLDER_PREFIX))
            .cloned()
    }
}

/// Resolves every API setting: from `env` first, else from the parameter store that `env`
/// configures (none: `env` only).
pub async fn resolve_settings(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, String> {
    let location = ConfigLocation::from_env(env)?;
    let remote = match &location {
        Some(loc) => {
            let sdk = crate::storage::sdk_config().await;
            Some((loc, RemoteClient::new(loc.store, &sdk)))
        }
        None => None,
    };
    let names = setting_names();
    let values = resolve(&names, env, remote.as_ref().map(|(l, c)| (*l, c)))
        .await
        .map_err(|e| e.to_string())?;
    let writer: Option<Arc<dyn SecretWriter>> = remote.and_then(|(loc, client)| {
        Some(Arc::new(StoreWriter {
            client,
            prefix: loc.prefixes.first()?.clone(),
            kms_key_id: env("SSM_KMS_KEY_ID").filter(|k| !k.is_empty()),
        }) as Arc<dyn SecretWriter>)
    });
    Ok(ResolvedSettings { values, writer })
}
