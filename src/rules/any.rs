//! Rules of either mode, told apart by parsing the file.

use std::path::Path;

use serde_yaml::Value;

use super::api::{ApiRules, ApiRulesError, API_RULES_KEYS};
use super::text::decode_envelope;
use super::webhook::{WebhookRules, WebhookRulesError};
use super::{parse_rules_yaml, BulkRules, RulesError};

/// A rules file of any mode, told apart by parsing it: webhook rules have
/// `jwtClaimsToVerify` (at the top or in their endpoint), API rules a top-level `endpoints`,
/// `allowedRequestHeaders` or `definitions`.
#[derive(Debug)]
pub enum AnyRules {
    /// Bulk rules (columnar, record or multi-type).
    Bulk(Box<BulkRules>),
    /// API rules (`Rules2`).
    Api(ApiRules),
    /// Webhook collector rules (`WebhookCollectionRules`).
    Webhook(WebhookRules),
}

/// A rules file of either mode that does not load.
#[derive(Debug, thiserror::Error)]
pub enum AnyRulesError {
    /// As bulk rules.
    #[error(transparent)]
    Bulk(#[from] RulesError),
    /// As API rules.
    #[error(transparent)]
    Api(#[from] ApiRulesError),
    /// As webhook rules.
    #[error(transparent)]
    Webhook(#[from] WebhookRulesError),
}

/// Reads a rules file of either mode (any of the accepted encodings).
pub fn load_any_rules_file(path: &Path) -> Result<AnyRules, AnyRulesError> {
    let bytes = std::fs::read(path).map_err(|source| RulesError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_any_rules_yaml(&decode_envelope(&bytes)?)
}

/// Parses rules of either mode from YAML text, told apart by their top-level keys.
pub fn parse_any_rules_yaml(text: &str) -> Result<AnyRules, AnyRulesError> {
    let is_webhook = super::yaml_tags::parse_with_verbatim_tags(text)
        .is_ok_and(|v| WebhookRules::looks_like(&v));
    if is_webhook {
        return Ok(AnyRules::Webhook(WebhookRules::from_yaml(text)?));
    }
    let is_api = matches!(
        serde_yaml::from_str::<Value>(text),
        Ok(Value::Mapping(m)) if API_RULES_KEYS.iter().any(|k| m.contains_key(*k))
    );
    Ok(if is_api {
        AnyRules::Api(ApiRules::from_yaml(text)?)
    } else {
        AnyRules::Bulk(Box::new(parse_rules_yaml(text)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_mode_is_recognised_by_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let api = dir.path().join("api.yaml");
        std::fs::write(
            &api,
            "# endpoints: in a comment\nendpoints:\n  - pathTemplate: /x\n",
        )
        .unwrap();
        assert!(
            matches!(load_any_rules_file(&api).unwrap(), AnyRules::Api(r) if r.endpoints.len() == 1)
        );
        let indented = dir.path().join("indented.yaml");
        std::fs::write(
            &indented,
            "{allowedRequestHeaders: [If-None-Match], endpoints: []}",
        )
        .unwrap();
        assert!(matches!(
            load_any_rules_file(&indented).unwrap(),
            AnyRules::Api(_)
        ));
        let bulk = dir.path().join("bulk.yaml");
        std::fs::write(&bulk, "columnsToRedact: [endpoints]\n").unwrap();
        assert!(matches!(
            load_any_rules_file(&bulk).unwrap(),
            AnyRules::Bulk(_)
        ));
    }
}
