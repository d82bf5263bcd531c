//! The API's credential store on Google Cloud: Secret Manager as the [`CredentialStore`] of
//! the rotated refresh token and the shared access token (a new secret version each write),
//! and the shared token's lock as Psoxy keeps it there: the label `locked=<epoch ms>` on the
//! secret `<instance namespace>OAUTH_REFRESH_TOKEN` (made by Terraform), set and removed by
//! etag-guarded label updates, so of two instances racing only one sets it.

use std::time::Duration;

use serde_json::Value;

use super::auth::shared::{CredentialStore, LockCreation};
use crate::settings::gcp::SecretManager;
use crate::settings::remote::{RemoteError, StoreFuture};
use crate::settings::StoreLocation;

/// The label holding the lock.
pub const LOCK_LABEL: &str = "locked";

/// The lock values the protocol compares: `locked_<epoch ms>`.
const LOCK_VALUE_PREFIX: &str = "locked_";

/// Secret Manager as the API's credential store, under the instance namespace.
pub struct SecretManagerCredentials {
    store: SecretManager,
    location: StoreLocation,
}

impl SecretManagerCredentials {
    /// The store of `location` (its first prefix is the instance namespace).
    pub fn new(store: SecretManager, location: StoreLocation) -> Self {
        SecretManagerCredentials { store, location }
    }

    fn name(&self, setting: &str) -> String {
        self.location
            .first_name(setting)
            .unwrap_or_else(|| setting.to_owned())
    }

    /// The secret carrying the lock of `lock_setting` (`OAUTH_REFRESH_TOKEN_lock` ->
    /// `<namespace>OAUTH_REFRESH_TOKEN`).
    fn lock_secret(&self, lock_setting: &str) -> String {
        self.name(lock_setting.strip_suffix("_lock").unwrap_or(lock_setting))
    }

    fn missing_lock_secret(name: &str) -> RemoteError {
        RemoteError {
            parameter: name.to_owned(),
            service: crate::settings::gcp::SERVICE,
            write: true,
            detail: "the lock's secret does not exist or may not be read (Terraform creates it)"
                .into(),
        }
    }
}

/// The epoch milliseconds of a protocol value (`locked_<ms>`) or a label value (`<ms>`).
fn lock_millis(value: &str) -> Option<u64> {
    value
        .strip_prefix(LOCK_VALUE_PREFIX)
        .unwrap_or(value)
        .parse()
        .ok()
}

impl CredentialStore for SecretManagerCredentials {
    fn write<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.store.add_version(&self.name(name), value).await })
    }

    fn read<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move { self.store.access(&self.name(name)).await })
    }

    fn create_lock<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, LockCreation> {
        Box::pin(async move {
            let secret = self.lock_secret(name);
            let (mut labels, etag) = self
                .store
                .labels(&secret)
                .await?
                .ok_or_else(|| Self::missing_lock_secret(&secret))?;
            if let Some(held) = labels.get(LOCK_LABEL).and_then(Value::as_str) {
                let age = lock_millis(held).map(|ms| {
                    crate::api::auth::unix_now().saturating_sub(Duration::from_millis(ms))
                });
                return Ok(LockCreation::Exists { age });
            }
            let millis = lock_millis(value).unwrap_or_default();
            labels.insert(LOCK_LABEL.into(), Value::String(millis.to_string()));
            Ok(if self.store.set_labels(&secret, labels, &etag).await? {
                LockCreation::Created
            } else {
                // Another instance changed the secret between our read and our update.
                LockCreation::Exists { age: None }
            })
        })
    }

    fn read_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let secret = self.lock_secret(name);
            Ok(self.store.labels(&secret).await?.and_then(|(labels, _)| {
                labels
                    .get(LOCK_LABEL)
                    .and_then(Value::as_str)
                    .map(|ms| format!("{LOCK_VALUE_PREFIX}{ms}"))
            }))
        })
    }

    fn delete_lock<'a>(&'a self, name: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let secret = self.lock_secret(name);
            // A concurrent change makes the guarded update fail: read again and retry.
            for _ in 0..3 {
                let Some((mut labels, etag)) = self.store.labels(&secret).await? else {
                    return Ok(());
                };
                if labels.remove(LOCK_LABEL).is_none() {
                    return Ok(());
                }
                if self.store.set_labels(&secret, labels, &etag).await? {
                    return Ok(());
                }
            }
            Err(RemoteError {
                parameter: secret,
                service: crate::settings::gcp::SERVICE,
                write: true,
                detail: "the lock label kept changing under us".into(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_values() {
        assert_eq!(lock_millis("locked_1700000000000"), Some(1_700_000_000_000));
        assert_eq!(lock_millis("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(lock_millis("yes"), None);
    }
}
