//! Integration tests for `psoxy::jsonpath`, using the public API only.

use std::collections::HashSet;

use proptest::prelude::*;
use psoxy::jsonpath::{JsonPath, JsonPathError, Segment, Selector};
use serde_json::{json, Value};

fn path(p: &str) -> JsonPath {
    JsonPath::parse(p).unwrap_or_else(|e| panic!("{e}"))
}

fn select(p: &str, doc: &Value) -> Vec<Value> {
    path(p).select(doc).into_iter().cloned().collect()
}

fn replace_all(p: &str, doc: &mut Value, with: Value) -> usize {
    let mut n = 0;
    path(p)
        .for_each_mut::<std::convert::Infallible>(doc, &mut |v| {
            n += 1;
            *v = with.clone();
            Ok(())
        })
        .unwrap();
    n
}

/// A Google Calendar event as returned by the Calendar API.
fn event() -> Value {
    json!({
        "kind": "calendar#event",
        "id": "7cbh8rpc10lrc0ckih9tafss99",
        "status": "confirmed",
        "summary": "1:1 Alice / Bob",
        "creator": {"email": "alice@worklytics.co", "self": true},
        "organizer": {"email": "alice@worklytics.co", "displayName": "Alice Example"},
        "start": {"dateTime": "2024-03-01T10:00:00-08:00", "timeZone": "America/Los_Angeles"},
        "attendees": [
            {"email": "alice@worklytics.co", "organizer": true, "self": true, "responseStatus": "accepted"},
            {"email": "bob@worklytics.co", "displayName": "Bob", "responseStatus": "needsAction", "optional": true},
            {"email": "conf-room@resource.calendar.google.com", "resource": true, "responseStatus": "accepted"}
        ],
        "description": null
    })
}

/// A Microsoft Graph style message with `@odata` keys.
fn graph_message() -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/messages",
        "value": [
            {
                "@odata.etag": "W/\"abc\"",
                "from": {"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}},
                "toRecipients": [
                    {"emailAddress": {"name": "Bob", "address": "bob@contoso.com"}},
                    {"emailAddress": {"name": "Carol", "address": "carol@fabrikam.com"}}
                ],
                "subject": "hi"
            }
        ]
    })
}

#[test]
fn the_paths_from_the_brief() {
    let doc = event();
    assert_eq!(
        select("$.organizer.email", &doc),
        vec![json!("alice@worklytics.co")]
    );
    assert_eq!(
        select("organizer.email", &doc),
        vec![json!("alice@worklytics.co")]
    );
    assert_eq!(select("$..email", &doc).len(), 5);
    assert_eq!(select("$.attendees[*].email", &doc).len(), 3);
    assert_eq!(
        select("$.attendees[?(@.responseStatus == 'accepted')].email", &doc),
        vec![
            json!("alice@worklytics.co"),
            json!("conf-room@resource.calendar.google.com")
        ]
    );
    assert_eq!(
        select("$['id','status']", &doc),
        vec![json!("7cbh8rpc10lrc0ckih9tafss99"), json!("confirmed")]
    );
    assert_eq!(
        select("$.attendees[0].email", &doc),
        vec![json!("alice@worklytics.co")]
    );
    assert_eq!(
        select("$.attendees[-1].email", &doc),
        vec![json!("conf-room@resource.calendar.google.com")]
    );
    assert_eq!(
        select("$.attendees[1,2].responseStatus", &doc),
        vec![json!("needsAction"), json!("accepted")]
    );
    assert_eq!(
        select("$..[*].displayName", &doc),
        vec![json!("Alice Example"), json!("Bob")]
    );
    assert_eq!(select("$.start.*", &doc).len(), 2);
    assert_eq!(select("$.description", &doc), vec![Value::Null]);
    assert_eq!(select("$", &doc), vec![doc.clone()]);
}

#[test]
fn bracket_names_with_special_characters() {
    let doc = graph_message();
    assert_eq!(select("$['@odata.context']", &doc).len(), 1);
    assert_eq!(select("$..['@odata.etag']", &doc), vec![json!("W/\"abc\"")]);
    assert_eq!(
        select("$..emailAddress.address", &doc),
        vec![
            json!("alice@contoso.com"),
            json!("bob@contoso.com"),
            json!("carol@fabrikam.com")
        ]
    );
    assert_eq!(
        select("$.value[*].toRecipients[?(@.emailAddress.address =~ /.*@contoso\\.com/)].emailAddress.name", &doc),
        vec![json!("Bob")]
    );
}

#[test]
fn regex_is_whole_match() {
    let doc = json!([{"s": "xabcx"}, {"s": "abc"}]);
    assert_eq!(select("$[?(@.s =~ /abc/)].s", &doc), vec![json!("abc")]);
    assert_eq!(select("$[?(@.s =~ /.*abc.*/)]", &doc).len(), 2);
}

