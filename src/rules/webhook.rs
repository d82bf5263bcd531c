//! Webhook collector rules (Psoxy's `WebhookCollectionRules`): which JWT claims must match the
//! payload, and the transforms applied to each payload before it is queued.
//!
//! ```yaml
//! jwtClaimsToVerify:            # optional, for every endpoint
//!   sub:
//!     payloadContents: ["$.actor.id"]
//!     queryParam: actor
//! endpoints:                    # exactly one, as in Psoxy
//!   - jwtClaimsToVerify: {...}  # optional, added to the rule set's
//!     transforms:
//!       - !<pseudonymize> {jsonPaths: ["$.actor.email"]}
//! ```
//!
//! Only reading and checking happens here; [`crate::webhook`] compiles the claims and the
//! transforms.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::api::{SpecError, TransformSpec};
use super::keys::nearest;
use super::yaml_tags::{parse_with_verbatim_tags, TagError};
use crate::jsonpath::{JsonPath, JsonPathError};
use crate::rules::type_name as kind_of;

/// The top-level keys of webhook rules (`jwtClaimsToVerify` tells them from API rules).
pub const WEBHOOK_RULES_KEYS: &[&str] = &["jwtClaimsToVerify", "endpoints"];
const ENDPOINT_KEYS: &[&str] = &["jwtClaimsToVerify", "transforms"];
const CLAIM_KEYS: &[&str] = &["payloadContents", "queryParam"];

/// Loaded webhook rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookRules {
    /// Claims checked for every endpoint.
    pub jwt_claims_to_verify: IndexMap<String, ClaimSpec>,
    /// The endpoints (Psoxy serves exactly one).
    pub endpoints: Vec<WebhookEndpoint>,
}

/// One endpoint of the collector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookEndpoint {
    /// Claims checked for this endpoint, besides the rule set's.
    pub jwt_claims_to_verify: IndexMap<String, ClaimSpec>,
    /// Transforms applied to each payload, in order.
    pub transforms: Vec<TransformSpec>,
}

/// Where a claim's value must be found in the request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClaimSpec {
    /// Every value these paths select in the payload must equal the claim (a path that selects
    /// nothing, or `null`, is not checked, as in Psoxy).
    pub payload_contents: Vec<JsonPath>,
    /// When the request has this query parameter, each of its values must equal the claim.
    pub query_param: Option<String>,
}

