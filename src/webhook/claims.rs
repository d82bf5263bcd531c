//! Claims bound to content (`jwtClaimsToVerify`): a claim named by the rules must be in the
//! token, and every value its `payloadContents` paths select in a payload, and every value of
//! its `queryParam`, must equal it. As in Psoxy, a path that selects nothing (or `null`) and
//! an absent query parameter are not checked; unlike Psoxy, every match of a path is checked
//! (not only the first), and the rule set's claims apply as well as the endpoint's.

use serde_json::{Map, Value};

use crate::rules::webhook::{ClaimSpec, WebhookRules};

/// The claim checks of the collector, compiled from its rules.
#[derive(Debug, Clone, Default)]
pub struct ClaimChecks {
    checks: Vec<(String, ClaimSpec)>,
}

/// Why the claims do not bind to the request (each a 401). Names the claim and the rule's
/// path or parameter, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefusal {
    /// The token lacks a claim the rules name.
    #[error("the token has no `{0}` claim, which the rules require")]
    Missing(String),
    /// A payload value differs from the claim.
    #[error("claim `{claim}` does not match the payload at {path}")]
    Payload {
        /// The claim.
        claim: String,
        /// The rule's JSONPath.
        path: String,
    },
    /// A query parameter differs from the claim.
    #[error("claim `{claim}` does not match query parameter `{param}`")]
    Query {
        /// The claim.
        claim: String,
        /// The parameter.
        param: String,
    },
}

impl ClaimChecks {
    /// The checks of `rules`: the rule set's, then the endpoint's (an endpoint's spec for the
    /// same claim is checked too).
    pub fn compile(rules: &WebhookRules) -> ClaimChecks {
        let mut checks: Vec<(String, ClaimSpec)> = rules
            .jwt_claims_to_verify
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for endpoint in &rules.endpoints {
            checks.extend(
                endpoint
                    .jwt_claims_to_verify
                    .iter()
                    .map(|(n, s)| (n.clone(), s.clone())),
            );
        }
        ClaimChecks { checks }
    }

    /// Whether any claim is to be checked.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Checks `claims` against the payload documents and the query pairs.
    pub fn check(
        &self,
        claims: &Map<String, Value>,
        documents: &[Value],
        query: &[(String, String)],
    ) -> Result<(), ClaimRefusal> {
        for (name, spec) in &self.checks {
            let claim = claims
                .get(name)
                .filter(|v| !v.is_null())
                .ok_or_else(|| ClaimRefusal::Missing(name.clone()))?;
            for path in &spec.payload_contents {
                for doc in documents {
                    for found in path.select(doc) {
                        if !found.is_null() && !same(found, claim) {
                            return Err(ClaimRefusal::Payload {
                                claim: name.clone(),
                                path: path.as_str().to_owned(),
                            });
                        }
                    }
                }
            }
            if let Some(param) = &spec.query_param {
                for (_, value) in query.iter().filter(|(n, _)| n == param) {
                    if !same(&Value::String(value.clone()), claim) {
                        return Err(ClaimRefusal::Query {
                            claim: name.clone(),
                            param: param.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A payload value equals a claim: equal JSON, or equal text when one is a string and the
/// other a number or boolean (`"42"` and `42`). Containers equal only equal containers.
fn same(found: &Value, claim: &Value) -> bool {
    if found == claim {
        return true;
    }
    match (scalar_text(found), scalar_text(claim)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checks() -> ClaimChecks {
        ClaimChecks::compile(
            &WebhookRules::from_yaml(
                "jwtClaimsToVerify: {iss: {payloadContents: ['$.source']}}\nendpoints:\n  - jwtClaimsToVerify:\n      sub: {payloadContents: ['$.actor.id', '$.items[*].by'], queryParam: actor}\n",
            )
            .unwrap(),
        )
    }

    fn claims(sub: Value) -> Map<String, Value> {
        json!({"iss": "acme", "sub": sub})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn claims_bind_to_payload_and_query() {
        let c = checks();
        let doc =
            json!({"source": "acme", "actor": {"id": "u1"}, "items": [{"by": "u1"}, {"by": null}]});
        assert_eq!(
            c.check(&claims(json!("u1")), std::slice::from_ref(&doc), &[]),
            Ok(())
        );
        // Absent paths and parameters are not checked.
        assert_eq!(c.check(&claims(json!("u1")), &[json!({})], &[]), Ok(()));
        // A number claim matches its text.
        let numeric = json!({"actor": {"id": "42"}});
        assert_eq!(c.check(&claims(json!(42)), &[numeric], &[]), Ok(()));
        let other = json!({"actor": {"id": "u1"}, "items": [{"by": "u2"}]});
        assert_eq!(
            c.check(&claims(json!("u1")), &[other], &[]),
            Err(ClaimRefusal::Payload {
                claim: "sub".into(),
                path: "$.items[*].by".into()
            })
        );
        let q = vec![("actor".to_owned(), "u2".to_owned())];
        assert!(matches!(
            c.check(&claims(json!("u1")), std::slice::from_ref(&doc), &q),
            Err(ClaimRefusal::Query { .. })
        ));
        let mut no_sub = claims(json!("u1"));
        no_sub.remove("sub");
        assert_eq!(
            c.check(&no_sub, &[doc], &[]),
            Err(ClaimRefusal::Missing("sub".into()))
        );
        // The rule set's claim is checked too.
        let wrong_source = json!({"source": "other"});
        assert!(matches!(
            c.check(&claims(json!("u1")), &[wrong_source], &[]),
            Err(ClaimRefusal::Payload { claim, .. }) if claim == "iss"
        ));
    }
}
