//! `queryParamSchemas` / `pathParameterSchemas`: constraints on request parameter values.

use serde::Deserialize;
use serde_yaml::Value;

use crate::pattern::Pattern;

/// Constraints on one query or path parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamSchema {
    /// The value's type (`None`: any text).
    pub param_type: Option<ParamType>,
    /// The value must match this expression as a whole (case-sensitive).
    pub pattern: Option<Pattern>,
    /// The value must be one of these (exact, case-sensitive).
    pub allowed_values: Option<Vec<String>>,
    /// The parameter must be present with a non-empty value.
    pub required: bool,
    /// A special meaning of the value.
    pub format: Option<ParamFormat>,
}

/// `type` of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Any text.
    String,
    /// An optionally negative run of decimal digits.
    Integer,
    /// A JSON-style number (`-1.5e3`).
    Number,
}

/// `format` of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ParamFormat {
    /// The caller may send a reversible `p~` token, decrypted before forwarding.
    #[serde(rename = "reversible-pseudonym")]
    ReversiblePseudonym,
}

/// Why a parameter value was refused. Never holds the value itself (values may be PII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamProblem {
    /// `required` but absent or empty.
    Missing,
    /// Not of the declared `type`.
    WrongType(ParamType),
    /// Does not match `pattern`.
    PatternMismatch,
    /// Not one of `enum`.
    NotInEnum,
    /// The `pattern` could not be evaluated (backtracking limit).
    PatternError,
}

impl std::fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamProblem::Missing => f.write_str("is required"),
            ParamProblem::WrongType(ParamType::String) => f.write_str("is not a string"),
            ParamProblem::WrongType(ParamType::Integer) => f.write_str("is not an integer"),
            ParamProblem::WrongType(ParamType::Number) => f.write_str("is not a number"),
            ParamProblem::PatternMismatch => f.write_str("does not match its pattern"),
            ParamProblem::NotInEnum => f.write_str("is not one of the allowed values"),
            ParamProblem::PatternError => f.write_str("could not be checked against its pattern"),
        }
    }
}

/// A parameter schema that does not load.
#[derive(Debug, thiserror::Error)]
pub enum ParamSchemaError {
    /// An unknown key, or a value of the wrong type.
    #[error("{0}")]
    Yaml(#[source] serde_yaml::Error),
    /// `pattern` does not compile.
    #[error("invalid pattern `{text}`: {source}")]
    Pattern {
        /// The expression as written.
        text: String,
        /// The engine's error.
        source: Box<fancy_regex::Error>,
    },
    /// An `enum` value that is a list or a mapping.
    #[error("`enum` values must be strings or numbers")]
    EnumValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParamSchema {
    #[serde(rename = "type", default)]
    param_type: Option<ParamType>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(rename = "enum", default)]
    allowed_values: Option<Vec<Value>>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    format: Option<ParamFormat>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

impl ParamSchema {
    /// Parses one schema of a rule file (keys `type`, `pattern`, `enum`, `required`,
    /// `format`, `description`); the message of an error names the offending key or value.
    pub(crate) fn from_yaml(value: Value) -> Result<ParamSchema, ParamSchemaError> {
        let raw: RawParamSchema = serde_yaml::from_value(value).map_err(ParamSchemaError::Yaml)?;
        let pattern = raw
            .pattern
            .map(|p| {
                Pattern::whole(&p, false).map_err(|e| ParamSchemaError::Pattern {
                    text: p.clone(),
                    source: Box::new(e),
                })
            })
            .transpose()?;
        let allowed_values = raw
            .allowed_values
            .map(|values| values.iter().map(scalar_text).collect::<Result<_, _>>())
            .transpose()?;
        Ok(ParamSchema {
            param_type: raw.param_type,
            pattern,
            allowed_values,
            required: raw.required,
            format: raw.format,
        })
    }

    /// Checks a value; `None` (absent) or empty values are only checked for `required`.
    pub fn check(&self, value: Option<&str>) -> Result<(), ParamProblem> {
        let value = match value {
            Some(v) if !v.is_empty() => v,
            _ if self.required => return Err(ParamProblem::Missing),
            _ => return Ok(()),
        };
        match self.param_type {
            Some(ParamType::Integer) if !is_integer(value) => {
                return Err(ParamProblem::WrongType(ParamType::Integer))
            }
            Some(ParamType::Number) if !is_number(value) => {
                return Err(ParamProblem::WrongType(ParamType::Number))
            }
            _ => {}
        }
        if let Some(pattern) = &self.pattern {
            match pattern.is_match(value) {
                Ok(true) => {}
                Ok(false) => return Err(ParamProblem::PatternMismatch),
                Err(_) => return Err(ParamProblem::PatternError),
            }
        }
        if let Some(allowed) = &self.allowed_values {
            if !allowed.iter().any(|a| a == value) {
                return Err(ParamProblem::NotInEnum);
            }
        }
        Ok(())
    }

    /// Whether the value may be a reversible pseudonym to decrypt.
    pub fn is_reversible(&self) -> bool {
        self.format == Some(ParamFormat::ReversiblePseudonym)
    }
}

fn scalar_text(v: &Value) -> Result<String, ParamSchemaError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ParamSchemaError::EnumValue),
    }
}

