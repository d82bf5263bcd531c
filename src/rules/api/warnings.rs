//! What an API rule file may say that loads but likely does not mean what its author expects
//! (SPEC-API-PARITY 1.3, 3.10): warnings, shown by `psoxy check` and logged at start-up.

use std::fmt;

use serde_yaml::Value;

use crate::rules::schema::{child_schemas, SCHEMA_TYPE_NAMES};

/// One warning about a rule file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWarning {
    /// Where, e.g. `endpoints[0] (/a).responseSchema.properties.user`.
    pub at: String,
    /// What may surprise.
    pub message: String,
}

impl RuleWarning {
    /// A warning at `at`.
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        RuleWarning {
            at: at.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Collects the warnings of one schema node (as YAML, so names are kept) and its children:
/// an unknown `type`, an `if` with more than one property, `properties` or `items` without a
/// `type`.
pub(super) fn schema_warnings(node: &Value, at: &str, out: &mut Vec<RuleWarning>) {
    node_warnings(node, at, false, out);
}

/// `in_conditional`: the node is an `if`, `then` or `else`, whose `type` is not used.
fn node_warnings(node: &Value, at: &str, in_conditional: bool, out: &mut Vec<RuleWarning>) {
    let Value::Mapping(map) = node else {
        return;
    };
    let ty = map.get("type").and_then(Value::as_str);
    if let Some(name) = ty.filter(|t| !SCHEMA_TYPE_NAMES.contains(t)) {
        out.push(RuleWarning::new(
            at,
            format!(
                "`type: {name}` is not a JSON type; a value that reaches this node becomes null"
            ),
        ));
    }
    if ty.is_none()
        && !in_conditional
        && (map.contains_key("properties") || map.contains_key("items"))
    {
        out.push(RuleWarning::new(
            at,
            "`properties` or `items` without `type`: the type is implied here, but Psoxy would turn objects and arrays into null",
        ));
    }
    for key in ["if", "_if", "else", "_else"] {
        let count = map
            .get(key)
            .and_then(|c| c.get("properties"))
            .and_then(Value::as_mapping)
            .map_or(0, |p| p.len());
        if count > 1 {
            out.push(RuleWarning::new(
                format!("{at}.{key}"),
                "only the alphabetically first of its properties is tested",
            ));
        }
    }
    for (key, child) in map {
        let Some(key) = key.as_str() else { continue };
        for c in child_schemas(key, child) {
            node_warnings(c.node, &format!("{at}.{}", c.path), c.conditional, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_and_surprises_are_listed() {
        let yaml: Value = serde_yaml::from_str(
            "type: object\nproperties:\n  user: {type: onBehalfOf}\n  list: {items: {type: string}}\n  c: {type: object, if: {properties: {b: {}, a: {}}}, then: {}}\n",
        )
        .unwrap();
        let mut out = Vec::new();
        schema_warnings(&yaml, "responseSchema", &mut out);
        let text: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0]
            .starts_with("responseSchema.properties.user: `type: onBehalfOf` is not a JSON type"));
        assert!(text[1]
            .starts_with("responseSchema.properties.list: `properties` or `items` without `type`"));
        assert!(
            text[2].starts_with("responseSchema.properties.c.if: only the alphabetically first")
        );
    }
}
