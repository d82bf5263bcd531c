//! The one engine of JSON value operations: every transform a rule file can name, as a small
//! type that documents its parameters and whose examples run as tests (the pattern of VRL's
//! `stdlib`).
//!
//! An operation is built once, when the rules are compiled, into a boxed [`Operation`]; at run
//! time it is applied to each value a JSONPath matches (see [`super::program`]). Both rule
//! dialects use the same operations:
//!
//! * **records** (bulk `RecordRules`: NDJSON, JSON arrays, CSV rows, Parquet rows; SPEC 2.2):
//!   `redact` sets `null`; `pseudonymize` takes strings and integers, `tokenize` and
//!   `textDigest` strings; `null` is left alone, any other type is an error naming the path;
//!   a blank string is kept.
//! * **responses** (API `transforms`; SPEC-API): `redact` deletes the key or element; every
//!   operation reads strings, numbers and booleans as text; objects, arrays and `null` become
//!   `null` (their content is unknown to the rule), and so does a value with no result (blank
//!   text, no match).
//!
//! To add a transform: write `ops/<name>.rs` with its type, parameters, examples and a
//! [`Definition`], and add its module's name to the `registry!` list (which declares the module
//! and lists it in [`REGISTRY`]).

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::pattern::Pattern;
use crate::pseudonym::{PseudonymError, Pseudonymizer};

pub use pseudonymize::Pseudonymize;
pub use redact::Redact;
pub use text_digest::TextDigest;
pub use tokenize::Tokenize;

/// Declares each operation's module (`ops/<module>.rs`, which defines `DEFINITION`) and lists
/// its definition in [`REGISTRY`]: one line per operation.
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every operation API rule files can name (`!<name>` or `method: name`), in the order
        /// the docs list them.
        pub const REGISTRY: &[&Definition] = &[$(&$module::DEFINITION),*];
    };
}

registry! {
    redact,
    pseudonymize,
    pseudonymize_regex_matches,
    pseudonymize_email_header,
    tokenize,
    redact_regex_matches,
    redact_except_phrases,
    redact_except_substrings_matching_regexes,
    filter_token_by_regex,
    text_digest,
    hash_ip,
    encrypt_ip,
}

/// The operation named `name`, if there is one.
pub fn definition(name: &str) -> Option<&'static Definition> {
    REGISTRY.iter().copied().find(|d| d.name == name)
}

/// How the rules a transform comes from read the values it matches (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Bulk `RecordRules`.
    Record,
    /// API `transforms` of responses.
    Response,
}

/// What an operation does to the type of a value it matches, for typed outputs (Parquet)
/// that must know their schema before reading any value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The value becomes `null` (`redact`).
    Null,
    /// The value becomes a string.
    String,
}

/// A compiled operation, applied to each value its paths match.
pub trait Operation: fmt::Debug + Send + Sync {
    /// The name rule files use (`textDigestKeywords` for that bulk form).
    fn name(&self) -> &'static str;

    /// Transforms one matched value in place.
    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError>;

    /// Whether matched entries are deleted rather than transformed (`redact` of responses).
    fn deletes(&self) -> bool {
        false
    }

    /// Whether it makes reversible `p~` tokens (and so needs an encryption key).
    fn makes_reversible_tokens(&self) -> bool {
        false
    }

    /// What it makes of a matched value's type.
    fn effect(&self) -> Effect {
        Effect::String
    }
}

/// A value an operation cannot transform. Never holds the value.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// A record value of a type the operation does not take.
    #[error("cannot {verb} a {found} value")]
    WrongType {
        /// What the operation does (`pseudonymize`, `tokenize`, `digest`).
        verb: &'static str,
        /// The value's type (`boolean`, `object`, `non-integer number`, ...).
        found: &'static str,
    },
    /// A reversible token could not be made.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
    /// The backtracking regex engine gave up (its step limit).
    #[error("regex engine: {0}")]
    Regex(#[from] fancy_regex::Error),
}

