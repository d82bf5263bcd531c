//! `tokenize`: the value's reversible `p~` token (SPEC 1.4).

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_text, params, token, whole, Accepts, BuildError, Definition, Dialect, Example, Operation,
    Outcome, Parameter, ValueError,
};
use crate::pattern::Pattern;
use crate::pseudonym::Pseudonymizer;

/// Replaces each matched value (or the part group 1 of `regex` captures) with its reversible
/// token, which this deployment's proxy can decrypt when a caller sends it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokenize {
    dialect: Dialect,
    regex: Option<Pattern>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default)]
    regex: Option<String>,
}

impl Tokenize {
    /// Bulk `RecordRules`' `tokenize`: the whole string.
    pub fn record() -> Self {
        Tokenize {
            dialect: Dialect::Record,
            regex: None,
        }
    }

    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(Tokenize {
            dialect: Dialect::Response,
            regex: p.regex.as_deref().map(whole).transpose()?,
        }))
    }

    /// The part of `text` tokenized: group 1 (else the match) when the regex matches the whole
    /// text, else all of it.
    fn span(&self, text: &str) -> (usize, usize) {
        let Some(re) = &self.regex else {
            return (0, text.len());
        };
        match re.regex().captures(text) {
            Ok(Some(c)) => c
                .get(1)
                .or_else(|| c.get(0))
                .map(|m| (m.start(), m.end()))
                .unwrap_or((0, text.len())),
            _ => (0, text.len()),
        }
    }
}

impl Operation for Tokenize {
    fn name(&self) -> &'static str {
        "tokenize"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_text(value, self.dialect, Accepts::Strings, "tokenize", |text| {
            let (start, end) = self.span(text);
            Ok(token(p, &text[start..end], true)?
                .map(|t| format!("{}{t}{}", &text[..start], &text[end..])))
        })
    }

    fn makes_reversible_tokens(&self) -> bool {
        true
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "tokenize",
    summary: "the value's reversible `p~` token (needs PSOXY_ENCRYPTION_KEY)",
    parameters: &[Parameter {
        name: "regex",
        kind: "regex",
        default: None,
        doc: "optional; when it matches the whole value, only its group 1 is tokenized and the rest kept",
    }],
    examples: &[
        Example {
            title: "bulk record: a string becomes a token that decrypts to it",
            dialect: Dialect::Record,
            rule: "tokenize: $.id",
            input: r#"{"id": "alice@acme.com"}"#,
            output: Outcome::Doc(
                r#"{"id": "p~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMnKYUk8FJevl3wvFyZY0eF-@acme.com"}"#,
            ),
        },
        Example {
            title: "response: only the part the regex captures",
            dialect: Dialect::Response,
            rule: r#"!<tokenize> {jsonPaths: [$.next], regex: '^https://api\.example\.com/(.*)$'}"#,
            input: r#"{"next": "https://api.example.com/alice@acme.com"}"#,
            output: Outcome::Doc(
                r#"{"next": "https://api.example.com/p~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMnKYUk8FJevl3wvFyZY0eF-@acme.com"}"#,
            ),
        },
    ],
    build: Tokenize::build,
};