/// `-?[0-9]+`.
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    all_digits(int)
        && frac.is_none_or(all_digits)
        && exponent.is_none_or(|e| all_digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> ParamSchema {
        ParamSchema::from_yaml(serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn types() {
        let int = schema("type: integer");
        for ok in ["0", "42", "-7", "007"] {
            assert_eq!(int.check(Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["1.5", "4x", "-", "+1", " 1", "1e3"] {
            assert_eq!(
                int.check(Some(bad)),
                Err(ParamProblem::WrongType(ParamType::Integer)),
                "{bad}"
            );
        }
        let num = schema("type: number");
        for ok in ["0", "-1.5", "2e10", "3.0E-2", "1e+3"] {
            assert_eq!(num.check(Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["1.", ".5", "e3", "1e", "NaN", "1,5", "--1"] {
            assert!(num.check(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(schema("type: string").check(Some("anything")), Ok(()));
    }

    #[test]
    fn pattern_is_whole_and_case_sensitive() {
        let s = schema("pattern: '[a-z]+'");
        assert_eq!(s.check(Some("abc")), Ok(()));
        assert_eq!(s.check(Some("abc1")), Err(ParamProblem::PatternMismatch));
        assert_eq!(s.check(Some("ABC")), Err(ParamProblem::PatternMismatch));
    }

    #[test]
    fn enums_required_and_format() {
        let s = schema("enum: [all, admin, 3]\nrequired: true\nformat: reversible-pseudonym");
        assert_eq!(s.check(Some("admin")), Ok(()));
        assert_eq!(s.check(Some("3")), Ok(()));
        assert_eq!(s.check(Some("Admin")), Err(ParamProblem::NotInEnum));
        assert_eq!(s.check(None), Err(ParamProblem::Missing));
        assert_eq!(s.check(Some("")), Err(ParamProblem::Missing));
        assert!(s.is_reversible());
        let optional = schema("type: integer");
        assert_eq!(optional.check(None), Ok(()));
        assert_eq!(optional.check(Some("")), Ok(()));
        assert!(!optional.is_reversible());
    }

    #[test]
    fn bad_schemas_are_errors() {
        for (yaml, needle) in [
            ("type: boolean", "boolean"),
            ("pattern: '('", "invalid pattern `(`"),
            ("format: email", "email"),
            ("requird: true", "requird"),
            ("enum: [[1]]", "`enum` values"),
        ] {
            let e = ParamSchema::from_yaml(serde_yaml::from_str(yaml).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
