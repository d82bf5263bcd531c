//! RecordRules: JSONPath transforms over records (NDJSON, CSV rows as objects, ...).

use indexmap::IndexMap;
use serde::Deserialize;

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
    pub output_schema_filter: Option<SchemaFilter>,
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

/// A JSON-Schema-like allow-list.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFilter {
    /// `object`, `array`, `string`, `integer`, `number`, `boolean`.
    #[serde(rename = "type", default)]
    pub schema_type: Option<String>,
    /// Allowed properties of an object.
    #[serde(default)]
    pub properties: Option<IndexMap<String, SchemaFilter>>,
    /// Schema of array items.
    #[serde(default)]
    pub items: Option<Box<SchemaFilter>>,
    /// `#` or `#/definitions/<name>`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// Named schemas for `$ref`.
    #[serde(default)]
    pub definitions: Option<IndexMap<String, SchemaFilter>>,
    /// Informational (e.g. `date-time`); not enforced.
    #[serde(default)]
    pub format: Option<String>,
    /// Informational.
    #[serde(default)]
    pub description: Option<String>,
    /// Alternatives, the first that matches applies. Not accepted in bulk rule files (set
    /// only for API `responseSchema`s, which are compiled by the same filter).
    #[serde(skip)]
    pub any_of: Option<Vec<SchemaFilter>>,
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
/// Keys valid in a schema node.
pub(crate) const SCHEMA_KEYS: &[&str] = &[
    "type",
    "properties",
    "items",
    "$ref",
    "definitions",
    "format",
    "description",
];
