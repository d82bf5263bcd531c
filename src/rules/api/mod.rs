//! API rule files (Psoxy's `Rules2` shape): the model and its loading from YAML.
//!
//! ```yaml
//! allowedRequestHeaders: [If-None-Match]
//! endpoints:
//!   - pathTemplate: /orgs/{org}/members
//!     allowedMethods: [GET]
//!     allowedQueryParams: [per_page, page]
//!     queryParamSchemas: {per_page: {type: integer}}
//!     transforms:
//!       - !<pseudonymize> {jsonPaths: ['$..login']}
//!     responseSchema: {$ref: '#/definitions/users'}
//! definitions:
//!   users: {type: array, items: {type: object, properties: {login: {type: string}}}}
//! ```
//!
//! The model is checked when loading: unknown keys, an endpoint with neither or both of
//! `pathTemplate` / `pathRegex`, templates, regexes, JSONPaths, parameter schemas naming
//! parameters the path does not have, `$ref`s to missing definitions. The transforms'
//! methods and parameters are checked when the rules are compiled
//! ([`crate::transform::ResponsePlan`]). Errors say where
//! (`endpoints[2] (/orgs/{org}/members).transforms[0]: ...`).

mod augment;
mod params;
mod request_body;
mod template;
mod transform;
mod warnings;

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

pub use augment::{AugmentError, AugmentKind, AugmentSpec};
pub use params::{ParamFormat, ParamProblem, ParamSchema, ParamSchemaError, ParamType};
pub use request_body::{BodySchema, RequestBodyRule};
pub use template::{PathTemplate, TemplateError, TemplateParam};
pub use transform::{SpecError, TransformSpec};
pub use warnings::RuleWarning;

use super::schema::{unknown_api_key, SchemaNode};
use super::yaml_tags::{parse_with_verbatim_tags, TagError};
use super::RulesError;
use crate::pattern::Pattern;
use crate::rules::type_name as kind_of;

/// Top-level keys of API rule files (what tells them from bulk rules).
pub const API_RULES_KEYS: &[&str] = &["endpoints", "allowedRequestHeaders", "definitions"];

/// A loaded, validated API rule set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiRules {
    /// Endpoints in file order; the first that matches a request wins.
    pub endpoints: Vec<Endpoint>,
    /// Request headers forwarded for every endpoint.
    pub allowed_request_headers: Vec<String>,
    /// Named schemas that `$ref: '#/definitions/<name>'` points at.
    pub definitions: IndexMap<String, SchemaNode>,
    /// What loads but may not mean what its author expects (shown by `psoxy check`, logged
    /// when the proxy starts).
    pub warnings: Vec<RuleWarning>,
}

/// One allowed endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// How the request path is matched.
    pub path: EndpointPath,
    /// Allowed HTTP methods (`None`: any); compared ignoring case.
    pub allowed_methods: Option<Vec<String>>,
    /// Allowed query parameter names (`None`: any; empty: none).
    pub allowed_query_params: Option<Vec<String>>,
    /// Constraints on query parameter values, by name.
    pub query_param_schemas: IndexMap<String, ParamSchema>,
    /// Constraints on path parameter values, by name.
    pub path_parameter_schemas: IndexMap<String, ParamSchema>,
    /// Request headers forwarded for this endpoint (besides the rule set's).
    pub allowed_request_headers: Vec<String>,
    /// Allow-list filter of the response, applied before the transforms.
    pub response_schema: Option<SchemaNode>,
    /// Response transforms, in order.
    pub transforms: Vec<TransformSpec>,
    /// Summaries added to the response before the schema filter and the transforms.
    pub augments: Vec<AugmentSpec>,
    /// What a request body must be (`None`: any body is allowed).
    pub request_body: Option<RequestBodyRule>,
}

/// How an endpoint matches the request path.
#[derive(Debug, Clone)]
pub enum EndpointPath {
    /// `pathTemplate`: OpenAPI style, against the path only.
    Template(PathTemplate),
    /// `pathRegex`: against `path?query` (or `path` without a query), whole, ignoring case.
    /// Named groups are path parameters.
    Regex(Pattern),
}

impl EndpointPath {
    /// The template or regex as written.
    pub fn as_str(&self) -> &str {
        match self {
            EndpointPath::Template(t) => t.as_str(),
            EndpointPath::Regex(p) => p.as_str(),
        }
    }

