//! The pseudonymizer of `psoxy check`'s previews, shared by the bulk and API checks.

use std::sync::Arc;

use crate::cli::CliError;
use crate::pseudonym::{PseudonymSettings, Pseudonymizer};

/// The pseudonymizer of `check`'s previews: any salt will do (they show the form of the
/// pseudonyms, never a deployment's), and a key lets reversible rules compile.
pub(super) fn preview_pseudonymizer() -> Result<Arc<Pseudonymizer>, CliError> {
    let preview = PseudonymSettings {
        salt: "psoxy-check-preview".into(),
        encryption_key: Some("psoxy-check-preview".into()),
        ..PseudonymSettings::default()
    };
    Ok(Arc::new(Pseudonymizer::new(&preview)?))
}
