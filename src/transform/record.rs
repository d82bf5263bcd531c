//! RecordRules compiled into a [`Program`] of the shared operations (record dialect), then
//! the `outputSchemaFilter`.

use serde_json::Value;

use super::ops::{Effect, Operation, Pseudonymize, Redact, TextDigest, Tokenize};
use super::program::{Program, Step, StepError};
use super::schema::CompiledSchema;
use super::PlanError;
use crate::jsonpath::JsonPath;
use crate::pseudonym::Pseudonymizer;
use crate::rules::{JsonPaths, RecordRules, RecordTransform};

/// Compiled RecordRules.
#[derive(Debug)]
pub struct RecordPlan {
    program: Program,
    schema: Option<CompiledSchema>,
}

impl RecordPlan {
    /// Parses every path and checks settings the transforms need (`tokenize` needs a key).
    pub fn compile(rules: &RecordRules, pseudonymizer: &Pseudonymizer) -> Result<Self, PlanError> {
        let mut steps = Vec::with_capacity(rules.transforms.len());
        for (index, t) in rules.transforms.iter().enumerate() {
            let (paths, op): (&JsonPaths, Box<dyn Operation>) = match t {
                RecordTransform::Redact(p) => (p, Box::new(Redact::record())),
                RecordTransform::Pseudonymize(p) => (p, Box::new(Pseudonymize::record())),
                RecordTransform::Tokenize(p) => (p, Box::new(Tokenize::record())),
                RecordTransform::TextDigest(p) => (p, Box::new(TextDigest::record(None))),
                RecordTransform::TextDigestKeywords(k) => (
                    &k.json_paths,
                    Box::new(TextDigest::record(Some(k.keywords.clone()))),
                ),
            };
            if op.makes_reversible_tokens() && !pseudonymizer.has_encryption_key() {
                return Err(PlanError::RecordNeedsKey {
                    index,
                    op: op.name(),
                });
            }
            let paths = parse_paths(paths, &format!("transforms[{index}].{}", op.name()))?;
            steps.push(Step::new(op, paths, None));
        }
        let schema = rules
            .output_schema_filter
            .as_ref()
            .map(CompiledSchema::compile)
            .transpose()?;
        Ok(RecordPlan {
            program: Program::new(steps),
            schema,
        })
    }

    /// Applies every transform in order, then the output schema filter.
    pub fn apply(&self, record: &mut Value, p: &Pseudonymizer) -> Result<(), StepError> {
        self.program.apply(record, p)?;
        if let Some(schema) = &self.schema {
            let v = std::mem::take(record);
            *record = schema.filter(v);
        }
        Ok(())
    }

    /// Every path with what its transform does to the type of a matched value (for typed
    /// formats, which must know the output's types before reading any value).
    pub fn path_effects(&self) -> impl Iterator<Item = (&JsonPath, Effect)> {
        self.program.path_effects()
    }

    /// The compiled output schema filter, if the rules have one.
    pub fn schema(&self) -> Option<&CompiledSchema> {
        self.schema.as_ref()
    }

    /// The declared top-level properties of the output schema, if it declares any.
    pub fn output_properties(&self) -> Option<Vec<String>> {
        self.schema
            .as_ref()
            .and_then(CompiledSchema::top_level_properties)
    }

    /// Every path of the plan with the transform applied to it (for reports).
    pub fn describe(&self) -> Vec<(String, &'static str)> {
        self.program.describe()
    }
}

