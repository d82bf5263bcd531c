//! An entry of an endpoint's `transforms` list, as the rule file writes it.
//!
//! A transform is chosen by a YAML tag (`- !<pseudonymize> {jsonPaths: [...]}`, or `!name`)
//! or by a `method` key in the same map (`- method: pseudonymize`). Every transform has
//! `jsonPaths` and an optional `applyOnlyWhen`, compiled here; its other parameters are kept
//! as YAML for the operation of that name to read when the rules are compiled
//! ([`crate::transform::ops`]).

use serde_yaml::{Mapping, Value};

use crate::jsonpath::{JsonPath, JsonPathError};
use crate::rules::{type_name as kind_of, JsonPaths};

/// One transform of an endpoint's responses: its method, paths and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSpec {
    /// The method's name (from the tag or the `method` key).
    pub method: String,
    /// The values it applies to.
    pub json_paths: Vec<JsonPath>,
    /// Run only when this path (on the whole document) matches something.
    pub apply_only_when: Option<JsonPath>,
    /// The method's parameters (a mapping without `jsonPaths` and `applyOnlyWhen`).
    pub params: Value,
}

/// A transform entry that is not of the transform shape. The caller adds where it is.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Tagged and with a `method` key.
    #[error("transform tagged `!<{0}>` also has a `method` key; use one or the other")]
    TagAndMethod(String),
    /// `method` is not a string.
    #[error("`method` must be a transform name, found {0}")]
    MethodNotAName(&'static str),
    /// Neither a tag nor `method`.
    #[error("a transform needs a tag (`!<pseudonymize>`) or a `method` key")]
    NoMethod,
    /// Not a map at all.
    #[error("a transform must be a tagged map or a map with `method`, found {0}")]
    NotATransform(&'static str),
    /// The parameters are not a map.
    #[error("`{method}` needs a map of parameters, found {found}")]
    ParamsNotAMap {
        /// The method.
        method: String,
        /// What was found instead.
        found: &'static str,
    },
    /// No `jsonPaths`.
    #[error("`{0}` is missing `jsonPaths`")]
    NoJsonPaths(String),
    /// `jsonPaths` is not a list of strings.
    #[error("`jsonPaths` must be a list of JSONPath strings")]
    JsonPathsNotStrings,
    /// `applyOnlyWhen` is not a string.
    #[error("`applyOnlyWhen` must be a JSONPath string, found {0}")]
    ConditionNotAString(&'static str),
    /// A path does not parse.
    #[error(transparent)]
    Path(#[from] JsonPathError),
}

impl TransformSpec {
    /// Reads one entry of an endpoint's `transforms` list.
    pub fn from_yaml(value: Value) -> Result<TransformSpec, SpecError> {
        let (method, body) = split_method(value)?;
        let mut map = match body {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            other => {
                return Err(SpecError::ParamsNotAMap {
                    method,
                    found: kind_of(&other),
                })
            }
        };
        let json_paths = match map.remove("jsonPaths") {
            Some(v) => compile_paths(v)?,
            None => return Err(SpecError::NoJsonPaths(method)),
        };
        let apply_only_when = match map.remove("applyOnlyWhen") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(JsonPath::parse(&p)?),
            Some(other) => return Err(SpecError::ConditionNotAString(kind_of(&other))),
        };
        Ok(TransformSpec {
            method,
            json_paths,
            apply_only_when,
            params: Value::Mapping(map),
        })
    }
}

/// The method name (from the tag or the `method` key) and the parameter map.
fn split_method(value: Value) -> Result<(String, Value), SpecError> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.strip_prefix('!').unwrap_or(&tag).to_owned();
            if let Value::Mapping(m) = &tagged.value {
                if m.contains_key("method") {
                    return Err(SpecError::TagAndMethod(name));
                }
            }
            Ok((name, tagged.value))
        }
        Value::Mapping(mut map) => match map.remove("method") {
            Some(Value::String(name)) => Ok((name, Value::Mapping(map))),
            Some(other) => Err(SpecError::MethodNotAName(kind_of(&other))),
            None => Err(SpecError::NoMethod),
        },
        other => Err(SpecError::NotATransform(kind_of(&other))),
    }
}

fn compile_paths(value: Value) -> Result<Vec<JsonPath>, SpecError> {
    let paths: JsonPaths =
        serde_yaml::from_value(value).map_err(|_| SpecError::JsonPathsNotStrings)?;
    Ok(paths
        .to_vec()
        .iter()
        .map(|p| JsonPath::parse(p))
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::yaml_tags::parse_with_verbatim_tags;

    fn one(yaml: &str) -> Result<TransformSpec, SpecError> {
        match parse_with_verbatim_tags(yaml).unwrap() {
            Value::Sequence(mut items) => TransformSpec::from_yaml(items.remove(0)),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn tag_forms_and_method_form_agree() {
        let forms = [
            "- !<pseudonymize> {jsonPaths: ['$..email']}",
            "- !pseudonymize {jsonPaths: ['$..email']}",
            "- !<pseudonymize>\n  jsonPaths:\n    - $..email\n",
            "- method: pseudonymize\n  jsonPaths: ['$..email']",
            "- {method: pseudonymize, jsonPaths: '$..email'}",
        ];
        for f in forms {
            let t = one(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(t.method, "pseudonymize", "{f}");
            assert_eq!(t.json_paths[0].as_str(), "$..email");
            assert_eq!(t.apply_only_when, None);
            assert_eq!(t.params, Value::Mapping(Mapping::new()));
        }
    }

    #[test]
    fn parameters_are_kept_for_the_operation() {
        let t = one("- !<pseudonymize> {jsonPaths: [$.a], encoding: JSON, applyOnlyWhen: '$.x'}")
            .unwrap();
        assert!(t.apply_only_when.is_some());
        assert_eq!(
            t.params,
            serde_yaml::from_str::<Value>("{encoding: JSON}").unwrap()
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("- !<redact> {}", "missing `jsonPaths`"),
            ("- !<redact> {jsonPaths: ['$.a[']}", "$.a["),
            (
                "- !<redact> {jsonPaths: [$.a], applyOnlyWhen: '$[?(@.a'}",
                "$[?(@.a",
            ),
            ("- {jsonPaths: [$.a]}", "`method`"),
            (
                "- !<redact> {method: redact, jsonPaths: [$.a]}",
                "one or the other",
            ),
            ("- '$.a'", "found a string"),
            ("- !<redact> {jsonPaths: {a: 1}}", "list of JSONPath"),
            ("- !<redact> [1]", "needs a map of parameters"),
        ];
        for (yaml, needle) in cases {
            let e = one(yaml).unwrap_err().to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
