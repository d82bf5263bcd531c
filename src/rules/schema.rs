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
    /// A condition (API, alias `_if`): only the alphabetically first of its `properties` is
    /// tested against the current object; when it holds, `then` filters the value.
    #[serde(rename = "if", alias = "_if", default)]
    pub if_schema: Option<Box<SchemaNode>>,
    /// The filter applied when `if` (or `else`) holds (API, alias `_then`): only its
    /// `properties` count.
    #[serde(rename = "then", alias = "_then", default)]
    pub then_schema: Option<Box<SchemaNode>>,
    /// A second condition, tried when `if` does not hold (API, alias `_else`).
    #[serde(rename = "else", alias = "_else", default)]
    pub else_schema: Option<Box<SchemaNode>>,
    /// With a `type`: the value's text must equal this (API, alias `constant`).
    #[serde(rename = "const", alias = "constant", default)]
    pub constant: Option<ConstValue>,
    /// Ignored (API), as in Psoxy.
    #[serde(default)]
    pub additional_properties: Option<serde_yaml::Value>,
    /// Ignored (API), as in Psoxy.
    #[serde(rename = "$schema", default)]
    pub schema_uri: Option<String>,
}

/// The value of a `const`: a scalar, compared as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstValue(pub String);

impl<'de> Deserialize<'de> for ConstValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(ConstValue(s)),
            Value::Number(n) => Ok(ConstValue(n.to_string())),
            Value::Bool(b) => Ok(ConstValue(b.to_string())),
            Value::Null => Ok(ConstValue("null".to_owned())),
            _ => Err(serde::de::Error::custom(
                "`const` must be a string, number or boolean",
            )),
        }
    }
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
    /// Any other name: API rules load it (with a warning) and turn a value that reaches it
    /// into `null`; bulk rules refuse it.
    #[serde(other)]
    Unknown,
}

/// The type names a schema knows.
pub const SCHEMA_TYPE_NAMES: &[&str] = &[
    "object", "array", "string", "integer", "number", "boolean", "null",
];

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

/// Keys of an API `responseSchema` (or `definitions`) node: Psoxy's `JsonSchemaFilter`
/// (SPEC-API-PARITY 3.10.1), with the older spellings of the conditional keys, plus
/// `description`.
pub(crate) const API_SCHEMA_KEYS: &[&str] = &[
    "type",
    "properties",
    "items",
    "$ref",
    "definitions",
    "anyOf",
    "if",
    "then",
    "else",
    "const",
    "_if",
    "_then",
    "_else",
    "constant",
    "format",
    "description",
    "title",
    "required",
    "additionalProperties",
    "$schema",
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
        for (key, child) in self.conditionals() {
            child.collect_references(format!("{at}.{key}"), out);
        }
    }

    /// The `if`, `then` and `else` sub-schemas present, with their keys.
    pub fn conditionals(&self) -> impl Iterator<Item = (&'static str, &SchemaNode)> {
        [
            ("if", &self.if_schema),
            ("then", &self.then_schema),
            ("else", &self.else_schema),
        ]
        .into_iter()
        .filter_map(|(key, node)| node.as_deref().map(|n| (key, n)))
    }
}

/// Checks the keys of a bulk `outputSchemaFilter` node and the nodes below it (the bulk
/// dialect's keys, with "did you mean" suggestions).
pub(crate) fn check_bulk_schema(schema: &Value, at: &str) -> Result<(), RulesError> {
    let Value::Mapping(m) = schema else {
        return Ok(()); // serde reports the type error
    };
    check_keys(m, BULK_SCHEMA_KEYS, at)?;
    if let Some(Value::String(name)) = m.get("type") {
        if !SCHEMA_TYPE_NAMES.contains(&name.as_str()) {
            return Err(RulesError::Value {
                at: format!("{at}.type"),
                source: serde::de::Error::custom(format!(
                    "unknown variant `{name}`, expected one of {}",
                    SCHEMA_TYPE_NAMES
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
        }
    }
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

/// A schema node nested in another, as the API dialect nests them.
pub(crate) struct ChildSchema<'a> {
    /// Where it is below its parent: `properties.name`, `definitions.name`, `anyOf[1]`,
    /// `items`, `if`, `_then`, ...
    pub path: String,
    /// Whether it is an `if`, `then` or `else` (their `type` is not used).
    pub conditional: bool,
    /// The node.
    pub node: &'a serde_yaml::Value,
}

/// The schema nodes under `key` of a node: the one walk the key check and the warnings share.
pub(crate) fn child_schemas<'a>(key: &str, child: &'a serde_yaml::Value) -> Vec<ChildSchema<'a>> {
    let one = |conditional| {
        vec![ChildSchema {
            path: key.to_owned(),
            conditional,
            node: child,
        }]
    };
    match (key, child) {
        ("properties" | "definitions", serde_yaml::Value::Mapping(named)) => named
            .iter()
            .map(|(name, node)| ChildSchema {
                path: format!("{key}.{}", name.as_str().unwrap_or("?")),
                conditional: false,
                node,
            })
            .collect(),
        ("anyOf", serde_yaml::Value::Sequence(alternatives)) => alternatives
            .iter()
            .enumerate()
            .map(|(i, node)| ChildSchema {
                path: format!("anyOf[{i}]"),
                conditional: false,
                node,
            })
            .collect(),
        ("items", _) => one(false),
        ("if" | "then" | "else" | "_if" | "_then" | "_else", _) => one(true),
        _ => Vec::new(),
    }
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
        if let Some(nested) = child_schemas(key, child)
            .into_iter()
            .find_map(|c| unknown_api_key(c.node))
        {
            return Some(nested);
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
        let unknown: SchemaNode = serde_yaml::from_str("type: onBehalfOf").unwrap();
        assert_eq!(unknown.schema_type, Some(SchemaType::Unknown));
        let m: serde_yaml::Mapping = serde_yaml::from_str("type: strin").unwrap();
        let e = check_bulk_schema(&Value::Mapping(m), "outputSchemaFilter").unwrap_err();
        assert!(
            e.to_string()
                .contains("outputSchemaFilter.type: unknown variant `strin`"),
            "{e}"
        );
        let v: serde_yaml::Value =
            serde_yaml::from_str("type: object\nproperties:\n  a: {if: {typo: {}}}\n").unwrap();
        assert!(unknown_api_key(&v)
            .unwrap()
            .starts_with("unknown field `typo`, expected one of `type`"));
        let ok: serde_yaml::Value = serde_yaml::from_str(
            "type: object\n_if: {properties: {a: {type: string, constant: x}}}\n_then: {properties: {a: {}}}\ndefinitions: {}\nadditionalProperties: false\n",
        )
        .unwrap();
        assert_eq!(unknown_api_key(&ok), None);
        let node: SchemaNode = serde_yaml::from_value(ok).unwrap();
        assert!(node.if_schema.is_some() && node.then_schema.is_some());
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
