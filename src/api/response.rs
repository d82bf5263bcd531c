//! Sanitizing an API response: the endpoint's `responseSchema` allow-list first, then its
//! `transforms` in order, on the parsed JSON document (SPEC-API "Response").
//!
//! A [`ResponsePlan`] is compiled once per endpoint when the rules load; everything that
//! could fail for a reason other than the response itself (a `$ref` to nowhere, a transform
//! that needs an encryption key the deployment does not have) fails then, not per request.

use serde_json::Value;

use super::rules::{ApiRules, Endpoint};
use super::transforms::{Transform, TransformKind};
use crate::pseudonym::{parse_mailbox, PseudonymFormat, Pseudonymizer};
use crate::transform::{CompiledSchema, PlanError};

/// An endpoint's response sanitizing, compiled.
#[derive(Debug, Clone)]
pub struct ResponsePlan {
    schema: Option<CompiledSchema>,
    transforms: Vec<Transform>,
}

/// A response that cannot be sanitized. Never carries a value of the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transforms[{index}] ({method}) at `{path}`: {message}")]
pub struct ResponseError {
    /// Index of the transform in the endpoint's list.
    pub index: usize,
    /// Its method.
    pub method: &'static str,
    /// The JSONPath whose match failed.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ResponsePlan {
    /// Compiles `endpoint`'s schema (against the rule set's `definitions`) and checks that
    /// its transforms can run with `pseudonymizer` (reversible ones need a key).
    pub fn compile(
        endpoint: &Endpoint,
        rules: &ApiRules,
        pseudonymizer: &Pseudonymizer,
    ) -> Result<Self, PlanError> {
        for (i, t) in endpoint.transforms.iter().enumerate() {
            let needs_key = match &t.kind {
                TransformKind::Tokenize { .. } | TransformKind::EncryptIp => true,
                TransformKind::Pseudonymize {
                    include_reversible, ..
                }
                | TransformKind::PseudonymizeRegexMatches {
                    include_reversible, ..
                } => *include_reversible,
                _ => false,
            };
            if needs_key && !pseudonymizer.has_encryption_key() {
                return Err(PlanError::MissingSetting(format!(
                    "transforms[{i}] ({}) makes reversible tokens and needs an encryption key: set PSOXY_ENCRYPTION_KEY",
                    t.kind.method()
                )));
            }
        }
        let schema = match &endpoint.response_schema {
            None => None,
            Some(root) => {
                let definitions = rules
                    .definitions
                    .iter()
                    .map(|(name, d)| (name.clone(), d.to_filter()))
                    .collect();
                Some(CompiledSchema::compile_response(
                    &root.to_filter(),
                    &definitions,
                )?)
            }
        };
        Ok(ResponsePlan {
            schema,
            transforms: endpoint.transforms.clone(),
        })
    }

    /// Whether the plan changes anything (an endpoint with neither schema nor transforms
    /// passes responses through as they are).
    pub fn is_identity(&self) -> bool {
        self.schema.is_none() && self.transforms.is_empty()
    }

    /// Sanitizes `doc` in place.
    pub fn apply(&self, doc: &mut Value, p: &Pseudonymizer) -> Result<(), ResponseError> {
        if let Some(schema) = &self.schema {
            let v = std::mem::take(doc);
            *doc = schema.filter(v);
        }
        for (index, t) in self.transforms.iter().enumerate() {
            if let Some(when) = &t.apply_only_when {
                if when.select(doc).is_empty() {
                    continue;
                }
            }
            for path in &t.json_paths {
                let fail = |message: String| ResponseError {
                    index,
                    method: t.kind.method(),
                    path: path.as_str().to_owned(),
                    message,
                };
                if t.kind == TransformKind::Redact {
                    path.delete(doc);
                    continue;
                }
                path.for_each_mut(doc, &mut |v| transform_value(&t.kind, v, p))
                    .map_err(fail)?;
            }
        }
        Ok(())
    }
}

/// The text a transform reads from a matched value: strings as they are, numbers and
/// booleans as their JSON text. `None` for `null`, objects and arrays.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_or_null(s: Option<String>) -> Value {
    s.map(Value::String).unwrap_or(Value::Null)
}

