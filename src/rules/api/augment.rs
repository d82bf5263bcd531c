//! An entry of an endpoint's `augments` list (SPEC-API-PARITY 1.1): a computed summary added
//! beside a response value as `+<name>:<method>`, before the schema filter and the
//! transforms run.
//!
//! An augment is tagged like a transform (`- !<textDigest> {jsonPaths: [...]}` or
//! `method: textDigest`); it has no `applyOnlyWhen`, and any key its kind does not know is an
//! error, as in Psoxy.

use serde::Deserialize;
use serde_yaml::Value;

use super::transform::{SpecError, TransformSpec};
use crate::jsonpath::{JsonPath, JsonPathError};
use crate::rules::SchemaNode;

/// One augment of an endpoint, loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentSpec {
    /// What it computes.
    pub kind: AugmentKind,
    /// The values it summarizes.
    pub json_paths: Vec<JsonPath>,
    /// When set, a matched value is a string holding JSON, and the summary is computed for
    /// the values this path matches inside it.
    pub inner_json_path: Option<JsonPath>,
    /// Parsed and not applied (Psoxy does not apply it either).
    pub output_schema: Option<SchemaNode>,
}

/// The augments Psoxy knows.
#[derive(Debug, Clone, PartialEq)]
pub enum AugmentKind {
    /// `textDigest`: length, word count and keyword counts of a text.
    TextDigest {
        /// Words to count (lower-cased; blank ones dropped).
        keywords: Vec<String>,
    },
    /// `sentenceMetadata`: needs language models Psoxy deployments do not ship; it loads and
    /// adds nothing, as Psoxy without the models.
    SentenceMetadata,
}

impl AugmentKind {
    /// The method name, as rule files and the added key (`+content:textDigest`) spell it.
    pub fn name(&self) -> &'static str {
        match self {
            AugmentKind::TextDigest { .. } => "textDigest",
            AugmentKind::SentenceMetadata => "sentenceMetadata",
        }
    }
}

/// An augment entry that does not load. The caller adds where it is.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// Not of the transform shape (tag or `method`, `jsonPaths`).
    #[error(transparent)]
    Shape(#[from] SpecError),
    /// No augment has this name.
    #[error("unknown augment `{0}`; expected one of textDigest, sentenceMetadata")]
    Unknown(String),
    /// Augments are applied to every match; they have no condition.
    #[error("augments have no `applyOnlyWhen`")]
    Condition,
    /// An unknown key or a value of the wrong type.
    #[error("{0}")]
    Params(#[source] serde_yaml::Error),
    /// `innerJsonPath` does not parse.
    #[error(transparent)]
    InnerPath(#[from] JsonPathError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TextDigestParams {
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    inner_json_path: Option<String>,
    #[serde(default)]
    output_schema: Option<SchemaNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // read to check the keys; the models they configure are not shipped
struct SentenceMetadataParams {
    #[serde(default)]
    inner_json_path: Option<String>,
    #[serde(default)]
    output_schema: Option<SchemaNode>,
    #[serde(default)]
    taxonomy: indexmap::IndexMap<String, Vec<String>>,
    #[serde(default)]
    hedge_words: Vec<String>,
    #[serde(default)]
    constraint_words: Vec<String>,
}

impl AugmentSpec {
    /// Reads one entry of an endpoint's `augments` list.
    pub fn from_yaml(value: Value) -> Result<AugmentSpec, AugmentError> {
        let spec = TransformSpec::from_yaml(value)?;
        if spec.apply_only_when.is_some() {
            return Err(AugmentError::Condition);
        }
        let (kind, inner, output_schema) = match spec.method.as_str() {
            "textDigest" => {
                let p: TextDigestParams =
                    serde_yaml::from_value(spec.params).map_err(AugmentError::Params)?;
                let keywords = p
                    .keywords
                    .iter()
                    .map(|k| k.to_lowercase())
                    .filter(|k| !k.trim().is_empty())
                    .collect();
                (
                    AugmentKind::TextDigest { keywords },
                    p.inner_json_path,
                    p.output_schema,
                )
            }
            "sentenceMetadata" => {
                let p: SentenceMetadataParams =
                    serde_yaml::from_value(spec.params).map_err(AugmentError::Params)?;
                (
                    AugmentKind::SentenceMetadata,
                    p.inner_json_path,
                    p.output_schema,
                )
            }
            other => return Err(AugmentError::Unknown(other.to_owned())),
        };
        Ok(AugmentSpec {
            kind,
            json_paths: spec.json_paths,
            inner_json_path: inner.map(|p| JsonPath::parse(&p)).transpose()?,
            output_schema,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<AugmentSpec, AugmentError> {
        AugmentSpec::from_yaml(crate::rules::yaml_tags::parse_with_verbatim_tags(yaml).unwrap())
    }

    #[test]
    fn both_kinds_load_with_tag_or_method() {
        let a = load("!<textDigest> {jsonPaths: ['$.a'], keywords: [Hello, ' ', Test], innerJsonPath: '$..text', outputSchema: {type: object}}").unwrap();
        assert_eq!(
            a.kind,
            AugmentKind::TextDigest {
                keywords: vec!["hello".into(), "test".into()]
            }
        );
        assert_eq!(a.inner_json_path.unwrap().as_str(), "$..text");
        assert!(a.output_schema.is_some());
        let s = load("{method: sentenceMetadata, jsonPaths: ['$.a'], taxonomy: {risk: [a, b]}, hedgeWords: [maybe], constraintWords: [must]}").unwrap();
        assert_eq!(s.kind, AugmentKind::SentenceMetadata);
    }

    #[test]
    fn unknown_keys_and_names_are_errors() {
        for (yaml, needle) in [
            (
                "!<textDigest> {jsonPaths: ['$.a'], isJsonEscaped: true}",
                "isJsonEscaped",
            ),
            (
                "!<textDigest> {jsonPaths: ['$.a'], applyOnlyWhen: '$.b'}",
                "applyOnlyWhen",
            ),
            (
                "!<summary> {jsonPaths: ['$.a']}",
                "unknown augment `summary`",
            ),
            ("!<textDigest> {keywords: []}", "missing `jsonPaths`"),
            (
                "!<textDigest> {jsonPaths: ['$.a'], innerJsonPath: '$..['}",
                "invalid JSONPath",
            ),
        ] {
            let e = load(yaml).unwrap_err().to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
