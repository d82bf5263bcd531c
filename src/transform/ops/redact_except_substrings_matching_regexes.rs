//! `redactExceptSubstringsMatchingRegexes`: a text is reduced to the longest part one of the
//! allowed expressions finds in it (SPEC-API-PARITY 3.2).

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, whole, Blank, BuildError, Definition, Dialect, Example,
    Operation, Outcome, Parameter, ValueError,
};
use crate::pattern::Pattern;
use crate::pseudonym::Pseudonymizer;

/// Keeps only the longest substring that one of the `exceptions` matches; `""` when none
/// does.
#[derive(Debug, Clone, PartialEq)]
pub struct RedactExceptSubstringsMatchingRegexes {
    /// Each exception `p` as Psoxy runs it: `.*?(p).*?`, matching the whole value (so, as in
    /// Java, `.` does not cross a line break).
    exceptions: Vec<Pattern>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    exceptions: Vec<String>,
}

impl RedactExceptSubstringsMatchingRegexes {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(RedactExceptSubstringsMatchingRegexes {
            exceptions: p
                .exceptions
                .iter()
                .map(|e| whole(&format!(".*?({e}).*?")))
                .collect::<Result<_, _>>()?,
        }))
    }

    /// The longest group-1 text (in UTF-16 units, ties to the earliest exception).
    fn longest<'t>(&self, text: &'t str) -> Result<&'t str, ValueError> {
        let mut best: Option<(&str, usize)> = None;
        for exception in &self.exceptions {
            let Some(caps) = exception.regex().captures(text)? else {
                continue;
            };
            let Some(found) = caps.get(1) else { continue };
            let found = &text[found.start()..found.end()];
            let len: usize = found.chars().map(char::len_utf16).sum();
            if best.is_none_or(|(_, best_len)| len > best_len) {
                best = Some((found, len));
            }
        }
        Ok(best.map_or("", |(found, _)| found))
    }
}

impl Operation for RedactExceptSubstringsMatchingRegexes {
    fn name(&self) -> &'static str {
        "redactExceptSubstringsMatchingRegexes"
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Keep, |text| {
            Ok(Some(self.longest(text)?.to_owned()))
        })
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "redactExceptSubstringsMatchingRegexes",
    summary: "only the longest substring one of the regexes finds is kept (`\"\"` when none does)",
    parameters: &[Parameter {
        name: "exceptions",
        kind: "list of regexes",
        default: None,
        doc: "the expressions whose matches may be kept; ties go to the earlier one",
    }],
    examples: &[Example {
        title: "a phone number kept out of free text",
        dialect: Dialect::Response,
        rule: r#"!<redactExceptSubstringsMatchingRegexes> {jsonPaths: ['$.*'], exceptions: ['\d{3}-\d{4}', '(?i)zoom']}"#,
        input: r#"{"a": "Call Zoom at 555-1234", "b": "no match here", "c": "", "d": 42, "e": "line one\nZoom"}"#,
        output: Outcome::Doc(r#"{"a": "555-1234", "b": "", "c": "", "d": null, "e": ""}"#),
    }],
    build: RedactExceptSubstringsMatchingRegexes::build,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn op(exceptions: &[&str]) -> RedactExceptSubstringsMatchingRegexes {
        RedactExceptSubstringsMatchingRegexes {
            exceptions: exceptions
                .iter()
                .map(|e| whole(&format!(".*?({e}).*?")).unwrap())
                .collect(),
        }
    }

    #[test]
    fn ties_go_to_the_earlier_exception() {
        assert_eq!(op(&["abc", "xyz"]).longest("xyz abc").unwrap(), "abc");
        assert_eq!(op(&["xyz", "abc"]).longest("xyz abc").unwrap(), "xyz");
        assert_eq!(op(&["a", "abc"]).longest("abc").unwrap(), "abc");
    }
}
