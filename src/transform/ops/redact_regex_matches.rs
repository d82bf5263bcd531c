//! `redactRegexMatches`: what regexes find is removed from a text.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, Blank, search, BuildError, Definition, Dialect, Example, Operation,
    Outcome, Parameter, ValueError,
};
use crate::pattern::Pattern;
use crate::pseudonym::Pseudonymizer;

/// Removes every match of each expression, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RedactRegexMatches {
    redactions: Vec<Pattern>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    redactions: Vec<String>,
}

impl RedactRegexMatches {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(RedactRegexMatches {
            redactions: p
                .redactions
                .iter()
                .map(|r| search(r))
                .collect::<Result<_, _>>()?,
        }))
    }
}

impl Operation for RedactRegexMatches {
    fn name(&self) -> &'static str {
        "redactRegexMatches"
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Keep, |text| {
            let mut out = text.to_owned();
            for re in &self.redactions {
                out = re.regex().replace_all(&out, "").into_owned();
            }
            Ok(Some(out))
        })
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "redactRegexMatches",
    summary: "every match of each regex is removed from the text",
    parameters: &[Parameter {
        name: "redactions",
        kind: "list of regexes",
        default: None,
        doc: "the expressions removed, in order",
    }],
    examples: &[Example {
        title: "phone numbers and a word removed",
        dialect: Dialect::Response,
        rule: r#"!<redactRegexMatches> {jsonPaths: [$.b], redactions: ['\d{3}-\d{4}', secret]}"#,
        input: r#"{"b": "call 555-1234, secret plan"}"#,
        output: Outcome::Doc(r#"{"b": "call ,  plan"}"#),
    }],
    build: RedactRegexMatches::build,
};
