//! `pseudonymizeEmailHeader`: a pseudonym for each address of an RFC 2822 address list.

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_response_string, params, Blank, url_safe_token, BuildError, Definition, Dialect, Example, Operation,
    Outcome, Parameter, ValueError,
};
use crate::pseudonym::{parse_mailbox, PseudonymFormat, Pseudonymizer};

/// Replaces an address list (`To:`, `Cc:` ...) with the pseudonyms of its addresses:
/// comma-joined (`URL_SAFE_TOKEN`, `URL_SAFE_HASH_ONLY`) or a JSON array string (`JSON`).
/// Display names and comments are dropped; a blank value becomes `""`, as in Psoxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudonymizeEmailHeader {
    encoding: PseudonymFormat,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default = "url_safe_token")]
    encoding: PseudonymFormat,
}

impl PseudonymizeEmailHeader {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(PseudonymizeEmailHeader {
            encoding: p.encoding,
        }))
    }

    fn header(&self, p: &Pseudonymizer, text: &str) -> Option<String> {
        let mut parts = Vec::new();
        for address in split_address_list(text) {
            // The address alone is pseudonymized (display names are dropped by the hash,
            // and must not reach the output either).
            let value = parse_mailbox(address)
                .map(|m| format!("{}@{}", m.local, m.domain))
                .unwrap_or_else(|| address.to_owned());
            if let Some(pseudonym) = p.pseudonymize(&value, self.encoding) {
                parts.push(pseudonym);
            }
        }
        if parts.is_empty() {
            return None;
        }
        Some(match self.encoding {
            PseudonymFormat::Json => format!("[{}]", parts.join(",")),
            _ => parts.join(","),
        })
    }
}

impl Operation for PseudonymizeEmailHeader {
    fn name(&self) -> &'static str {
        "pseudonymizeEmailHeader"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Empty, |text| Ok(self.header(p, text)))
    }
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

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "pseudonymizeEmailHeader",
    summary: "an RFC 2822 address list -> the pseudonym of each address, comma-joined (or a JSON array string)",
    parameters: &[Parameter {
        name: "encoding",
        kind: "JSON | URL_SAFE_TOKEN | URL_SAFE_HASH_ONLY",
        default: Some("URL_SAFE_TOKEN"),
        doc: "how each pseudonym is written; JSON gives a JSON array string",
    }],
    examples: &[Example {
        title: "display names and comments are dropped",
        dialect: Dialect::Response,
        rule: "!<pseudonymizeEmailHeader> {jsonPaths: [$.to]}",
        input: r#"{"to": "\"Smith, Alice\" <alice@acme.com>, bob@acme.com (Bob)"}"#,
        output: Outcome::Doc(
            r#"{"to": "t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com,t~-U7WKf4bQgfCSqtg28kpp672BXIc8kZN6Gmtg2iKn14@acme.com"}"#,
        ),
    }],
    build: PseudonymizeEmailHeader::build,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_split_outside_quotes() {
        assert_eq!(
            split_address_list("\"A, B\" <a@x.com>, (c, d) c@x.com,, "),
            ["\"A, B\" <a@x.com>", "(c, d) c@x.com"]
        );
    }
}
