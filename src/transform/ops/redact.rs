//! `redact`: the value is removed.

use serde_json::Value;

use super::{
    params, BuildError, Definition, Dialect, Effect, Example, NoParams, Operation, Outcome,
    ValueError,
};
use crate::pseudonym::Pseudonymizer;

/// Removes each matched value: bulk records keep the key with `null`, responses lose the key
/// or array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redact {
    dialect: Dialect,
}

impl Redact {
    /// Bulk `RecordRules`' `redact`: the value becomes `null`, the key stays.
    pub fn record() -> Self {
        Redact {
            dialect: Dialect::Record,
        }
    }

    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let NoParams {} = params(value)?;
        Ok(Box::new(Redact {
            dialect: Dialect::Response,
        }))
    }
}

impl Operation for Redact {
    fn name(&self) -> &'static str {
        "redact"
    }

    fn apply(&self, value: &mut Value, _: &Pseudonymizer) -> Result<(), ValueError> {
        *value = Value::Null;
        Ok(())
    }

    fn deletes(&self) -> bool {
        self.dialect == Dialect::Response
    }

    fn effect(&self) -> Effect {
        Effect::Null
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "redact",
    summary: "responses: the key or array element is deleted; bulk records: the value becomes null",
    parameters: &[],
    examples: &[
        Example {
            title: "bulk record: the key stays with null",
            dialect: Dialect::Record,
            rule: "redact: $..name",
            input: r#"{"people": [{"name": "A", "id": 1}, {"name": "B"}]}"#,
            output: Outcome::Doc(r#"{"people": [{"name": null, "id": 1}, {"name": null}]}"#),
        },
        Example {
            title: "response: the key is deleted",
            dialect: Dialect::Response,
            rule: "!<redact> {jsonPaths: ['$.users[*].name']}",
            input: r#"{"users": [{"name": "Alice", "id": 7}]}"#,
            output: Outcome::Doc(r#"{"users": [{"id": 7}]}"#),
        },
    ],
    build: Redact::build,
};
