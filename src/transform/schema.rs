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
    Typed(Typed),
}

#[derive(Debug, Clone)]
struct Typed {
    ty: Option<SchemaType>,
    properties: Option<IndexMap<String, usize>>,
    items: Option<usize>,
    /// `anyOf` alternatives (API dialect).
    any_of: Option<Vec<usize>>,
    /// `if` / `then` / `else` (API dialect, only with a `type`).
    conditional: Option<Box<Conditional>>,
    /// `const` (API dialect, only with a `type`).
    constant: Option<String>,
}

/// `if` / `else` conditions and the `then` filter (SPEC-API-PARITY 3.10.3).
#[derive(Debug, Clone)]
struct Conditional {
    when: Condition,
    otherwise: Option<Condition>,
    /// `then.properties`: the keys kept, each filtered by its node.
    then: IndexMap<String, usize>,
}

/// A condition: the alphabetically first property of an `if` (or `else`) and its node.
#[derive(Debug, Clone)]
struct Condition {
    key: String,
    node: usize,
}

/// The result of one schema node: a value, or *NotMatched* (a `const` that differs, a
/// condition that does not hold), which `anyOf` skips and an object passes up.
type Filtered = Option<Value>;

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
        self.filter_response(value, false)
    }

    /// Returns `value` filtered by the schema; with `pass_plus_keys` (API: the keys the
    /// augments of this response added), object keys starting with `+` pass untouched.
    pub fn filter_response(&self, value: Value, pass_plus_keys: bool) -> Value {
        let run = Run {
            schema: self,
            pass_plus_keys: pass_plus_keys && self.api,
        };
        run.apply(0, value, 0).unwrap_or(Value::Null)
    }

    /// Names of the root object's declared properties, if the root declares them.
    pub fn top_level_properties(&self) -> Option<Vec<String>> {
        match self.resolve(0) {
            Node::Typed(Typed {
                properties: Some(p),
                ..
            }) => Some(p.keys().cloned().collect()),
            _ => None,
        }
    }

    /// The root node, for [`shape`](Self::shape).
    pub const ROOT: usize = 0;

    /// What node `idx` allows, for checking a typed schema (Parquet) against the filter.
    pub fn shape(&self, idx: usize) -> SchemaShape<'_> {
        let Node::Typed(Typed {
            ty,
            properties,
            items,
            any_of,
            conditional,
            ..
        }) = self.resolve(idx)
        else {
            return SchemaShape::Nothing;
        };
        if any_of.is_some() || conditional.is_some() || *ty == Some(SchemaType::Unknown) {
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
}

/// One filtering of one value.
struct Run<'s> {
    schema: &'s CompiledSchema,
    pass_plus_keys: bool,
}

