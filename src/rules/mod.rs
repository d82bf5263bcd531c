//! Rule files: serde models of every rule shape and their loading.
//!
//! A rules file is YAML (or base64 of YAML, or base64 of gzipped YAML, as the `RULES` setting
//! may hold). The shape is told apart by its keys: `endpoints` / `allowedRequestHeaders` /
//! `definitions` make API rules ([`api::ApiRules`], Psoxy's `Rules2`); `fileRules` a
//! [`MultiTypeRules`], `format` / `transforms` / `outputSchemaFilter` a [`RecordRules`],
//! anything else a [`ColumnarRules`]. Unknown keys are errors that name the key and the
//! nearest valid one. [`schema`] is the one schema model of both dialects.
//!
//! This module only reads and checks rules; [`crate::transform`] compiles them into plans.

mod any;
pub mod api;
mod columnar;
mod load;
mod text;
pub(crate) use text::{decode_envelope, type_name};
mod keys;
mod multi;
mod record;
pub mod schema;
pub mod webhook;
pub(crate) mod yaml_tags;

pub use any::{load_any_rules_file, parse_any_rules_yaml, AnyRules, AnyRulesError};
pub use columnar::{ColumnarRules, FieldTransform, FieldTransformStep, RegexReplace};
pub use load::{load_rules_bytes, load_rules_file, parse_rules_yaml};
pub use multi::PathTemplate;
#[cfg(test)]
pub(crate) use record::RECORD_TRANSFORM_KEYS;
pub use record::{JsonPaths, RecordFormat, RecordRules, RecordTransform, TextDigestKeywords};
pub use schema::{SchemaNode, SchemaType};

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

/// SHA-256 of a rules file's text in lower-case hex: `psoxy-rules-sha` of bulk outputs,
/// `X-Psoxy-Rules-Sha` of API responses.
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Any bulk rules file.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkRules {
    /// Column-level rules for CSV/TSV.
    Columnar(ColumnarRules),
    /// JSONPath transforms for record formats (NDJSON, CSV, ...).
    Record(RecordRules),
    /// Rules chosen per object key by path templates.
    MultiType(MultiTypeRules),
}

impl BulkRules {
    /// The shape's name as users write it in docs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            BulkRules::Columnar(_) => "ColumnarRules",
            BulkRules::Record(_) => "RecordRules",
            BulkRules::MultiType(_) => "MultiTypeBulkDataRules",
        }
    }
}

/// `fileRules: { "<path template>": <rules> }`; the first matching template wins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MultiTypeRules {
    /// Path template -> rules, in file order.
    pub file_rules: IndexMap<String, BulkRules>,
}

/// Why a rules file could not be loaded. Names the key and where it is, never a value of
/// the data (rule files hold no secrets; their own text may be quoted).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("cannot read rules file {path}: {source}")]
    Read {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Base64 of gzip whose gzip is broken.
    #[error("invalid rules: rules are gzip but cannot be decompressed: {0}")]
    Gzip(#[source] std::io::Error),
    /// Not UTF-8 text.
    #[error("invalid rules: rules are not UTF-8 text")]
    NotUtf8,
    /// Not YAML.
    #[error("invalid rules: not valid YAML: {0}")]
    NotYaml(#[source] serde_yaml::Error),
    /// YAML of the right keys with a value of the wrong type or variant.
    #[error("invalid rules: {}{source}", at_prefix(.at))]
    Value {
        /// Where (`fileRules['a.csv']`), empty at top level.
        at: String,
        /// The model's error.
        source: serde_yaml::Error,
    },
    /// Not of a rules shape.
    #[error("invalid rules: {0}")]
    Shape(#[from] ShapeError),
    /// A key no rule shape knows.
    #[error("unknown rules key `{key}`{}{}", at_clause(.at), suggestion_clause(.suggestion))]
    UnknownKey {
        /// The offending key.
        key: String,
        /// Where it was found (e.g. `fieldsToTransform.GITHUB.transforms[0]`), empty at top level.
        at: String,
        /// The nearest valid key, when one is close.
        suggestion: Option<String>,
    },
}

/// A part of a rules file that is not of the shape its keys promise.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// Rules that are not a mapping.
    #[error("rules{} must be a mapping of keys, found {found}", at_suffix(.at))]
    NotAMapping {
        /// Where.
        at: String,
        /// What was found.
        found: &'static str,
    },
    /// `fileRules` that is not a mapping of templates.
    #[error("fileRules{} must map path templates to rules", at_suffix(.at))]
    FileRulesNotAMapping {
        /// Where.
        at: String,
    },
    /// A `fileRules` key that is not a string.
    #[error("fileRules keys must be path templates")]
    TemplateNotAString,
    /// A `fileRules` template that does not compile.
    #[error("fileRules template `{template}`: {why}")]
    Template {
        /// The template.
        template: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A `fileRules` template whose regex does not compile (too large).
    #[error("fileRules template `{template}`: {source}")]
    TemplateRegex {
        /// The template.
        template: String,
        /// The engine's error.
        source: regex::Error,
    },
    /// A delimiter of more than one character.
    #[error("delimiter{} must be a single ASCII character, found `{found}`", at_suffix(.at))]
    Delimiter {
        /// Where.
        at: String,
        /// What was found (rule text, not data).
        found: String,
    },
    /// A record transform with more than one key.
    #[error("{at} must have exactly one key (one of {})", record::RECORD_TRANSFORM_KEYS.join(", "))]
    TransformKeys {
        /// Where (`transforms[2]`).
        at: String,
    },
    /// A record transform that is not a map.
    #[error("{at} must be a one-key map like `pseudonymize: $.email`, found {found}")]
    TransformNotAMap {
        /// Where.
        at: String,
        /// What was found.
        found: &'static str,
    },
}

fn at_prefix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

fn at_suffix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" at {at}")
    }
}

fn at_clause(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" in {at}")
    }
}

fn suggestion_clause(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}
