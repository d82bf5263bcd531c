//! Evaluation of compiled paths: [`JsonPath::select`],
//! [`JsonPath::for_each_mut`] and [`JsonPath::delete`].
//!
//! # How it works
//!
//! A path with `n` segments is treated as a small non-deterministic
//! automaton with states `0..=n`: a node is in state `i` when it is one of the
//! nodes produced by the first `i` segments (state `n` = matched). The
//! document is walked once, top-down; each node carries the *set* of states
//! reaching it (a `u64` bit set), and a child's set is computed from its
//! parent's:
//!
//! * a child selected by segment `i`'s selector gets state `i + 1`;
//! * a deep-scan segment `i` (`..`) also passes state `i` itself on to every
//!   child (the scan continues below);
//! * a filter segment applied to an *object* tests the object itself, so when
//!   a node holding state `i` is an object that passes filter `i`, the node
//!   also gets state `i + 1` (an ε-transition, closed at each node).
//!
//! Because every node is visited once with the union of all ways of reaching
//! it, no node can be reported twice (`$..a..b`, `$['a','a']`, `$[0,-1]`),
//! without any deduplication pass or per-evaluation allocation. Subtrees whose
//! state set is empty are never entered, and the common "one name" / "one
//! index" step is a direct lookup rather than a scan of all members.

use serde_json::Value;

use super::index::normalize_index;
use super::{JsonPath, Selector};

/// Which child of a node is being considered.
#[derive(Clone, Copy)]
enum ChildKey<'k> {
    Member(&'k str),
    Element { index: usize, len: usize },
}

/// How the children of a node need to be examined for a state set.
enum Plan<'p> {
    /// Only the member with this name can be selected.
    Name(&'p str),
    /// Only the element at this (possibly negative) index can be selected.
    Index(i64),
    /// Examine every child.
    All,
}

/// Resolves a slice bound (Python semantics: negative counts from the end,
/// clamped to `0..=len`).
fn slice_bound(bound: Option<i64>, default: usize, len: usize) -> usize {
    match bound {
        None => default,
        Some(b) if b >= 0 => usize::try_from(b).map_or(len, |b| b.min(len)),
        Some(b) => usize::try_from(b.unsigned_abs()).map_or(0, |back| len.saturating_sub(back)),
    }
}

fn slice_contains(
    start: Option<i64>,
    end: Option<i64>,
    step: u64,
    index: usize,
    len: usize,
) -> bool {
    let lo = slice_bound(start, 0, len);
    let hi = slice_bound(end, len, len);
    let step = usize::try_from(step).unwrap_or(usize::MAX).max(1);
    index >= lo && index < hi && (index - lo).is_multiple_of(step)
}

/// Does `selector` pick `child` out of its parent?
fn selects(selector: &Selector, key: ChildKey<'_>, child: &Value) -> bool {
    match (selector, key) {
        (Selector::Wildcard, _) => true,
        (Selector::Names(names), ChildKey::Member(k)) => names.iter().any(|n| n == k),
        (Selector::Indexes(idx), ChildKey::Element { index, len }) => {
            idx.iter().any(|&i| normalize_index(i, len) == Some(index))
        }
        (Selector::Slice { start, end, step }, ChildKey::Element { index, len }) => {
            slice_contains(*start, *end, *step, index, len)
        }
        // Filters test array elements; on objects they test the object
        // itself (see `JsonPath::close`), never its members.
        (Selector::Filter(f), ChildKey::Element { .. }) => f.matches(child),
        _ => false,
    }
}

/// Iterates the indexes of the set bits of `bits`, lowest first.
fn bits(mut set: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if set == 0 {
            return None;
        }
        let i = set.trailing_zeros() as usize;
        set &= set - 1;
        Some(i)
    })
}

/// One step of a matched node's location: an object member or an array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The member of this name.
    Member(String),
    /// The element at this index.
    Element(usize),
}

impl JsonPath {
    /// The state bit meaning "matched".
    fn final_bit(&self) -> u64 {
        1u64 << self.segments.len()
    }