impl Run<'_> {
    /// The value filtered by node `idx` (SPEC-API-PARITY 3.10.2: `$ref`, `anyOf`, then by
    /// `type`: a conditional, a `const`, the type's rule).
    fn apply(&self, idx: usize, value: Value, depth: usize) -> Filtered {
        if depth > MAX_DEPTH {
            return Some(Value::Null);
        }
        let api = self.schema.api;
        let Node::Typed(node) = self.schema.resolve(idx) else {
            return Some(Value::Null); // a self-referencing `$ref` allows nothing
        };
        if let Some(alternatives) = &node.any_of {
            let Some((last, others)) = alternatives.split_last() else {
                return Some(Value::Null);
            };
            for a in others {
                if let Some(v) = self.apply(*a, value.clone(), depth + 1) {
                    return Some(v);
                }
            }
            return Some(self.apply(*last, value, depth + 1).unwrap_or(Value::Null));
        }
        if node.ty.is_some() {
            if let Some(conditional) = &node.conditional {
                return self.conditional(conditional, value, depth);
            }
            if let Some(constant) = &node.constant {
                return (constant_text(&value) == *constant).then(|| Value::String(String::new()));
            }
        }
        let ty = node.ty.or(if node.properties.is_some() {
            Some(SchemaType::Object)
        } else if node.items.is_some() {
            Some(SchemaType::Array)
        } else {
            None
        });
        Some(match (ty, value) {
            (None, Value::Object(_) | Value::Array(_)) if api => Value::Null,
            (None, v) => v,
            (Some(SchemaType::Unknown), _) => {
                tracing::warn!(
                    "a response value reached a schema node of an unknown type; it became null"
                );
                Value::Null
            }
            (Some(SchemaType::Boolean), Value::Null) => Value::Bool(false),
            (Some(SchemaType::Object), Value::Object(map)) => match &node.properties {
                None => Value::Object(map),
                Some(props) => {
                    let mut out = serde_json::Map::with_capacity(props.len().min(map.len()));
                    for (k, v) in map {
                        if self.pass_plus_keys && k.starts_with('+') {
                            out.insert(k, v);
                            continue;
                        }
                        if let Some(p) = props.get(&k) {
                            let filtered = self.apply(*p, v, depth + 1)?;
                            out.insert(k, filtered);
                        }
                    }
                    Value::Object(out)
                }
            },
            (Some(SchemaType::Array), Value::Array(list)) => match node.items {
                None => Value::Array(list),
                Some(item) => Value::Array(
                    list.into_iter()
                        .filter_map(|v| self.apply(item, v, depth + 1))
                        .filter(|v| !v.is_null())
                        .collect(),
                ),
            },
            (Some(t), v) if matches_type(t, &v) => v,
            _ => Value::Null,
        })
    }

    /// `if` / `else` / `then` on a typed node.
    fn conditional(&self, c: &Conditional, value: Value, depth: usize) -> Filtered {
        let holds = self.holds(&c.when, &value, depth)
            || c.otherwise
                .as_ref()
                .is_some_and(|o| self.holds(o, &value, depth));
        if !holds {
            return None;
        }
        let Value::Object(map) = value else {
            return Some(Value::Object(serde_json::Map::new()));
        };
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            if let Some(p) = c.then.get(&k) {
                let filtered = self.apply(*p, v, depth + 1).unwrap_or(Value::Null);
                out.insert(k, filtered);
            }
        }
        Some(Value::Object(out))
    }

    /// Whether a condition holds for `value`: its key's value is not NotMatched by its node
    /// (an absent key, or a value that is not an object, fails a `const` or conditional).
    fn holds(&self, condition: &Condition, value: &Value, depth: usize) -> bool {
        match value.get(&condition.key) {
            Some(v) => self.apply(condition.node, v.clone(), depth + 1).is_some(),
            None => !self.schema.may_refuse(condition.node),
        }
    }
}

impl CompiledSchema {
    /// Whether node `idx` itself can give NotMatched (a typed `const` or conditional).
    fn may_refuse(&self, idx: usize) -> bool {
        match self.resolve(idx) {
            Node::Typed(t) => t.ty.is_some() && (t.constant.is_some() || t.conditional.is_some()),
            Node::Ref(_) => false,
        }
    }
}

