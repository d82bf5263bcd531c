//! `responseSchema`: the JSON-Schema-like allow-list applied to API responses.
//!
//! This is the rule-file model (API rules have `anyOf`, and `definitions` only at the rule
//! set's top level, so they have their own type). The filter itself is the bulk one,
//! [`CompiledSchema`](crate::transform::CompiledSchema), in its API dialect: see
//! [`ResponseSchema::to_filter`].

use indexmap::IndexMap;
use serde::Deserialize;

use crate::rules::SchemaFilter;

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

impl SchemaType {
    /// The name rule files use.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Object => "object",
            SchemaType::Array => "array",
            SchemaType::String => "string",
            SchemaType::Integer => "integer",
            SchemaType::Number => "number",
            SchemaType::Boolean => "boolean",
        }
    }
}

impl ResponseSchema {
    /// The same schema as the shared filter's input (informational keys dropped).
    pub fn to_filter(&self) -> SchemaFilter {
        SchemaFilter {
            schema_type: self.schema_type.map(|t| t.name().to_owned()),
            properties: self.properties.as_ref().map(|props| {
                props
                    .iter()
                    .map(|(name, p)| (name.clone(), p.to_filter()))
                    .collect()
            }),
            items: self.items.as_ref().map(|i| Box::new(i.to_filter())),
            reference: self.reference.clone(),
            definitions: None,
            format: None,
            description: None,
            any_of: self
                .any_of
                .as_ref()
                .map(|alternatives| alternatives.iter().map(ResponseSchema::to_filter).collect()),
        }
    }

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
    use crate::transform::CompiledSchema;
    use serde_json::json;

    fn filter(yaml: &str, definitions: &str, value: serde_json::Value) -> serde_json::Value {
        let root: ResponseSchema = serde_yaml::from_str(yaml).unwrap();
        let defs: IndexMap<String, ResponseSchema> = serde_yaml::from_str(definitions).unwrap();
        let defs = defs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_filter()))
            .collect();
        CompiledSchema::compile_response(&root.to_filter(), &defs)
            .unwrap()
            .filter(value)
    }

    #[test]
    fn api_dialect_plus_keys_empty_schema_and_any_of() {
        let out = filter(
            "type: object\nproperties:\n  id: {type: integer}\n  any: {}\n  ok: {type: boolean}\n  n: {type: number}\n  who: {anyOf: [{type: string}, {$ref: '#/definitions/user'}]}\n",
            "user: {type: object, properties: {login: {type: string}}}",
            json!({"+meta": {"x": 1}, "id": 7, "any": {"deep": 1}, "ok": null, "n": null,
                   "who": {"login": "a", "email": "e"}, "dropped": "x"}),
        );
        assert_eq!(
            out,
            json!({"+meta": {"x": 1}, "id": 7, "any": null, "ok": false, "n": null,
                   "who": {"login": "a"}})
        );
        let out = filter(
            "type: array\nitems: {anyOf: [{type: string}, {type: integer}]}",
            "{}",
            json!(["a", 1, 1.5, {"x": 1}, null, "b"]),
        );
        assert_eq!(out, json!(["a", 1, "b"]));
        // `{}` keeps scalars.
        assert_eq!(filter("{}", "{}", json!("s")), json!("s"));
    }

    #[test]
    fn recursive_definitions_terminate() {
        let out = filter(
            "$ref: '#/definitions/node'",
            "node: {type: object, properties: {name: {type: string}, children: {type: array, items: {$ref: '#/definitions/node'}}}}\nloop: {anyOf: [{$ref: '#/definitions/loop'}]}",
            json!({"name": "a", "x": 1, "children": [{"name": "b", "children": [], "y": 2}]}),
        );
        assert_eq!(
            out,
            json!({"name": "a", "children": [{"name": "b", "children": []}]})
        );
        assert_eq!(
            filter(
                "$ref: '#/definitions/loop'",
                "loop: {anyOf: [{$ref: '#/definitions/loop'}]}",
                json!(1)
            ),
            json!(null)
        );
    }

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
