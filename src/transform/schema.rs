//! The JSON-Schema-like allow-list of both modes: bulk `outputSchemaFilter` (applied to
//! records after transforms) and API `responseSchema` (applied to responses before them).
//!
//! The API dialect ([`CompiledSchema::compile_response`]) differs in three ways, as SPEC-API
//! says: object keys starting with `+` pass untouched; a schema with no type, properties or
//! items (`{}`) keeps scalars but turns containers into `null`; `anyOf` picks the first
//! alternative whose type fits the value.

use indexmap::IndexMap;
use serde_json::Value;

use super::ops::is_integer_text;
use super::PlanError;
use crate::rules::{SchemaNode, SchemaType};

#[derive(Debug, Clone)]
enum Node {
    /// `$ref` to `#` (index 0) or a definition (index into `nodes`).
    Ref(usize),
    Typed {
        ty: Option<SchemaType>,
        properties: Option<IndexMap<String, usize>>,
        items: Option<usize>,
        /// `anyOf` alternatives (API dialect).
        any_of: Option<Vec<usize>>,
    },
}

/// What one schema node allows (see [`CompiledSchema::shape`]).
#[derive(Debug, Clone, Copy)]
pub enum SchemaShape<'a> {
    /// Anything, unchanged.
    Any,
    /// Objects, with only these properties (node indexes) when declared.
    Object(Option<&'a IndexMap<String, usize>>),
    /// Arrays, each item filtered by this node when declared.
    Array(Option<usize>),
    /// A scalar type: any other value becomes `null` (`boolean`: `false`).
    Scalar,
    /// Nothing (a `$ref` cycle): every value becomes `null`.
    Nothing,
}

/// A compiled schema: nodes in an arena so `$ref` cycles (recursive schemas) are plain indexes.
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    nodes: Vec<Node>,
    /// API `responseSchema` semantics (see the module documentation).
    api: bool,
}

/// Deepest nesting the filter follows; deeper values are replaced by `null` (fail closed).
const MAX_DEPTH: usize = 512;

impl CompiledSchema {
    /// Compiles a bulk `outputSchemaFilter`, resolving `$ref`s to `#` and
    /// `#/definitions/<name>` (its own `definitions`).
    pub fn compile(root: &SchemaNode) -> Result<Self, PlanError> {
        Self::compile_with(root, root.definitions.as_ref(), false)
    }

    /// Compiles an API `responseSchema` whose `$ref`s name `definitions` (the rule set's),
    /// with the API dialect's semantics.
    pub fn compile_response(
        root: &SchemaNode,
        definitions: &IndexMap<String, SchemaNode>,
    ) -> Result<Self, PlanError> {
        Self::compile_with(root, Some(definitions), true)
    }

    fn compile_with(
        root: &SchemaNode,
        definitions: Option<&IndexMap<String, SchemaNode>>,
        api: bool,
    ) -> Result<Self, PlanError> {
        let mut c = Compiler {
            nodes: Vec::new(),
            definitions: IndexMap::new(),
        };
        c.nodes.push(Node::Ref(0)); // placeholder for the root
        if let Some(defs) = definitions {
            for name in defs.keys() {
                let idx = c.nodes.len();
                c.nodes.push(Node::Ref(0));
                c.definitions.insert(name.clone(), idx);
            }
            for (name, def) in defs {
                let node = c.node(def)?;
                let idx = c.definitions[name];
                c.nodes[idx] = node;
            }
        }
        let root_node = c.node(root)?;
        c.nodes[0] = root_node;
        Ok(CompiledSchema {
            nodes: c.nodes,
            api,
        })
    }

    /// Returns `value` filtered by the schema.
    pub fn filter(&self, value: Value) -> Value {
        self.apply(0, value, 0)
    }

    /// Names of the root object's declared properties, if the root declares them.
    pub fn top_level_properties(&self) -> Option<Vec<String>> {
        match self.resolve(0) {
            Node::Typed {
                properties: Some(p),
                ..
            } => Some(p.keys().cloned().collect()),
            _ => None,
        }
    }

    /// The root node, for [`shape`](Self::shape).
    pub const ROOT: usize = 0;

