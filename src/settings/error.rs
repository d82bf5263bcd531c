//! A setting that is missing or invalid. Names the setting, never its value.

/// A setting that is missing or invalid.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// A required setting is absent.
    #[error("setting {0} is required but not set")]
    Missing(&'static str),
    /// A setting is required by another one's value (a source-auth strategy).
    #[error("setting {name} is required by this {by}")]
    RequiredBy {
        /// The missing setting.
        name: &'static str,
        /// The setting that needs it.
        by: &'static str,
    },
    /// A setting holds none of the values it can take.
    #[error("setting {name} is invalid: expected {expected}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// What it can hold.
        expected: &'static str,
    },
    /// Both spellings of one setting are set (ours and Psoxy's) and they differ.
    #[error("settings {ours} and {psoxy} are both set and differ; set only one")]
    Conflict {
        /// Our name.
        ours: &'static str,
        /// Psoxy's name.
        psoxy: &'static str,
    },
    /// A YAML setting does not parse. The parser's error quotes the value (which may be a
    /// secret put in the wrong setting), so only its message with the quotes left out is kept.
    #[error("setting {name} is invalid: {detail}")]
    Yaml {
        /// The setting's name.
        name: &'static str,
        /// The parser's message without the values it quoted.
        detail: String,
    },
}

impl SettingError {
    /// A YAML setting's parse error, its quoted values left out.
    pub fn yaml(name: &'static str, e: &serde_yaml::Error) -> SettingError {
        SettingError::Yaml {
            name,
            detail: without_values(&e.to_string()),
        }
    }
}

/// A parser's message with the values it quotes (`invalid type: string "..."`) left out: the
/// setting may hold a secret put in the wrong place, and errors never show setting values.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in message.chars() {
        if !quoted {
            if c == '"' {
                quoted = true;
                out.push_str("\"...\"");
            } else {
                out.push(c);
            }
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(
            without_values(r#"invalid type: string "a\"b", expected a sequence"#),
            r#"invalid type: string "...", expected a sequence"#
        );
    }
}
