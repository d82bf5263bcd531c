//! `queryParamSchemas` / `pathParameterSchemas`: constraints on request parameter values.

use serde::Deserialize;
use serde_yaml::Value;

use crate::pattern::{Pattern, PatternError};

/// Constraints on one query or path parameter (Psoxy's `ParameterSchema`,
/// SPEC-API-PARITY 1.2). Every check that is present must pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamSchema {
    /// The value's type (`None`, `string` or a type Psoxy does not check: any text).
    pub param_type: Option<ParamType>,
    /// The value must match this expression as a whole (case-sensitive).
    pub pattern: Option<Pattern>,
    /// The value must be one of these (exact, case-sensitive).
    pub allowed_values: Option<Vec<String>>,
    /// The parameter must be present with a value (query parameters only).
    pub required: bool,
    /// A special meaning of the value.
    pub format: Option<ParamFormat>,
    /// After the checks above, the value must satisfy at least one of these.
    pub any_of: Option<Vec<ParamSchema>>,
}

/// `type` of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Any text.
    String,
    /// One or more ASCII digits, surrounding whitespace allowed (no sign).
    Integer,
    /// A decimal number (`1`, `-1.5`, `.5`, `1e3`), surrounding whitespace allowed.
    Number,
    /// A type Psoxy does not check (any text), kept by name for `psoxy check`.
    Unchecked,
}

/// `format` of a parameter: `reversible-pseudonym` or its alias `pseudonym` (any case, `-`
/// or `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFormat {
    /// The value must be a reversible `p~` token (without `@domain`); it is decrypted before
    /// the request is forwarded.
    ReversiblePseudonym,
}

/// Why a parameter value was refused. Never holds the value itself (values may be PII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamProblem {
    /// `required` but absent or without a value.
    Missing,
    /// Not of the declared `type`.
    WrongType(ParamType),
    /// Does not match `pattern`.
    PatternMismatch,
    /// Not one of `enum`.
    NotInEnum,
    /// Not a reversible pseudonym (`format`).
    NotAPseudonym,
    /// Satisfies none of `anyOf`.
    NoAlternative,
    /// The `pattern` could not be evaluated (backtracking limit).
    PatternError,
}

impl std::fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamProblem::Missing => f.write_str("is required"),
            ParamProblem::WrongType(ParamType::Integer) => f.write_str("is not an integer"),
            ParamProblem::WrongType(ParamType::Number) => f.write_str("is not a number"),
            ParamProblem::WrongType(_) => f.write_str("is not of its type"),
            ParamProblem::PatternMismatch => f.write_str("does not match its pattern"),
            ParamProblem::NotInEnum => f.write_str("is not one of the allowed values"),
            ParamProblem::NotAPseudonym => f.write_str("is not a reversible pseudonym"),
            ParamProblem::NoAlternative => f.write_str("matches none of its `anyOf` schemas"),
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
        source: Box<PatternError>,
    },
    /// An `enum` value that is a list or a mapping.
    #[error("`enum` values must be strings or numbers")]
    EnumValue,
    /// A `format` other than `reversible-pseudonym` / `pseudonym` (Psoxy fails on it only when
    /// a value is checked; we refuse it at load).
    #[error("unknown format `{0}`; parameters know `reversible-pseudonym` (alias `pseudonym`)")]
    Format(String),
    /// `required` inside an `anyOf` alternative (or on a path parameter's alternative).
    #[error("`required` is not allowed inside `anyOf`")]
    RequiredInAnyOf,
    /// `anyOf` nested deeper than any rule needs.
    #[error("`anyOf` is nested too deeply")]
    TooDeep,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParamSchema {
    #[serde(rename = "type", default)]
    param_type: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(rename = "enum", default)]
    allowed_values: Option<Vec<Value>>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    format: Option<String>,
    #[serde(rename = "anyOf", default)]
    any_of: Option<Vec<Value>>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

/// Deepest `anyOf` nesting accepted.
const MAX_ANY_OF_DEPTH: usize = 16;

impl ParamSchema {
    /// Parses one schema of a rule file (keys `type`, `pattern`, `enum`, `required`,
    /// `format`, `anyOf`, `description`); the message of an error names the offending key or
    /// value.
    pub(crate) fn from_yaml(value: Value) -> Result<ParamSchema, ParamSchemaError> {
        Self::from_yaml_at(value, 0)
    }