    /// What node `idx` allows, for checking a typed schema (Parquet) against the filter.
    pub fn shape(&self, idx: usize) -> SchemaShape<'_> {
        let Node::Typed {
            ty,
            properties,
            items,
            any_of,
        } = self.resolve(idx)
        else {
            return SchemaShape::Nothing;
        };
        if any_of.is_some() {
            return SchemaShape::Nothing; // API only; typed outputs never see it
        }
        match (ty, properties, items) {
            (None, None, None) => SchemaShape::Any,
            (Some(SchemaType::Object) | None, Some(p), _) => SchemaShape::Object(Some(p)),
            (Some(SchemaType::Object), None, _) => SchemaShape::Object(None),
            (Some(SchemaType::Array) | None, _, Some(i)) => SchemaShape::Array(Some(*i)),
            (Some(SchemaType::Array), _, None) => SchemaShape::Array(None),
            _ => SchemaShape::Scalar,
        }
    }

    fn resolve(&self, mut idx: usize) -> &Node {
        for _ in 0..self.nodes.len() + 1 {
            match &self.nodes[idx] {
                Node::Ref(target) if *target != idx => idx = *target,
                node => return node,
            }
        }
        &self.nodes[idx]
    }

    fn apply(&self, idx: usize, value: Value, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        let Node::Typed {
            ty,
            properties,
            items,
            any_of,
        } = self.resolve(idx)
        else {
            return Value::Null; // a self-referencing `$ref` allows nothing
        };
        if let Some(alternatives) = any_of {
            return match alternatives.iter().find(|a| self.fits(**a, &value, 0)) {
                Some(a) => self.apply(*a, value, depth + 1),
                None => Value::Null,
            };
        }
        let ty = ty.or(if properties.is_some() {
            Some(SchemaType::Object)
        } else if items.is_some() {
            Some(SchemaType::Array)
        } else {
            None
        });
        match (ty, value) {
            (None, Value::Object(_) | Value::Array(_)) if self.api => Value::Null,
            (None, v) => v,
            (Some(SchemaType::Boolean), Value::Null) => Value::Bool(false),
            (Some(SchemaType::Object), Value::Object(map)) => match properties {
                None => Value::Object(map),
                Some(props) => Value::Object(
                    map.into_iter()
                        .filter_map(|(k, v)| {
                            if self.api && k.starts_with('+') {
                                return Some((k, v));
                            }
                            props.get(&k).map(|p| {
                                let filtered = self.apply(*p, v, depth + 1);
                                (k, filtered)
                            })
                        })
                        .collect(),
                ),
            },
            (Some(SchemaType::Array), Value::Array(list)) => match items {
                None => Value::Array(list),
                Some(item) => Value::Array(
                    list.into_iter()
                        .map(|v| self.apply(*item, v, depth + 1))
                        .filter(|v| !v.is_null())
                        .collect(),
                ),
            },
            (Some(t), v) if matches_type(t, &v) => v,
            _ => Value::Null,
        }
    }
}

impl CompiledSchema {
    /// Whether `value` has the type node `idx` declares (explicitly, or implied by
    /// `properties` / `items`; no type fits anything): how `anyOf` picks an alternative.
    fn fits(&self, idx: usize, value: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false; // `anyOf` alternatives that refer back to themselves
        }
        let Node::Typed {
            ty,
            properties,
            items,
            any_of,
        } = self.resolve(idx)
        else {
            return false;
        };
        if let Some(alternatives) = any_of {
            return alternatives.iter().any(|a| self.fits(*a, value, depth + 1));
        }
        match ty {
            Some(SchemaType::Object) => value.is_object(),
            Some(SchemaType::Array) => value.is_array(),
            Some(t) => matches_type(*t, value),
            None if properties.is_some() => value.is_object(),
            None if items.is_some() => value.is_array(),
            None => true,
        }
    }
}

fn matches_type(t: SchemaType, v: &Value) -> bool {
    match (t, v) {
        (SchemaType::String, Value::String(_)) => true,
        (SchemaType::Number, Value::Number(_)) => true,
        (SchemaType::Integer, Value::Number(n)) => is_integer_text(&n.to_string()),
        (SchemaType::Boolean, Value::Bool(_)) => true,
        (SchemaType::Null, Value::Null) => true,
        _ => false,
    }
}

struct Compiler {
    nodes: Vec<Node>,
    definitions: IndexMap<String, usize>,
}