/// Applies one (non-`redact`) transform to one matched value. Objects and arrays where a
/// scalar is expected become `null` (fail closed: their content is unknown to the rule).
fn transform_value(kind: &TransformKind, v: &mut Value, p: &Pseudonymizer) -> Result<(), String> {
    let Some(text) = text_of(v) else {
        *v = Value::Null;
        return Ok(());
    };
    *v = match kind {
        TransformKind::Redact => Value::Null,
        TransformKind::Pseudonymize {
            encoding,
            include_reversible,
            include_original,
        } => string_or_null(pseudonym(
            p,
            &text,
            *encoding,
            *include_reversible,
            *include_original,
        )?),
        TransformKind::PseudonymizeRegexMatches {
            regex,
            include_reversible,
        } => string_or_null(replace_matches(&text, regex, |m| {
            token(p, m, *include_reversible)
        })?),
        TransformKind::PseudonymizeEmailHeader { encoding } => {
            string_or_null(email_header(p, &text, *encoding))
        }
        TransformKind::Tokenize { regex } => {
            let (start, end) = match regex {
                None => (0, text.len()),
                Some(re) => match re.regex().captures(&text) {
                    Ok(Some(c)) => c
                        .get(1)
                        .or_else(|| c.get(0))
                        .map(|m| (m.start(), m.end()))
                        .unwrap_or((0, text.len())),
                    _ => (0, text.len()),
                },
            };
            match token(p, &text[start..end], true)? {
                None => Value::Null,
                Some(t) => Value::String(format!("{}{t}{}", &text[..start], &text[end..])),
            }
        }
        TransformKind::RedactRegexMatches { redactions } => {
            let mut out = text;
            for re in redactions {
                out = re.regex().replace_all(&out, "").into_owned();
            }
            Value::String(out)
        }
        TransformKind::RedactExceptPhrases { allowed_phrases } => {
            Value::String(allowed_phrases_found(&text, allowed_phrases))
        }
        TransformKind::FilterTokenByRegex { delimiter, filters } => {
            let mut kept = Vec::new();
            for piece in delimiter.regex().split(&text) {
                let piece = piece.map_err(|e| format!("regex engine: {e}"))?;
                if !piece.is_empty() && filters.iter().any(|f| f.is_match(piece).unwrap_or(false)) {
                    kept.push(piece);
                }
            }
            if kept.is_empty() {
                Value::Null
            } else {
                Value::String(kept.join(" "))
            }
        }
        TransformKind::TextDigest { keywords } => Value::String(crate::pseudonym::text_digest(
            &text,
            (!keywords.is_empty()).then_some(keywords.as_slice()),
        )),
        TransformKind::HashIp => string_or_null(p.hash_ip(&text)),
        TransformKind::EncryptIp => string_or_null(p.encrypt_ip(&text).map_err(|e| e.to_string())?),
    };
    Ok(())
}

/// A `t~` token, or the reversible `p~` one; `None` for blank text.
fn token(p: &Pseudonymizer, text: &str, reversible: bool) -> Result<Option<String>, String> {
    if reversible {
        p.reversible(text).map_err(|e| e.to_string())
    } else {
        Ok(p.token(text))
    }
}

/// `pseudonymize`: the pseudonym of `text` in `encoding`; `None` for blank text.
///
/// `URL_SAFE_TOKEN` with `includeReversible` yields the `p~` token (so a caller can send it
/// back); `JSON` yields `{"domain"?,"hash","original"?,"reversible"?}`.
fn pseudonym(
    p: &Pseudonymizer,
    text: &str,
    encoding: PseudonymFormat,
    include_reversible: bool,
    include_original: bool,
) -> Result<Option<String>, String> {
    match encoding {
        PseudonymFormat::UrlSafeToken => token(p, text, include_reversible),
        PseudonymFormat::UrlSafeHashOnly => Ok(p.pseudonymize(text, encoding)),
        PseudonymFormat::Json => {
            let Some(mut json) = p.pseudonymize(text, encoding) else {
                return Ok(None);
            };
            if include_original || include_reversible {
                json.pop(); // the closing brace
                if include_original {
                    json.push_str(",\"original\":");
                    crate::pseudonym::encoding::write_json_string(text, &mut json);
                }
                if include_reversible {
                    if let Some(r) = token(p, text, true)? {
                        json.push_str(",\"reversible\":");
                        crate::pseudonym::encoding::write_json_string(&r, &mut json);
                    }
                }
                json.push('}');
            }
            Ok(Some(json))
        }
    }
}

/// Replaces group 1 (or the whole match, when the expression has no group 1 or it did not
/// take part) of every match with `replace(matched text)`. `None` when nothing matches.
fn replace_matches(
    text: &str,
    regex: &crate::pattern::Pattern,
    mut replace: impl FnMut(&str) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut any = false;
    for caps in regex.regex().captures_iter(text) {
        let caps = caps.map_err(|e| format!("regex engine: {e}"))?;
        let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
            continue;
        };
        if m.start() < last {
            continue;
        }
        any = true;
        out.push_str(&text[last..m.start()]);
        if let Some(t) = replace(m.as_str())? {
            out.push_str(&t);
        }
        last = m.end();
    }
    if !any {
        return Ok(None);
    }
    out.push_str(&text[last..]);
    Ok(Some(out))
}

