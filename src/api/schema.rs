//! `responseSchema`: the JSON-Schema-like allow-list applied to API responses.
//!
//! Only the model lives here; the filter itself comes with response sanitizing. (The bulk
//! [`SchemaFilter`](crate::rules::SchemaFilter) has no `anyOf` and allows nested
//! `definitions`, so API rules have their own type.)

use indexmap::IndexMap;
use serde::Deserialize;

/// Prefix of a `$ref` that names one of the rule set's `definitions`.
pub const DEFINITIONS_REF_PREFIX: &str = "#/definitions/";

/// One node of a `responseSchema` (or of a rule set's `definitions`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseSchema {
    /// The JSON type kept; `None` with neither `properties` nor `items` means `{}` (scalars
    /// kept, containers dropped).
    #[serde(rename = "type", default)]
    pub schema_type: Option<SchemaType>,
    /// Declared properties of an object, in rule order; undeclared keys are dropped.
    #[serde(default)]
    pub properties: Option<IndexMap<String, ResponseSchema>>,
    /// Schema of each array element.
    #[serde(default)]
    pub items: Option<Box<ResponseSchema>>,
    /// `#/definitions/<name>`: the named schema of the rule set.
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    /// Alternatives; the first that matches applies.
    #[serde(default)]
    pub any_of: Option<Vec<ResponseSchema>>,
    /// Informational (e.g. `date-time`); not enforced.
    #[serde(default)]
    pub format: Option<String>,
    /// Informational.
    #[serde(default)]
    pub description: Option<String>,
    /// Informational.
    #[serde(default)]
    pub title: Option<String>,
    /// Informational (a filter never adds missing properties).
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
    /// `true` / `false`.
    Boolean,
}

impl ResponseSchema {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_schema_in_order() {
        let s: ResponseSchema = serde_yaml::from_str(
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
        let e = serde_yaml::from_str::<ResponseSchema>("typ: string").unwrap_err();
        assert!(e.to_string().contains("typ"), "{e}");
        assert!(serde_yaml::from_str::<ResponseSchema>("type: strin").is_err());
    }

    #[test]
    fn empty_schema_and_definition_names() {
        let s: ResponseSchema = serde_yaml::from_str("{}").unwrap();
        assert_eq!(s, ResponseSchema::default());
        assert_eq!(
            ResponseSchema::definition_name("#/definitions/x"),
            Some("x")
        );
        assert_eq!(ResponseSchema::definition_name("#/definitions/"), None);
        assert_eq!(ResponseSchema::definition_name("#"), None);
    }
}
