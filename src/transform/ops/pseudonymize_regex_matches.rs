//! `pseudonymizeRegexMatches`: tokens for what a regex finds inside a text.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, Blank, search, token, BuildError, Definition, Dialect, Example, Operation,
    Outcome, Parameter, ValueError,
};
use crate::pattern::Pattern;
use crate::pseudonym::Pseudonymizer;

/// Replaces group 1 (or the whole match) of every match of `regex` with its `t~` token (or
/// `p~` token), keeping the rest of the text; a text without a match gives no result.
#[derive(Debug, Clone, PartialEq)]
pub struct PseudonymizeRegexMatches {
    regex: Pattern,
    include_reversible: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    regex: String,
    #[serde(default)]
    include_reversible: bool,
}

impl PseudonymizeRegexMatches {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(PseudonymizeRegexMatches {
            regex: search(&p.regex)?,
            include_reversible: p.include_reversible,
        }))
    }
}

impl Operation for PseudonymizeRegexMatches {
    fn name(&self) -> &'static str {
        "pseudonymizeRegexMatches"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Null, |text| {
            replace_matches(text, &self.regex, |m| token(p, m, self.include_reversible))
        })
    }

    fn makes_reversible_tokens(&self) -> bool {
        self.include_reversible
    }
}

/// Replaces group 1 (or the whole match, when the expression has no group 1 or it did not
/// take part) of every match with `replace(matched text)`. `None` when nothing matches.
fn replace_matches(
    text: &str,
    regex: &Pattern,
    mut replace: impl FnMut(&str) -> Result<Option<String>, ValueError>,
) -> Result<Option<String>, ValueError> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut any = false;
    for caps in regex.regex().captures_iter(text) {
        let caps = caps?;
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

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "pseudonymizeRegexMatches",
    summary: "group 1 (or the match) of each regex match -> its `t~` token, the rest kept; no match -> null",
    parameters: &[
        Parameter {
            name: "regex",
            kind: "regex",
            default: None,
            doc: "what is searched for (look-around allowed)",
        },
        Parameter {
            name: "includeReversible",
            kind: "boolean",
            default: Some("false"),
            doc: "`p~` tokens instead of `t~`",
        },
    ],
    examples: &[
        Example {
            title: "ids inside a text",
            dialect: Dialect::Response,
            rule: r#"!<pseudonymizeRegexMatches> {jsonPaths: [$.a, $.none], regex: 'id=(\d+)'}"#,
            input: r#"{"a": "see id=12 and id=34.", "none": "nothing"}"#,
            output: Outcome::Doc(
                r#"{"a": "see id=t~GMMPBTZHzkQI6TCMu2RfYkTT3OU4860ekdkhUzkc0Ug and id=t~xsmTqSXiaz3GpBwguhUP8t6SO5n2Hn_gdtrI_hrO2lg.", "none": null}"#,
            ),
        },
    ],
    build: PseudonymizeRegexMatches::build,
};
