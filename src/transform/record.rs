//! RecordRules compiled into an ordered list of JSONPath operations.

use serde_json::Value;

use super::schema::{is_integer_text, CompiledSchema};
use super::PlanError;
use crate::jsonpath::JsonPath;
use crate::pseudonym::{text_digest, Pseudonymizer};
use crate::rules::{JsonPaths, RecordRules, RecordTransform};

/// What a record transform does to each matched value.
#[derive(Debug, Clone, PartialEq)]
enum RecordOp {
    Redact,
    Pseudonymize,
    Tokenize,
    Digest(Option<Vec<String>>),
}

impl RecordOp {
    fn name(&self) -> &'static str {
        match self {
            RecordOp::Redact => "redact",
            RecordOp::Pseudonymize => "pseudonymize",
            RecordOp::Tokenize => "tokenize",
            RecordOp::Digest(None) => "textDigest",
            RecordOp::Digest(Some(_)) => "textDigestKeywords",
        }
    }
}

#[derive(Debug, Clone)]
struct RecordStep {
    paths: Vec<JsonPath>,
    op: RecordOp,
}

/// What a record transform makes of a value it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEffect {
    /// `redact`: the value becomes `null`.
    Null,
    /// `pseudonymize`, `tokenize`, `textDigest`: the value becomes a string.
    String,
}

/// A record value that cannot be transformed (never carries the value itself).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    /// The JSONPath whose match failed.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Compiled RecordRules.
#[derive(Debug, Clone)]
pub struct RecordPlan {
    steps: Vec<RecordStep>,
    schema: Option<CompiledSchema>,
}

impl RecordPlan {
    /// Parses every path and checks settings the transforms need (`tokenize` needs a key).
    pub fn compile(rules: &RecordRules, pseudonymizer: &Pseudonymizer) -> Result<Self, PlanError> {
        let mut steps = Vec::new();
        for (i, t) in rules.transforms.iter().enumerate() {
            let (paths, op) = match t {
                RecordTransform::Redact(p) => (p, RecordOp::Redact),
                RecordTransform::Pseudonymize(p) => (p, RecordOp::Pseudonymize),
                RecordTransform::Tokenize(p) => (p, RecordOp::Tokenize),
                RecordTransform::TextDigest(p) => (p, RecordOp::Digest(None)),
                RecordTransform::TextDigestKeywords(k) => {
                    (&k.json_paths, RecordOp::Digest(Some(k.keywords.clone())))
                }
            };
            if op == RecordOp::Tokenize && !pseudonymizer.has_encryption_key() {
                return Err(PlanError::MissingSetting(format!(
                    "transforms[{i}] (tokenize) needs an encryption key: set PSOXY_ENCRYPTION_KEY or --encryption-key"
                )));
            }
            let paths = parse_paths(paths, &format!("transforms[{i}].{}", op.name()))?;
            steps.push(RecordStep { paths, op });
        }
        let schema = rules
            .output_schema_filter
            .as_ref()
            .map(CompiledSchema::compile)
            .transpose()?;
        Ok(RecordPlan { steps, schema })
    }

    /// Applies every transform in order, then the output schema filter.
    pub fn apply(&self, record: &mut Value, p: &Pseudonymizer) -> Result<(), RecordError> {
        for step in &self.steps {
            for path in &step.paths {
                let mut apply = |v: &mut Value| transform_value(&step.op, v, p);
                path.for_each_mut(record, &mut apply)
                    .map_err(|message| RecordError {
                        path: path.as_str().to_string(),
                        message,
                    })?;
            }
        }
        if let Some(schema) = &self.schema {
            let v = std::mem::take(record);
            *record = schema.filter(v);
        }
        Ok(())
    }

    /// Every path with what its transform does to the type of a matched value (for typed
    /// formats, which must know the output's types before reading any value).
    pub fn path_effects(&self) -> impl Iterator<Item = (&JsonPath, PathEffect)> {
        self.steps.iter().flat_map(|s| {
            let effect = match s.op {
                RecordOp::Redact => PathEffect::Null,
                _ => PathEffect::String,
            };
            s.paths.iter().map(move |p| (p, effect))
        })
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
        self.steps
            .iter()
            .flat_map(|s| {
                s.paths
                    .iter()
                    .map(move |p| (p.as_str().to_string(), s.op.name()))
            })
            .collect()
    }
}

fn parse_paths(paths: &JsonPaths, at: &str) -> Result<Vec<JsonPath>, PlanError> {
    paths
        .to_vec()
        .iter()
        .map(|p| {
            JsonPath::parse(p).map_err(|e| PlanError::BadPath {
                at: at.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn transform_value(op: &RecordOp, v: &mut Value, p: &Pseudonymizer) -> Result<(), String> {
    match op {
        RecordOp::Redact => *v = Value::Null,
        RecordOp::Pseudonymize => match v {
            Value::Null => {}
            Value::String(s) => {
                if let Some(t) = p.token(s) {
                    *s = t;
                }
            }
            Value::Number(n) if is_integer_text(&n.to_string()) => {
                let text = n.to_string();
                if let Some(t) = p.token(&text) {
                    *v = Value::String(t);
                }
            }
            other => {
                return Err(format!(
                    "cannot pseudonymize a {} value",
                    describe_type(other)
                ))
            }
        },
        RecordOp::Tokenize => match v {
            Value::Null => {}
            Value::String(s) => {
                if let Some(t) = p.reversible(s).map_err(|e| e.to_string())? {
                    *s = t;
                }
            }
            other => return Err(format!("cannot tokenize a {} value", describe_type(other))),
        },
        RecordOp::Digest(keywords) => match v {
            Value::Null => {}
            Value::String(s) => *s = text_digest(s, keywords.as_deref()),
            other => return Err(format!("cannot digest a {} value", describe_type(other))),
        },
    }
    Ok(())
}

fn describe_type(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "non-integer number",
        other => type_of(other),
    }
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
        assert!(err.message.contains("boolean"), "{}", err.message);
        let err = plan
            .apply(&mut json!({"flag": 1.5}), &p(false))
            .unwrap_err();
        assert!(err.message.contains("non-integer"), "{}", err.message);
    }

    #[test]
    fn tokenize_needs_a_key_and_round_trips() {
        assert!(matches!(
            plan("transforms:\n  - tokenize: $.id\n", false),
            Err(PlanError::MissingSetting(_))
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
