//! API rules loaded and compiled: the rule-file model (which requests are allowed,
//! [`crate::rules::api`]) with one response plan per endpoint ([`crate::transform`]), so a
//! bad transform fails when the proxy starts, naming it.

use std::path::Path;

use super::body::{BodyRuleError, CompiledBodyRule};
use crate::rules::api::{ApiRules, ApiRulesError};
use crate::transform::{ResponsePlan, ResponsePlanError};

/// A loaded, compiled API rule set.
#[derive(Debug)]
pub struct ApiRuleSet {
    /// The rules (endpoints in file order, allowed headers, definitions).
    pub rules: ApiRules,
    /// The response plan of each endpoint, in the same order.
    pub plans: Vec<ResponsePlan>,
    /// The `requestBody` rule of each endpoint, compiled (`None`: any body), in the same order.
    pub bodies: Vec<Option<CompiledBodyRule>>,
}

/// API rules that do not load or do not compile.
#[derive(Debug, thiserror::Error)]
pub enum RuleSetError {
    /// The file is not valid API rules.
    #[error(transparent)]
    Rules(#[from] ApiRulesError),
    /// An endpoint's transforms or schema do not compile.
    #[error("invalid API rules at {endpoint}.{source}")]
    Plan {
        /// `endpoints[i] (path)`.
        endpoint: String,
        /// Why.
        source: ResponsePlanError,
    },
    /// An endpoint's `requestBody` does not compile.
    #[error("invalid API rules at {endpoint}.requestBody.{source}")]
    Body {
        /// `endpoints[i] (path)`.
        endpoint: String,
        /// Why.
        source: BodyRuleError,
    },
}

impl ApiRuleSet {
    /// Compiles `rules`.
    pub fn compile(rules: ApiRules) -> Result<ApiRuleSet, RuleSetError> {
        let plans = rules
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                ResponsePlan::compile(e, &rules.definitions).map_err(|source| RuleSetError::Plan {
                    endpoint: e.label(i),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        let bodies = rules
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.request_body
                    .as_ref()
                    .map(CompiledBodyRule::compile)
                    .transpose()
                    .map_err(|source| RuleSetError::Body {
                        endpoint: e.label(i),
                        source,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(ApiRuleSet {
            rules,
            plans,
            bodies,
        })
    }

    /// Whether endpoint `index`'s `requestBody` rule allows a request's body
    /// (SPEC-API-PARITY 3.1.2): `content_type` is the raw header, `body` the trimmed body
    /// (`None` when there is none). An endpoint without the rule allows any body.
    pub fn body_allows(
        &self,
        index: usize,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> bool {
        body_allows(&self.bodies, index, content_type, body)
    }

    /// Loads and compiles rules from YAML, base64 of YAML, or base64 of gzipped YAML.
    pub fn from_bytes(bytes: &[u8]) -> Result<ApiRuleSet, RuleSetError> {
        ApiRuleSet::compile(ApiRules::from_bytes(bytes)?)
    }

    /// Loads and compiles YAML text.
    pub fn from_yaml(text: &str) -> Result<ApiRuleSet, RuleSetError> {
        ApiRuleSet::compile(ApiRules::from_yaml(text)?)
    }

    /// Reads, loads and compiles a rules file.
    pub fn from_file(path: &Path) -> Result<ApiRuleSet, RuleSetError> {
        ApiRuleSet::compile(ApiRules::from_file(path)?)
    }
}

/// Whether `bodies[index]` (an endpoint's compiled `requestBody`, if any) allows a body.
pub(crate) fn body_allows(
    bodies: &[Option<CompiledBodyRule>],
    index: usize,
    content_type: Option<&str>,
    body: Option<&str>,
) -> bool {
    match bodies.get(index) {
        Some(Some(rule)) => rule.allows(content_type, body),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_errors_say_where() {
        let e = ApiRuleSet::from_yaml(
            "endpoints: [{pathTemplate: /a}, {pathTemplate: /b, transforms: [!<pseudonymise> {jsonPaths: [$.a]}]}]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("invalid API rules at endpoints[1] (/b).transforms[0]: unknown transform `pseudonymise`"),
            "{e}"
        );
    }
}