/// `pseudonymizeEmailHeader`: each address of an RFC 2822 address list (`To:`, `Cc:` ...)
/// pseudonymized; `URL_SAFE_TOKEN` (and `URL_SAFE_HASH_ONLY`) comma-joined, `JSON` as a JSON
/// array of pseudonym objects. `None` when the list is blank.
fn email_header(p: &Pseudonymizer, text: &str, encoding: PseudonymFormat) -> Option<String> {
    let mut parts = Vec::new();
    for address in split_address_list(text) {
        // The address alone is pseudonymized (display names are dropped by the hash, and
        // must not reach the output either).
        let value = parse_mailbox(address)
            .map(|m| format!("{}@{}", m.local, m.domain))
            .unwrap_or_else(|| address.to_owned());
        if let Some(pseudonym) = p.pseudonymize(&value, encoding) {
            parts.push(pseudonym);
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(match encoding {
        PseudonymFormat::Json => format!("[{}]", parts.join(",")),
        _ => parts.join(","),
    })
}

/// Splits an address list at commas outside quotes, angle brackets and comments; blank
/// entries are dropped.
fn split_address_list(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut comment, mut escaped) = (false, false, 0u32, false);
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '<' if !quoted && comment == 0 => angle = true,
            '>' if !quoted && comment == 0 => angle = false,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            ',' if !quoted && !angle && comment == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// `redactExceptPhrases`: every occurrence of an allowed phrase (case-insensitive, on word
/// boundaries), as written in the text, in order, comma-joined.
fn allowed_phrases_found(text: &str, phrases: &[String]) -> String {
    let lower_text = text.to_lowercase();
    // Lower-casing may change byte lengths; fall back to exact-case search then.
    let same_layout = lower_text.len() == text.len();
    let haystack = if same_layout { &lower_text } else { text };
    let mut found: Vec<(usize, usize)> = Vec::new();
    for phrase in phrases.iter().filter(|p| !p.trim().is_empty()) {
        let needle = if same_layout {
            phrase.to_lowercase()
        } else {
            phrase.clone()
        };
        let mut from = 0;
        while let Some(pos) = haystack[from..].find(&needle) {
            let start = from + pos;
            let end = start + needle.len();
            let before = haystack[..start].chars().next_back();
            let after = haystack[end..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
            if boundary(before) && boundary(after) {
                found.push((start, end));
            }
            from = start + needle.len().max(1);
        }
    }
    found.sort();
    let mut out: Vec<&str> = Vec::new();
    let mut last_end = 0;
    for (start, end) in found {
        if start >= last_end {
            out.push(&text[start..end]);
            last_end = end;
        }
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::PseudonymSettings;
    use serde_json::json;

    fn pseudonymizer() -> Pseudonymizer {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            encryption_key: Some("secret".into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn run(rules: &str, mut doc: Value) -> Value {
        let rules = ApiRules::from_yaml(rules).unwrap();
        let p = pseudonymizer();
        let plan = ResponsePlan::compile(&rules.endpoints[0], &rules, &p).unwrap();
        plan.apply(&mut doc, &p).unwrap();
        doc
    }

    fn endpoint(transforms: &str) -> String {
        format!("endpoints:\n  - pathTemplate: /x\n    transforms:\n{transforms}")
    }

    #[test]
    fn pseudonymize_encodings_and_redact() {
        let p = pseudonymizer();
        let out = run(
            &endpoint(
                "      - !<pseudonymize> {jsonPaths: ['$.users[*].email']}\n      - !<pseudonymize> {jsonPaths: ['$.id'], encoding: JSON, includeOriginal: true}\n      - !<redact> {jsonPaths: ['$.users[*].name', '$.blank']}\n      - !<pseudonymize> {jsonPaths: ['$.n', '$.empty', '$.obj']}\n",
            ),
            json!({"users": [{"email": "Alice@Acme.com", "name": "Alice"}], "id": "u1", "blank": 1,
                   "n": 42, "empty": " ", "obj": {"a": 1}}),
        );
        assert_eq!(
            out,
            json!({"users": [{"email": p.token("alice@acme.com").unwrap().replace("acme.com", "Acme.com")}],
                   "id": format!("{{\"hash\":\"{}\",\"original\":\"u1\"}}", crate::pseudonym::hash::hash("u1", "salt")),
                   "n": p.token("42").unwrap(), "empty": null, "obj": null})
        );
    }

    #[test]
    fn reversible_tokens_decrypt_to_the_original() {
        let p = pseudonymizer();
        let out = run(
            &endpoint("      - !<pseudonymize> {jsonPaths: ['$.login'], includeReversible: true}\n      - !<tokenize> {jsonPaths: ['$.next'], regex: '^https://api\\.example\\.com/(.*)$'}\n"),
            json!({"login": "octocat", "next": "https://api.example.com/users?page=2"}),
        );
        let login = out["login"].as_str().unwrap();
        assert!(login.starts_with("p~"), "{login}");
        assert_eq!(p.decrypt(login).unwrap(), "octocat");
        let next = out["next"].as_str().unwrap();
        let token = next.strip_prefix("https://api.example.com/").unwrap();
        assert_eq!(p.decrypt(token).unwrap(), "users?page=2");
    }

    #[test]
    fn text_transforms() {
        let p = pseudonymizer();
        let out = run(
            &endpoint(concat!(
                "      - !<pseudonymizeRegexMatches> {jsonPaths: [$.a], regex: 'id=(\\d+)'}\n",
                "      - !<pseudonymizeRegexMatches> {jsonPaths: [$.none], regex: 'id=(\\d+)'}\n",
                "      - !<redactRegexMatches> {jsonPaths: [$.b], redactions: ['\\d{3}-\\d{4}', secret]}\n",
                "      - !<redactExceptPhrases> {jsonPaths: [$.c], allowedPhrases: [Weekly Sync, 1:1]}\n",
                "      - !<filterTokenByRegex> {jsonPaths: [$.d], filters: ['https://zoom\\.us/j/\\d+']}\n",
                "      - !<filterTokenByRegex> {jsonPaths: [$.e], filters: ['x']}\n",
                "      - !<textDigest> {jsonPaths: [$.f]}\n",
                "      - !<hashIp> {jsonPaths: [$.ip, $.notip]}\n",
                "      - !<pseudonymizeEmailHeader> {jsonPaths: [$.to]}\n",
            )),
            json!({"a": "see id=12 and id=34.", "none": "nothing", "b": "call 555-1234, secret plan",
                   "c": "Our weekly sync (1:1) - weekly synchronize", "d": "join https://zoom.us/j/123 now",
                   "e": "a b", "f": "two words", "ip": "10.0.0.1", "notip": "host",
                   "to": "\"Smith, Alice\" <alice@acme.com>, bob@acme.com (Bob)"}),
        );
        assert_eq!(
            out["a"],
            json!(format!(
                "see id={} and id={}.",
                p.token("12").unwrap(),
                p.token("34").unwrap()
            ))
        );
        assert_eq!(out["none"], json!(null));
        assert_eq!(out["b"], json!("call ,  plan"));
        assert_eq!(out["c"], json!("weekly sync,1:1"));
        assert_eq!(out["d"], json!("https://zoom.us/j/123"));
        assert_eq!(out["e"], json!(null));
        assert_eq!(out["f"], json!("{\"length\":9,\"word_count\":2}"));
        assert_eq!(out["ip"], json!(p.hash_ip("10.0.0.1").unwrap()));
        assert_eq!(out["notip"], json!(null));
        assert_eq!(
            out["to"],
            json!(format!(
                "{},{}",
                p.token("alice@acme.com").unwrap(),
                p.token("bob@acme.com").unwrap()
            ))
        );
        assert!(!out.to_string().contains("Smith"));
    }

    #[test]
    fn schema_runs_before_transforms_and_apply_only_when_gates() {
        let out = run(
            "endpoints:\n  - pathTemplate: /x\n    responseSchema: {type: object, properties: {kind: {type: string}, email: {type: string}}}\n    transforms:\n      - !<pseudonymize> {jsonPaths: [$.email], applyOnlyWhen: '$.members'}\n",
            json!({"kind": "group", "email": "g@acme.com", "name": "G"}),
        );
        assert_eq!(out, json!({"kind": "group", "email": "g@acme.com"}));
    }

    #[test]
    fn reversible_rules_need_a_key() {
        let rules = ApiRules::from_yaml(&endpoint(
            "      - !<pseudonymize> {jsonPaths: [$.a], includeReversible: true}\n",
        ))
        .unwrap();
        let p = Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            ..Default::default()
        })
        .unwrap();
        let e = ResponsePlan::compile(&rules.endpoints[0], &rules, &p).unwrap_err();
        assert!(e.to_string().contains("PSOXY_ENCRYPTION_KEY"), "{e}");
    }

    #[test]
    fn address_lists_split_outside_quotes() {
        assert_eq!(
            split_address_list("\"A, B\" <a@x.com>, (c, d) c@x.com,, "),
            ["\"A, B\" <a@x.com>", "(c, d) c@x.com"]
        );
    }
}
