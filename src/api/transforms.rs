//! Response transforms of API rules: the model and its parsing from a rule file's YAML.
//!
//! A transform is chosen by a YAML tag (`- !<pseudonymize> {jsonPaths: [...]}`, or `!name`)
//! or by a `method` key in the same map (`- method: pseudonymize`). Every transform has
//! `jsonPaths` and an optional `applyOnlyWhen`; the other parameters depend on the method.
//! Paths and regexes are compiled here, so a bad one is a load error naming it.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::jsonpath::JsonPath;
use crate::pattern::Pattern;
use crate::pseudonym::PseudonymFormat;
use crate::rules::{type_name as kind_of, JsonPaths};

/// Method names, as rule files write them.
pub const TRANSFORM_METHODS: &[&str] = &[
    "redact",
    "pseudonymize",
    "pseudonymizeRegexMatches",
    "pseudonymizeEmailHeader",
    "tokenize",
    "redactRegexMatches",
    "redactExceptPhrases",
    "filterTokenByRegex",
    "textDigest",
    "hashIp",
    "encryptIp",
];

/// One transform of an endpoint's responses.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    /// What happens to each matched value.
    pub kind: TransformKind,
    /// The values it applies to.
    pub json_paths: Vec<JsonPath>,
    /// Run only when this path (on the whole document) matches something.
    pub apply_only_when: Option<JsonPath>,
}

/// The method of a transform with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TransformKind {
    /// Delete the key or array element.
    Redact,
    /// Replace the value with its pseudonym.
    Pseudonymize {
        /// Output encoding (default `URL_SAFE_TOKEN`).
        encoding: PseudonymFormat,
        /// Also include the reversible (`p~`) form.
        include_reversible: bool,
        /// Also include the original value (JSON encoding).
        include_original: bool,
    },
    /// Replace group 1 (or the whole match) of each match with a `t~` token.
    PseudonymizeRegexMatches {
        /// The expression searched for.
        regex: Pattern,
        /// Use reversible tokens.
        include_reversible: bool,
    },
    /// An RFC 2822 address list: a pseudonym per address.
    PseudonymizeEmailHeader {
        /// Output encoding (default `URL_SAFE_TOKEN`: comma-joined tokens; `JSON`: a JSON
        /// array string).
        encoding: PseudonymFormat,
    },
    /// A reversible `p~` token of the value (or of group 1 when `regex` matches it whole).
    Tokenize {
        /// Optional expression selecting the part to tokenize (must match the whole value).
        regex: Option<Pattern>,
    },
    /// Remove every match of each expression.
    RedactRegexMatches {
        /// The expressions removed.
        redactions: Vec<Pattern>,
    },
    /// Keep only the allowed phrases found (case-insensitive, whole words), comma-joined.
    RedactExceptPhrases {
        /// The phrases kept.
        allowed_phrases: Vec<String>,
    },
    /// Keep the tokens that fully match one of the filters, space-joined.
    FilterTokenByRegex {
        /// Token delimiter, a regular expression (default `\\s+`).
        delimiter: Pattern,
        /// A token is kept when it fully matches one of these.
        filters: Vec<Pattern>,
    },
    /// A digest `{"keywords"?,"length","word_count"}` of the text.
    TextDigest {
        /// Keywords counted (none: no `keywords` member).
        keywords: Vec<String>,
    },
    /// A hashed IP address (SPEC.md 1.5).
    HashIp,
    /// An encrypted IP address (SPEC.md 1.5).
    EncryptIp,
}