#[test]
fn missing_comparisons() {
    let doc = json!([{"t": "a"}, {}]);
    assert_eq!(select("$[?(@.t == 'a')]", &doc), vec![json!({"t": "a"})]);
    assert_eq!(select("$[?(@.t != 'a')]", &doc), vec![json!({})]);
    assert!(select("$[?(@.t > 'a')]", &doc).is_empty());
    assert_eq!(select("$[?(@.t in ['a'])]", &doc), vec![json!({"t": "a"})]);
    assert_eq!(select("$[?(@.t nin ['a'])]", &doc), vec![json!({})]);
}

#[test]
fn pseudonymize_in_place() {
    let mut doc = event();
    let n = replace_all("$..email", &mut doc, json!({"hash": "…"}));
    assert_eq!(n, 5);
    assert!(select("$..email", &doc)
        .iter()
        .all(|v| v == &json!({"hash": "…"})));
    assert_eq!(doc["summary"], json!("1:1 Alice / Bob"));
    // Missing path: no-op, nothing created.
    let before = doc.clone();
    assert_eq!(replace_all("$.organizer.phone", &mut doc, json!(1)), 0);
    assert_eq!(doc, before);
}

#[test]
fn redact_with_delete() {
    let mut doc = event();
    assert_eq!(path("$..displayName").delete(&mut doc), 2);
    assert_eq!(path("$.attendees[?(@.resource)]").delete(&mut doc), 1);
    assert_eq!(path("$.attendees[0,1]").delete(&mut doc), 2);
    assert_eq!(doc["attendees"], json!([]));
    assert_eq!(path("$").delete(&mut doc), 0);
    assert!(doc.is_object());
}

#[test]
fn errors_name_position_and_path() {
    for (bad, position) in [
        ("$.", 2),
        ("$.a.", 4),
        ("$['a'", 5),
        ("$[?(@.a ==)]", 10),
        ("", 0),
    ] {
        match JsonPath::parse(bad) {
            Err(JsonPathError::Syntax {
                path,
                position: pos,
                message,
            }) => {
                assert_eq!(path, bad);
                assert_eq!(pos, position, "{bad}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!("$.a[".parse::<JsonPath>().is_err());
}

#[test]
fn compiled_path_is_reusable_and_cloneable() {
    let p = path("$.attendees[*].email");
    let q = p.clone();
    assert_eq!(p, q);
    assert_eq!(q.as_str(), "$.attendees[*].email");
    for _ in 0..3 {
        assert_eq!(p.select(&event()).len(), 3);
    }
    assert_eq!(p.segments().len(), 3);
    assert!(!p.is_definite());
}

// ---------------------------------------------------------------------------
// Reference evaluator (naive, set based) built on the public AST, used to
// cross-check the automaton-based evaluator.
// ---------------------------------------------------------------------------

fn ref_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i128;
    let i = i as i128;
    let j = if i < 0 { len + i } else { i };
    (0..len).contains(&j).then_some(j as usize)
}

fn ref_apply<'a>(sel: &Selector, node: &'a Value, out: &mut Vec<&'a Value>) {
    match (sel, node) {
        (Selector::Wildcard, Value::Object(m)) => out.extend(m.values()),
        (Selector::Wildcard, Value::Array(a)) => out.extend(a.iter()),
        (Selector::Names(names), Value::Object(m)) => {
            for (k, v) in m {
                if names.contains(k) {
                    out.push(v);
                }
            }
        }
        (Selector::Indexes(idx), Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if idx.iter().any(|&x| ref_index(x, a.len()) == Some(i)) {
                    out.push(v);
                }
            }
        }
        (Selector::Slice { start, end, step }, Value::Array(a)) => {
            let len = a.len() as i128;
            let b = |x: Option<i64>, d: i128| match x {
                None => d,
                Some(x) if x < 0 => (len + x as i128).max(0),
                Some(x) => (x as i128).min(len),
            };
            let (lo, hi) = (b(*start, 0), b(*end, len));
            for (i, v) in a.iter().enumerate() {
                let i = i as i128;
                if i >= lo && i < hi && (i - lo) % (*step as i128) == 0 {
                    out.push(v);
                }
            }
        }
        (Selector::Filter(f), Value::Array(a)) => out.extend(a.iter().filter(|v| f.matches(v))),
        (Selector::Filter(f), Value::Object(_)) if f.matches(node) => out.push(node),
        _ => {}
    }
}

fn ref_descendants_or_self<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Object(m) => m.values().for_each(|v| ref_descendants_or_self(v, out)),
        Value::Array(a) => a.iter().for_each(|v| ref_descendants_or_self(v, out)),
        _ => {}
    }
}

