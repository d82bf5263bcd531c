//! `pseudonymize`: the value's pseudonym (SPEC 1).

use serde::Deserialize;
use serde_json::Value;

use super::{
    map_text, params, Blank, token, url_safe_token, Accepts, BuildError, Definition, Dialect, Example,
    Operation, Outcome, Parameter, ValueError,
};
use crate::pseudonym::encoding::write_json_string;
use crate::pseudonym::{PseudonymFormat, Pseudonymizer};

/// Replaces each matched value with its pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudonymize {
    dialect: Dialect,
    encoding: PseudonymFormat,
    include_reversible: bool,
    include_original: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default = "url_safe_token")]
    encoding: PseudonymFormat,
    #[serde(default)]
    include_reversible: bool,
    #[serde(default)]
    include_original: bool,
}

impl Pseudonymize {
    /// Bulk `RecordRules`' `pseudonymize`: always `URL_SAFE_TOKEN` (SPEC 1.3).
    pub fn record() -> Self {
        Pseudonymize {
            dialect: Dialect::Record,
            encoding: PseudonymFormat::UrlSafeToken,
            include_reversible: false,
            include_original: false,
        }
    }

    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let p: Params = params(value)?;
        Ok(Box::new(Pseudonymize {
            dialect: Dialect::Response,
            encoding: p.encoding,
            include_reversible: p.include_reversible,
            include_original: p.include_original,
        }))
    }

    /// The pseudonym of `text` in the encoding; `None` for blank text.
    ///
    /// `URL_SAFE_TOKEN` with `includeReversible` yields the `p~` token (so a caller can send
    /// it back); `JSON` yields `{"domain"?,"hash","original"?,"reversible"?}`.
    fn pseudonym(&self, p: &Pseudonymizer, text: &str) -> Result<Option<String>, ValueError> {
        match self.encoding {
            PseudonymFormat::UrlSafeToken => token(p, text, self.include_reversible),
            PseudonymFormat::UrlSafeHashOnly => Ok(p.pseudonymize(text, self.encoding)),
            PseudonymFormat::Json => {
                let Some(mut json) = p.pseudonymize(text, self.encoding) else {
                    return Ok(None);
                };
                if self.include_original || self.include_reversible {
                    json.pop(); // the closing brace
                    if self.include_original {
                        json.push_str(",\"original\":");
                        write_json_string(text, &mut json);
                    }
                    if self.include_reversible {
                        if let Some(r) = token(p, text, true)? {
                            json.push_str(",\"reversible\":");
                            write_json_string(&r, &mut json);
                        }
                    }
                    json.push('}');
                }
                Ok(Some(json))
            }
        }
    }
}

impl Operation for Pseudonymize {
    fn name(&self) -> &'static str {
        "pseudonymize"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_text(
            value,
            self.dialect,
            Accepts::StringsAndIntegers,
            Blank::Null,
            "pseudonymize",
            |text| self.pseudonym(p, text),
        )
    }

    fn makes_reversible_tokens(&self) -> bool {
        self.include_reversible
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "pseudonymize",
    summary: "string or number -> its pseudonym (SPEC 1); bulk records take strings and integers",
    parameters: &[
        Parameter {
            name: "encoding",
            kind: "JSON | URL_SAFE_TOKEN | URL_SAFE_HASH_ONLY",
            default: Some("URL_SAFE_TOKEN"),
            doc: "how the pseudonym is written (SPEC 1.3); bulk records always use URL_SAFE_TOKEN",
        },
        Parameter {
            name: "includeReversible",
            kind: "boolean",
            default: Some("false"),
            doc: "URL_SAFE_TOKEN: the reversible `p~` token instead; JSON: a `reversible` member",
        },
        Parameter {
            name: "includeOriginal",
            kind: "boolean",
            default: Some("false"),
            doc: "JSON: an `original` member with the value itself",
        },
    ],
    examples: &[
        Example {
            title: "bulk record: strings and integers become tokens, null and blank stay",
            dialect: Dialect::Record,
            rule: "pseudonymize: [$.email, $.id, $.none, $.blank]",
            input: r#"{"email": "alice@acme.com", "id": 2, "none": null, "blank": " "}"#,
            output: Outcome::Doc(
                r#"{"email": "t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com", "id": "t~-hN_i1M1DeMAicDVp6LhFgW9lH7r3_LbOpTlXYWpXVI", "none": null, "blank": " "}"#,
            ),
        },
        Example {
            title: "bulk record: other types are errors",
            dialect: Dialect::Record,
            rule: "pseudonymize: $.flag",
            input: r#"{"flag": true}"#,
            output: Outcome::Error("line 1, column `$.flag`: cannot pseudonymize a boolean value"),
        },
        Example {
            title: "response: the JSON encoding with the original",
            dialect: Dialect::Response,
            rule: "!<pseudonymize> {jsonPaths: [$.id], encoding: JSON, includeOriginal: true}",
            input: r#"{"id": "u1"}"#,
            output: Outcome::Doc(
                r#"{"id": "{\"hash\":\"-a57HL_lC688YqeJOE_TePL4_vaT0faCpuyqruKFtZU\",\"original\":\"u1\"}"}"#,
            ),
        },
        Example {
            title: "response: containers and blank text become null",
            dialect: Dialect::Response,
            rule: "!<pseudonymize> {jsonPaths: [$.obj, $.blank, $.n]}",
            input: r#"{"obj": {"a": 1}, "blank": " ", "n": 42}"#,
            output: Outcome::Doc(
                r#"{"obj": null, "blank": null, "n": "t~znQ9uPAsipaRVgakqmpOA0f-KZDE8pvKpaeCR50hj5Y"}"#,
            ),
        },
    ],
    build: Pseudonymize::build,
};
