//! RecordRules: JSONPath transforms over records (NDJSON, CSV rows as objects, ...).

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::keys::{check_keys, join};
use super::schema::{check_bulk_schema, SchemaNode};
use super::text::type_name;
use super::{RulesError, ShapeError};

/// Psoxy's `RecordRules`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordRules {
    /// Input format (default NDJSON).
    #[serde(default)]
    pub format: RecordFormat,
    /// Transforms applied in order to every record.
    #[serde(
        default,
        deserialize_with = "serde_yaml::with::singleton_map_recursive::deserialize"
    )]
    pub transforms: Vec<RecordTransform>,
    /// Allow-list schema applied after the transforms.
    #[serde(default)]
    pub output_schema_filter: Option<SchemaNode>,
}

/// Record input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum RecordFormat {
    /// One JSON value per line.
    #[default]
    #[serde(rename = "NDJSON")]
    Ndjson,
    /// CSV with a header row; each row is an object keyed by column name.
    #[serde(rename = "CSV")]
    Csv,
    /// One JSON array of records.
    #[serde(rename = "JSON_ARRAY")]
    JsonArray,
    /// Apache Parquet.
    #[serde(rename = "PARQUET")]
    Parquet,
    /// Decided per object from Content-Type and extension.
    #[serde(rename = "AUTO")]
    Auto,
}

/// One JSONPath or a list of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum JsonPaths {
    /// A single path.
    One(String),
    /// Several paths.
    Many(Vec<String>),
}

impl JsonPaths {
    /// The paths as a slice-like list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            JsonPaths::One(p) => vec![p.clone()],
            JsonPaths::Many(v) => v.clone(),
        }
    }
}

/// One record transform: a one-key map `<type>: <paths>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum RecordTransform {
    /// Matched values become `null`.
    Redact(JsonPaths),
    /// Strings and integers become `t~` tokens.
    Pseudonymize(JsonPaths),
    /// Strings become reversible `p~` tokens.
    Tokenize(JsonPaths),
    /// Strings become `{"length":L,"word_count":W}` digests.
    TextDigest(JsonPaths),
    /// Digests that also count keywords.
    TextDigestKeywords(TextDigestKeywords),
}

/// Arguments of `textDigestKeywords`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextDigestKeywords {
    /// Keywords counted case-insensitively.
    pub keywords: Vec<String>,
    /// Paths of the text values.
    pub json_paths: JsonPaths,
}

/// Keys valid at the top level of RecordRules.
pub(crate) const RECORD_KEYS: &[&str] = &["format", "transforms", "outputSchemaFilter"];
/// Transform types of RecordRules.
pub(crate) const RECORD_TRANSFORM_KEYS: &[&str] = &[
    "redact",
    "pseudonymize",
    "tokenize",
    "textDigest",
    "textDigestKeywords",
];
/// Keys valid in `textDigestKeywords`.
pub(crate) const DIGEST_KEYWORDS_KEYS: &[&str] = &["keywords", "jsonPaths"];

/// Checks the keys of a record rules mapping, of its transforms and of its
/// `outputSchemaFilter`, before the model is read.
pub(super) fn check(map: &Mapping, at: &str) -> Result<(), RulesError> {
    check_keys(map, RECORD_KEYS, at)?;
    if let Some(Value::Sequence(transforms)) = map.get("transforms") {
        for (i, t) in transforms.iter().enumerate() {
            let t_at = join(at, &format!("transforms[{i}]"));
            match t {
                Value::Mapping(t) => {
                    check_keys(t, RECORD_TRANSFORM_KEYS, &t_at)?;
                    if t.len() != 1 {
                        return Err(ShapeError::TransformKeys { at: t_at }.into());
                    }
                    if let Some(Value::Mapping(k)) = t.get("textDigestKeywords") {
                        check_keys(
                            k,
                            DIGEST_KEYWORDS_KEYS,
                            &format!("{t_at}.textDigestKeywords"),
                        )?;
                    }
                }
                other => {
                    return Err(ShapeError::TransformNotAMap {
                        at: t_at,
                        found: type_name(other),
                    }
                    .into())
                }
            }
        }
    }
    if let Some(schema) = map.get("outputSchemaFilter") {
        check_bulk_schema(schema, &join(at, "outputSchemaFilter"))?;
    }
    Ok(())
}
