//! The pseudonymizer of `psoxy check`'s previews, shared by the bulk and API checks.

use std::sync::Arc;

use crate::cli::{pseudonymizer, CliError};
use crate::pseudonym::{PseudonymSettings, Pseudonymizer};
use crate::settings::catalog::PSOXY_SALT;
use crate::settings::{Flags, Settings, PSEUDONYM_SETTINGS};

/// The pseudonymizer of `check`'s previews: the deployment's when `PSOXY_SALT` is in the
/// environment (so a preview can be compared with real output), else a preview salt and key
/// (they show the form of the pseudonyms, and a key lets reversible rules compile).
pub(super) fn preview_pseudonymizer() -> Result<(Arc<Pseudonymizer>, Keys), CliError> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings::from_sources(PSEUDONYM_SETTINGS, &Flags::new(), &env);
    if settings.get(&PSOXY_SALT).is_some() {
        return Ok((pseudonymizer(&settings)?, Keys::Environment));
    }
    let preview = PseudonymSettings {
        salt: "psoxy-check-preview".into(),
        encryption_key: Some("psoxy-check-preview".into()),
        ..PseudonymSettings::default()
    };
    Ok((Arc::new(Pseudonymizer::new(&preview)?), Keys::Preview))
}

/// Whose salt and key a preview uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keys {
    /// `PSOXY_SALT` (and `PSOXY_ENCRYPTION_KEY`) from the environment.
    Environment,
    /// The preview's own.
    Preview,
}

impl Keys {
    /// How a preview names them.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Keys::Environment => "PSOXY_SALT and PSOXY_ENCRYPTION_KEY of the environment",
            Keys::Preview => {
                "preview salt and key; set PSOXY_SALT (and PSOXY_ENCRYPTION_KEY) for a deployment's pseudonyms"
            }
        }
    }
}
