//! The one schema model of both rule dialects: bulk `outputSchemaFilter` and API
//! `responseSchema` (with the API rule set's `definitions`). A JSON-Schema-like allow-list,
//! compiled into a filter by [`crate::transform::schema`].
//!
//! The dialects accept different keys, checked before the model is read, with the messages
//! of their loaders: bulk rules allow `definitions` (for `$ref`) but not `anyOf`, `title` or
//! `required`; API schemas allow those but keep `definitions` at the rule set's top level.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

use super::keys::{check_keys, key_text};
use super::RulesError;

/// One node of a schema.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemaNode {
    /// The JSON type kept; `None` with neither `properties` nor `items` keeps anything (bulk)
    /// or scalars only (API `{}`).
    #[serde(rename = "type", default)]
    pub schema_type: Option<SchemaType>,
    /// Declared properties of an object, in rule order; undeclared keys are dropped.
    #[serde(default)]
    pub properties: Option<IndexMap<String, SchemaNode>>,
    /// Schema of each array element.
    #[serde(default)]
    pub items: Option<Box<SchemaNode>>,
    /// `#` (the root) or `#/definitions/<name>`.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// Named schemas for `$ref` (bulk: in the schema; API: the rule set's).
    #[serde(default)]
    pub definitions: Option<IndexMap<String, SchemaNode>>,
    /// Alternatives; the first whose type fits applies (API).
    #[serde(default)]
    pub any_of: Option<Vec<SchemaNode>>,
    /// Informational (e.g. `date-time`); not enforced.
    #[serde(default)]
    pub format: Option<String>,
    /// Informational.
    #[serde(default)]
    pub description: Option<String>,
    /// Informational (API).
    #[serde(default)]
    pub title: Option<String>,
    /// Informational (API; a filter never adds missing properties).
    #[serde(default)]
    pub required: Option<Vec<String>>,
}

/// The `type` of a schema node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    /// JSON objects.
    Object,
    /// JSON arrays.
    Array,
    /// JSON strings.
    String,
    /// Integral JSON numbers.
    Integer,
    /// Any JSON number.
    Number,
    /// `true` / `false` (a `null` becomes `false`).
    Boolean,
    /// `null` only.
    Null,
}

/// Keys of a bulk `outputSchemaFilter` node.
pub(crate) const BULK_SCHEMA_KEYS: &[&str] = &[
    "type",
    "properties",
    "items",
    "$ref",
    "definitions",
    "format",
    "description",
];

/// Keys of an API `responseSchema` (or `definitions`) node.
pub(crate) const API_SCHEMA_KEYS: &[&str] = &[
    "type",
    "properties",
    "items",
    "$ref",
    "anyOf",
    "format",
    "description",
    "title",
    "required",
];

/// Prefix of a `$ref` that names one of the `definitions`.
pub const DEFINITIONS_REF_PREFIX: &str = "#/definitions/";

impl SchemaNode {
    /// The definition name of a `$ref`, or `None` when the reference has another form.
    pub fn definition_name(reference: &str) -> Option<&str> {
        reference
            .strip_prefix(DEFINITIONS_REF_PREFIX)
            .filter(|name| !name.is_empty())
    }

    /// Every `$ref` in this schema (depth first), with where it is relative to this node
    /// (e.g. `.properties.author.$ref`).
    pub fn references(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        self.collect_references(String::new(), &mut out);
        out
    }

    fn collect_references<'a>(&'a self, at: String, out: &mut Vec<(String, &'a str)>) {
        if let Some(r) = &self.reference {
            out.push((format!("{at}.$ref"), r.as_str()));
        }
        if let Some(props) = &self.properties {
            for (name, schema) in props {
                schema.collect_references(format!("{at}.properties.{name}"), out);
            }
        }
        if let Some(items) = &self.items {
            items.collect_references(format!("{at}.items"), out);
        }
        if let Some(alternatives) = &self.any_of {
            for (i, schema) in alternatives.iter().enumerate() {
                schema.collect_references(format!("{at}.anyOf[{i}]"), out);
            }
        }
    }
}