    /// Names of the path parameters this path can yield.
    pub fn param_names(&self) -> Vec<&str> {
        match self {
            EndpointPath::Template(t) => t.params().iter().map(|p| p.name.as_str()).collect(),
            EndpointPath::Regex(p) => p.group_names().collect(),
        }
    }
}

impl PartialEq for EndpointPath {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (EndpointPath::Template(a), EndpointPath::Template(b)) => a.as_str() == b.as_str(),
            (EndpointPath::Regex(a), EndpointPath::Regex(b)) => a == b,
            _ => false,
        }
    }
}

/// Why API rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ApiRulesError {
    /// The file could not be read.
    #[error("cannot read API rules file {path}: {source}")]
    Read {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The rules are not valid; `at` says where (empty for the whole file).
    #[error("invalid API rules{}: {problem}", at_clause(.at))]
    Invalid {
        /// Location, e.g. `endpoints[2] (/orgs/{org}/members).transforms[0]`.
        at: String,
        /// What is wrong.
        problem: ApiRuleProblem,
    },
}

/// What is wrong with an API rule file, at one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiRuleProblem {
    /// Not text, not base64, not gzip.
    #[error("{0}")]
    Envelope(#[source] RulesError),
    /// Not YAML, or a verbatim tag inside a string.
    #[error(transparent)]
    Tags(#[from] TagError),
    /// An unknown key or a value of the wrong type.
    #[error("{0}")]
    Yaml(#[source] serde_yaml::Error),
    /// The file or an endpoint is not a mapping.
    #[error("{what} must be a mapping, found {found}")]
    NotAMapping {
        /// `API rules` or `an endpoint`.
        what: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A key a `responseSchema` or definition node does not have.
    #[error("{0}")]
    SchemaKey(String),
    /// Both path kinds.
    #[error("has both `pathTemplate` and `pathRegex`; use one")]
    BothPaths,
    /// No path.
    #[error("needs `pathTemplate` or `pathRegex`")]
    NoPath,
    /// A path template that does not compile.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A `pathRegex` that does not compile.
    #[error("invalid pathRegex `{text}`: {source}")]
    PathRegex {
        /// The expression.
        text: String,
        /// The engine's error.
        source: Box<crate::pattern::PatternError>,
    },
    /// A parameter schema that does not load.
    #[error(transparent)]
    ParamSchema(#[from] ParamSchemaError),
    /// A `pathParameterSchemas` entry for a parameter the path does not have.
    #[error("`{name}` is not a parameter of the path (it has: {has})")]
    NotAParameter {
        /// The entry's name.
        name: String,
        /// The path's parameters, comma separated (`none`).
        has: String,
    },
    /// A `$ref` to no definition.
    #[error("`{0}` is not `#/definitions/<name>` of a defined schema")]
    BadReference(String),
    /// A transform entry that is not of the transform shape.
    #[error(transparent)]
    Transform(#[from] SpecError),
    /// An augment entry that does not load.
    #[error(transparent)]
    Augment(#[from] AugmentError),
}

fn at_clause(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" at {at}")
    }
}

fn invalid(at: &str, problem: impl Into<ApiRuleProblem>) -> ApiRulesError {
    ApiRulesError::Invalid {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

/// Reads a schema node of API rules: the API dialect's keys, its warnings, then the model.
fn schema(
    value: Value,
    at: &str,
    warnings: &mut Vec<RuleWarning>,
) -> Result<SchemaNode, ApiRulesError> {
    if let Some(message) = unknown_api_key(&value) {
        return Err(invalid(at, ApiRuleProblem::SchemaKey(message)));
    }
    warnings::schema_warnings(&value, at, warnings);
    serde_yaml::from_value(value).map_err(|e| invalid(at, ApiRuleProblem::Yaml(e)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    endpoints: Vec<Value>,
    #[serde(default)]
    allowed_request_headers: Vec<String>,
    #[serde(default)]
    definitions: IndexMap<String, Value>,
    /// Legacy key Psoxy tolerates and ignores.
    #[serde(default)]
    #[allow(dead_code)]
    default_scope_id_for_source: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEndpoint {
    #[serde(default)]
    path_template: Option<String>,
    #[serde(default)]
    path_regex: Option<String>,
    #[serde(default)]
    allowed_methods: Option<Vec<String>>,
    #[serde(default)]
    allowed_query_params: Option<Vec<String>>,
    #[serde(default)]
    query_param_schemas: IndexMap<String, Value>,
    #[serde(default)]
    path_parameter_schemas: IndexMap<String, Value>,
    #[serde(default)]
    allowed_request_headers: Vec<String>,
    #[serde(default)]
    response_schema: Option<Value>,
    #[serde(default)]
    transforms: Vec<Value>,
    #[serde(default)]
    augments: Vec<Value>,
    #[serde(default)]
    request_body: Option<RequestBodyRule>,
}

impl ApiRules {
    /// Reads and loads a YAML rules file.
    pub fn from_file(path: &Path) -> Result<ApiRules, ApiRulesError> {
        let bytes = std::fs::read(path).map_err(|source| ApiRulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ApiRules::from_bytes(&bytes)
    }

    /// Loads rules from YAML, base64 of YAML, or base64 of gzipped YAML (as the `RULES`
    /// setting may hold them).
    pub fn from_bytes(bytes: &[u8]) -> Result<ApiRules, ApiRulesError> {
        let text = crate::rules::decode_envelope(bytes)
            .map_err(|e| invalid("", ApiRuleProblem::Envelope(e)))?;
        ApiRules::from_yaml(&text)
    }

    /// Loads rules from YAML text (verbatim tags `!<name>` included).
    pub fn from_yaml(text: &str) -> Result<ApiRules, ApiRulesError> {
        let value = parse_with_verbatim_tags(text).map_err(|e| invalid("", e))?;
        ApiRules::from_value(value)
    }

    /// Loads rules from a parsed YAML document (verbatim tags already kept as tags).
    pub fn from_value(value: Value) -> Result<ApiRules, ApiRulesError> {
        let value = match value {
            Value::Null => Value::Mapping(Default::default()),
            v @ Value::Mapping(_) => v,
            other => {
                return Err(invalid(
                    "",
                    ApiRuleProblem::NotAMapping {
                        what: "API rules",
                        found: kind_of(&other),
                    },
                ))
            }
        };
        let raw: RawRules =
            serde_yaml::from_value(value).map_err(|e| invalid("", ApiRuleProblem::Yaml(e)))?;
        let mut warnings = Vec::new();
        let mut definitions = IndexMap::new();
        for (name, value) in raw.definitions {
            let at = format!("definitions.{name}");
            definitions.insert(name, schema(value, &at, &mut warnings)?);
        }
        let endpoints = raw
            .endpoints
            .into_iter()
            .enumerate()
            .map(|(i, v)| load_endpoint(i, v, &mut warnings))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = ApiRules {
            endpoints,
            allowed_request_headers: raw.allowed_request_headers,
            definitions,
            warnings,
        };
        rules.check_references()?;
        Ok(rules)
    }

    /// Every `$ref` must name one of the `definitions`.
    fn check_references(&self) -> Result<(), ApiRulesError> {
        let from_definitions = self
            .definitions
            .iter()
            .map(|(name, schema)| (format!("definitions.{name}"), schema));
        let from_endpoints = self.endpoints.iter().enumerate().filter_map(|(i, e)| {
            e.response_schema.as_ref().map(|s| {
                (
                    format!(
                        "{}.responseSchema",
                        endpoint_label(i, Some(e.path.as_str()))
                    ),
                    s,
                )
            })
        });
        for (at, schema) in from_definitions.chain(from_endpoints) {
            for (inner, reference) in schema.references() {
                let known = SchemaNode::definition_name(reference)
                    .is_some_and(|name| self.definitions.contains_key(name));
                if !known {
                    return Err(invalid(
                        &format!("{at}{inner}"),
                        ApiRuleProblem::BadReference(reference.to_owned()),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Endpoint {
    /// How errors name the endpoint at `index`: `endpoints[3] (/orgs/{org}/members)`.
    pub fn label(&self, index: usize) -> String {
        endpoint_label(index, Some(self.path.as_str()))
    }
}

/// `endpoints[3] (/orgs/{org}/members)`.
fn endpoint_label(index: usize, path: Option<&str>) -> String {
    match path {
        Some(p) => format!("endpoints[{index}] ({p})"),
        None => format!("endpoints[{index}]"),
    }
}

fn load_endpoint(
    index: usize,
    value: Value,
    warnings: &mut Vec<RuleWarning>,
) -> Result<Endpoint, ApiRulesError> {
    let path_text = match &value {
        Value::Mapping(m) => m
            .get("pathTemplate")
            .or_else(|| m.get("pathRegex"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let at = endpoint_label(index, path_text.as_deref());
    if !matches!(value, Value::Mapping(_)) {
        return Err(invalid(
            &at,
            ApiRuleProblem::NotAMapping {
                what: "an endpoint",
                found: kind_of(&value),
            },
        ));
    }
    let raw: RawEndpoint =
        serde_yaml::from_value(value).map_err(|e| invalid(&at, ApiRuleProblem::Yaml(e)))?;
    let path = match (raw.path_template, raw.path_regex) {
        (Some(t), None) => {
            EndpointPath::Template(PathTemplate::parse(&t).map_err(|e| invalid(&at, e))?)
        }
        (None, Some(r)) => EndpointPath::Regex(Pattern::whole(&r, true).map_err(|e| {
            invalid(
                &at,
                ApiRuleProblem::PathRegex {
                    text: r.clone(),
                    source: Box::new(e),
                },
            )
        })?),
        (Some(_), Some(_)) => return Err(invalid(&at, ApiRuleProblem::BothPaths)),
        (None, None) => return Err(invalid(&at, ApiRuleProblem::NoPath)),
    };
    let query_param_schemas =
        load_param_schemas(raw.query_param_schemas, &at, "queryParamSchemas")?;
    let path_parameter_schemas =
        load_param_schemas(raw.path_parameter_schemas, &at, "pathParameterSchemas")?;
    let names = path.param_names();
    if let Some(unknown) = path_parameter_schemas
        .keys()
        .find(|k| !names.contains(&k.as_str()))
    {
        return Err(invalid(
            &format!("{at}.pathParameterSchemas"),
            ApiRuleProblem::NotAParameter {
                name: unknown.clone(),
                has: if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                },
            },
        ));
    }
    let response_schema = raw
        .response_schema
        .map(|v| schema(v, &format!("{at}.responseSchema"), warnings))
        .transpose()?;
    let transforms = raw
        .transforms
        .into_iter()
        .enumerate()
        .map(|(j, v)| {
            TransformSpec::from_yaml(v).map_err(|e| invalid(&format!("{at}.transforms[{j}]"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let augments = raw
        .augments
        .into_iter()
        .enumerate()
        .map(|(j, v)| {
            let at = format!("{at}.augments[{j}]");
            let augment = AugmentSpec::from_yaml(v).map_err(|e| invalid(&at, e))?;
            if augment.kind == AugmentKind::SentenceMetadata {
                warnings.push(RuleWarning::new(
                    at,
                    "`sentenceMetadata` needs language models this proxy does not have; it adds nothing",
                ));
            }
            Ok(augment)
        })
        .collect::<Result<Vec<_>, ApiRulesError>>()?;
    Ok(Endpoint {
        path,
        allowed_methods: raw.allowed_methods,
        allowed_query_params: raw.allowed_query_params,
        query_param_schemas,
        path_parameter_schemas,
        allowed_request_headers: raw.allowed_request_headers,
        response_schema,
        transforms,
        augments,
        request_body: raw.request_body,
    })
}

fn load_param_schemas(
    raw: IndexMap<String, Value>,
    at: &str,
    key: &str,
) -> Result<IndexMap<String, ParamSchema>, ApiRulesError> {
    raw.into_iter()
        .map(|(name, v)| {
            ParamSchema::from_yaml(v)
                .map(|s| (name.clone(), s))
                .map_err(|e| invalid(&format!("{at}.{key}.{name}"), e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        ApiRules::from_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn loads_a_small_rule_set() {
        let rules = ApiRules::from_yaml(
            r#"
allowedRequestHeaders: [If-None-Match]
endpoints:
  - pathTemplate: /orgs/{org}/members
    allowedMethods: [GET]
    allowedQueryParams: [per_page]
    queryParamSchemas: {per_page: {type: integer}}
    pathParameterSchemas: {org: {pattern: '[a-z0-9-]+'}}
    transforms:
      - !<pseudonymize> {jsonPaths: ['$..login']}
      - method: redact
        jsonPaths: ['$..avatar_url']
    responseSchema: {$ref: '#/definitions/users'}
  - pathRegex: ^/users/(?<user>[^/]+)(?!/keys).*$
    allowedRequestHeaders: [Accept-Language]
definitions:
  users: {type: array, items: {$ref: '#/definitions/user'}}
  user: {type: object, properties: {login: {type: string}}}
"#,
        )
        .unwrap();
        assert_eq!(rules.endpoints.len(), 2);
        assert_eq!(rules.allowed_request_headers, ["If-None-Match"]);
        let e = &rules.endpoints[0];
        assert_eq!(e.path.as_str(), "/orgs/{org}/members");
        assert_eq!(e.allowed_methods.as_deref(), Some(&["GET".to_owned()][..]));
        assert_eq!(e.transforms.len(), 2);
        assert_eq!(e.transforms[1].method, "redact");
        assert!(e.response_schema.is_some());
        let r = &rules.endpoints[1];
        assert!(matches!(r.path, EndpointPath::Regex(_)));
        assert_eq!(r.path.param_names(), ["user"]);
        assert_eq!(r.allowed_query_params, None);
        assert_eq!(rules.definitions.len(), 2);
    }

    #[test]
    fn empty_files_have_no_endpoints() {
        assert_eq!(ApiRules::from_yaml("").unwrap(), ApiRules::default());
        assert_eq!(
            ApiRules::from_yaml("endpoints: []")
                .unwrap()
                .endpoints
                .len(),
            0
        );
    }

    #[test]
    fn errors_say_where() {
        let cases = [
            ("endpoint: []", "unknown field `endpoint`"),
            ("- a", "must be a map"),
            (
                "endpoints: [{pathTemplate: /a, allowedMethod: [GET]}]",
                "at endpoints[0] (/a): unknown field `allowedMethod`",
            ),
            ("endpoints: [{allowedMethods: [GET]}]", "endpoints[0]: needs `pathTemplate` or `pathRegex`"),
            ("endpoints: [{pathTemplate: /a, pathRegex: /a}]", "both"),
            ("endpoints: [x]", "endpoints[0]: an endpoint must be a map"),
            ("endpoints: [{pathRegex: '/a('}]", "invalid pathRegex `/a(`"),
            (
                r"endpoints: [{pathRegex: '/a/\X'}]",
                r"endpoints[0] (/a/\X): invalid pathRegex `/a/\X`: `\X` (grapheme cluster) has no equivalent",
            ),
            (
                r"endpoints: [{pathTemplate: /a, queryParamSchemas: {q: {pattern: '\p{InGreek}'}}}]",
                "endpoints[0] (/a).queryParamSchemas.q: invalid pattern",
            ),
            ("endpoints: [{pathTemplate: '/a/{id'}]", "unclosed"),
            (
                "endpoints: [{pathTemplate: /a}, {pathTemplate: /b, transforms: [!<redact> {jsonPaths: ['$..[']}]}]",
                "endpoints[1] (/b).transforms[0]: invalid JSONPath `$..[`",
            ),
            (
                "endpoints: [{pathTemplate: /a, responseSchema: {type: object, properties: {a: {minLength: 1}}}}]",
                "endpoints[0] (/a).responseSchema: unknown field `minLength`",
            ),
            (
                "endpoints: [{pathTemplate: /a, augments: [!<textDigest> {jsonPaths: [$.a], typo: 1}]}]",
                "endpoints[0] (/a).augments[0]: unknown field `typo`",
            ),
            (
                "endpoints: [{pathTemplate: /a, queryParamSchemas: {n: {format: email}}}]",
                "endpoints[0] (/a).queryParamSchemas.n",
            ),
            (
                "endpoints: [{pathTemplate: '/a/{id}', pathParameterSchemas: {ID: {type: integer}}}]",
                "`ID` is not a parameter of the path (it has: id)",
            ),
            (
                "endpoints: [{pathTemplate: /a, responseSchema: {type: object, propertie: {}}}]",
                "endpoints[0] (/a).responseSchema: unknown field `propertie`",
            ),
            (
                "endpoints: [{pathTemplate: /a, responseSchema: {items: {$ref: '#/definitions/nope'}}}]",
                "endpoints[0] (/a).responseSchema.items.$ref",
            ),
            ("definitions: {a: {$ref: '#/x'}}", "definitions.a.$ref"),
            ("definitions: {a: {typo: 1}}", "definitions.a: unknown field `typo`"),
        ];
        for (yaml, needle) in cases {
            let e = err(yaml);
            assert!(e.contains(needle), "{yaml}\n  -> {e}");
        }
    }

    #[test]
    fn from_file_reports_missing_file() {
        let e = ApiRules::from_file(Path::new("/nonexistent/rules.yaml")).unwrap_err();
        assert!(matches!(e, ApiRulesError::Read { .. }), "{e}");
    }
}