impl TransformKind {
    /// The method name as rule files write it.
    pub fn method(&self) -> &'static str {
        match self {
            TransformKind::Redact => "redact",
            TransformKind::Pseudonymize { .. } => "pseudonymize",
            TransformKind::PseudonymizeRegexMatches { .. } => "pseudonymizeRegexMatches",
            TransformKind::PseudonymizeEmailHeader { .. } => "pseudonymizeEmailHeader",
            TransformKind::Tokenize { .. } => "tokenize",
            TransformKind::RedactRegexMatches { .. } => "redactRegexMatches",
            TransformKind::RedactExceptPhrases { .. } => "redactExceptPhrases",
            TransformKind::FilterTokenByRegex { .. } => "filterTokenByRegex",
            TransformKind::TextDigest { .. } => "textDigest",
            TransformKind::HashIp => "hashIp",
            TransformKind::EncryptIp => "encryptIp",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoParams {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PseudonymizeParams {
    #[serde(default = "url_safe_token")]
    encoding: PseudonymFormat,
    #[serde(default)]
    include_reversible: bool,
    #[serde(default)]
    include_original: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegexMatchesParams {
    regex: String,
    #[serde(default)]
    include_reversible: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmailHeaderParams {
    #[serde(default = "url_safe_token")]
    encoding: PseudonymFormat,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenizeParams {
    #[serde(default)]
    regex: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RedactionsParams {
    redactions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PhrasesParams {
    allowed_phrases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FilterTokenParams {
    #[serde(default)]
    delimiter: Option<String>,
    filters: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TextDigestParams {
    #[serde(default)]
    keywords: Vec<String>,
}

fn url_safe_token() -> PseudonymFormat {
    PseudonymFormat::UrlSafeToken
}

/// Parses one entry of an endpoint's `transforms` list. Errors are messages without the
/// location; the caller prefixes it.
pub(crate) fn parse_transform(value: Value) -> Result<Transform, String> {
    let (method, body) = split_method(value)?;
    let mut map = match body {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        other => {
            return Err(format!(
                "`{method}` needs a map of parameters, found {}",
                kind_of(&other)
            ))
        }
    };
    let json_paths = match map.remove("jsonPaths") {
        Some(v) => compile_paths(v)?,
        None => return Err(format!("`{method}` is missing `jsonPaths`")),
    };
    let apply_only_when = match map.remove("applyOnlyWhen") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(compile_path(&p)?),
        Some(other) => {
            return Err(format!(
                "`applyOnlyWhen` must be a JSONPath string, found {}",
                kind_of(&other)
            ))
        }
    };
    let rest = Value::Mapping(map);
    let kind = match method.as_str() {
        "redact" => params::<NoParams>(rest).map(|_| TransformKind::Redact)?,
        "hashIp" => params::<NoParams>(rest).map(|_| TransformKind::HashIp)?,
        "encryptIp" => params::<NoParams>(rest).map(|_| TransformKind::EncryptIp)?,
        "pseudonymize" => {
            let p: PseudonymizeParams = params(rest)?;
            TransformKind::Pseudonymize {
                encoding: p.encoding,
                include_reversible: p.include_reversible,
                include_original: p.include_original,
            }
        }
        "pseudonymizeRegexMatches" => {
            let p: RegexMatchesParams = params(rest)?;
            TransformKind::PseudonymizeRegexMatches {
                regex: search_pattern(&p.regex)?,
                include_reversible: p.include_reversible,
            }
        }
        "pseudonymizeEmailHeader" => {
            let p: EmailHeaderParams = params(rest)?;
            TransformKind::PseudonymizeEmailHeader {
                encoding: p.encoding,
            }
        }
        "tokenize" => {
            let p: TokenizeParams = params(rest)?;
            TransformKind::Tokenize {
                regex: p.regex.as_deref().map(whole_pattern).transpose()?,
            }
        }
        "redactRegexMatches" => {
            let p: RedactionsParams = params(rest)?;
            TransformKind::RedactRegexMatches {
                redactions: p
                    .redactions
                    .iter()
                    .map(|r| search_pattern(r))
                    .collect::<Result<_, _>>()?,
            }
        }
        "redactExceptPhrases" => {
            let p: PhrasesParams = params(rest)?;
            TransformKind::RedactExceptPhrases {
                allowed_phrases: p.allowed_phrases,
            }
        }
        "filterTokenByRegex" => {
            let p: FilterTokenParams = params(rest)?;
            TransformKind::FilterTokenByRegex {
                delimiter: search_pattern(p.delimiter.as_deref().unwrap_or(r"\s+"))?,
                filters: p
                    .filters
                    .iter()
                    .map(|r| whole_pattern(r))
                    .collect::<Result<_, _>>()?,
            }
        }
        "textDigest" => {
            let p: TextDigestParams = params(rest)?;
            TransformKind::TextDigest {
                keywords: p.keywords,
            }
        }
        other => {
            return Err(format!(
                "unknown transform `{other}`; expected one of {}",
                TRANSFORM_METHODS.join(", ")
            ))
        }
    };
    Ok(Transform {
        kind,
        json_paths,
        apply_only_when,
    })
}

/// The method name (from the tag or the `method` key) and the parameter map.
fn split_method(value: Value) -> Result<(String, Value), String> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.strip_prefix('!').unwrap_or(&tag).to_owned();
            if let Value::Mapping(m) = &tagged.value {
                if m.contains_key("method") {
                    return Err(format!(
                        "transform tagged `!<{name}>` also has a `method` key; use one or the other"
                    ));
                }
            }
            Ok((name, tagged.value))
        }
        Value::Mapping(mut map) => match map.remove("method") {
            Some(Value::String(name)) => Ok((name, Value::Mapping(map))),
            Some(other) => Err(format!(
                "`method` must be a transform name, found {}",
                kind_of(&other)
            )),
            None => Err("a transform needs a tag (`!<pseudonymize>`) or a `method` key".to_owned()),
        },
        other => Err(format!(
            "a transform must be a tagged map or a map with `method`, found {}",
            kind_of(&other)
        )),
    }
}

fn params<T: DeserializeOwned>(rest: Value) -> Result<T, String> {
    serde_yaml::from_value(rest).map_err(|e| e.to_string())
}

fn compile_paths(value: Value) -> Result<Vec<JsonPath>, String> {
    let paths: JsonPaths = serde_yaml::from_value(value)
        .map_err(|_| "`jsonPaths` must be a list of JSONPath strings".to_owned())?;
    paths.to_vec().iter().map(|p| compile_path(p)).collect()
}

fn compile_path(path: &str) -> Result<JsonPath, String> {
    JsonPath::parse(path).map_err(|e| e.to_string())
}

fn search_pattern(text: &str) -> Result<Pattern, String> {
    Pattern::search(text).map_err(|e| format!("invalid regex `{text}`: {e}"))
}

fn whole_pattern(text: &str) -> Result<Pattern, String> {
    Pattern::whole(text, false).map_err(|e| format!("invalid regex `{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::yaml_tags::parse_with_verbatim_tags;

    fn parse_list(yaml: &str) -> Vec<Result<Transform, String>> {
        match parse_with_verbatim_tags(yaml).unwrap() {
            Value::Sequence(items) => items.into_iter().map(parse_transform).collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    fn one(yaml: &str) -> Result<Transform, String> {
        parse_list(yaml).remove(0)
    }

    #[test]
    fn tag_forms_and_method_form_agree() {
        let forms = [
            "- !<pseudonymize> {jsonPaths: ['$..email']}",
            "- !pseudonymize {jsonPaths: ['$..email']}",
            "- !<pseudonymize>\n  jsonPaths:\n    - $..email\n",
            "- method: pseudonymize\n  jsonPaths: ['$..email']",
            "- {method: pseudonymize, jsonPaths: '$..email'}",
        ];
        for f in forms {
            let t = one(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(
                t.kind,
                TransformKind::Pseudonymize {
                    encoding: PseudonymFormat::UrlSafeToken,
                    include_reversible: false,
                    include_original: false,
                },
                "{f}"
            );
            assert_eq!(t.json_paths[0].as_str(), "$..email");
            assert_eq!(t.apply_only_when, None);
        }
    }

    #[test]
    fn every_method_parses_with_its_parameters() {
        let yaml = r#"
- !<redact> {jsonPaths: [$.a]}
- !<pseudonymize> {jsonPaths: [$.b], encoding: JSON, includeReversible: true, includeOriginal: true}
- !<pseudonymizeRegexMatches> {jsonPaths: [$.c], regex: '(?<=id=)(\d+)', includeReversible: true}
- !<pseudonymizeEmailHeader> {jsonPaths: [$.d], encoding: JSON}
- !<tokenize> {jsonPaths: [$.e], regex: '^https://x/(.*)$'}
- !<redactRegexMatches> {jsonPaths: [$.f], redactions: ['\d{3}-\d{4}']}
- !<redactExceptPhrases> {jsonPaths: [$.g], allowedPhrases: [standup, one on one]}
- !<filterTokenByRegex> {jsonPaths: [$.h], delimiter: ',', filters: ['https://zoom\.us/.*']}
- !<textDigest> {jsonPaths: [$.i], keywords: [urgent]}
- !<hashIp> {jsonPaths: [$.j]}
- !<encryptIp> {jsonPaths: [$.k], applyOnlyWhen: "$[?(@.kind == 'x')]"}
- !<pseudonymizeEmailHeader> {jsonPaths: [$.l]}
"#;
        let all: Vec<Transform> = parse_list(yaml)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        let methods: Vec<&str> = all.iter().map(|t| t.kind.method()).collect();
        assert_eq!(&methods[..11], TRANSFORM_METHODS);
        assert_eq!(
            all[1].kind,
            TransformKind::Pseudonymize {
                encoding: PseudonymFormat::Json,
                include_reversible: true,
                include_original: true
            }
        );
        match &all[2].kind {
            TransformKind::PseudonymizeRegexMatches { regex, .. } => {
                assert_eq!(regex.as_str(), r"(?<=id=)(\d+)")
            }
            other => panic!("{other:?}"),
        }
        match &all[7].kind {
            TransformKind::FilterTokenByRegex { delimiter, filters } => {
                assert_eq!(delimiter.as_str(), ",");
                assert_eq!(filters.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(all[10].apply_only_when.is_some());
        assert_eq!(
            all[11].kind,
            TransformKind::PseudonymizeEmailHeader {
                encoding: PseudonymFormat::UrlSafeToken
            }
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            (
                "- !<pseudonymize> {jsonPaths: [$.a], encodng: JSON}",
                "encodng",
            ),
            ("- !<redact> {jsonPaths: [$.a], regex: x}", "regex"),
            ("- !<redact> {}", "missing `jsonPaths`"),
            (
                "- !<pseudonymise> {jsonPaths: [$.a]}",
                "unknown transform `pseudonymise`",
            ),
            ("- !<redact> {jsonPaths: ['$.a[']}", "$.a["),
            (
                "- !<redact> {jsonPaths: [$.a], applyOnlyWhen: '$[?(@.a'}",
                "$[?(@.a",
            ),
            (
                "- !<redactRegexMatches> {jsonPaths: [$.a], redactions: ['(']}",
                "invalid regex `(`",
            ),
            ("- !<pseudonymizeRegexMatches> {jsonPaths: [$.a]}", "regex"),
            ("- {jsonPaths: [$.a]}", "`method`"),
            (
                "- !<redact> {method: redact, jsonPaths: [$.a]}",
                "one or the other",
            ),
            (
                "- !<pseudonymize> {jsonPaths: [$.a], encoding: BASE64}",
                "BASE64",
            ),
            ("- '$.a'", "found a string"),
            ("- !<redact> {jsonPaths: {a: 1}}", "list of JSONPath"),
        ];
        for (yaml, needle) in cases {
            let e = one(yaml).unwrap_err();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