impl Compiler {
    fn node(&mut self, s: &SchemaNode) -> Result<Node, PlanError> {
        if let Some(r) = &s.reference {
            let target = if r == "#" {
                0
            } else if let Some(name) = r.strip_prefix("#/definitions/") {
                *self
                    .definitions
                    .get(name)
                    .ok_or_else(|| PlanError::UnknownDefinition(r.clone()))?
            } else {
                return Err(PlanError::UnsupportedReference(r.clone()));
            };
            return Ok(Node::Ref(target));
        }
        let ty = s.schema_type;
        let properties = match &s.properties {
            None => None,
            Some(props) => {
                let mut out = IndexMap::new();
                for (name, p) in props {
                    let node = self.node(p)?;
                    out.insert(name.clone(), self.push(node));
                }
                Some(out)
            }
        };
        let items = match &s.items {
            None => None,
            Some(i) => {
                let node = self.node(i)?;
                Some(self.push(node))
            }
        };
        let any_of = match &s.any_of {
            None => None,
            Some(alternatives) => {
                let mut out = Vec::with_capacity(alternatives.len());
                for a in alternatives {
                    let node = self.node(a)?;
                    out.push(self.push(node));
                }
                Some(out)
            }
        };
        Ok(Node::Typed {
            ty,
            properties,
            items,
            any_of,
        })
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(yaml: &str) -> CompiledSchema {
        let s: SchemaNode = serde_yaml::from_str(yaml).unwrap();
        CompiledSchema::compile(&s).unwrap()
    }

    fn response(yaml: &str, definitions: &str, value: Value) -> Value {
        let root: SchemaNode = serde_yaml::from_str(yaml).unwrap();
        let defs: IndexMap<String, SchemaNode> = serde_yaml::from_str(definitions).unwrap();
        CompiledSchema::compile_response(&root, &defs)
            .unwrap()
            .filter(value)
    }

    #[test]
    fn api_dialect_plus_keys_empty_schema_and_any_of() {
        let out = response(
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
        let out = response(
            "type: array\nitems: {anyOf: [{type: string}, {type: integer}]}",
            "{}",
            json!(["a", 1, 1.5, {"x": 1}, null, "b"]),
        );
        assert_eq!(out, json!(["a", 1, "b"]));
        // `{}` keeps scalars.
        assert_eq!(response("{}", "{}", json!("s")), json!("s"));
    }

    #[test]
    fn recursive_definitions_terminate() {
        let out = response(
            "$ref: '#/definitions/node'",
            "node: {type: object, properties: {name: {type: string}, children: {type: array, items: {$ref: '#/definitions/node'}}}}\nloop: {anyOf: [{$ref: '#/definitions/loop'}]}",
            json!({"name": "a", "x": 1, "children": [{"name": "b", "children": [], "y": 2}]}),
        );
        assert_eq!(
            out,
            json!({"name": "a", "children": [{"name": "b", "children": []}]})
        );
        assert_eq!(
            response(
                "$ref: '#/definitions/loop'",
                "loop: {anyOf: [{$ref: '#/definitions/loop'}]}",
                json!(1)
            ),
            json!(null)
        );
    }

    #[test]
    fn drops_undeclared_and_nulls_wrong_types() {
        let s = schema("type: object\nproperties:\n  id: {type: string}\n  n: {type: integer}\n  ok: {type: boolean}\n  tags: {type: array, items: {type: string}}\n");
        let out = s.filter(
            json!({"id": "a", "secret": "x", "n": "12", "ok": null, "tags": ["a", 1, "b"]}),
        );
        assert_eq!(
            out,
            json!({"id": "a", "n": null, "ok": false, "tags": ["a", "b"]})
        );
    }

    #[test]
    fn refs_to_definitions_and_root() {
        let s = schema("type: object\nproperties:\n  user: {$ref: '#/definitions/User'}\n  child: {$ref: '#'}\ndefinitions:\n  User:\n    type: object\n    properties:\n      email: {type: string}\n");
        let out = s.filter(json!({"user": {"email": "e", "name": "n"}, "child": {"user": {"name": "x"}, "other": 1}}));
        assert_eq!(out, json!({"user": {"email": "e"}, "child": {"user": {}}}));
    }

    #[test]
    fn bad_refs_are_errors() {
        let s: SchemaNode = serde_yaml::from_str("$ref: '#/definitions/Nope'").unwrap();
        assert!(matches!(
            CompiledSchema::compile(&s),
            Err(PlanError::UnknownDefinition(_))
        ));
        let s: SchemaNode = serde_yaml::from_str("$ref: 'other.json'").unwrap();
        assert!(matches!(
            CompiledSchema::compile(&s),
            Err(PlanError::UnsupportedReference(_))
        ));
        assert!(serde_yaml::from_str::<SchemaNode>("type: tuple").is_err());
    }
}