/// A transform of a rule file that cannot be built. The caller adds where it is.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No operation has this name.
    #[error("unknown transform `{0}`; expected one of {names}", names = names())]
    Unknown(String),
    /// A parameter is unknown, missing or of the wrong type.
    #[error("{0}")]
    Params(#[source] serde_yaml::Error),
    /// A regex whose group 1 the operation uses has no group.
    #[error("regex `{0}` needs a capturing group: group 1 is what is tokenized")]
    NoGroup(String),
    /// A regular expression does not compile.
    #[error("invalid regex `{text}`: {source}")]
    Regex {
        /// The expression as written.
        text: String,
        /// The engine's error.
        source: Box<crate::pattern::PatternError>,
    },
}

fn names() -> String {
    REGISTRY
        .iter()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One operation as the registry lists it.
pub struct Definition {
    /// The name rule files use.
    pub name: &'static str,
    /// One line: what it does to each matched value.
    pub summary: &'static str,
    /// Its parameters (besides `jsonPaths` and `applyOnlyWhen`, which every transform has).
    pub parameters: &'static [Parameter],
    /// Examples, run as tests and shown in the docs.
    pub examples: &'static [Example],
    /// Builds the operation of API rules from its parameters (a YAML mapping).
    pub build: fn(serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError>,
}

/// One parameter of an operation.
pub struct Parameter {
    /// The name rule files use.
    pub name: &'static str,
    /// Its YAML type.
    pub kind: &'static str,
    /// Its default, or `None` when it is required.
    pub default: Option<&'static str>,
    /// What it does.
    pub doc: &'static str,
}

/// An example: one transform applied to a document.
pub struct Example {
    /// What it shows.
    pub title: &'static str,
    /// Which rules the transform is written in.
    pub dialect: Dialect,
    /// The transform as a rule file writes it (one list entry, without the `- `).
    pub rule: &'static str,
    /// The input document (JSON).
    pub input: &'static str,
    /// The output document (JSON), or the error.
    pub output: Outcome,
}

/// What an example gives.
pub enum Outcome {
    /// This document.
    Doc(&'static str),
    /// An error whose message contains this.
    Error(&'static str),
}

/// The salt of the examples (the conformance vectors').
pub const EXAMPLE_SALT: &str = "salt";
/// The encryption key of the examples.
pub const EXAMPLE_KEY: &str = "secret";

/// Parses an operation's parameters, rejecting unknown ones.
fn params<T: DeserializeOwned>(params: serde_yaml::Value) -> Result<T, BuildError> {
    serde_yaml::from_value(params).map_err(BuildError::Params)
}

/// Compiles a regex that may match anywhere.
fn search(text: &str) -> Result<Pattern, BuildError> {
    Pattern::search(text).map_err(|e| BuildError::Regex {
        text: text.to_owned(),
        source: Box::new(e),
    })
}

/// Compiles a regex that must match the whole value.
fn whole(text: &str) -> Result<Pattern, BuildError> {
    Pattern::whole(text, false).map_err(|e| BuildError::Regex {
        text: text.to_owned(),
        source: Box::new(e),
    })
}

/// Which types an operation takes in the record dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepts {
    /// Strings.
    Strings,
    /// Strings and integral numbers (hashed as their decimal text).
    StringsAndIntegers,
}

/// Applies a text operation to one value as `dialect` reads values (see the module doc):
/// `f` gets the value's text and gives the new text, or `None` for no result. In responses,
/// an operation that takes integers in records (`pseudonymize`) reads any scalar as text
/// ([`map_response_text`]); the others take strings only, `blank` saying what a blank one
/// becomes ([`map_response_string`]).
fn map_text(
    value: &mut Value,
    dialect: Dialect,
    accepts: Accepts,
    blank: Blank,
    verb: &'static str,
    f: impl FnOnce(&str) -> Result<Option<String>, ValueError>,
) -> Result<(), ValueError> {
    match dialect {
        Dialect::Record => match value {
            Value::Null => Ok(()),
            Value::String(s) => {
                if let Some(t) = f(s)? {
                    *s = t;
                }
                Ok(())
            }
            Value::Number(n)
                if accepts == Accepts::StringsAndIntegers && is_integer_text(n.as_str()) =>
            {
                if let Some(t) = f(n.as_str())? {
                    *value = Value::String(t);
                }
                Ok(())
            }
            other => Err(ValueError::WrongType {
                verb,
                found: record_type(other),
            }),
        },
        Dialect::Response if accepts == Accepts::StringsAndIntegers => map_response_text(value, f),
        Dialect::Response => map_response_string(value, blank, f),
    }
}

/// What a string-only response operation makes of a blank string (empty, or whitespace only
/// as Java's `isBlank` sees it), as Psoxy does (SPEC-API-PARITY 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blank {
    /// Returned unchanged (`redact*`, `filterTokenByRegex`, `tokenize`, `hashIp`,
    /// `encryptIp`).
    Keep,
    /// Becomes `null` (`pseudonymizeRegexMatches`).
    Null,
    /// Becomes `""` (`pseudonymizeEmailHeader`).
    Empty,
    /// Goes to the operation like any text (`textDigest`).
    Apply,
}

/// Applies a string-only operation to one response value (SPEC-API-PARITY 7): `null` stays
/// `null`; numbers, booleans and containers become `null`; a blank string is treated as
/// `blank` says; `f` maps any other string, `None` making it `null`.
fn map_response_string(
    value: &mut Value,
    blank: Blank,
    f: impl FnOnce(&str) -> Result<Option<String>, ValueError>,
) -> Result<(), ValueError> {
    let Value::String(text) = value else {
        *value = Value::Null;
        return Ok(());
    };
    if java_is_blank(text) {
        match blank {
            Blank::Keep => return Ok(()),
            Blank::Null => {
                *value = Value::Null;
                return Ok(());
            }
            Blank::Empty => {
                text.clear();
                return Ok(());
            }
            Blank::Apply => {}
        }
    }
    *value = f(text)?.map_or(Value::Null, Value::String);
    Ok(())
}

/// Java's `String.isBlank`: empty, or only characters `Character.isWhitespace` accepts (the
/// Unicode spaces except the non-breaking ones, and `\t \n \x0B \f \r \x1C..\x1F`).
pub(crate) fn java_is_blank(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t'..='\r' | '\u{1C}'..='\u{1F}')
            || (c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}' | '\u{85}'))
    })
}

