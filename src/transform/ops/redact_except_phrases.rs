//! `redactExceptPhrases`: only allowed phrases survive from a text.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, Blank, BuildError, Definition, Dialect, Example, Operation, Outcome,
    Parameter, ValueError,
};
use crate::pseudonym::Pseudonymizer;

/// Keeps only the allowed phrases found in the text (case-insensitive, on word boundaries),
/// as written, in the order of the rule, each at most once, comma-joined.
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
        map_response_string(value, Blank::Keep, |text| {
            Ok(Some(allowed_phrases_found(text, &self.allowed_phrases)))
        })
    }
}

/// For each allowed phrase in rule order, its first occurrence in the text (ASCII
/// case-insensitive, starting on a word boundary, and followed, after any run of whitespace or
/// colons, by a word boundary), as written in the text; comma-joined (SPEC-API-PARITY 2.1:
/// Psoxy's `\b(\Q<phrase>\E)[\s:]*\b`, case-insensitive, one `find` per phrase).
fn allowed_phrases_found(text: &str, phrases: &[String]) -> String {
    let bytes = text.as_bytes();
    let mut found: Vec<&str> = Vec::new();
    for phrase in phrases.iter().filter(|p| !p.trim().is_empty()) {
        let needle = phrase.as_bytes();
        let n = needle.len();
        let first = (0..=bytes.len().saturating_sub(n)).find(|&i| {
            i + n <= bytes.len()
                && bytes[i..i + n].eq_ignore_ascii_case(needle)
                && boundary(bytes, i)
                && ends_on_boundary(bytes, i + n)
        });
        if let Some(i) = first {
            // `i` and `i + n` are character boundaries: the needle is whole UTF-8 and its
            // non-ASCII bytes matched exactly.
            found.push(&text[i..i + n]);
        }
    }
    found.join(",")
}

/// Java's ASCII word characters.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A word boundary before byte `k` (the text's ends count as non-word).
fn boundary(bytes: &[u8], k: usize) -> bool {
    let before = k > 0 && is_word(bytes[k - 1]);
    let after = k < bytes.len() && is_word(bytes[k]);
    before != after
}

/// `[\s:]*\b` at byte `j`: a boundary somewhere after a (possibly empty) run of ASCII
/// whitespace and colons.
fn ends_on_boundary(bytes: &[u8], j: usize) -> bool {
    let run = bytes[j..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b':'))
        .count();
    (j..=j + run).any(|k| boundary(bytes, k))
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "redactExceptPhrases",
    summary:
        "only the allowed phrases found (ASCII case-insensitive, whole words) are kept, in the rule's order, each once, comma-joined",
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
    }, Example {
        title: "the rule's order, overlapping phrases, blank text kept",
        dialect: Dialect::Response,
        rule: "!<redactExceptPhrases> {jsonPaths: ['$.*'], allowedPhrases: [Call, Check-In, Focus Time, Focus]}",
        input: r#"{"a": "Worklytics Check-In Call: matt calls alice", "b": "Focus Time block", "c": "  ", "d": 5}"#,
        output: Outcome::Doc(r#"{"a": "Call,Check-In", "b": "Focus Time,Focus", "c": "  ", "d": null}"#),
    }],
    build: RedactExceptPhrases::build,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn calendar_examples() {
        // SPEC-API-PARITY 2.1 (the calendar phrase list, in part).
        let list = phrases(&[
            "Focus Time", "Focus", "No Meetings", "No Meeting", "no mtg", "Prep", "OOO",
            "Out of Office", "call", "brainstorm", "check in", "check-in", "checkin",
        ]);
        for (input, expected) in [
            ("Worklytics Check-In Call: matt calls alice @ (555) 575-7878", "Call,Check-In"),
            ("Worklytics Welcome Call: matt calls alice @ (555) 575-7878", "Call"),
            ("allen calls alice: accounting/tax", ""),
            ("call re: Trademark", "call"),
            ("John Lorenzo OOO", "OOO"),
            ("Meeting", ""),
            ("Focus Time block", "Focus Time,Focus"),
        ] {
            assert_eq!(allowed_phrases_found(input, &list), expected, "{input}");
        }
    }

    #[test]
    fn psoxy_unit_examples() {
        let list = phrases(&["phrase1", "phrase2 2", "Phrase3"]);
        for (input, expected) in [
            ("phrase1", "phrase1"),
            ("Phrase1", "Phrase1"),
            ("phrase2 2", "phrase2 2"),
            ("phrase3", "phrase3"),
            ("phrase4", ""),
            ("blah phrase1: blah", "phrase1"),
        ] {
            assert_eq!(allowed_phrases_found(input, &list), expected, "{input}");
        }
    }

    #[test]
    fn boundaries_are_ascii() {
        assert_eq!(allowed_phrases_found("Call me, call", &phrases(&["Call", "call"])), "Call,Call");
        assert_eq!(allowed_phrases_found("1:1 with Bob", &phrases(&["1:1"])), "1:1");
        assert_eq!(allowed_phrases_found("1:1x", &phrases(&["1:1"])), "");
        // `é` is not a word character for Java's `\b`.
        assert_eq!(allowed_phrases_found("reviewé", &phrases(&["review"])), "review");
        // A phrase ending in a non-word character needs a word character after it.
        assert_eq!(allowed_phrases_found("(OOO) Bob", &phrases(&["(OOO)"])), "");
        // ... and, starting with one, a word character before it.
        assert_eq!(allowed_phrases_found("x (OOO) Bob", &phrases(&["(OOO)"])), "");
        assert_eq!(allowed_phrases_found("x(OOO) Bob", &phrases(&["(OOO)"])), "(OOO)");
        assert_eq!(allowed_phrases_found("x(OOO)", &phrases(&["(OOO)"])), "");
        assert_eq!(allowed_phrases_found("É", &phrases(&["é"])), "");
    }
}