/// Webhook rules that do not load. Names the key, never a payload value.
#[derive(Debug, thiserror::Error)]
pub enum WebhookRulesError {
    /// The text is not YAML (or its envelope is broken).
    #[error("webhook rules: {0}")]
    Syntax(String),
    /// A verbatim tag is malformed.
    #[error("webhook rules: {0}")]
    Tag(#[from] TagError),
    /// Something is not of the expected kind.
    #[error("webhook rules at {at}: expected {expected}, found {found}")]
    Kind {
        /// Where.
        at: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// An unknown key.
    #[error("webhook rules at {at}: unknown key `{key}`{}", hint.map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
    UnknownKey {
        /// Where.
        at: String,
        /// The key.
        key: String,
        /// The nearest known key.
        hint: Option<&'static str>,
    },
    /// A JSONPath does not parse.
    #[error("webhook rules at {at}: {source}")]
    Path {
        /// Where.
        at: String,
        /// Why.
        source: JsonPathError,
    },
    /// A transform is not of the transform shape.
    #[error("webhook rules at {at}: {source}")]
    Transform {
        /// Where.
        at: String,
        /// Why.
        source: SpecError,
    },
    /// Not exactly one endpoint.
    #[error("webhook rules: `endpoints` must hold exactly one endpoint (as in Psoxy), found {0}")]
    EndpointCount(usize),
}

impl WebhookRules {
    /// Loads rules from YAML, base64 of YAML, or base64 of gzipped YAML.
    pub fn from_bytes(bytes: &[u8]) -> Result<WebhookRules, WebhookRulesError> {
        let text = crate::rules::decode_envelope(bytes)
            .map_err(|e| WebhookRulesError::Syntax(e.to_string()))?;
        WebhookRules::from_yaml(&text)
    }

    /// Loads rules from YAML text.
    pub fn from_yaml(text: &str) -> Result<WebhookRules, WebhookRulesError> {
        WebhookRules::from_value(parse_with_verbatim_tags(text)?)
    }

    /// Whether a parsed YAML document looks like webhook rules (has `jwtClaimsToVerify` at
    /// the top, or in its first endpoint).
    pub fn looks_like(value: &Value) -> bool {
        let Some(map) = value.as_mapping() else {
            return false;
        };
        map.contains_key("jwtClaimsToVerify")
            || map
                .get("endpoints")
                .and_then(Value::as_sequence)
                .and_then(|s| s.first())
                .and_then(Value::as_mapping)
                .is_some_and(|e| e.contains_key("jwtClaimsToVerify"))
    }

    /// Loads rules from a parsed YAML document.
    pub fn from_value(value: Value) -> Result<WebhookRules, WebhookRulesError> {
        let map = mapping(value, "", "a map of webhook rules")?;
        let mut rules = WebhookRules::default();
        for (key, value) in map {
            let key = key_text(&key, "")?;
            match key.as_str() {
                "jwtClaimsToVerify" => {
                    rules.jwt_claims_to_verify = claims(value, "jwtClaimsToVerify")?
                }
                "endpoints" => {
                    let Value::Sequence(items) = value else {
                        return Err(kind("endpoints", "a list of endpoints", &value));
                    };
                    for (i, item) in items.into_iter().enumerate() {
                        rules
                            .endpoints
                            .push(endpoint(item, &format!("endpoints[{i}]"))?);
                    }
                }
                other => return Err(unknown("", other, WEBHOOK_RULES_KEYS)),
            }
        }
        if rules.endpoints.len() != 1 {
            return Err(WebhookRulesError::EndpointCount(rules.endpoints.len()));
        }
        Ok(rules)
    }
}

fn endpoint(value: Value, at: &str) -> Result<WebhookEndpoint, WebhookRulesError> {
    let map = mapping(value, at, "an endpoint map")?;
    let mut endpoint = WebhookEndpoint::default();
    for (key, value) in map {
        let key = key_text(&key, at)?;
        match key.as_str() {
            "jwtClaimsToVerify" => {
                endpoint.jwt_claims_to_verify = claims(value, &format!("{at}.jwtClaimsToVerify"))?
            }
            "transforms" => {
                let Value::Sequence(items) = value else {
                    return Err(kind(
                        &format!("{at}.transforms"),
                        "a list of transforms",
                        &value,
                    ));
                };
                for (j, item) in items.into_iter().enumerate() {
                    let spec = TransformSpec::from_yaml(item).map_err(|source| {
                        WebhookRulesError::Transform {
                            at: format!("{at}.transforms[{j}]"),
                            source,
                        }
                    })?;
                    endpoint.transforms.push(spec);
                }
            }
            other => return Err(unknown(at, other, ENDPOINT_KEYS)),
        }
    }
    Ok(endpoint)
}

fn claims(value: Value, at: &str) -> Result<IndexMap<String, ClaimSpec>, WebhookRulesError> {
    let map = mapping(value, at, "a map of claim names to checks")?;
    let mut out = IndexMap::new();
    for (name, value) in map {
        let name = key_text(&name, at)?;
        let here = format!("{at}.{name}");
        let spec_map = mapping(value, &here, "a map with `payloadContents` or `queryParam`")?;
        let mut spec = ClaimSpec::default();
        for (key, value) in spec_map {
            let key = key_text(&key, &here)?;
            match key.as_str() {
                "payloadContents" => {
                    let Value::Sequence(items) = value else {
                        return Err(kind(
                            &format!("{here}.payloadContents"),
                            "a list of JSONPaths",
                            &value,
                        ));
                    };
                    for (k, item) in items.into_iter().enumerate() {
                        let path_at = format!("{here}.payloadContents[{k}]");
                        let Value::String(text) = item else {
                            return Err(kind(&path_at, "a JSONPath string", &item));
                        };
                        let path =
                            JsonPath::parse(&text).map_err(|source| WebhookRulesError::Path {
                                at: path_at,
                                source,
                            })?;
                        spec.payload_contents.push(path);
                    }
                }
                "queryParam" => match value {
                    Value::String(name) if !name.trim().is_empty() => spec.query_param = Some(name),
                    other => {
                        return Err(kind(
                            &format!("{here}.queryParam"),
                            "a parameter name",
                            &other,
                        ))
                    }
                },
                other => return Err(unknown(&here, other, CLAIM_KEYS)),
            }
        }
        out.insert(name, spec);
    }
    Ok(out)
}

fn mapping(
    value: Value,
    at: &str,
    expected: &'static str,
) -> Result<serde_yaml::Mapping, WebhookRulesError> {
    match value {
        Value::Mapping(m) => Ok(m),
        Value::Null => Ok(serde_yaml::Mapping::new()),
        other => Err(kind(at, expected, &other)),
    }
}

fn key_text(key: &Value, at: &str) -> Result<String, WebhookRulesError> {
    match key {
        Value::String(s) => Ok(s.clone()),
        other => Err(kind(at, "text keys", other)),
    }
}

fn kind(at: &str, expected: &'static str, found: &Value) -> WebhookRulesError {
    WebhookRulesError::Kind {
        at: if at.is_empty() {
            "the top".into()
        } else {
            at.into()
        },
        expected,
        found: kind_of(found),
    }
}

fn unknown(at: &str, key: &str, known: &[&'static str]) -> WebhookRulesError {
    WebhookRulesError::UnknownKey {
        at: if at.is_empty() {
            "the top".into()
        } else {
            at.into()
        },
        key: key.into(),
        hint: nearest(key, known),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
jwtClaimsToVerify:
  iss:
    payloadContents: ["$.source"]
endpoints:
  - jwtClaimsToVerify:
      sub:
        payloadContents: ["$.actor.id", "$.events[*].actor"]
        queryParam: actor
    transforms:
      - !<pseudonymize>
        jsonPaths: ["$.actor.email"]
        encoding: URL_SAFE_TOKEN
      - !<redact> {jsonPaths: ["$.note"]}
"#;

    #[test]
    fn psoxy_shaped_rules_load() {
        let rules = WebhookRules::from_yaml(RULES).unwrap();
        assert_eq!(
            rules.jwt_claims_to_verify["iss"].payload_contents[0].as_str(),
            "$.source"
        );
        let e = &rules.endpoints[0];
        let sub = &e.jwt_claims_to_verify["sub"];
        assert_eq!(sub.payload_contents.len(), 2);
        assert_eq!(sub.query_param.as_deref(), Some("actor"));
        assert_eq!(e.transforms.len(), 2);
        assert_eq!(e.transforms[0].method, "pseudonymize");
        assert!(WebhookRules::looks_like(
            &parse_with_verbatim_tags(RULES).unwrap()
        ));
    }

    #[test]
    fn mistakes_name_their_place() {
        let bad = [
            (
                "endpoints: [{jwtClaimsToVerify: {sub: {payloadContent: ['$.a']}}}]",
                "endpoints[0].jwtClaimsToVerify.sub: unknown key `payloadContent` (did you mean `payloadContents`?)",
            ),
            (
                "endpoints: [{jwtClaimsToVerify: {sub: {payloadContents: ['$.[']}}}]",
                "endpoints[0].jwtClaimsToVerify.sub.payloadContents[0]",
            ),
            ("endpoints: []", "exactly one endpoint"),
            ("endpoints: [{}, {}]", "found 2"),
            (
                "endpoints: [{transfroms: []}]",
                "unknown key `transfroms` (did you mean `transforms`?)",
            ),
            (
                "endpoints: [{transforms: [{jsonPaths: ['$.a']}]}]",
                "endpoints[0].transforms[0]",
            ),
            ("pathTemplate: /x\nendpoints: [{}]", "unknown key `pathTemplate`"),
        ];
        for (yaml, expected) in bad {
            let e = WebhookRules::from_yaml(yaml).unwrap_err().to_string();
            assert!(e.contains(expected), "{yaml}: {e}");
        }
    }
}
