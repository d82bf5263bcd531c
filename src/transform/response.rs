//! An API endpoint's response sanitizing, compiled: its `augments`, its `responseSchema`
//! allow-list, then its `transforms` in order (SPEC-API "Response", SPEC-API-PARITY 1.1),
//! all from the shared core.
//!
//! A [`ResponsePlan`] is compiled once per endpoint when the rules load; everything that
//! could fail for a reason other than the response itself (an unknown method, a bad
//! parameter or regex, a `$ref` to nowhere, a transform that needs an encryption key the
//! deployment does not have) fails then, not per request.

use indexmap::IndexMap;
use serde_json::Value;

use super::augment::AugmentPlan;
use super::ops::{definition, BuildError};
use super::program::{Program, Step, StepError};
use super::schema::CompiledSchema;
use super::PlanError;
use crate::pseudonym::Pseudonymizer;
use crate::rules::api::{Endpoint, TransformSpec};
use crate::rules::SchemaNode;

/// An endpoint's response sanitizing, compiled.
#[derive(Debug)]
pub struct ResponsePlan {
    augments: AugmentPlan,
    schema: Option<CompiledSchema>,
    program: Program,
}

/// An endpoint whose response plan does not compile.
#[derive(Debug, thiserror::Error)]
pub enum ResponsePlanError {
    /// A transform does not build: `at` is `transforms[j]` of the endpoint.
    #[error("{at}: {source}")]
    Transform {
        /// Where, relative to the endpoint.
        at: String,
        /// Why.
        source: BuildError,
    },
    /// The `responseSchema` does not compile.
    #[error("responseSchema: {0}")]
    Schema(#[source] PlanError),
}

/// Builds a list of transforms (an API endpoint's, a webhook endpoint's) into a program; an
/// error names the transform as `transforms[j]`.
pub fn compile_transforms(specs: &[TransformSpec]) -> Result<Program, ResponsePlanError> {
    let mut steps = Vec::with_capacity(specs.len());
    for (j, spec) in specs.iter().enumerate() {
        let op = match definition(&spec.method) {
            None => Err(BuildError::Unknown(spec.method.clone())),
            Some(d) => (d.build)(spec.params.clone()),
        }
        .map_err(|source| ResponsePlanError::Transform {
            at: format!("transforms[{j}]"),
            source,
        })?;
        steps.push(Step::new(
            op,
            spec.json_paths.clone(),
            spec.apply_only_when.clone(),
        ));
    }
    Ok(Program::new(steps))
}

impl ResponsePlan {
    /// Compiles `endpoint`'s schema (against the rule set's `definitions`) and builds its
    /// transforms.
    pub fn compile(
        endpoint: &Endpoint,
        definitions: &IndexMap<String, SchemaNode>,
    ) -> Result<Self, ResponsePlanError> {
        let program = compile_transforms(&endpoint.transforms)?;
        let schema = endpoint
            .response_schema
            .as_ref()
            .map(|root| CompiledSchema::compile_response(root, definitions))
            .transpose()
            .map_err(ResponsePlanError::Schema)?;
        Ok(ResponsePlan {
            augments: AugmentPlan::compile(&endpoint.augments),
            schema,
            program,
        })
    }

    /// Checks that the transforms can run with `pseudonymizer`: those making reversible
    /// tokens need an encryption key.
    pub fn check_keys(&self, pseudonymizer: &Pseudonymizer) -> Result<(), PlanError> {
        match self.program.first_reversible() {
            Some((index, op)) if !pseudonymizer.has_encryption_key() => {
                Err(PlanError::ResponseNeedsKey { index, op })
            }
            _ => Ok(()),
        }
    }

    /// Whether the plan changes anything (an endpoint with neither schema nor transforms
    /// passes responses through as they are).
    pub fn is_identity(&self) -> bool {
        self.schema.is_none() && self.program.is_empty() && self.augments.is_empty()
    }

    /// The names of the transforms, in order (for reports).
    pub fn methods(&self) -> Vec<&'static str> {
        self.program.steps().iter().map(|s| s.op().name()).collect()
    }

