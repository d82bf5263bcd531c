//! `filterTokenByRegex`: only the tokens of a text that match a filter survive.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, Blank, search, whole, BuildError, Definition, Dialect, Example, Operation,
    Outcome, Parameter, ValueError,
};
use crate::pattern::Pattern;
use crate::pseudonym::Pseudonymizer;

/// Splits the text at `delimiter` and keeps the tokens that fully match one of `filters`,
/// space-joined; none kept gives no result.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterTokenByRegex {
    delimiter: Pattern,
    filters: Vec<Pattern>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default)]
    delimiter: Option<String>,
    filters: Vec<String>,
}

impl FilterTokenByRegex {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(FilterTokenByRegex {
            delimiter: search(p.delimiter.as_deref().unwrap_or(r"\s+"))?,
            filters: p
                .filters
                .iter()
                .map(|r| whole(r))
                .collect::<Result<_, _>>()?,
        }))
    }
}

impl Operation for FilterTokenByRegex {
    fn name(&self) -> &'static str {
        "filterTokenByRegex"
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Keep, |text| {
            let mut kept = Vec::new();
            for piece in self.delimiter.regex().split(text) {
                let piece = piece?;
                if !piece.is_empty()
                    && self
                        .filters
                        .iter()
                        .any(|f| f.is_match(piece).unwrap_or(false))
                {
                    kept.push(piece);
                }
            }
            Ok((!kept.is_empty()).then(|| kept.join(" ")))
        })
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "filterTokenByRegex",
    summary: "the tokens that fully match a filter are kept, space-joined; none -> null",
    parameters: &[
        Parameter {
            name: "delimiter",
            kind: "regex",
            default: Some("\\s+"),
            doc: "what separates tokens",
        },
        Parameter {
            name: "filters",
            kind: "list of regexes",
            default: None,
            doc: "a token is kept when it matches one of these whole",
        },
    ],
    examples: &[Example {
        title: "a meeting link kept from a description",
        dialect: Dialect::Response,
        rule: r#"!<filterTokenByRegex> {jsonPaths: [$.d, $.e], filters: ['https://zoom\.us/j/\d+']}"#,
        input: r#"{"d": "join https://zoom.us/j/123 now", "e": "a b"}"#,
        output: Outcome::Doc(r#"{"d": "https://zoom.us/j/123", "e": null}"#),
    }],
    build: FilterTokenByRegex::build,
};