fn ref_select(segments: &[Segment], root: &Value) -> HashSet<*const Value> {
    let mut current = vec![root];
    for seg in segments {
        let mut next = Vec::new();
        for node in current {
            if seg.descendant {
                let mut all = Vec::new();
                ref_descendants_or_self(node, &mut all);
                for d in all {
                    ref_apply(&seg.selector, d, &mut next);
                }
            } else {
                ref_apply(&seg.selector, node, &mut next);
            }
        }
        // Dedupe (keeps the set small; order is irrelevant here).
        let mut seen = HashSet::new();
        next.retain(|v| seen.insert(*v as *const Value));
        current = next;
    }
    current.into_iter().map(|v| v as *const Value).collect()
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

const PATHS: &[&str] = &[
    "$",
    "$.a",
    "$.a.b",
    "$['a','b']",
    "$['b','a','b']",
    "$.*",
    "$[*]",
    "$.a[*]",
    "$[0]",
    "$[-1]",
    "$[0,-1]",
    "$[1:]",
    "$[:2]",
    "$[-2:]",
    "$[::2]",
    "$..a",
    "$..*",
    "$..[*]",
    "$..[0]",
    "$..['a','c']",
    "$..a..b",
    "$..a.*",
    "$..*.a",
    "$.a..b",
    "$..[?(@.a)]",
    "$..[?(@.a)].b",
    "$[?(@.a == 1)]",
    "$..[?(@.a == 'x' || @.b > 0)]",
    "$..[?(@ == 1)]",
    "$..[?(@.b != null && !@.c)]",
    "$..[?(@.a in [1, 'x', true])]",
    "$..[?(@.a nin [1])]",
    "$..[?(@.a =~ /x.*/i)]",
    "$..[?(@.a)][?(@.b)]",
    "$..[?(@.c[0] <= 2)].c",
    "a.b",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(|n| json!(n)),
        prop_oneof![Just("x"), Just("X1"), Just("a"), Just("")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = JsonPath::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_path_like_strings(s in "[$.\\[\\]'\"?@()=!<>~/*,:0-9ab &|\\\\ui-]{0,40}") {
        match JsonPath::parse(&s) {
            Ok(p) => prop_assert_eq!(p.as_str(), s.as_str()),
            Err(e) => {
                prop_assert_eq!(e.path(), s.as_str());
                prop_assert!(e.position() <= s.chars().count());
            }
        }
    }

    #[test]
    fn select_never_panics_and_agrees_with_reference(doc in arb_json()) {
        for p in PATHS {
            let jp = path(p);
            let got = jp.select(&doc);
            let ptrs: Vec<*const Value> = got.iter().map(|v| *v as *const Value).collect();
            let set: HashSet<_> = ptrs.iter().copied().collect();
            prop_assert_eq!(set.len(), ptrs.len(), "duplicates for {}", p);
            prop_assert_eq!(&set, &ref_select(jp.segments(), &doc), "path {} doc {}", p, doc);
        }
    }

    #[test]
    fn for_each_mut_visits_exactly_the_selected_nodes(doc in arb_json()) {
        for p in PATHS {
            let jp = path(p);
            let mut expected: Vec<String> = jp.select(&doc).iter().map(|v| v.to_string()).collect();
            let mut copy = doc.clone();
            let mut visited = Vec::new();
            jp.for_each_mut::<()>(&mut copy, &mut |v| { visited.push(v.to_string()); Ok(()) }).unwrap();
            prop_assert_eq!(copy.clone(), doc.clone());
            expected.sort();
            visited.sort();
            prop_assert_eq!(visited, expected, "path {}", p);
        }
    }

    #[test]
    fn for_each_mut_count_is_stable_under_mutation(doc in arb_json()) {
        for p in PATHS {
            let jp = path(p);
            let expected = jp.select(&doc).len();
            let mut copy = doc.clone();
            let mut n = 0usize;
            jp.for_each_mut::<()>(&mut copy, &mut |v| {
                n += 1;
                *v = json!({"a": {"a": [1, {"b": 0}]}, "b": 1});
                Ok(())
            }).unwrap();
            prop_assert_eq!(n, expected, "path {}", p);
        }
    }

    #[test]
    fn delete_removes_something_iff_a_non_root_node_matched(doc in arb_json()) {
        for p in PATHS {
            let jp = path(p);
            let non_root = jp.select(&doc).iter().filter(|v| !std::ptr::eq(**v, &doc)).count();
            let mut copy = doc.clone();
            let removed = jp.delete(&mut copy);
            prop_assert!(removed <= non_root, "path {}", p);
            prop_assert_eq!(removed > 0, non_root > 0, "path {}", p);
        }
    }
}