    /// Sanitizes `doc` in place: augments, then the schema filter (which passes the `+` keys
    /// the augments added), then the transforms.
    pub fn apply(&self, doc: &mut Value, p: &Pseudonymizer) -> Result<(), StepError> {
        let augmented = self.augments.apply(doc);
        if let Some(schema) = &self.schema {
            let v = std::mem::take(doc);
            *doc = schema.filter_response(v, augmented);
        }
        self.program.apply(doc, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::PseudonymSettings;
    use crate::rules::api::ApiRules;
    use serde_json::json;

    fn pseudonymizer() -> Pseudonymizer {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            encryption_key: Some("secret".into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn plan(rules: &str) -> Result<ResponsePlan, ResponsePlanError> {
        let rules = ApiRules::from_yaml(rules).unwrap();
        ResponsePlan::compile(&rules.endpoints[0], &rules.definitions)
    }

    fn run(rules: &str, mut doc: Value) -> Value {
        let p = pseudonymizer();
        let plan = plan(rules).unwrap();
        plan.check_keys(&p).unwrap();
        plan.apply(&mut doc, &p).unwrap();
        doc
    }

    fn endpoint(transforms: &str) -> String {
        format!("endpoints:\n  - pathTemplate: /x\n    transforms:\n{transforms}")
    }

    #[test]
    fn reversible_tokens_decrypt_to_the_original() {
        let p = pseudonymizer();
        let out = run(
            &endpoint("      - !<pseudonymize> {jsonPaths: ['$.login'], includeReversible: true}\n      - !<tokenize> {jsonPaths: ['$.next'], regex: '^https://api\\.example\\.com/(.*)$'}\n"),
            json!({"login": "octocat", "next": "https://api.example.com/users?page=2"}),
        );
        let login = out["login"].as_str().unwrap();
        assert!(login.starts_with("p~"), "{login}");
        assert_eq!(p.decrypt(login).unwrap(), "octocat");
        let next = out["next"].as_str().unwrap();
        let token = next.strip_prefix("https://api.example.com/").unwrap();
        assert_eq!(p.decrypt(token).unwrap(), "users?page=2");
    }

    #[test]
    fn schema_runs_before_transforms_and_apply_only_when_gates() {
        let out = run(
            "endpoints:\n  - pathTemplate: /x\n    responseSchema: {type: object, properties: {kind: {type: string}, email: {type: string}}}\n    transforms:\n      - !<pseudonymize> {jsonPaths: [$.email], applyOnlyWhen: '$.members'}\n",
            json!({"kind": "group", "email": "g@acme.com", "name": "G"}),
        );
        assert_eq!(out, json!({"kind": "group", "email": "g@acme.com"}));
    }

    #[test]
    fn reversible_rules_need_a_key() {
        let plan = plan(&endpoint(
            "      - !<pseudonymize> {jsonPaths: [$.a], includeReversible: true}\n",
        ))
        .unwrap();
        let p = Pseudonymizer::salted("salt");
        let e = plan.check_keys(&p).unwrap_err();
        assert!(e.to_string().contains("PSOXY_ENCRYPTION_KEY"), "{e}");
    }

    #[test]
    fn build_errors_name_the_transform_and_the_problem() {
        let cases = [
            (
                "      - !<pseudonymize> {jsonPaths: [$.a], encodng: JSON}\n",
                "encodng",
            ),
            ("      - !<redact> {jsonPaths: [$.a], regex: x}\n", "regex"),
            (
                "      - !<pseudonymise> {jsonPaths: [$.a]}\n",
                "unknown transform `pseudonymise`",
            ),
            (
                "      - !<redactRegexMatches> {jsonPaths: [$.a], redactions: ['(']}\n",
                "invalid regex `(`",
            ),
            (
                "      - !<pseudonymizeRegexMatches> {jsonPaths: [$.a]}\n",
                "regex",
            ),
            (
                "      - !<pseudonymize> {jsonPaths: [$.a], encoding: BASE64}\n",
                "BASE64",
            ),
        ];
        for (yaml, needle) in cases {
            let e = plan(&endpoint(yaml)).unwrap_err().to_string();
            assert!(
                e.starts_with("transforms[0]: ") && e.contains(needle),
                "{yaml}: {e}"
            );
        }
    }
}
