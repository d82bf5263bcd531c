//! An endpoint's `augments`, compiled (SPEC-API-PARITY 1.1): for each matched value, a
//! summary is added beside it as `+<name>:<method>`, before the schema filter and the
//! transforms run, so a later `redact` can remove the text while its summary stays.
//!
//! The `+` keys added here pass the schema filter; keys starting with `+` that came from
//! the source do not (the augments are skipped for a document that already has one, so every
//! `+` key of an augmented document is ours).

use serde_json::{Map, Value};

use crate::jsonpath::{JsonPath, Step};
use crate::pseudonym::text_digest;
use crate::rules::api::{AugmentKind, AugmentSpec};

/// The augments of one endpoint, ready to run.
#[derive(Debug, Default)]
pub struct AugmentPlan {
    augments: Vec<Augment>,
}

#[derive(Debug)]
struct Augment {
    kind: AugmentKind,
    json_paths: Vec<JsonPath>,
    inner: Option<JsonPath>,
}

impl AugmentPlan {
    /// The plan of an endpoint's augments (everything was checked when the rules loaded).
    pub fn compile(specs: &[AugmentSpec]) -> AugmentPlan {
        AugmentPlan {
            augments: specs
                .iter()
                .map(|s| Augment {
                    kind: s.kind.clone(),
                    json_paths: s.json_paths.clone(),
                    inner: s.inner_json_path.clone(),
                })
                .collect(),
        }
    }

    /// Whether the endpoint has no augments.
    pub fn is_empty(&self) -> bool {
        self.augments.is_empty()
    }

    /// Adds the summaries to `doc`. Returns whether the augments ran: not when the plan is
    /// empty, nor when `doc` already has a key starting with `+` (a conflict: nothing is
    /// added, as in Psoxy). A location that cannot take a summary is skipped; nothing here
    /// fails the response.
    pub fn apply(&self, doc: &mut Value) -> bool {
        if self.augments.is_empty() {
            return false;
        }
        if has_plus_key(doc) {
            tracing::warn!("response already has a key starting with `+`; augments skipped");
            return false;
        }
        for augment in &self.augments {
            for path in &augment.json_paths {
                for location in path.locations(doc) {
                    augment.add_at(doc, &location);
                }
            }
        }
        true
    }
}

impl Augment {
    /// Adds the summary of the value at `location` beside it.
    fn add_at(&self, doc: &mut Value, location: &[Step]) {
        let Some((Step::Member(leaf), parent_at)) = location.split_last() else {
            tracing::warn!("augment path matched an array element or the root; skipped");
            return;
        };
        let Some(Value::Object(parent)) = descend(doc, parent_at) else {
            return;
        };
        let Some(source) = parent.get(leaf) else {
            return;
        };
        let summary = match (&self.inner, source) {
            (Some(inner), Value::String(text)) if !text.is_empty() => {
                self.inner_summary(inner, text)
            }
            _ => self.compute(source),
        };
        if let Some(summary) = summary {
            parent.insert(format!("+{leaf}:{}", self.kind.name()), summary);
        }
    }

    /// The summary of a JSON text: each value `inner` matches inside it replaced by the JSON
    /// text of its summary, the document printed again as a string; `None` when nothing
    /// was replaced or the text is not JSON.
    fn inner_summary(&self, inner: &JsonPath, text: &str) -> Option<Value> {
        let Ok(mut inner_doc) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("augment innerJsonPath: the value is not JSON; skipped");
            return None;
        };
        let mut replaced = 0usize;
        let _ = inner.for_each_mut::<()>(&mut inner_doc, &mut |v| {
            if let Some(summary) = self.compute(v) {
                *v = Value::String(summary.to_string());
                replaced += 1;
            }
            Ok(())
        });
        if replaced == 0 {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        write_json_smart(&inner_doc, &mut out);
        Some(Value::String(out))
    }

    /// The summary of one value, or `None` (not a string; `sentenceMetadata`).
    fn compute(&self, value: &Value) -> Option<Value> {
        match (&self.kind, value) {
            (AugmentKind::TextDigest { keywords }, Value::String(text)) => {
                let keywords = (!keywords.is_empty()).then_some(keywords.as_slice());
                serde_json::from_str(&text_digest(text, keywords)).ok()
            }
            _ => None,
        }
    }
}

