//! Property test of the API response filter (SPEC-API-PARITY item 5): for random JSON documents
//! and random rule sets (a `responseSchema`, augments and transforms of the shared core), no
//! value the schema does not allow ever appears in the output.
//!
//! Every string leaf of the input is a unique canary. A small reference walk of the schema says
//! which canaries it allows (a string leaf under declared keys, typed `string` or `{}`); the
//! output may hold only those, and no object key the schema does not declare (besides the `+`
//! keys the augments added).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use psoxy::api::ApiRuleSet;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use serde_json::{Map, Value};

fn pseudonymizer() -> &'static Pseudonymizer {
    static P: OnceLock<Pseudonymizer> = OnceLock::new();
    P.get_or_init(|| {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            encryption_key: Some("secret".into()),
            ..Default::default()
        })
        .unwrap()
    })
}

const KEYS: &[&str] = &["a", "b", "c", "email", "body", "+x"];

/// A random schema node (as YAML-able JSON) of the API dialect.
fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(serde_json::json!({"type": "string"})),
        Just(serde_json::json!({"type": "integer"})),
        Just(serde_json::json!({"type": "boolean"})),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"type": "mystery"})),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map(prop::sample::select(KEYS), inner.clone(), 0..4).prop_map(
                |props| {
                    let props: Map<String, Value> =
                        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    serde_json::json!({"type": "object", "properties": props})
                }
            ),
            inner
                .clone()
                .prop_map(|items| serde_json::json!({"type": "array", "items": items})),
            prop::collection::vec(inner, 1..3).prop_map(|alts| serde_json::json!({"anyOf": alts})),
        ]
    })
}

/// A random document whose string leaves are `@n` placeholders, numbered later.
fn document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::String(String::new())),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map(prop::sample::select(KEYS), inner.clone(), 0..5).prop_map(
                |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
            prop::collection::vec(inner, 0..4).prop_map(Value::Array),
        ]
    })
}

/// Gives every string leaf a unique canary text.
fn number_strings(v: &mut Value, next: &mut usize) {
    match v {
        Value::String(s) => {
            *s = format!("canary-{next}");
            *next += 1;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| number_strings(i, next)),
        Value::Object(map) => map.values_mut().for_each(|i| number_strings(i, next)),
        _ => {}
    }
}

/// The canaries the schema may let through: the reference reading of the filter, generous
/// (every alternative of `anyOf` counts).
fn allowed(schema: &Value, v: &Value, out: &mut BTreeSet<String>) {
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
        for a in alts {
            allowed(a, v, out);
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str);
    match (ty, v) {
        (Some("string") | None, Value::String(s)) => {
            out.insert(s.clone());
        }
        (Some("object"), Value::Object(map)) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, child) in map {
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    allowed(p, child, out);
                }
            }
        }
        (Some("array"), Value::Array(items)) => {
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            for i in items {
                allowed(&item, i, out);
            }
        }
        _ => {}
    }
}

/// Every canary and every object key of the output.
fn collect(v: &Value, canaries: &mut BTreeSet<String>, keys: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.starts_with("canary-") => {
            canaries.insert(s.clone());
        }
        Value::String(s) => {
            for part in s.split(|c: char| !c.is_ascii_alphanumeric() && c != '-') {
                if part.starts_with("canary-") {
                    canaries.insert(part.to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, canaries, keys)),
        Value::Object(map) => {
            for (k, child) in map {
                keys.insert(k.clone());
                if k.starts_with('+') {
                    // An augment's summary: its own keys, and no canary may be in it.
                    collect(child, canaries, &mut BTreeSet::new());
                } else {
                    collect(child, canaries, keys);
                }
            }
        }
        _ => {}
    }
}

/// A random list of transforms over the keys.
fn transforms() -> impl Strategy<Value = Vec<String>> {
    let one = prop_oneof![
        prop::sample::select(KEYS)
            .prop_map(|k| format!("!<pseudonymize> {{jsonPaths: [\"$..['{k}']\"]}}")),
        prop::sample::select(KEYS)
            .prop_map(|k| format!("!<redact> {{jsonPaths: [\"$..['{k}']\"]}}")),
        prop::sample::select(KEYS).prop_map(|k| format!(
            "!<redactExceptPhrases> {{jsonPaths: [\"$..['{k}']\"], allowedPhrases: [canary]}}"
        )),
        prop::sample::select(KEYS)
            .prop_map(|k| format!("!<tokenize> {{jsonPaths: [\"$..['{k}']\"]}}")),
    ];
    prop::collection::vec(one, 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn no_value_the_schema_does_not_allow_reaches_the_output(
        schema in schema(),
        mut doc in document(),
        transforms in transforms(),
        augment in any::<bool>(),
    ) {
        let mut next = 0;
        number_strings(&mut doc, &mut next);
        let mut yaml = format!(
            "endpoints:\n  - pathTemplate: /x\n    responseSchema: {}\n",
            serde_json::to_string(&schema).unwrap()
        );
        if augment {
            yaml.push_str("    augments:\n      - !<textDigest> {jsonPaths: ['$..body']}\n");
        }
        if !transforms.is_empty() {
            yaml.push_str("    transforms:\n");
            for t in &transforms {
                yaml.push_str(&format!("      - {t}\n"));
            }
        }
        let set = ApiRuleSet::from_yaml(&yaml).unwrap();
        let mut out = doc.clone();
        set.plans[0].apply(&mut out, pseudonymizer()).unwrap();

        let mut may = BTreeSet::new();
        allowed(&schema, &doc, &mut may);
        let (mut seen, mut keys) = (BTreeSet::new(), BTreeSet::new());
        collect(&out, &mut seen, &mut keys);
        let leaked: Vec<_> = seen.difference(&may).collect();
        prop_assert!(leaked.is_empty(), "leaked {:?}\nschema {}\ninput {}\noutput {}", leaked, schema, doc, out);

        let mut declared = BTreeSet::new();
        declared_keys(&schema, &mut declared);
        let undeclared: Vec<_> = keys
            .iter()
            .filter(|k| !(declared.contains(*k) || (augment && k.starts_with("+body:"))))
            .collect();
        prop_assert!(undeclared.is_empty(), "undeclared keys {:?}\nschema {}\ninput {}\noutput {}", undeclared, schema, doc, out);
    }
}

fn declared_keys(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| declared_keys(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| declared_keys(v, out)),
        _ => {}
    }
}