/// Checks the keys of a bulk `outputSchemaFilter` node and the nodes below it (the bulk
/// dialect's keys, with "did you mean" suggestions).
pub(crate) fn check_bulk_schema(schema: &Value, at: &str) -> Result<(), RulesError> {
    let Value::Mapping(m) = schema else {
        return Ok(()); // serde reports the type error
    };
    check_keys(m, BULK_SCHEMA_KEYS, at)?;
    for key in ["properties", "definitions"] {
        if let Some(Value::Mapping(props)) = m.get(key) {
            for (name, s) in props {
                check_bulk_schema(s, &format!("{at}.{key}.{}", key_text(name)))?;
            }
        }
    }
    if let Some(items) = m.get("items") {
        check_bulk_schema(items, &format!("{at}.items"))?;
    }
    Ok(())
}

/// The first key of an API schema node (or of a node below it) that the API dialect does not
/// have, as serde names an unknown field: `unknown field `x`, expected one of ...`.
pub(crate) fn unknown_api_key(value: &serde_yaml::Value) -> Option<String> {
    let serde_yaml::Value::Mapping(map) = value else {
        return None;
    };
    for (key, child) in map {
        let Some(key) = key.as_str() else {
            continue; // serde reports the key's type
        };
        if !API_SCHEMA_KEYS.contains(&key) {
            return Some(format!(
                "unknown field `{key}`, expected one of {}",
                API_SCHEMA_KEYS
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let nested = match (key, child) {
            ("properties", serde_yaml::Value::Mapping(props)) => {
                props.values().find_map(unknown_api_key)
            }
            ("items", items) => unknown_api_key(items),
            ("anyOf", serde_yaml::Value::Sequence(alternatives)) => {
                alternatives.iter().find_map(unknown_api_key)
            }
            _ => None,
        };
        if nested.is_some() {
            return nested;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_schema_in_order() {
        let s: SchemaNode = serde_yaml::from_str(
            "type: object\nproperties:\n  z: {type: string}\n  a:\n    type: array\n    items: {$ref: '#/definitions/user'}\n  b:\n    anyOf: [{type: integer}, {type: boolean}]\n",
        )
        .unwrap();
        assert_eq!(s.schema_type, Some(SchemaType::Object));
        let props = s.properties.as_ref().unwrap();
        assert_eq!(props.keys().collect::<Vec<_>>(), ["z", "a", "b"]);
        assert_eq!(
            s.references(),
            [(".properties.a.items.$ref".to_owned(), "#/definitions/user")]
        );
        assert_eq!(props["b"].any_of.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn unknown_keys_and_types_are_errors() {
        let e = serde_yaml::from_str::<SchemaNode>("typ: string").unwrap_err();
        assert!(e.to_string().contains("typ"), "{e}");
        assert!(serde_yaml::from_str::<SchemaNode>("type: strin").is_err());
        let v: serde_yaml::Value =
            serde_yaml::from_str("type: object\nproperties:\n  a: {definitions: {}}\n").unwrap();
        assert_eq!(
            unknown_api_key(&v).unwrap(),
            "unknown field `definitions`, expected one of `type`, `properties`, `items`, `$ref`, `anyOf`, `format`, `description`, `title`, `required`"
        );
    }

    #[test]
    fn empty_schema_and_definition_names() {
        let s: SchemaNode = serde_yaml::from_str("{}").unwrap();
        assert_eq!(s, SchemaNode::default());
        assert_eq!(SchemaNode::definition_name("#/definitions/x"), Some("x"));
        assert_eq!(SchemaNode::definition_name("#/definitions/"), None);
        assert_eq!(SchemaNode::definition_name("#"), None);
    }
}
