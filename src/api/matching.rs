//! Deciding which endpoint of the rules, if any, allows a request (default deny).
//!
//! Endpoints are tried in file order and the first whose every condition holds wins:
//! the path (`pathTemplate` against the path, `pathRegex` against `path?query`), the method
//! (`allowedMethods`), the query parameter names (`allowedQueryParams`) and the parameter
//! values (`queryParamSchemas`, `pathParameterSchemas`). A request no endpoint allows is
//! blocked, with each path-matching endpoint's reason for refusing it.
//!
//! Reasons name parameters but never hold request values, so they can go to logs.

use std::fmt;

use super::decode::{decode_path_part, parse_query, QueryPair};
use crate::rules::api::{ApiRules, Endpoint, EndpointPath, ParamProblem, ParamSchema};

/// Rules ready to decide requests.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: ApiRules,
}

/// The endpoint that allows a request, with the request's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointMatch<'a> {
    /// Position of the endpoint in the rules.
    pub index: usize,
    /// The endpoint.
    pub endpoint: &'a Endpoint,
    /// Path parameters (template placeholders or named regex groups), percent-decoded,
    /// in path order; an optional placeholder or group that matched nothing has `""`.
    pub path_params: Vec<RequestParam>,
    /// Query parameters, percent-decoded, in request order.
    pub query_params: Vec<RequestParam>,
}

/// One path or query parameter of a matched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParam {
    /// Its name.
    pub name: String,
    /// Its percent-decoded value.
    pub value: String,
    /// Its schema has `format: reversible-pseudonym`: a `p~` token in it is to be decrypted
    /// before the request is forwarded.
    pub reversible: bool,
}

/// A request no endpoint allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Why each endpoint whose path matched refused the request, in rule order; empty when
    /// no endpoint's path matched.
    pub rejections: Vec<Rejection>,
}

/// One endpoint's refusal of a request whose path it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Position of the endpoint in the rules.
    pub endpoint: usize,
    /// Its `pathTemplate` or `pathRegex`.
    pub path: String,
    /// Why it refused.
    pub reason: RejectReason,
}

/// Why an endpoint refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The method is not in `allowedMethods`.
    MethodNotAllowed,
    /// A query parameter not in `allowedQueryParams`.
    QueryParamNotAllowed(String),
    /// A query parameter value its schema refuses.
    InvalidQueryParam {
        /// The parameter.
        name: String,
        /// What is wrong with its value.
        problem: ParamProblem,
    },
    /// A path parameter value its schema refuses.
    InvalidPathParam {
        /// The parameter.
        name: String,
        /// What is wrong with its value.
        problem: ParamProblem,
    },
    /// The `pathRegex` could not be evaluated (the backtracking engine's limit).
    PathRegexError,
    /// The body does not satisfy the endpoint's `requestBody` rule.
    RequestBody,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::MethodNotAllowed => f.write_str("method not allowed"),
            RejectReason::QueryParamNotAllowed(n) => {
                write!(f, "query parameter `{n}` not allowed")
            }
            RejectReason::InvalidQueryParam { name, problem } => {
                write!(f, "query parameter `{name}` {problem}")
            }
            RejectReason::InvalidPathParam { name, problem } => {
                write!(f, "path parameter `{name}` {problem}")
            }
            RejectReason::PathRegexError => f.write_str("pathRegex could not be evaluated"),
            RejectReason::RequestBody => {
                f.write_str("the body does not satisfy its requestBody rule")
            }
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rejections.is_empty() {
            return f.write_str("blocked by rules: no endpoint matches the path");
        }
        f.write_str("blocked by rules: ")?;
        for (i, r) in self.rejections.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "endpoints[{}] ({}): {}", r.endpoint, r.path, r.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for Blocked {}