/// The node at `location`, mutably.
fn descend<'a>(mut node: &'a mut Value, location: &[Step]) -> Option<&'a mut Value> {
    for step in location {
        node = match (step, node) {
            (Step::Member(name), Value::Object(map)) => map.get_mut(name)?,
            (Step::Element(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Whether any object in `value`, at any depth, has a key starting with `+`.
fn has_plus_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with('+') || has_plus_key(v)),
        Value::Array(items) => items.iter().any(has_plus_key),
        _ => false,
    }
}

/// Compact JSON as Psoxy's JSONPath library prints it: key order kept, `/` not escaped,
/// control characters and U+007F..U+009F, U+2000..U+20FF as upper-case `\uXXXX`.
fn write_json_smart(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_smart_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_smart(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_smart_object(map, out),
    }
}

fn write_smart_object(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_smart_string(k, out);
        out.push(':');
        write_json_smart(v, out);
    }
    out.push('}');
}

fn write_smart_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{00}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{2000}'..='\u{20FF}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(yaml: &str) -> AugmentPlan {
        let serde_yaml::Value::Sequence(list) =
            crate::rules::yaml_tags::parse_with_verbatim_tags(yaml).unwrap()
        else {
            panic!("a list")
        };
        let specs: Vec<AugmentSpec> = list
            .into_iter()
            .map(|a| AugmentSpec::from_yaml(a).unwrap())
            .collect();
        AugmentPlan::compile(&specs)
    }

    #[test]
    fn digest_beside_the_value() {
        // SPEC-API-PARITY 1.1, example 3.
        let p = plan("- !<textDigest> {jsonPaths: ['$.body.content'], keywords: [hello, test]}");
        let mut doc = json!({"body": {"content": "Hello world this is a test"}});
        assert!(p.apply(&mut doc));
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"body":{"content":"Hello world this is a test","+content:textDigest":{"keywords":{"hello":1,"test":1},"length":26,"word_count":6}}}"#
        );
        let p = plan("- !<textDigest> {jsonPaths: ['$.body.content']}");
        let mut doc = json!({"body": {"content": "Hello world this is a test"}});
        p.apply(&mut doc);
        assert_eq!(
            doc["body"]["+content:textDigest"],
            json!({"length": 26, "word_count": 6})
        );
    }

    #[test]
    fn conflicts_nulls_and_empty_text() {
        // Example 4.
        let p = plan("- !<textDigest> {jsonPaths: ['$.body.content']}");
        let mut doc = json!({"body": {"content": "x", "+content:someExisting": "conflict"}});
        let before = doc.clone();
        assert!(!p.apply(&mut doc));
        assert_eq!(doc, before);
        let mut doc = json!({"body": {"content": null}});
        p.apply(&mut doc);
        assert_eq!(doc, json!({"body": {"content": null}}));
        let mut doc = json!({"body": {"content": ""}});
        p.apply(&mut doc);
        assert_eq!(
            doc["body"]["+content:textDigest"],
            json!({"length": 0, "word_count": 0})
        );
    }

    #[test]
    fn inner_json_is_summarized_inside_a_string() {
        let p = plan("- !<textDigest> {jsonPaths: ['$.a[*].content'], innerJsonPath: '$..text'}");
        let card = r#"{"type":"AdaptiveCard","body":[{"type":"TextBlock","text":"two words","wrap":true},{"type":"Image","url":"https://x/y"}],"note":"’…€"}"#;
        let mut doc = json!({"a": [{"id": 1, "content": card}, {"content": "not json"}, {"content": "{\"x\":1}"}]});
        p.apply(&mut doc);
        assert_eq!(
            doc["a"][0]["+content:textDigest"],
            json!(
                r#"{"type":"AdaptiveCard","body":[{"type":"TextBlock","text":"{\"length\":9,\"word_count\":2}","wrap":true},{"type":"Image","url":"https://x/y"}],"note":"\u2019\u2026\u20AC"}"#
            )
        );
        assert!(doc["a"][1].get("+content:textDigest").is_none());
        assert!(doc["a"][2].get("+content:textDigest").is_none());
    }

    #[test]
    fn array_elements_are_skipped() {
        let p = plan("- !<textDigest> {jsonPaths: ['$.tags[*]']}");
        let mut doc = json!({"tags": ["a", "b"]});
        p.apply(&mut doc);
        assert_eq!(doc, json!({"tags": ["a", "b"]}));
    }
}