    fn from_yaml_at(value: Value, depth: usize) -> Result<ParamSchema, ParamSchemaError> {
        if depth > MAX_ANY_OF_DEPTH {
            return Err(ParamSchemaError::TooDeep);
        }
        let raw: RawParamSchema = serde_yaml::from_value(value).map_err(ParamSchemaError::Yaml)?;
        if depth > 0 && raw.required.is_some() {
            return Err(ParamSchemaError::RequiredInAnyOf);
        }
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
        let format = raw.format.map(|f| parse_format(&f)).transpose()?;
        let any_of = raw
            .any_of
            .map(|alternatives| {
                alternatives
                    .into_iter()
                    .map(|a| Self::from_yaml_at(a, depth + 1))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .filter(|alternatives| !alternatives.is_empty());
        Ok(ParamSchema {
            param_type: raw.param_type.as_deref().map(parse_type),
            pattern,
            allowed_values,
            required: raw.required.unwrap_or(false),
            format,
            any_of,
        })
    }

    /// Checks a value; `None` (absent, or a query name without `=`) is only checked for
    /// `required`.
    pub fn check(&self, value: Option<&str>) -> Result<(), ParamProblem> {
        match value {
            Some(v) => self.check_value(v),
            None if self.required => Err(ParamProblem::Missing),
            None => Ok(()),
        }
    }

    /// The checks of a present value, in Psoxy's order: type, format, enum, pattern, anyOf.
    fn check_value(&self, value: &str) -> Result<(), ParamProblem> {
        match self.param_type {
            Some(ParamType::Integer) if !is_integer(value) => {
                return Err(ParamProblem::WrongType(ParamType::Integer))
            }
            Some(ParamType::Number) if !is_number(value) => {
                return Err(ParamProblem::WrongType(ParamType::Number))
            }
            _ => {}
        }
        if self.format == Some(ParamFormat::ReversiblePseudonym)
            && !crate::pseudonym::token_text::is_bare_token(value)
        {
            return Err(ParamProblem::NotAPseudonym);
        }
        if let Some(allowed) = &self.allowed_values {
            if !allowed.iter().any(|a| a == value) {
                return Err(ParamProblem::NotInEnum);
            }
        }
        if let Some(pattern) = &self.pattern {
            match pattern.is_match(value) {
                Ok(true) => {}
                Ok(false) => return Err(ParamProblem::PatternMismatch),
                Err(_) => return Err(ParamProblem::PatternError),
            }
        }
        if let Some(alternatives) = &self.any_of {
            if !alternatives.iter().any(|a| a.check_value(value).is_ok()) {
                return Err(ParamProblem::NoAlternative);
            }
        }
        Ok(())
    }

    /// Whether the value may be a reversible pseudonym to decrypt.
    pub fn is_reversible(&self) -> bool {
        self.format == Some(ParamFormat::ReversiblePseudonym)
            || self
                .any_of
                .as_ref()
                .is_some_and(|a| a.iter().any(ParamSchema::is_reversible))
    }
}

/// `integer`, `number`, `string`; any other name loads and is not checked (as in Psoxy).
fn parse_type(name: &str) -> ParamType {
    match name {
        "integer" => ParamType::Integer,
        "number" => ParamType::Number,
        "string" => ParamType::String,
        _ => ParamType::Unchecked,
    }
}

/// `reversible-pseudonym` or `pseudonym`, after `-` -> `_` and upper-casing.
fn parse_format(text: &str) -> Result<ParamFormat, ParamSchemaError> {
    match text.replace('-', "_").to_ascii_uppercase().as_str() {
        "REVERSIBLE_PSEUDONYM" | "PSEUDONYM" => Ok(ParamFormat::ReversiblePseudonym),
        _ => Err(ParamSchemaError::Format(text.to_owned())),
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

/// One or more ASCII digits after trimming (Java `\\s*\\d+\\s*` on the trimmed text).
fn is_integer(s: &str) -> bool {
    let digits = s.trim_matches(|c: char| c <= ' ');
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// What Java's `Double.parseDouble` accepts, less its hexadecimal form: surrounding
/// whitespace, a sign, `1`, `1.`, `.5`, `1e3`, a `d`/`f` suffix, `NaN`, `Infinity`.
fn is_number(s: &str) -> bool {
    let s = s.trim_matches(|c: char| c <= ' ');
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "NaN" || s == "Infinity" {
        return true;
    }
    let s = s.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac) && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> ParamSchema {
        ParamSchema::from_yaml(serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    const TOKEN: &str = "p~JuB1uFI_rtVS0Ygtc3m4uxhEiLI-6vn5ySKma20etlGvAJvlFOlnYuRejZSdIm5tmHzio";

    #[test]
    fn types() {
        let int = schema("type: integer");
        for ok in ["0", "42", "007", " 1", "12345678901234567890123"] {
            assert_eq!(int.check(Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["1.5", "4x", "-", "-1", "+1", "1e3", "", "1.0"] {
            assert_eq!(
                int.check(Some(bad)),
                Err(ParamProblem::WrongType(ParamType::Integer)),
                "{bad}"
            );
        }
        let num = schema("type: number");
        for ok in [
            "0", "-1.5", "2e10", "3.0E-2", "1e+3", ".5", "1.", " 1 ", "1.0d", "NaN", "Infinity",
        ] {
            assert_eq!(num.check(Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["e3", "1e", "1,5", "--1", "", ".", "nan"] {
            assert!(num.check(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(schema("type: string").check(Some("anything")), Ok(()));
        // Types Psoxy does not check load and accept anything.
        assert_eq!(schema("type: boolean").check(Some("x")), Ok(()));
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
        let s = schema("enum: [all, admin, 3]\nrequired: true");
        assert_eq!(s.check(Some("admin")), Ok(()));
        assert_eq!(s.check(Some("3")), Ok(()));
        assert_eq!(s.check(Some("Admin")), Err(ParamProblem::NotInEnum));
        assert_eq!(s.check(None), Err(ParamProblem::Missing));
        assert_eq!(s.check(Some("")), Err(ParamProblem::NotInEnum));
        let optional = schema("type: integer");
        assert_eq!(optional.check(None), Ok(()));
        assert!(!optional.is_reversible());
        for spelling in [
            "reversible-pseudonym",
            "pseudonym",
            "REVERSIBLE_PSEUDONYM",
            "Pseudonym",
        ] {
            let s = schema(&format!("format: {spelling}"));
            assert!(s.is_reversible(), "{spelling}");
            assert_eq!(s.check(Some(TOKEN)), Ok(()));
            assert_eq!(
                s.check(Some("48d31887-5fad-4d73-a9f5-3c356e68a038")),
                Err(ParamProblem::NotAPseudonym)
            );
            assert_eq!(
                s.check(Some(&format!("{TOKEN}@acme.com"))),
                Err(ParamProblem::NotAPseudonym)
            );
        }
    }

    #[test]
    fn any_of_is_anded_with_the_parent() {
        // SPEC-API-PARITY 1.2, examples 1 and 3.
        let gemini =
            schema("anyOf: [{type: string, enum: [all]}, {type: integer, pattern: '^[0-9]+$'}]");
        for ok in ["all", "123", "12341"] {
            assert_eq!(gemini.check(Some(ok)), Ok(()), "{ok}");
        }
        assert_eq!(
            gemini.check(Some("alice@acme.com")),
            Err(ParamProblem::NoAlternative)
        );
        let s = schema("anyOf: [{pattern: '^all$'}, {type: integer}]");
        assert_eq!(s.check(Some("all")), Ok(()));
        assert_eq!(s.check(Some("123")), Ok(()));
        assert_eq!(s.check(Some("any")), Err(ParamProblem::NoAlternative));
        let onedrive = schema("anyOf: [{type: string, format: reversible-pseudonym}]");
        assert!(onedrive.is_reversible());
        assert_eq!(onedrive.check(Some(TOKEN)), Ok(()));
        assert!(onedrive.check(Some("48d31887")).is_err());
        // The parent's own checks still apply.
        let both = schema("type: integer\nanyOf: [{enum: ['1', '22']}]");
        assert_eq!(both.check(Some("22")), Ok(()));
        assert!(both.check(Some("x")).is_err());
        // Example 4: enum, pattern and type together.
        let s = schema("type: integer\nenum: ['1', '2']\npattern: '[12]'");
        assert_eq!(s.check(Some("1")), Ok(()));
        assert_eq!(s.check(Some("2")), Ok(()));
        assert!(s.check(Some("3")).is_err());
        assert!(s.check(Some("not-a-number")).is_err());
    }

    #[test]
    fn bad_schemas_are_errors() {
        for (yaml, needle) in [
            ("pattern: '('", "invalid pattern `(`"),
            ("format: email", "unknown format `email`"),
            ("requird: true", "requird"),
            ("enum: [[1]]", "`enum` values"),
            (
                "anyOf: [{required: true}]",
                "`required` is not allowed inside `anyOf`",
            ),
            ("anyOf: [{typo: 1}]", "typo"),
        ] {
            let e = ParamSchema::from_yaml(serde_yaml::from_str(yaml).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