/// A value's text as a `const` compares it: strings as they are, numbers as Java prints them
/// (`5`, `5.0`), booleans, `null`; containers as `""`.
fn constant_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let text = n.to_string();
            if is_integer_text(&text) {
                text
            } else {
                match text.parse::<f64>() {
                    Ok(f) => format!("{f:?}"),
                    Err(_) => text,
                }
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Object(_) | Value::Array(_) => String::new(),
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
        let properties = self.properties(s.properties.as_ref())?;
        let items = match &s.items {
            None => None,
            Some(i) => {
                let node = self.node(i)?;
                Some(self.push(node))
            }
        };
        let any_of = match &s.any_of {
            None => None,
            Some(alternatives) if alternatives.is_empty() => None,
            Some(alternatives) => {
                let mut out = Vec::with_capacity(alternatives.len());
                for a in alternatives {
                    let node = self.node(a)?;
                    out.push(self.push(node));
                }
                Some(out)
            }
        };
        let conditional = match (&s.if_schema, &s.then_schema) {
            (Some(when), Some(then)) => Some(Box::new(Conditional {
                when: self.condition(when)?,
                otherwise: s
                    .else_schema
                    .as_deref()
                    .map(|o| self.condition(o))
                    .transpose()?,
                then: self
                    .properties(then.properties.as_ref())?
                    .unwrap_or_default(),
            })),
            (Some(_), None) => return Err(PlanError::Conditional("`if` needs a `then`")),
            (None, _) if s.else_schema.is_some() => {
                return Err(PlanError::Conditional("`else` needs an `if`"))
            }
            (None, _) => None,
        };
        Ok(Node::Typed(Typed {
            ty,
            properties,
            items,
            any_of,
            conditional,
            constant: s.constant.as_ref().map(|c| c.0.clone()),
        }))
    }

    /// An `if` or `else`: its alphabetically first property.
    fn condition(&mut self, s: &SchemaNode) -> Result<Condition, PlanError> {
        let first = s
            .properties
            .as_ref()
            .and_then(|props| props.iter().min_by(|a, b| a.0.cmp(b.0)))
            .ok_or(PlanError::Conditional(
                "`if` and `else` need at least one of `properties`",
            ))?;
        let node = self.node(first.1)?;
        Ok(Condition {
            key: first.0.clone(),
            node: self.push(node),
        })
    }

    fn properties(
        &mut self,
        props: Option<&IndexMap<String, SchemaNode>>,
    ) -> Result<Option<IndexMap<String, usize>>, PlanError> {
        let Some(props) = props else {
            return Ok(None);
        };
        let mut out = IndexMap::new();
        for (name, p) in props {
            let node = self.node(p)?;
            out.insert(name.clone(), self.push(node));
        }
        Ok(Some(out))
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
        let root: SchemaNode = serde_yaml::from_str(
            "type: object\nproperties:\n  id: {type: integer}\n  any: {}\n  ok: {type: boolean}\n  n: {type: number}\n  who: {anyOf: [{$ref: '#/definitions/user'}, {type: string}]}\n",
        )
        .unwrap();
        let defs: IndexMap<String, SchemaNode> =
            serde_yaml::from_str("user: {type: object, properties: {login: {type: string}}}")
                .unwrap();
        let compiled = CompiledSchema::compile_response(&root, &defs).unwrap();
        let input = json!({"+meta": {"x": 1}, "id": 7, "any": {"deep": 1}, "ok": null, "n": null,
                   "who": {"login": "a", "email": "e"}, "dropped": "x"});
        // `+` keys pass only when the augments of this response added them.
        assert_eq!(
            compiled.filter_response(input.clone(), true),
            json!({"+meta": {"x": 1}, "id": 7, "any": null, "ok": false, "n": null,
                   "who": {"login": "a"}})
        );
        assert_eq!(
            compiled.filter_response(input, false),
            json!({"id": 7, "any": null, "ok": false, "n": null, "who": {"login": "a"}})
        );
        // Without `const` or `if`, the first alternative of `anyOf` always applies.
        let out = response(
            "type: array\nitems: {anyOf: [{type: string}, {type: integer}]}",
            "{}",
            json!(["a", 1, 1.5, {"x": 1}, null, "b"]),
        );
        assert_eq!(out, json!(["a", "b"]));
        // `{}` keeps scalars.
        assert_eq!(response("{}", "{}", json!("s")), json!("s"));
    }

    const POLYMORPHIC: &str = "type: array
items:
  anyOf:
    - type: object
      if: {properties: {kind: {type: string, const: user}}}
      then: {properties: {kind: {}, id: {}, email: {type: string}}}
    - type: object
      if: {properties: {kind: {type: string, const: bot}}}
      then: {properties: {kind: {}}}
