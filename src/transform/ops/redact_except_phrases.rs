//! `redactExceptPhrases`: only allowed phrases survive from a text.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_text, params, BuildError, Definition, Dialect, Example, Operation, Outcome,
    Parameter, ValueError,
};
use crate::pseudonym::Pseudonymizer;

/// Keeps only the allowed phrases found in the text (case-insensitive, on word boundaries),
/// as written, in order, comma-joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactExceptPhrases {
    allowed_phrases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    allowed_phrases: Vec<String>,
}

impl RedactExceptPhrases {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(RedactExceptPhrases {
            allowed_phrases: p.allowed_phrases,
        }))
    }
}

impl Operation for RedactExceptPhrases {
    fn name(&self) -> &'static str {
        "redactExceptPhrases"
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_text(value, |text| {
            Ok(Some(allowed_phrases_found(text, &self.allowed_phrases)))
        })
    }
}

/// Every occurrence of an allowed phrase (case-insensitive, on word boundaries), as written in
/// the text, in order, comma-joined.
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

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "redactExceptPhrases",
    summary:
        "only the allowed phrases found (case-insensitive, whole words) are kept, comma-joined",
    parameters: &[Parameter {
        name: "allowedPhrases",
        kind: "list of strings",
        default: None,
        doc: "the phrases kept",
    }],
    examples: &[Example {
        title: "a meeting title reduced to known phrases",
        dialect: Dialect::Response,
        rule: "!<redactExceptPhrases> {jsonPaths: [$.c], allowedPhrases: [Weekly Sync, '1:1']}",
        input: r#"{"c": "Our weekly sync (1:1) - weekly synchronize"}"#,
        output: Outcome::Doc(r#"{"c": "weekly sync,1:1"}"#),
    }],
    build: RedactExceptPhrases::build,
};
