//! The one lookup of settings: flags, then the environment, then the secret store.

use std::collections::HashMap;

use super::remote::{resolve_remote, RemoteError, StoreLocation};
use super::{SecretStore, Setting, SettingError};

/// Value Terraform gives a credential parameter until an operator fills it; read as unset by
/// every shell.
pub const PLACEHOLDER_PREFIX: &str = "PLACEHOLDER";

/// Psoxy's Terraform placeholder (the whole value); also read as unset, so a Psoxy
/// deployment's parameters work unchanged.
pub const PSOXY_PLACEHOLDER: &str = "fill me";

/// Whether a value is a placeholder Terraform wrote until an operator fills it.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.starts_with(PLACEHOLDER_PREFIX) || v == PSOXY_PLACEHOLDER
}

/// Settings given on the command line, which win over every other source.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    values: HashMap<&'static str, String>,
}

impl Flags {
    /// No flags.
    pub fn new() -> Self {
        Flags::default()
    }

    /// Sets `setting` to `value` when a flag gave one.
    pub fn set(&mut self, setting: &Setting, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(v) = value {
            self.values.insert(setting.name, v.into());
        }
        self
    }

    fn get(&self, name: &str) -> Option<&String> {
        self.values.get(name)
    }
}

/// The resolved settings of one shell: every setting it reads, found once, when it starts.
///
/// `Debug` shows names only, never values.
#[derive(Clone, Default)]
pub struct Settings {
    wanted: Vec<&'static str>,
    values: HashMap<&'static str, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut set: Vec<&str> = self.values.keys().copied().collect();
        set.sort_unstable();
        f.debug_struct("Settings").field("set", &set).finish()
    }
}

/// A source value counts only when it is not blank.
fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// The `wanted` settings from `flags`, then `lookup` (the environment: `|n|
    /// std::env::var(n).ok()`); no secret store.
    pub fn from_sources(
        wanted: &[&Setting],
        flags: &Flags,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Settings {
        let mut settings = Settings {
            wanted: wanted.iter().map(|s| s.name).collect(),
            values: HashMap::new(),
        };
        for s in wanted {
            let value = present(flags.get(s.name).cloned()).or_else(|| present(lookup(s.name)));
            if let Some(v) = value {
                settings.values.insert(s.name, v);
            }
        }
        settings
    }

    /// The `wanted` settings from `flags`, then `lookup`, then (for those still unset) the
    /// secret store at `location`, under its instance prefix first, then its shared prefix.
    pub async fn resolve(
        wanted: &[&Setting],
        flags: &Flags,
        lookup: &dyn Fn(&str) -> Option<String>,
        remote: Option<(&StoreLocation, &dyn SecretStore)>,
    ) -> Result<Settings, RemoteError> {
        let mut settings = Settings::from_sources(wanted, flags, lookup);
        if let Some((location, store)) = remote {
            let missing: Vec<&'static str> = settings
                .wanted
                .iter()
                .copied()
                .filter(|n| !settings.values.contains_key(n))
                .collect();
            let found = resolve_remote(&missing, location, store).await?;
            for name in missing {
                if let Some(v) = present(found.get(name).cloned()) {
                    settings.values.insert(name, v);
                }
            }
        }
        Ok(settings)
    }

    /// The value of `setting`, if set: not blank and not a Terraform placeholder. No default.
    pub fn get(&self, setting: &Setting) -> Option<&str> {
        debug_assert!(
            self.wanted.contains(&setting.name),
            "setting {} is read but the shell does not list it",
            setting.name
        );
        self.values
            .get(setting.name)
            .map(String::as_str)
            .filter(|v| !is_placeholder(v))
    }

    /// The value of a setting that has our name and Psoxy's: either one (ours first), or an
    /// error naming both when both are set and differ.
    pub fn either(
        &self,
        ours: &'static Setting,
        psoxy: &'static Setting,
    ) -> Result<Option<&str>, SettingError> {
        match (self.get(ours), self.get(psoxy)) {
            (Some(a), Some(b)) if a.trim() != b.trim() => Err(SettingError::Conflict {
                ours: ours.name,
                psoxy: psoxy.name,
            }),
            (Some(a), _) => Ok(Some(a)),
            (None, b) => Ok(b),
        }
    }

    /// The value of `setting`, or its declared default.
    pub fn get_or_default(&self, setting: &Setting) -> Option<&str> {
        self.get(setting).or(setting.default)
    }

    /// The value of a setting that must be set.
    pub fn required(&self, setting: &Setting) -> Result<&str, SettingError> {
        self.get(setting).ok_or(SettingError::Missing(setting.name))
    }

    /// A `true` / `false` setting (any case), with its declared default.
    pub fn flag(&self, setting: &Setting) -> Result<bool, SettingError> {
        let value = self
            .get_or_default(setting)
            .map(|v| v.trim().to_ascii_lowercase());
        match value.as_deref() {
            None | Some("") => Ok(false),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(SettingError::Invalid {
                name: setting.name,
                expected: "true or false",
            }),
        }
    }

    /// A setting in upper case (an enumeration's value), with its declared default.
    pub fn upper(&self, setting: &Setting) -> Option<String> {
        self.get_or_default(setting)
            .map(|v| v.trim().to_ascii_uppercase())
    }

    /// The names of the settings that are set (never their values), for start-up logs.
    pub fn names_set(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.values.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::catalog::{COMPRESS_OUTPUT_ALWAYS, PSOXY_SALT, RULES};

    use crate::settings::test_lookup as lookup;

    #[test]
    fn flags_win_then_the_environment_and_blanks_are_unset() {
        let mut flags = Flags::new();
        flags.set(&PSOXY_SALT, Some("from-flag"));
        let s = Settings::from_sources(
            &[&PSOXY_SALT, &RULES, &COMPRESS_OUTPUT_ALWAYS],
            &flags,
            &lookup(&[("PSOXY_SALT", "from-env"), ("RULES", "  ")]),
        );
        assert_eq!(s.get(&PSOXY_SALT), Some("from-flag"));
        assert_eq!(s.get(&RULES), None);
        assert_eq!(
            s.required(&RULES).unwrap_err().to_string(),
            "setting RULES is required but not set"
        );
        assert!(s.flag(&COMPRESS_OUTPUT_ALWAYS).unwrap(), "declared default");
    }

    #[test]
    fn placeholders_are_unset_in_every_shell() {
        let s = Settings::from_sources(
            &[&PSOXY_SALT],
            &Flags::new(),
            &lookup(&[("PSOXY_SALT", "PLACEHOLDER: fill this in")]),
        );
        assert_eq!(s.get(&PSOXY_SALT), None);
        assert!(!format!("{s:?}").contains("fill"));
        let s = Settings::from_sources(
            &[&PSOXY_SALT],
            &Flags::new(),
            &lookup(&[("PSOXY_SALT", " fill me\n")]),
        );
        assert_eq!(s.get(&PSOXY_SALT), None, "Psoxy's placeholder");
    }

    #[test]
    fn invalid_flags_name_the_setting_not_the_value() {
        let s = Settings::from_sources(
            &[&COMPRESS_OUTPUT_ALWAYS],
            &Flags::new(),
            &lookup(&[("COMPRESS_OUTPUT_ALWAYS", "sometimes")]),
        );
        let e = s.flag(&COMPRESS_OUTPUT_ALWAYS).unwrap_err().to_string();
        assert!(
            e.contains("COMPRESS_OUTPUT_ALWAYS") && !e.contains("sometimes"),
            "{e}"
        );
    }
}
