//! Settings: every setting declared once ([`catalog`]), and one lookup that serves every
//! shell ([`Settings`]): flags first, then the environment, then a secret store (AWS SSM
//! Parameter Store or Secrets Manager, see [`aws`]) under the instance's and the shared
//! parameter prefix.
//!
//! The same rules hold whichever shell reads a setting: a blank value is unset, and so is a
//! value Terraform wrote as a placeholder (`PLACEHOLDER...`) until an operator fills it.
//! Values are never logged and never appear in errors; errors name the setting.
//!
//! Typed readers of groups of settings live beside the code that uses them
//! ([`crate::bulk::BulkSettings`], [`crate::api::ApiSettings`]); the pseudonym settings every
//! mode shares are read by [`pseudonym_settings`].

#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
mod error;
#[cfg(feature = "gcp")]
pub mod gcp;
mod lookup;
mod pseudonym;
pub mod remote;

pub use error::SettingError;
pub use lookup::{Flags, Settings, PLACEHOLDER_PREFIX};
pub use pseudonym::{pseudonym_settings, PSEUDONYM_SETTINGS};
pub use remote::{RemoteError, SecretStore, StoreKind, StoreLocation, LOCATION_SETTINGS};

use catalog::{AWS_LAMBDA_FUNCTION_NAME, K_SERVICE, PSOXY_INSTANCE_ID};

/// The platform's name of this function or service: `AWS_LAMBDA_FUNCTION_NAME` on Lambda,
/// `K_SERVICE` on Cloud Run (blank counts as unset).
pub fn function_name(lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    [AWS_LAMBDA_FUNCTION_NAME.name, K_SERVICE.name]
        .iter()
        .filter_map(|name| lookup(name))
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
}

/// `PSOXY_INSTANCE_ID`, else the function's or service's name ([`function_name`]), else
/// `psoxy`: the name bulk outputs carry and API caller keys are checked against.
pub fn instance_id(settings: &Settings) -> String {
    settings
        .get(&PSOXY_INSTANCE_ID)
        .or_else(|| settings.get(&AWS_LAMBDA_FUNCTION_NAME))
        .or_else(|| settings.get(&K_SERVICE))
        .unwrap_or("psoxy")
        .to_owned()
}

/// One setting: its name (as the environment, the flags' help and the parameter store spell
/// it), its default, whether it is a secret, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The name, e.g. `PSOXY_SALT`.
    pub name: &'static str,
    /// Which table of `docs/settings.md` lists it.
    pub group: Group,
    /// The value used when it is unset (`None`: no default; required or optional as the
    /// shell that reads it says).
    pub default: Option<&'static str>,
    /// A secret: never logged, never shown, read from the secret store in deployments.
    pub secret: bool,
    /// One line of documentation.
    pub doc: &'static str,
}

/// The groups settings are documented in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Salt, keys and email handling: the same in every mode.
    Pseudonyms,
    /// The rules.
    Rules,
    /// The storage-triggered function (and `psoxy watch`).
    Bulk,
    /// Where the instance's settings come from, and its name.
    Instance,
    /// API mode.
    Api,
    /// API mode: the source's credentials.
    SourceAuth,
    /// The webhook collector.
    Webhook,
}

impl Group {
    /// Every group, in documentation order.
    pub const ALL: [Group; 7] = [
        Group::Pseudonyms,
        Group::Rules,
        Group::Bulk,
        Group::Instance,
        Group::Api,
        Group::SourceAuth,
        Group::Webhook,
    ];

    /// The heading of the group's table in `docs/settings.md`.
    pub fn title(self) -> &'static str {
        match self {
            Group::Pseudonyms => "Pseudonyms",
            Group::Rules => "Rules",
            Group::Bulk => "Bulk mode",
            Group::Instance => "Instance and secret store",
            Group::Api => "API mode",
            Group::SourceAuth => "API mode: source credentials",
            Group::Webhook => "Webhook collector",
        }
    }
}

/// The lookup of a few settings given as pairs, for tests.
#[cfg(test)]
pub(crate) fn test_lookup(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}