";

    #[test]
    fn conditionals_pick_the_alternative_and_filter_by_then() {
        // SPEC-API-PARITY 3.10.3, example 1.
        let out = response(
            POLYMORPHIC,
            "{}",
            json!([{"kind":"user","id":"u1","email":"a@x","name":"Al"},{"kind":"bot","id":"b1"},{"kind":"team"}]),
        );
        assert_eq!(
            out,
            json!([{"kind":"user","id":"u1","email":"a@x"},{"kind":"bot"}])
        );
        // Example 2: only the `user` candidate, no `anyOf`: the bot is dropped (Rec.).
        let out = response(
            "type: array\nitems: {type: object, if: {properties: {kind: {type: string, const: user}}}, then: {properties: {kind: {}}}}",
            "{}",
            json!([{"kind":"user","x":1},{"kind":"bot"},{"id":1}]),
        );
        assert_eq!(out, json!([{"kind":"user"}]));
        // Example 3: only the alphabetically first key of `if` is tested.
        let out = response(
            "type: object\nif: {properties: {type: {type: string, const: User}, a: {type: string}}}\nthen: {properties: {type: {}}}",
            "{}",
            json!({"type": "Bot", "a": "x"}),
        );
        assert_eq!(out, json!({"type": "Bot"}));
        // `else` is a second condition; `then` of a non-object is `{}`; the root NotMatched
        // is `null`.
        let schema = "type: object\nif: {properties: {k: {type: string, const: a}}}\nelse: {properties: {k: {type: string, const: b}}}\nthen: {properties: {k: {}, v: {type: integer}}}";
        assert_eq!(
            response(schema, "{}", json!({"k":"b","v":1,"w":2})),
            json!({"k":"b","v":1})
        );
        assert_eq!(response(schema, "{}", json!({"k":"c","v":1})), json!(null));
        assert_eq!(response(schema, "{}", json!({"v":1})), json!(null));
    }

    #[test]
    fn historic_salesforce_spelling() {
        // SPEC-API-PARITY 3.10.3, example 4 (`_if`, `_then`, `constant`).
        let out = response(
            "type: object
properties:
  records:
    type: array
    items:
      type: object
      properties: {}
      _if: {properties: {attributes: {type: object, properties: {type: {type: string, constant: User}}}}}
      _then:
        properties:
          attributes: {type: object, properties: {type: {type: string}}}
          Id: {type: string}
",
            "{}",
            json!({"records": [
                {"attributes": {"type": "User", "url": "/u/1"}, "Id": "1", "Name": "Al"},
                {"attributes": {"type": "Group"}, "Id": "2"}
            ]}),
        );
        assert_eq!(
            out,
            json!({"records": [{"attributes": {"type": "User"}, "Id": "1"}]})
        );
    }

    #[test]
    fn const_compares_text_and_gives_the_empty_string() {
        let out = response(
            "type: object\nproperties:\n  a: {type: string, const: x}\n  b: {type: integer, const: '5'}",
            "{}",
            json!({"a": "x", "b": 5}),
        );
        assert_eq!(out, json!({"a": "", "b": ""}));
        // A differing const makes the whole object NotMatched: `null` at the root.
        let out = response(
            "type: object\nproperties:\n  a: {type: string, const: x}",
            "{}",
            json!({"a": "y"}),
        );
        assert_eq!(out, json!(null));
        assert_eq!(constant_text(&json!(5.0)), "5.0");
        assert_eq!(constant_text(&json!(true)), "true");
        assert_eq!(constant_text(&json!([1])), "");
    }

    #[test]
    fn unknown_types_turn_values_into_null() {
        let out = response(
            "type: object\nproperties:\n  user: {type: onBehalfOf, properties: {email: {type: string}}}\n  list: {type: array, items: {type: onBehalfOf}}\n  id: {type: string}",
            "{}",
            json!({"user": {"email": "a@x"}, "list": [1, "a"], "id": "x"}),
        );
        assert_eq!(out, json!({"user": null, "list": [], "id": "x"}));
        // An absent key never reaches it.
        let out = response(
            "type: object\nproperties:\n  user: {type: onBehalfOf}\n  id: {type: string}",
            "{}",
            json!({"id": "x", "onBehalfOf": null}),
        );
        assert_eq!(out, json!({"id": "x"}));
    }

    #[test]
    fn conditionals_without_then_are_errors() {
        for yaml in [
            "type: object\nif: {properties: {a: {}}}",
            "type: object\nelse: {properties: {a: {}}}\nthen: {}",
            "type: object\nif: {}\nthen: {}",
        ] {
            let root: SchemaNode = serde_yaml::from_str(yaml).unwrap();
            let e = CompiledSchema::compile_response(&root, &IndexMap::new()).unwrap_err();
            assert!(matches!(e, PlanError::Conditional(_)), "{yaml}: {e}");
        }
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
    }
}
