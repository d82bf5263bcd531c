//! `textDigest`: the length, word count and keyword counts of a text, not the text.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_text, params, Blank, Accepts, BuildError, Definition, Dialect, Example, Operation, Outcome,
    Parameter, ValueError,
};
use crate::pseudonym::{text_digest, Pseudonymizer};

/// Replaces each matched text with a JSON string `{"keywords"?,"length","word_count"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDigest {
    dialect: Dialect,
    name: &'static str,
    keywords: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default)]
    keywords: Vec<String>,
}

impl TextDigest {
    /// Bulk `RecordRules`' `textDigest` (`keywords: None`) or `textDigestKeywords` (`Some`);
    /// the digest has a `keywords` member only when one of them is found.
    pub fn record(keywords: Option<Vec<String>>) -> Self {
        TextDigest {
            dialect: Dialect::Record,
            name: if keywords.is_some() {
                "textDigestKeywords"
            } else {
                "textDigest"
            },
            keywords,
        }
    }

    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(TextDigest {
            dialect: Dialect::Response,
            name: "textDigest",
            keywords: (!p.keywords.is_empty()).then_some(p.keywords),
        }))
    }
}

impl Operation for TextDigest {
    fn name(&self) -> &'static str {
        self.name
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        map_text(value, self.dialect, Accepts::Strings, Blank::Apply, "digest", |text| {
            Ok(Some(text_digest(text, self.keywords.as_deref())))
        })
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "textDigest",
    summary: "text -> a JSON string `{\"keywords\"?,\"length\",\"word_count\"}` (length in UTF-16 units)",
    parameters: &[Parameter {
        name: "keywords",
        kind: "list of strings",
        default: Some("[]"),
        doc: "counted case-insensitively as whole words; none: no `keywords` member (bulk: `textDigestKeywords`)",
    }],
    examples: &[
        Example {
            title: "bulk record: length and words",
            dialect: Dialect::Record,
            rule: "textDigest: summary",
            input: r#"{"summary": "vacation carryover rules"}"#,
            output: Outcome::Doc(r#"{"summary": "{\"length\":24,\"word_count\":3}"}"#),
        },
        Example {
            title: "bulk record: textDigestKeywords counts keywords",
            dialect: Dialect::Record,
            rule: "textDigestKeywords: {keywords: [budget, hiring, absent], jsonPaths: $.t}",
            input: r#"{"t": "Budget review: budget and Hiring"}"#,
            output: Outcome::Doc(
                r#"{"t": "{\"keywords\":{\"budget\":2,\"hiring\":1},\"length\":32,\"word_count\":5}"}"#,
            ),
        },
        Example {
            title: "response: with keywords",
            dialect: Dialect::Response,
            rule: "!<textDigest> {jsonPaths: [$.f], keywords: [urgent]}",
            input: r#"{"f": "Urgent: two words"}"#,
            output: Outcome::Doc(
                r#"{"f": "{\"keywords\":{\"urgent\":1},\"length\":17,\"word_count\":3}"}"#,
            ),
        },
    ],
    build: TextDigest::build,
};