/// Applies a text operation to one value as API responses read values (see the module doc):
/// strings, numbers and booleans as their text; anything else, or no result, becomes `null`.
/// Operations that only API rules use call it directly.
fn map_response_text(
    value: &mut Value,
    f: impl FnOnce(&str) -> Result<Option<String>, ValueError>,
) -> Result<(), ValueError> {
    let result = match value {
        Value::String(s) => f(s)?,
        Value::Number(n) => f(n.as_str())?,
        Value::Bool(b) => f(if *b { "true" } else { "false" })?,
        _ => None,
    };
    *value = result.map_or(Value::Null, Value::String);
    Ok(())
}

/// How record errors name a value's type (never the value).
fn record_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "non-integer number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// True for `-?[0-9]+` (JSON integer text).
pub(crate) fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A `t~` token, or the reversible `p~` one; `None` for blank text.
fn token(p: &Pseudonymizer, text: &str, reversible: bool) -> Result<Option<String>, ValueError> {
    if reversible {
        Ok(p.reversible(text)?)
    } else {
        Ok(p.token(text))
    }
}

fn url_safe_token() -> crate::pseudonym::PseudonymFormat {
    crate::pseudonym::PseudonymFormat::UrlSafeToken
}

/// No parameters (unknown ones are errors).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[cfg(test)]
mod tests;