    /// Adds the ε-transitions of filter segments applied to `node` itself
    /// (only objects are tested as themselves).
    fn close(&self, mut states: u64, node: &Value) -> u64 {
        if !node.is_object() {
            return states;
        }
        let mut pending = states & self.filter_mask;
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            let next = 1u64 << (i + 1);
            if states & next != 0 {
                continue;
            }
            if let Selector::Filter(f) = &self.segments[i].selector {
                if f.matches(node) {
                    states |= next;
                    // Chained filters (`[?(..)][?(..)]`) test the same object.
                    pending |= next & self.filter_mask;
                }
            }
        }
        states
    }

    /// The state set of `child`, given the parent's non-final states.
    fn child_states(&self, active: u64, key: ChildKey<'_>, child: &Value) -> u64 {
        let mut out = active & self.descendant_mask;
        for i in bits(active) {
            if selects(&self.segments[i].selector, key, child) {
                out |= 1u64 << (i + 1);
            }
        }
        if out == 0 {
            0
        } else {
            self.close(out, child)
        }
    }

    /// Chooses a fast path when a single non-scanning name/index step is
    /// active.
    fn plan(&self, active: u64) -> Plan<'_> {
        if active.count_ones() != 1 || active & self.descendant_mask != 0 {
            return Plan::All;
        }
        let i = active.trailing_zeros() as usize;
        match &self.segments[i].selector {
            Selector::Names(names) if names.len() == 1 => Plan::Name(&names[0]),
            Selector::Indexes(idx) if idx.len() == 1 => Plan::Index(idx[0]),
            _ => Plan::All,
        }
    }

    fn root_states(&self, root: &Value) -> u64 {
        self.close(1, root)
    }

    /// All matched nodes, in document order (pre-order: a node before its
    /// descendants; object members in stored order; array elements by
    /// index). Each node appears at most once, even if the path reaches it
    /// in several ways. A path matching nothing returns an empty vector.
    ///
    /// ```
    /// use psoxy::jsonpath::JsonPath;
    /// use serde_json::json;
    /// let doc = json!({"a": {"email": "x@y"}, "b": [{"email": "z@y"}]});
    /// let emails = JsonPath::parse("$..email").unwrap().select(&doc);
    /// assert_eq!(emails, vec![&json!("x@y"), &json!("z@y")]);
    /// ```
    pub fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        self.walk(
            root,
            self.root_states(root),
            &mut Vec::new(),
            &mut |node, _| out.push(node),
        );
        out
    }

    /// Where each matched node is (Jayway's "path list"): the member names and array
    /// indexes from the root, in the order of [`JsonPath::select`].
    ///
    /// ```
    /// use psoxy::jsonpath::{JsonPath, Step};
    /// use serde_json::json;
    /// let doc = json!({"a": [{"b": 1}]});
    /// let at = JsonPath::parse("$..b").unwrap().locations(&doc);
    /// assert_eq!(at, vec![vec![Step::Member("a".into()), Step::Element(0), Step::Member("b".into())]]);
    /// ```
    pub fn locations(&self, root: &Value) -> Vec<Vec<Step>> {
        let mut out = Vec::new();
        self.walk(
            root,
            self.root_states(root),
            &mut Vec::new(),
            &mut |_, at| out.push(at.to_vec()),
        );
        out
    }

    /// Pre-order walk of the matched nodes, with where each one is.
    fn walk<'a>(
        &self,
        node: &'a Value,
        states: u64,
        at: &mut Vec<Step>,
        found: &mut dyn FnMut(&'a Value, &[Step]),
    ) {
        let fin = self.final_bit();
        if states & fin != 0 {
            found(node, at);
        }
        let active = states & !fin;
        if active == 0 {
            return;
        }
        let mut visit = |child: &'a Value, step: Step, cs: u64, at: &mut Vec<Step>| {
            if cs != 0 {
                at.push(step);
                self.walk(child, cs, at, found);
                at.pop();
            }
        };
        match node {
            Value::Object(map) => match self.plan(active) {
                Plan::Name(name) => {
                    if let Some((k, child)) = map.get_key_value(name) {
                        let cs = self.child_states(active, ChildKey::Member(k), child);
                        visit(child, Step::Member(k.clone()), cs, at);
                    }
                }
                Plan::Index(_) => {}
                Plan::All => {
                    for (k, child) in map {
                        let cs = self.child_states(active, ChildKey::Member(k), child);
                        visit(child, Step::Member(k.clone()), cs, at);
                    }
                }
            },
            Value::Array(items) => {
                let len = items.len();
                match self.plan(active) {
                    Plan::Name(_) => {}
                    Plan::Index(i) => {
                        if let Some(index) = normalize_index(i, len) {
                            let child = &items[index];
                            let cs =
                                self.child_states(active, ChildKey::Element { index, len }, child);
                            visit(child, Step::Element(index), cs, at);
                        }
                    }
                    Plan::All => {
                        for (index, child) in items.iter().enumerate() {
                            let cs =
                                self.child_states(active, ChildKey::Element { index, len }, child);
                            visit(child, Step::Element(index), cs, at);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Calls `f` once for each matched node, mutably; stops at (and returns)
    /// the first error. A path that matches nothing is a no-op, and nothing
    /// is ever created (`$.a.missing` does not add `missing`).
    ///
    /// The matched set is exactly [`JsonPath::select`]'s on the document as
    /// it was before the call, and no node is visited twice (deep scans that
    /// reach a node several ways, e.g. `$..a..b`, visit it once).
    ///
    /// **Order:** document order, except that when a node *and* one of its
    /// descendants both match (e.g. `$..*`), the descendant is visited
    /// before the ancestor (post-order). So `f` may freely replace a node's
    /// value: its own output is never re-scanned or passed to `f` again,
    /// and the nodes below it have already been visited.
    ///
    /// ```
    /// use psoxy::jsonpath::JsonPath;
    /// use serde_json::{json, Value};
    /// let mut doc = json!({"users": [{"email": "a@x"}, {"email": "b@x"}]});
    /// let path = JsonPath::parse("$.users[*].email").unwrap();
    /// path.for_each_mut::<()>(&mut doc, &mut |v| {
    ///     *v = Value::String("redacted".into());
    ///     Ok(())
    /// }).unwrap();
    /// assert_eq!(doc, json!({"users": [{"email": "redacted"}, {"email": "redacted"}]}));
    /// ```
    pub fn for_each_mut<E>(
        &self,
        root: &mut Value,
        f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        let states = self.root_states(root);
        self.visit_mut(root, states, f)
    }

    fn visit_mut<E>(
        &self,
        node: &mut Value,
        states: u64,
        f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        let fin = self.final_bit();
        let active = states & !fin;
        if active != 0 {
            match node {
                Value::Object(map) => match self.plan(active) {
                    Plan::Name(name) => {
                        if let Some(child) = map.get_mut(name) {
                            let cs = self.child_states(active, ChildKey::Member(name), child);
                            if cs != 0 {
                                self.visit_mut(child, cs, f)?;
                            }
                        }
                    }
                    Plan::Index(_) => {}
                    Plan::All => {
                        for (k, child) in map.iter_mut() {
                            let cs = self.child_states(active, ChildKey::Member(k), child);
                            if cs != 0 {
                                self.visit_mut(child, cs, f)?;
                            }
                        }
                    }
                },
                Value::Array(items) => {
                    let len = items.len();
                    match self.plan(active) {
                        Plan::Name(_) => {}
                        Plan::Index(i) => {
                            if let Some(index) = normalize_index(i, len) {
                                let child = &mut items[index];
                                let cs = self.child_states(
                                    active,
                                    ChildKey::Element { index, len },
                                    child,
                                );
                                if cs != 0 {
                                    self.visit_mut(child, cs, f)?;
                                }
                            }
                        }
                        Plan::All => {
                            for (index, child) in items.iter_mut().enumerate() {
                                let cs = self.child_states(
                                    active,
                                    ChildKey::Element { index, len },
                                    child,
                                );
                                if cs != 0 {
                                    self.visit_mut(child, cs, f)?;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if states & fin != 0 {
            f(node)?;
        }
        Ok(())
    }

    /// Removes every matched object member and array element and returns how
    /// many were removed. The root itself is never removed (if the path
    /// matches the root, e.g. `$`, that match is ignored).
    ///
    /// Matches are computed on the document before any removal: array
    /// elements are removed in one pass by their original indexes (so
    /// `$.a[0,1]` removes the first two elements), object members keep the
    /// order of the remaining members. When a matched node contains other
    /// matches (e.g. `$..*`), only the outermost is removed and counted.
    ///
    /// ```
    /// use psoxy::jsonpath::JsonPath;
    /// use serde_json::json;
    /// let mut doc = json!({"a": 1, "b": [1, 2, 3], "c": 3});
    /// assert_eq!(JsonPath::parse("$['a','c']").unwrap().delete(&mut doc), 2);
    /// assert_eq!(JsonPath::parse("$.b[0,-1]").unwrap().delete(&mut doc), 2);
    /// assert_eq!(doc, json!({"b": [2]}));
    /// ```
    pub fn delete(&self, root: &mut Value) -> usize {
        let states = self.root_states(root);
        self.delete_below(root, states & !self.final_bit())
    }

    /// Deletes matched children of `node` (which holds the non-final
    /// `active` states) and recurses into the kept ones.
    fn delete_below(&self, node: &mut Value, active: u64) -> usize {
        if active == 0 {
            return 0;
        }
        let fin = self.final_bit();
        let mut removed = 0;
        match node {
            Value::Object(map) => match self.plan(active) {
                Plan::Name(name) => {
                    let matched = match map.get_mut(name) {
                        None => false,
                        Some(child) => {
                            let cs = self.child_states(active, ChildKey::Member(name), child);
                            if cs & fin == 0 {
                                removed += self.delete_below(child, cs);
                            }
                            cs & fin != 0
                        }
                    };
                    if matched {
                        map.shift_remove(name);
                        removed += 1;
                    }
                }
                Plan::Index(_) => {}
                Plan::All => map.retain(|k, child| {
                    let cs = self.child_states(active, ChildKey::Member(k), child);
                    if cs & fin != 0 {
                        removed += 1;
                        false
                    } else {
                        removed += self.delete_below(child, cs);
                        true
                    }
                }),
            },
            Value::Array(items) => {
                let len = items.len();
                if let Plan::Name(_) = self.plan(active) {
                    return 0;
                }
                let mut index = 0;
                items.retain_mut(|child| {
                    let key = ChildKey::Element { index, len };
                    index += 1;
                    let cs = self.child_states(active, key, child);
                    if cs & fin != 0 {
                        removed += 1;
                        false
                    } else {
                        removed += self.delete_below(child, cs);
                        true
                    }
                });
            }
            _ => {}
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(path: &str) -> JsonPath {
        JsonPath::parse(path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sel(path: &str, doc: &Value) -> Vec<Value> {
        p(path).select(doc).into_iter().cloned().collect()
    }

    fn calendar_event() -> Value {
        json!({
            "kind": "calendar#event",
            "id": "evt1",
            "summary": "Quarterly planning",
            "organizer": {"email": "alice@acme.com", "displayName": "Alice", "self": true},
            "creator": {"email": "alice@acme.com"},
            "attendees": [
                {"email": "alice@acme.com", "type": "required", "responseStatus": "accepted", "organizer": true},
                {"email": "bob@acme.com", "type": "optional", "responseStatus": "declined"},
                {"email": "carol@partner.org", "type": "required", "responseStatus": "tentative", "additionalGuests": 2},
                {"email": "room-1@resource.acme.com", "resource": true, "responseStatus": "accepted"}
            ],
            "conferenceData": {
                "entryPoints": [
                    {"entryPointType": "video", "uri": "https://meet.example/abc"},
                    {"entryPointType": "phone", "uri": "tel:+1-555", "pin": "1234"}
                ]
            },
            "extendedProperties": null
        })
    }

    fn slack_messages() -> Value {
        json!({
            "ok": true,
            "messages": [
                {"type": "message", "user": "U1", "text": "hello", "ts": "1.0",
                 "reactions": [{"name": "thumbsup", "users": ["U2", "U3"], "count": 2}]},
                {"type": "message", "subtype": "bot_message", "bot_id": "B1", "text": "beep", "ts": "2.0"},
                {"type": "message", "user": "U2", "text": "re: hello", "ts": "3.0",
                 "replies": [{"user": "U1", "ts": "3.1"}]}
            ],
            "has_more": false
        })
    }

    fn directory_user() -> Value {
        json!({
            "primaryEmail": "dana@acme.com",
            "name": {"givenName": "Dana", "familyName": "Doe", "fullName": "Dana Doe"},
            "emails": [
                {"address": "dana@acme.com", "primary": true},
                {"address": "dana.doe@acme.com", "type": "work"},
                {"address": "dana@personal.net", "type": "home"}
            ],
            "relations": [{"value": "manager@acme.com", "type": "manager"}],
            "customSchemas": {"HR": {"employee_id": 1234, "email": "hr-dana@acme.com"}}
        })
    }

    #[test]
    fn names_and_bracket_names() {
        let doc = calendar_event();
        assert_eq!(
            sel("$.organizer.email", &doc),
            vec![json!("alice@acme.com")]
        );
        assert_eq!(sel("organizer.email", &doc), vec![json!("alice@acme.com")]);
        assert_eq!(
            sel("$['organizer']['displayName']", &doc),
            vec![json!("Alice")]
        );
        assert_eq!(sel("$[\"organizer\"].self", &doc), vec![json!(true)]);
        assert_eq!(sel("$", &doc), vec![doc.clone()]);
    }

    #[test]
    fn null_values_are_matched() {
        let doc = calendar_event();
        assert_eq!(sel("$.extendedProperties", &doc), vec![Value::Null]);
    }

    #[test]
    fn missing_paths_match_nothing() {
        let doc = calendar_event();
        for path in [
            "$.nope",
            "$.organizer.nope",
            "$.organizer.email.deeper",
            "$.attendees.email", // names do not match array elements
            "$.organizer[0]",    // indexes do not match object members
            "$.attendees[10]",
            "$.attendees[-10]",
            "$.extendedProperties.x",
            "$..nope",
            "$.summary[*]",
        ] {
            assert!(sel(path, &doc).is_empty(), "{path}");
        }
    }

    #[test]
    fn wildcards() {
        let doc = calendar_event();
        assert_eq!(
            sel("$.organizer.*", &doc),
            vec![json!("alice@acme.com"), json!("Alice"), json!(true)]
        );
        assert_eq!(sel("$.attendees[*].email", &doc).len(), 4);
        assert_eq!(
            sel("$.attendees.*.type", &doc),
            vec![json!("required"), json!("optional"), json!("required")]
        );
        assert_eq!(sel("$.*", &doc).len(), 8);
    }

    #[test]
    fn indexes_negative_and_unions() {
        let doc = calendar_event();
        assert_eq!(
            sel("$.attendees[0].email", &doc),
            vec![json!("alice@acme.com")]
        );
        assert_eq!(
            sel("$.attendees[-1].email", &doc),
            vec![json!("room-1@resource.acme.com")]
        );
        assert_eq!(
            sel("$.attendees[-4].email", &doc),
            vec![json!("alice@acme.com")]
        );
        assert_eq!(
            sel("$.attendees[1,2].email", &doc),
            vec![json!("bob@acme.com"), json!("carol@partner.org")]
        );
        // Union results come in document order, each node once.
        assert_eq!(
            sel("$.attendees[2,1,-2].email", &doc),
            vec![json!("bob@acme.com"), json!("carol@partner.org")]
        );
        assert_eq!(
            sel("$.organizer['displayName','email','missing']", &doc),
            vec![json!("alice@acme.com"), json!("Alice")]
        );
        assert_eq!(sel("$['id','id']", &doc), vec![json!("evt1")]);
    }

    #[test]
    fn slices() {
        let doc = json!({"a": [0, 1, 2, 3, 4]});
        assert_eq!(sel("$.a[1:3]", &doc), vec![json!(1), json!(2)]);
        assert_eq!(sel("$.a[:2]", &doc), vec![json!(0), json!(1)]);
        assert_eq!(sel("$.a[-2:]", &doc), vec![json!(3), json!(4)]);
        assert_eq!(sel("$.a[::2]", &doc), vec![json!(0), json!(2), json!(4)]);
        assert_eq!(sel("$.a[1:-1:2]", &doc), vec![json!(1), json!(3)]);
        assert_eq!(sel("$.a[3:1]", &doc), Vec::<Value>::new());
        assert_eq!(sel("$.a[-100:100]", &doc).len(), 5);
        assert!(sel("$.a[5:]", &doc).is_empty());
    }

    #[test]
    fn deep_scan_hits_nested_arrays_and_objects() {
        let doc = calendar_event();
        assert_eq!(
            sel("$..email", &doc),
            vec![
                json!("alice@acme.com"), // organizer
                json!("alice@acme.com"), // creator
                json!("alice@acme.com"), // attendees[0]
                json!("bob@acme.com"),
                json!("carol@partner.org"),
                json!("room-1@resource.acme.com"),
            ]
        );
        let user = directory_user();
        assert_eq!(sel("$..address", &user).len(), 3);
        assert_eq!(sel("$..email", &user), vec![json!("hr-dana@acme.com")]);
        assert_eq!(sel("$..uri", &doc).len(), 2);
        assert_eq!(
            sel("$..['uri','pin']", &doc),
            vec![
                json!("https://meet.example/abc"),
                json!("tel:+1-555"),
                json!("1234")
            ]
        );
        // Deep scan with index selector.
        assert_eq!(sel("$..entryPoints[1].pin", &doc), vec![json!("1234")]);
        assert_eq!(sel("$..[0].email", &doc), vec![json!("alice@acme.com")]);
    }

    #[test]
    fn deep_scan_order_is_document_order() {
        let doc = json!({"a": {"email": 1}, "email": 2, "b": [{"email": 3}]});
        assert_eq!(sel("$..email", &doc), vec![json!(1), json!(2), json!(3)]);
    }

    #[test]
    fn deep_wildcards() {
        let doc = json!({"a": {"b": [1, {"c": 2}]}});
        let all = sel("$..*", &doc);
        assert_eq!(
            all,
            vec![
                json!({"b": [1, {"c": 2}]}),
                json!([1, {"c": 2}]),
                json!(1),
                json!({"c": 2}),
                json!(2)
            ]
        );
        assert_eq!(sel("$..[*]", &doc), all);
        let msgs = slack_messages();
        assert_eq!(
            sel("$..[*].user", &msgs),
            vec![json!("U1"), json!("U2"), json!("U1")]
        );
    }

    #[test]
    fn no_duplicates_from_overlapping_scans() {
        let doc = json!({"a": {"a": {"b": 1}, "b": 2}});
        // Reached from both `a`s.
        assert_eq!(sel("$..a..b", &doc), vec![json!(1), json!(2)]);
        let doc = json!({"x": [{"t": 1}, {"t": 2}]});
        // Objects are reached as array elements and as themselves.
        assert_eq!(
            sel("$..[?(@.t)]", &doc),
            vec![json!({"t": 1}), json!({"t": 2})]
        );
        assert_eq!(sel("$.x[0,-2,0]", &doc), vec![json!({"t": 1})]);
    }

    #[test]
    fn filters_each_operator() {
        let doc = calendar_event();
        let emails = |filter: &str| sel(&format!("$.attendees[?({filter})].email"), &doc);
        assert_eq!(
            emails("@.type == 'required'"),
            vec![json!("alice@acme.com"), json!("carol@partner.org")]
        );
        // `!=` is also true where `type` is missing.
        assert_eq!(
            emails("@.type != 'required'"),
            vec![json!("bob@acme.com"), json!("room-1@resource.acme.com")]
        );
        assert_eq!(
            emails("@.additionalGuests > 1"),
            vec![json!("carol@partner.org")]
        );
        assert_eq!(
            emails("@.additionalGuests >= 2"),
            vec![json!("carol@partner.org")]
        );
        assert!(emails("@.additionalGuests < 2").is_empty());
        assert_eq!(
            emails("@.additionalGuests <= 2"),
            vec![json!("carol@partner.org")]
        );
        assert_eq!(
            emails("@.email =~ /.*@acme\\.com/"),
            vec![json!("alice@acme.com"), json!("bob@acme.com")]
        );
        assert_eq!(emails("@.email =~ /.*@ACME\\.COM/i").len(), 2);
        assert!(emails("@.email =~ /acme/").is_empty());
        assert_eq!(
            emails("@.responseStatus in ['declined', 'tentative']"),
            vec![json!("bob@acme.com"), json!("carol@partner.org")]
        );
        assert_eq!(
            emails("@.responseStatus nin ['declined', 'tentative']"),
            vec![json!("alice@acme.com"), json!("room-1@resource.acme.com")]
        );
        assert_eq!(
            emails("@.resource"),
            vec![json!("room-1@resource.acme.com")]
        );
        assert_eq!(
            emails("@.resource == true"),
            vec![json!("room-1@resource.acme.com")]
        );
        assert_eq!(emails("!@.type").len(), 1);
        assert_eq!(
            emails("@.type == 'required' && @.responseStatus == 'accepted'"),
            vec![json!("alice@acme.com")]
        );
        assert_eq!(
            emails("@.type == 'optional' || @.resource == true"),
            vec![json!("bob@acme.com"), json!("room-1@resource.acme.com")]
        );
        assert_eq!(
            emails("(@.type == 'optional' || @.resource) && @.responseStatus == 'accepted'"),
            vec![json!("room-1@resource.acme.com")]
        );
    }

    #[test]
    fn filter_on_object_tests_the_object_itself() {
        let doc = calendar_event();
        assert_eq!(
            sel("$.organizer[?(@.self == true)].email", &doc),
            vec![json!("alice@acme.com")]
        );
        assert!(sel("$.organizer[?(@.self == false)].email", &doc).is_empty());
        assert_eq!(
            sel("$[?(@.kind == 'calendar#event')].id", &doc),
            vec![json!("evt1")]
        );
        // Chained filters on the same object.
        assert_eq!(
            sel("$.organizer[?(@.self)][?(@.email)].displayName", &doc),
            vec![json!("Alice")]
        );
        // Filters never test scalars.
        assert!(sel("$.summary[?(@ == 'Quarterly planning')]", &doc).is_empty());
        // ...but do test scalar array elements.
        let msgs = slack_messages();
        assert_eq!(sel("$..users[?(@ == 'U3')]", &msgs), vec![json!("U3")]);
    }

    #[test]
    fn deep_scan_filters() {
        let msgs = slack_messages();
        assert_eq!(
            sel("$..[?(@.user == 'U1')].ts", &msgs),
            vec![json!("1.0"), json!("3.1")]
        );
        assert_eq!(
            sel("$..[?(@.subtype == 'bot_message')].bot_id", &msgs),
            vec![json!("B1")]
        );
        assert_eq!(
            sel("$.messages[?(@.reactions)].ts", &msgs),
            vec![json!("1.0")]
        );
        let user = directory_user();
        assert_eq!(
            sel("$.emails[?(@.type in ['work','home'])].address", &user),
            vec![json!("dana.doe@acme.com"), json!("dana@personal.net")]
        );
        assert_eq!(
            sel("$.emails[?(@.primary == true)].address", &user),
            vec![json!("dana@acme.com")]
        );
        assert_eq!(
            sel("$..[?(@.employee_id == 1234.0)].email", &user),
            vec![json!("hr-dana@acme.com")]
        );
    }

    #[test]
    fn for_each_mut_replaces_values() {
        let mut doc = calendar_event();
        let mut n = 0;
        p("$..email")
            .for_each_mut::<()>(&mut doc, &mut |v| {
                n += 1;
                let s = v.as_str().unwrap_or_default().to_uppercase();
                *v = Value::String(s);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 6);
        assert_eq!(doc["organizer"]["email"], json!("ALICE@ACME.COM"));
        assert_eq!(
            doc["attendees"][3]["email"],
            json!("ROOM-1@RESOURCE.ACME.COM")
        );
        assert_eq!(doc["summary"], json!("Quarterly planning"));
    }

    #[test]
    fn for_each_mut_with_filter_and_negative_index() {
        let mut doc = directory_user();
        let path = p("$.emails[?(@.type == 'home')].address");
        path.for_each_mut::<()>(&mut doc, &mut |v| {
            *v = json!({"hash": "h"});
            Ok(())
        })
        .unwrap();
        assert_eq!(doc["emails"][2]["address"], json!({"hash": "h"}));
        assert_eq!(doc["emails"][1]["address"], json!("dana.doe@acme.com"));
        p("$.emails[-1].type")
            .for_each_mut::<()>(&mut doc, &mut |v| {
                *v = Value::Null;
                Ok(())
            })
            .unwrap();
        assert_eq!(doc["emails"][2]["type"], Value::Null);
    }

    #[test]
    fn for_each_mut_missing_is_noop_and_creates_nothing() {
        let mut doc = calendar_event();
        let before = doc.clone();
        for path in [
            "$.organizer.missing",
            "$.nope.deeper",
            "$.attendees[9].email",
            "$..nothing",
        ] {
            p(path)
                .for_each_mut::<()>(&mut doc, &mut |_| panic!("visited for {path}"))
                .unwrap();
        }
        assert_eq!(doc, before);
    }

    #[test]
    fn for_each_mut_propagates_errors() {
        let mut doc = calendar_event();
        let mut seen = 0;
        let r = p("$.attendees[*].email").for_each_mut(&mut doc, &mut |_| {
            seen += 1;
            if seen == 2 {
                Err("boom")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err("boom"));
        assert_eq!(seen, 2);
    }

    #[test]
    fn for_each_mut_nested_matches_are_post_order_and_not_rescanned() {
        let mut doc = json!({"a": {"b": "x"}});
        let mut seen = Vec::new();
        p("$..*")
            .for_each_mut::<()>(&mut doc, &mut |v| {
                seen.push(v.clone());
                // Replace with an object that would itself match `..*`.
                *v = json!({"wrapped": true});
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![json!("x"), json!({"b": {"wrapped": true}})]);
        assert_eq!(doc, json!({"a": {"wrapped": true}}));
    }

    #[test]
    fn for_each_mut_root() {
        let mut doc = json!({"a": 1});
        p("$")
            .for_each_mut::<()>(&mut doc, &mut |v| {
                *v = json!(0);
                Ok(())
            })
            .unwrap();
        assert_eq!(doc, json!(0));
    }

    #[test]
    fn for_each_mut_visits_each_node_once() {
        let mut doc = json!({"a": {"a": {"b": 1}, "b": 2}});
        let mut n = 0;
        p("$..a..b")
            .for_each_mut::<()>(&mut doc, &mut |v| {
                n += 1;
                *v = json!(v.as_i64().unwrap_or(0) + 10);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(doc, json!({"a": {"a": {"b": 11}, "b": 12}}));
    }

    #[test]
    fn delete_members() {
        let mut doc = calendar_event();
        assert_eq!(p("$.organizer.displayName").delete(&mut doc), 1);
        assert_eq!(
            doc["organizer"],
            json!({"email": "alice@acme.com", "self": true})
        );
        assert_eq!(p("$..email").delete(&mut doc), 6);
        assert!(sel("$..email", &doc).is_empty());
        assert_eq!(p("$..email").delete(&mut doc), 0);
        // Member order is preserved.
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["kind", "id", "summary"]);
        assert_eq!(p("$['kind','summary']").delete(&mut doc), 2);
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys[..2], ["id", "organizer"]);
    }

    #[test]
    fn delete_array_elements() {
        let mut doc = json!({"a": [0, 1, 2, 3, 4, 5]});
        assert_eq!(p("$.a[0,2,-1]").delete(&mut doc), 3);
        assert_eq!(doc, json!({"a": [1, 3, 4]}));
        assert_eq!(p("$.a[1:]").delete(&mut doc), 2);
        assert_eq!(doc, json!({"a": [1]}));
        let mut cal = calendar_event();
        assert_eq!(
            p("$.attendees[?(@.type == 'required')]").delete(&mut cal),
            2
        );
        assert_eq!(
            sel("$.attendees[*].email", &cal),
            vec![json!("bob@acme.com"), json!("room-1@resource.acme.com")]
        );
        let mut msgs = slack_messages();
        assert_eq!(p("$.messages[?(@.subtype)]").delete(&mut msgs), 1);
        assert_eq!(p("$.messages[*]").delete(&mut msgs), 2);
        assert_eq!(msgs["messages"], json!([]));
    }

    #[test]
    fn delete_never_removes_root_and_counts_outermost() {
        let mut doc = json!({"a": {"b": 1}});
        assert_eq!(p("$").delete(&mut doc), 0);
        assert_eq!(p("$[?(@.a)]").delete(&mut doc), 0);
        assert_eq!(doc, json!({"a": {"b": 1}}));
        assert_eq!(p("$..*").delete(&mut doc), 1);
        assert_eq!(doc, json!({}));
        let mut doc = json!({"user": {"active": true, "n": 1}, "other": 2});
        // Filter on an object matches (and deletes) the object itself.
        assert_eq!(p("$.user[?(@.active)]").delete(&mut doc), 1);
        assert_eq!(doc, json!({"other": 2}));
    }

    #[test]
    fn delete_missing_is_noop() {
        let mut doc = calendar_event();
        let before = doc.clone();
        for path in [
            "$.nope",
            "$.organizer.nope",
            "$.attendees[7]",
            "$.attendees.email",
            "$.organizer[0]",
        ] {
            assert_eq!(p(path).delete(&mut doc), 0, "{path}");
        }
        assert_eq!(doc, before);
    }

    #[test]
    fn index_helpers() {
        assert_eq!(normalize_index(0, 3), Some(0));
        assert_eq!(normalize_index(2, 3), Some(2));
        assert_eq!(normalize_index(3, 3), None);
        assert_eq!(normalize_index(-1, 3), Some(2));
        assert_eq!(normalize_index(-3, 3), Some(0));
        assert_eq!(normalize_index(-4, 3), None);
        assert_eq!(normalize_index(i64::MIN, 3), None);
        assert_eq!(normalize_index(i64::MAX, 3), None);
        assert!(slice_contains(
            Some(i64::MIN),
            Some(i64::MAX),
            u64::MAX,
            0,
            3
        ));
        assert!(!slice_contains(
            Some(i64::MIN),
            Some(i64::MAX),
            u64::MAX,
            1,
            3
        ));
    }

    #[test]
    fn numbers_keep_precision_in_filters() {
        let doc: Value = serde_json::from_str(
            r#"{"a":[{"id":12345678901234567890},{"id":12345678901234567891}]}"#,
        )
        .unwrap();
        assert_eq!(sel("$.a[?(@.id == 12345678901234567891)]", &doc).len(), 1);
    }
}