fn parse_paths(paths: &JsonPaths, at: &str) -> Result<Vec<JsonPath>, PlanError> {
    paths
        .to_vec()
        .iter()
        .map(|p| {
            JsonPath::parse(p).map_err(|source| PlanError::BadPath {
                at: at.to_string(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::PseudonymSettings;
    use crate::rules::{parse_rules_yaml, BulkRules};
    use serde_json::json;

    fn p(key: bool) -> Pseudonymizer {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            encryption_key: key.then(|| "secret".to_string()),
            ..Default::default()
        })
        .unwrap()
    }

    fn plan(yaml: &str, key: bool) -> Result<RecordPlan, PlanError> {
        match parse_rules_yaml(yaml).unwrap() {
            BulkRules::Record(r) => RecordPlan::compile(&r, &p(key)),
            other => panic!("not record rules: {other:?}"),
        }
    }

    #[test]
    fn pseudonymize_redact_and_digest_in_order() {
        let plan = plan(
            "transforms:\n  - pseudonymize: [$.email, $.id, $.missing, $.none]\n  - redact: $..name\n  - textDigest: summary\n",
            false,
        )
        .unwrap();
        let mut v: Value = serde_json::from_str(
            r#"{"email": "alice@acme.com", "id": 2, "none": null, "blank": " ",
                "people": [{"name": "A"}, {"name": "B"}], "summary": "vacation carryover rules", "n": 1.50}"#,
        )
        .unwrap();
        plan.apply(&mut v, &p(false)).unwrap();
        assert_eq!(
            v,
            json!({"email": "t~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk@acme.com",
                   "id": "t~-hN_i1M1DeMAicDVp6LhFgW9lH7r3_LbOpTlXYWpXVI", "none": null, "blank": " ",
                   "people": [{"name": null}, {"name": null}],
                   "summary": "{\"length\":24,\"word_count\":3}", "n": v["n"].clone()})
        );
        assert_eq!(
            serde_json::to_string(&v["n"]).unwrap(),
            "1.50",
            "numbers are written as read"
        );
    }

    #[test]
    fn wrong_types_are_errors_naming_the_path() {
        let plan = plan("transforms:\n  - pseudonymize: $.flag\n", false).unwrap();
        let err = plan
            .apply(&mut json!({"flag": true}), &p(false))
            .unwrap_err();
        assert_eq!(err.path, "$.flag");
        assert!(err.source.to_string().contains("boolean"), "{err}");
        let err = plan
            .apply(&mut json!({"flag": 1.5}), &p(false))
            .unwrap_err();
        assert!(err.source.to_string().contains("non-integer"), "{err}");
    }

    #[test]
    fn tokenize_needs_a_key_and_round_trips() {
        assert!(matches!(
            plan("transforms:\n  - tokenize: $.id\n", false),
            Err(PlanError::RecordNeedsKey { .. })
        ));
        let plan = plan("transforms:\n  - tokenize: $.id\n", true).unwrap();
        let mut v = json!({"id": "alice@acme.com"});
        plan.apply(&mut v, &p(true)).unwrap();
        let token = v["id"].as_str().unwrap();
        assert_eq!(
            token,
            "p~UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMnKYUk8FJevl3wvFyZY0eF-@acme.com"
        );
        assert_eq!(p(true).decrypt(token).unwrap(), "alice@acme.com");
    }

    #[test]
    fn keywords_digest_and_schema_filter() {
        let plan = plan(
            "transforms:\n  - textDigestKeywords: {keywords: [budget, hiring, absent], jsonPaths: $.t}\noutputSchemaFilter:\n  type: object\n  properties:\n    t: {type: string}\n",
            false,
        )
        .unwrap();
        let mut v = json!({"t": "Budget review: budget and Hiring", "secret": "x"});
        plan.apply(&mut v, &p(false)).unwrap();
        assert_eq!(
            v,
            json!({"t": "{\"keywords\":{\"budget\":2,\"hiring\":1},\"length\":32,\"word_count\":5}"})
        );
        assert_eq!(plan.output_properties(), Some(vec!["t".to_string()]));
    }

    #[test]
    fn bad_paths_are_plan_errors() {
        let err = plan("transforms:\n  - redact: \"$.a[\"\n", false).unwrap_err();
        assert!(
            matches!(err, PlanError::BadPath { ref at, .. } if at == "transforms[0].redact"),
            "{err:?}"
        );
    }
}
