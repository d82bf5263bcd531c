//! Per-cell derived-value steps (`fieldsToTransform`): compiled regexes and templates.

use regex::Regex;

use super::PlanError;
use crate::rules::FieldTransformStep;

/// A compiled `fieldsToTransform` step.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Whole-match filter; `group` tells whether group 1 is taken.
    Filter { re: Regex, group: bool },
    /// `%s` template.
    Format(String),
    /// Whole-match replace with a Rust-syntax replacement.
    Replace { re: Regex, replacement: String },
    /// Pseudonymize with the plan's format.
    Pseudonymize,
}

impl Step {
    /// Compiles one rule step; `at` names it in errors.
    pub(crate) fn compile(step: &FieldTransformStep, at: &str) -> Result<Step, PlanError> {
        Ok(match step {
            FieldTransformStep::Filter(re) => {
                let re = whole_match(re, at)?;
                let group = re.captures_len() > 1;
                Step::Filter { re, group }
            }
            FieldTransformStep::FormatString(t) => Step::Format(t.clone()),
            FieldTransformStep::JavaRegExpReplace(r) => Step::Replace {
                re: whole_match(&r.reg_exp, at)?,
                replacement: java_replacement(&r.replace),
            },
            FieldTransformStep::Pseudonymize => Step::Pseudonymize,
        })
    }

    /// Applies a non-pseudonymize step; `None` means the value became null.
    pub(crate) fn apply_text(&self, value: &str) -> Option<String> {
        match self {
            Step::Filter { re, group } => {
                let caps = re.captures(value)?;
                if *group {
                    caps.get(1).map(|m| m.as_str().to_string())
                } else {
                    Some(value.to_string())
                }
            }
            Step::Format(t) => Some(t.replace("%s", value)),
            Step::Replace { re, replacement } => {
                if re.is_match(value) {
                    Some(re.replace(value, replacement.as_str()).into_owned())
                } else {
                    Some(value.to_string())
                }
            }
            Step::Pseudonymize => Some(value.to_string()),
        }
    }
}

/// Compiles `re` so that it must match the whole value (Java's `Matcher.matches`).
fn whole_match(re: &str, at: &str) -> Result<Regex, PlanError> {
    Regex::new(&format!(r"\A(?:{re})\z")).map_err(|e| PlanError::BadRegex {
        at: at.to_string(),
        source: e,
    })
}

/// Converts a Java replacement string (`$1`, `${name}`, `\$`) to the regex crate's syntax.
pub(crate) fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    if digits.is_empty() {
                        out.push_str("$$");
                    } else {
                        out.push_str("${");
                        out.push_str(&digits);
                        out.push('}');
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RegexReplace;

    #[test]
    fn filter_takes_group_or_whole_value() {
        let f = Step::compile(&FieldTransformStep::Filter("(.*)_enterprise".into()), "t").unwrap();
        assert_eq!(f.apply_text("alice_enterprise").as_deref(), Some("alice"));
        assert_eq!(f.apply_text("alice"), None);
        let f = Step::compile(&FieldTransformStep::Filter("[a-z]+".into()), "t").unwrap();
        assert_eq!(f.apply_text("abc").as_deref(), Some("abc"));
        assert_eq!(f.apply_text("abc1"), None, "filter needs a whole match");
    }

    #[test]
    fn replace_only_on_whole_match() {
        let r = Step::compile(
            &FieldTransformStep::JavaRegExpReplace(RegexReplace {
                reg_exp: "(\\w+)@old\\.com".into(),
                replace: "$1@new.com".into(),
            }),
            "t",
        )
        .unwrap();
        assert_eq!(r.apply_text("bob@old.com").as_deref(), Some("bob@new.com"));
        assert_eq!(
            r.apply_text("x bob@old.com").as_deref(),
            Some("x bob@old.com")
        );
    }

    #[test]
    fn java_replacement_syntax() {
        assert_eq!(java_replacement("$1a"), "${1}a");
        assert_eq!(java_replacement("\\$1"), "$$1");
        assert_eq!(java_replacement("${name}"), "${name}");
        assert_eq!(java_replacement("a\\\\b"), "a\\b");
    }

    #[test]
    fn format_string() {
        let f = Step::compile(&FieldTransformStep::FormatString("gh:%s".into()), "t").unwrap();
        assert_eq!(f.apply_text("x").as_deref(), Some("gh:x"));
    }
}
