//! API rules loaded and compiled: the rule-file model (which requests are allowed,
//! [`crate::rules::api`]) with one response plan per endpoint ([`crate::transform`]), so a
//! bad transform fails when the proxy starts, naming it.

use std::path::Path;

use crate::rules::api::{ApiRules, ApiRulesError};
use crate::transform::{ResponsePlan, ResponsePlanError};

/// A loaded, compiled API rule set.
#[derive(Debug)]
pub struct ApiRuleSet {
    /// The rules (endpoints in file order, allowed headers, definitions).
    pub rules: ApiRules,
    /// The response plan of each endpoint, in the same order.
    pub plans: Vec<ResponsePlan>,
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
        Ok(ApiRuleSet { rules, plans })
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