impl Matcher {
    /// A matcher over loaded rules (all patterns were compiled when loading).
    pub fn new(rules: ApiRules) -> Matcher {
        Matcher { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &ApiRules {
        &self.rules
    }

    /// The first endpoint, in file order, that allows `method` on `path` with the raw query
    /// string `query` (without `?`; `None` or empty when there is none), or why none does.
    pub fn decide(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
    ) -> Result<EndpointMatch<'_>, Blocked> {
        let query = query.filter(|q| !q.is_empty());
        let query_pairs = query.map(parse_query).unwrap_or_default();
        let mut rejections = Vec::new();
        for (index, endpoint) in self.rules.endpoints.iter().enumerate() {
            let reject = |reason| Rejection {
                endpoint: index,
                path: endpoint.path.as_str().to_owned(),
                reason,
            };
            let raw_params = match path_params(&endpoint.path, path, query) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(reason) => {
                    rejections.push(reject(reason));
                    continue;
                }
            };
            match check_endpoint(endpoint, method, raw_params, &query_pairs) {
                Ok((path_params, query_params)) => {
                    return Ok(EndpointMatch {
                        index,
                        endpoint,
                        path_params,
                        query_params,
                    })
                }
                Err(reason) => rejections.push(reject(reason)),
            }
        }
        Err(Blocked { rejections })
    }
}

/// The raw path parameters when the endpoint's path matches (`None` when it does not).
fn path_params<'p>(
    endpoint_path: &'p EndpointPath,
    path: &str,
    query: Option<&str>,
) -> Result<Option<Vec<(&'p str, String)>>, RejectReason> {
    match endpoint_path {
        EndpointPath::Template(template) => Ok(template.captures(path).map(|values| {
            template
                .params()
                .iter()
                .zip(values)
                .map(|(p, v)| (p.name.as_str(), v.to_owned()))
                .collect()
        })),
        EndpointPath::Regex(pattern) => {
            let target = match query {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            let caps = pattern
                .regex()
                .captures(&target)
                .map_err(|_| RejectReason::PathRegexError)?;
            Ok(caps.map(|caps| {
                pattern
                    .group_names()
                    .map(|name| {
                        let value = caps.name(name).map_or("", |m| m.as_str()).to_owned();
                        (name, value)
                    })
                    .collect()
            }))
        }
    }
}

type Params = (Vec<RequestParam>, Vec<RequestParam>);

/// Checks everything but the path; returns the decoded path and query parameters.
///
/// As in Psoxy (SPEC-API-PARITY 1.2, 3.3): query parameter names are compared with
/// `allowedQueryParams` and the `queryParamSchemas` keys ignoring case; path parameter values
/// are checked as they appear in the URL, before percent-decoding.
fn check_endpoint(
    endpoint: &Endpoint,
    method: &str,
    raw_path_params: Vec<(&str, String)>,
    query_pairs: &[QueryPair],
) -> Result<Params, RejectReason> {
    if let Some(methods) = &endpoint.allowed_methods {
        if !methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return Err(RejectReason::MethodNotAllowed);
        }
    }
    if let Some(allowed) = &endpoint.allowed_query_params {
        if let Some(pair) = query_pairs
            .iter()
            .find(|p| !allowed.iter().any(|a| a.eq_ignore_ascii_case(&p.name)))
        {
            return Err(RejectReason::QueryParamNotAllowed(pair.name.clone()));
        }
    }
    for (name, schema) in &endpoint.path_parameter_schemas {
        let value = raw_path_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| raw.as_str())
            .filter(|raw| !raw.is_empty());
        schema
            .check(value)
            .map_err(|problem| RejectReason::InvalidPathParam {
                name: name.clone(),
                problem,
            })?;
    }
    let path_params: Vec<RequestParam> = raw_path_params
        .into_iter()
        .map(|(name, raw)| RequestParam {
            name: name.to_owned(),
            value: decode_path_part(&raw),
            reversible: is_reversible(&endpoint.path_parameter_schemas, name),
        })
        .collect();
    for (name, schema) in &endpoint.query_param_schemas {
        let invalid = |problem| RejectReason::InvalidQueryParam {
            name: name.clone(),
            problem,
        };
        let mut values = query_pairs
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(name))
            .filter_map(|p| p.value.as_deref())
            .peekable();
        if values.peek().is_none() {
            schema.check(None).map_err(invalid)?;
        }
        for value in values {
            schema.check(Some(value)).map_err(invalid)?;
        }
    }
    let query_params = query_pairs
        .iter()
        .map(|p| RequestParam {
            name: p.name.clone(),
            value: p.value.clone().unwrap_or_default(),
            reversible: is_reversible_ignoring_case(&endpoint.query_param_schemas, &p.name),
        })
        .collect();
    Ok((path_params, query_params))
}

