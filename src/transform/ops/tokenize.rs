//! `tokenize`: the value's reversible `p~` token (SPEC 1.4).

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_text, params, Blank, token, whole, Accepts, BuildError, Definition, Dialect, Example, Operation,
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
        let regex = p.regex.as_deref().map(whole).transpose()?;
        if let Some(re) = &regex {
            if re.regex().captures_len() < 2 {
                return Err(BuildError::NoGroup(re.as_str().to_owned()));
            }
        }
        Ok(Box::new(Tokenize {
            dialect: Dialect::Response,
            regex,
        }))
    }

    /// The new text. Without a regex: the token of the whole text. With one (Psoxy's
    /// behaviour, SPEC-API-PARITY 7): when it matches the whole text, every occurrence of
    /// group 1's text is replaced by its token; otherwise (or when group 1 took no part in
    /// the match) the text is kept.
    fn tokenized(&self, p: &Pseudonymizer, text: &str) -> Result<Option<String>, ValueError> {
        let Some(re) = &self.regex else {
            return token(p, text, true);
        };
        let group = match re.regex().captures(text)? {
            Some(c) => c.get(1).map(|m| m.as_str()),
            None => None,
        };
        let Some(group) = group.filter(|g| !g.is_empty()) else {
            return Ok(Some(text.to_owned()));
        };
        Ok(token(p, group, true)?.map(|t| text.replace(group, &t)))
    }
}

impl Operation for Tokenize {
    fn name(&self) -> &'static str {
        "tokenize"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_text(value, self.dialect, Accepts::Strings, Blank::Keep, "tokenize", |text| {
            self.tokenized(p, text)
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
        doc: "optional, with a group; when it matches the whole value, every occurrence of group 1's text is replaced by its token; otherwise the value is kept",
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