fn is_reversible(schemas: &indexmap::IndexMap<String, ParamSchema>, name: &str) -> bool {
    schemas.get(name).is_some_and(ParamSchema::is_reversible)
}

fn is_reversible_ignoring_case(
    schemas: &indexmap::IndexMap<String, ParamSchema>,
    name: &str,
) -> bool {
    schemas
        .iter()
        .any(|(key, schema)| key.eq_ignore_ascii_case(name) && schema.is_reversible())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::api::ParamType;

    fn matcher(yaml: &str) -> Matcher {
        Matcher::new(ApiRules::from_yaml(yaml).unwrap())
    }

    /// The index of the allowing endpoint, or `None` when blocked.
    fn which(m: &Matcher, method: &str, target: &str) -> Option<usize> {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        m.decide(method, path, query).ok().map(|e| e.index)
    }

    fn blocked(m: &Matcher, method: &str, path: &str, query: Option<&str>) -> Blocked {
        m.decide(method, path, query).unwrap_err()
    }

    #[test]
    fn first_match_in_file_order_wins() {
        let m = matcher(
            "endpoints:\n  - pathTemplate: /a/{id}\n    allowedMethods: [POST]\n  - pathTemplate: /a/{x}\n  - pathTemplate: /a/b\n",
        );
        assert_eq!(which(&m, "POST", "/a/b"), Some(0));
        assert_eq!(which(&m, "GET", "/a/b"), Some(1));
        assert_eq!(which(&m, "GET", "/b"), None);
    }

    #[test]
    fn template_params_and_optional_segments() {
        let m = matcher("endpoints:\n  - pathTemplate: /users/{id}/files/{path?}\n");
        let hit = m.decide("GET", "/users/a%40b.com/files/", None).unwrap();
        assert_eq!(hit.path_params[0].name, "id");
        assert_eq!(hit.path_params[0].value, "a@b.com");
        assert_eq!(hit.path_params[1].value, "");
        assert_eq!(which(&m, "GET", "/users//files/x"), None);
        assert_eq!(which(&m, "GET", "/users/1/files"), None);
        assert_eq!(which(&m, "GET", "/USERS/1/Files/x"), Some(0));
    }

    #[test]
    fn template_ignores_query_for_the_path() {
        let m = matcher("endpoints:\n  - pathTemplate: /a\n");
        assert_eq!(which(&m, "GET", "/a?x=1"), Some(0));
        assert_eq!(which(&m, "GET", "/a/"), None);
    }

    #[test]
    fn regex_with_look_ahead_against_path_and_query() {
        let m = matcher(
            "endpoints:\n  - pathRegex: '^/v1/users(?!/secret).*'\n  - pathRegex: '/v2/items\\?(?=.*\\blimit=)[^#]*'\n",
        );
        assert_eq!(which(&m, "GET", "/v1/users"), Some(0));
        assert_eq!(which(&m, "GET", "/v1/users/42?x=1"), Some(0));
        assert_eq!(which(&m, "GET", "/V1/Users/42"), Some(0));
        assert_eq!(which(&m, "GET", "/v1/users/secret"), None);
        assert_eq!(which(&m, "GET", "/v1/users/SECRET/x"), None);
        assert_eq!(which(&m, "GET", "/x/v1/users"), None);
        // The query takes part in a regex match; the look-ahead requires `limit`.
        assert_eq!(which(&m, "GET", "/v2/items?a=1&limit=5"), Some(1));
        assert_eq!(which(&m, "GET", "/v2/items?a=1"), None);
        assert_eq!(which(&m, "GET", "/v2/items"), None);
        // An empty query is no query: the regex sees just the path.
        let anchored = matcher("endpoints:\n  - pathRegex: '/p'\n");
        assert_eq!(which(&anchored, "GET", "/p?"), Some(0));
        assert_eq!(which(&anchored, "GET", "/p?a=1"), None);
    }

    #[test]
    fn regex_named_groups_are_path_params() {
        let m = matcher(
            "endpoints:\n  - pathRegex: '/u/(?<user>[^/?]+)(/(?<rest>.*))?'\n    pathParameterSchemas:\n      user: {anyOf: [{pattern: 'p~.*'}]}\n",
        );
        let hit = m.decide("GET", "/u/p~abc%3D", None).unwrap();
        assert_eq!(
            hit.path_params,
            [
                RequestParam {
                    name: "user".into(),
                    value: "p~abc=".into(),
                    reversible: false
                },
                RequestParam {
                    name: "rest".into(),
                    value: "".into(),
                    reversible: false
                },
            ]
        );
    }

    #[test]
    fn methods_are_case_insensitive_and_any_when_absent() {
        let m = matcher("endpoints:\n  - {pathTemplate: /a, allowedMethods: [get, HEAD]}\n  - {pathTemplate: /b}\n");
        assert_eq!(which(&m, "GET", "/a"), Some(0));
        assert_eq!(which(&m, "head", "/a"), Some(0));
        assert_eq!(which(&m, "POST", "/a"), None);
        assert_eq!(which(&m, "DELETE", "/b"), Some(1));
        let b = blocked(&m, "POST", "/a", None);
        assert_eq!(b.rejections[0].reason, RejectReason::MethodNotAllowed);
        assert_eq!(
            b.to_string(),
            "blocked by rules: endpoints[0] (/a): method not allowed"
        );
    }

    #[test]
    fn query_allow_lists() {
        let m = matcher(
            "endpoints:\n  - {pathTemplate: /any}\n  - {pathTemplate: /none, allowedQueryParams: []}\n  - {pathTemplate: /some, allowedQueryParams: [page, per_page]}\n",
        );
        assert_eq!(which(&m, "GET", "/any?x=1&y"), Some(0));
        assert_eq!(which(&m, "GET", "/none"), Some(1));
        assert_eq!(which(&m, "GET", "/none?"), Some(1));
        assert_eq!(which(&m, "GET", "/none?x=1"), None);
        assert_eq!(which(&m, "GET", "/some?page=2&per_page=50"), Some(2));
        assert_eq!(which(&m, "GET", "/some?page=2&page=3"), Some(2));
        assert_eq!(which(&m, "GET", "/some?per%5Fpage=5"), Some(2));
        // Names are compared ignoring case (Psoxy 0.6.9), `;` separates too.
        assert_eq!(which(&m, "GET", "/some?page=2&Page=3"), Some(2));
        assert_eq!(which(&m, "GET", "/some?PAGE=2;per_page=3"), Some(2));
        assert_eq!(which(&m, "GET", "/some?page=2;email=x"), None);
        let foo = matcher("endpoints:\n  - {pathTemplate: '/api/v1/users/{id}', allowedQueryParams: [foo]}\n  - {pathTemplate: /g, allowedQueryParams: [$top]}\n");
        for (target, allowed) in [
            ("/api/v1/users/1?foo=bar", Some(0)),
            ("/api/v1/users/1?FOO=bar", Some(0)),
            ("/api/v1/users/1?Foo=bar", Some(0)),
            ("/api/v1/users/1?Foo=bar&BAR=baz", None),
            ("/api/v1/users/1?bar=foo", None),
            ("/g?$TOP=10", Some(1)),
            ("/g?%24top=10", Some(1)),
        ] {
            assert_eq!(which(&foo, "GET", target), allowed, "{target}");
        }
        let b = blocked(&m, "GET", "/some", Some("page=1&email=a%40b.com"));
        assert_eq!(
            b.rejections[0].reason,
            RejectReason::QueryParamNotAllowed("email".into())
        );
        // The reason names the parameter, never its value.
        assert!(!b.to_string().contains("a@b.com"), "{b}");
    }

    #[test]
    fn query_schemas() {
        let m = matcher(
            r#"
endpoints:
  - pathTemplate: /q
    queryParamSchemas:
      n: {type: integer}
      x: {type: number}
      s: {pattern: '[a-z]{2,3}'}
      e: {enum: [open, closed]}
      r: {required: true}
      u: {format: reversible-pseudonym}
"#,
        );
        assert_eq!(which(&m, "GET", "/q?r=1"), Some(0));
        let token = format!("p~{}", "a".repeat(43));
        let hit = m
            .decide(
                "GET",
                "/q",
                Some(&format!("r=1&n=3&x=2.5e1&s=abc&e=open&U={token}")),
            )
            .unwrap();
        let u = hit.query_params.iter().find(|p| p.name == "U").unwrap();
        assert!(u.reversible);
        assert_eq!(u.value, token);
        assert!(!hit.query_params[0].reversible);
        let reason = |q: &str| {
            blocked(&m, "GET", "/q", Some(q)).rejections[0]
                .reason
                .clone()
        };
        let bad = |name: &str, problem| RejectReason::InvalidQueryParam {
            name: name.into(),
            problem,
        };
        assert_eq!(reason("n=1"), bad("r", ParamProblem::Missing));
        // A bare name has no value; `r=` has the empty one.
        assert_eq!(reason("r"), bad("r", ParamProblem::Missing));
        assert_eq!(
            reason("r=&n="),
            bad("n", ParamProblem::WrongType(ParamType::Integer))
        );
        assert_eq!(
            reason("r=1&n=-3"),
            bad("n", ParamProblem::WrongType(ParamType::Integer))
        );
        assert_eq!(
            reason("r=1&u=p~x%2By"),
            bad("u", ParamProblem::NotAPseudonym)
        );
        // Schema names match ignoring case.
        assert_eq!(
            reason("r=1&N=x"),
            bad("n", ParamProblem::WrongType(ParamType::Integer))
        );
        assert_eq!(
            reason("r=1&n=1.5"),
            bad("n", ParamProblem::WrongType(ParamType::Integer))
        );
        assert_eq!(
            reason("r=1&n=1&n=x"),
            bad("n", ParamProblem::WrongType(ParamType::Integer))
        );
        assert_eq!(
            reason("r=1&x=abc"),
            bad("x", ParamProblem::WrongType(ParamType::Number))
        );
        assert_eq!(reason("r=1&s=ABC"), bad("s", ParamProblem::PatternMismatch));
        assert_eq!(
            reason("r=1&s=abcd"),
            bad("s", ParamProblem::PatternMismatch)
        );
        assert_eq!(reason("r=1&e=Open"), bad("e", ParamProblem::NotInEnum));
    }

    #[test]
    fn path_schemas() {
        let m = matcher(
            "endpoints:\n  - pathTemplate: /pulls/{number}/{sha?}\n    pathParameterSchemas:\n      number: {type: integer}\n      sha: {pattern: '[0-9a-f]{7,40}', required: true}\n  - pathTemplate: /pulls/{anything}/{rest?}\n",
        );
        assert_eq!(which(&m, "GET", "/pulls/12/abcdef0"), Some(0));
        // Refused by the first endpoint, allowed by the next one.
        assert_eq!(which(&m, "GET", "/pulls/twelve/abcdef0"), Some(1));
        let only_first = matcher(
            "endpoints:\n  - pathTemplate: /pulls/{number}/{sha?}\n    pathParameterSchemas:\n      number: {type: integer}\n      sha: {pattern: '[0-9a-f]{7,40}', required: true}\n",
        );
        let reason = |p: &str| {
            blocked(&only_first, "GET", p, None).rejections[0]
                .reason
                .clone()
        };
        assert_eq!(
            reason("/pulls/x/abcdef0"),
            RejectReason::InvalidPathParam {
                name: "number".into(),
                problem: ParamProblem::WrongType(ParamType::Integer)
            }
        );
        assert_eq!(
            reason("/pulls/1/"),
            RejectReason::InvalidPathParam {
                name: "sha".into(),
                problem: ParamProblem::Missing
            }
        );
        // Values are checked as sent, before percent-decoding (as Psoxy does): `%31%32`
        // is not an integer.
        assert_eq!(which(&only_first, "GET", "/pulls/%31%32/abcdef0"), None);
    }

    #[test]
    fn blocked_lists_every_path_match_or_none() {
        let m = matcher(
            "endpoints:\n  - {pathTemplate: /a, allowedMethods: [GET]}\n  - {pathTemplate: /b}\n  - {pathRegex: '/a(\\?.*)?', allowedQueryParams: []}\n",
        );
        let b = blocked(&m, "POST", "/a", Some("x=1"));
        assert_eq!(b.rejections.len(), 2);
        assert_eq!(b.rejections[1].endpoint, 2);
        let none = blocked(&m, "GET", "/c", None);
        assert!(none.rejections.is_empty());
        assert_eq!(
            none.to_string(),
            "blocked by rules: no endpoint matches the path"
        );
    }

    #[test]
    fn no_rules_block_everything() {
        let m = matcher("");
        assert_eq!(which(&m, "GET", "/"), None);
        assert_eq!(m.rules().endpoints.len(), 0);
    }
}
