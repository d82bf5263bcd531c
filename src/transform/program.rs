//! A compiled list of transforms: each an [`Operation`] with the JSONPaths it applies to and,
//! for API rules, its `applyOnlyWhen` condition. Run in order on one JSON document (a bulk
//! record or an API response) by [`super::RecordPlan`] and [`super::ResponsePlan`].

use serde_json::Value;

use super::ops::{Effect, Operation, ValueError};
use crate::jsonpath::JsonPath;
use crate::pseudonym::Pseudonymizer;

/// One transform: an operation, its paths and its condition.
#[derive(Debug)]
pub struct Step {
    op: Box<dyn Operation>,
    paths: Vec<JsonPath>,
    when: Option<JsonPath>,
}

impl Step {
    /// `op` on every value `paths` match, when `when` (a path on the whole document) matches
    /// something, or always.
    pub fn new(op: Box<dyn Operation>, paths: Vec<JsonPath>, when: Option<JsonPath>) -> Self {
        Step { op, paths, when }
    }

    /// The operation.
    pub fn op(&self) -> &dyn Operation {
        self.op.as_ref()
    }
}

/// A step that failed on one value. Never holds the value.
#[derive(Debug, thiserror::Error)]
#[error("transforms[{index}] ({op}) at `{path}`: {source}")]
pub struct StepError {
    /// The step's index in the rules' list.
    pub index: usize,
    /// Its operation's name.
    pub op: &'static str,
    /// The JSONPath whose match failed.
    pub path: String,
    /// What is wrong with the value.
    pub source: ValueError,
}

/// Transforms in order.
#[derive(Debug, Default)]
pub struct Program {
    steps: Vec<Step>,
}

impl Program {
    /// A program of `steps`, run in this order.
    pub fn new(steps: Vec<Step>) -> Self {
        Program { steps }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Runs every step on `doc`, in order: a step whose condition matches nothing is skipped;
    /// a deleting operation removes what its paths match, any other is applied to each match.
    pub fn apply(&self, doc: &mut Value, p: &Pseudonymizer) -> Result<(), StepError> {
        for (index, step) in self.steps.iter().enumerate() {
            if let Some(when) = &step.when {
                if when.select(doc).is_empty() {
                    continue;
                }
            }
            for path in &step.paths {
                if step.op.deletes() {
                    path.delete(doc);
                    continue;
                }
                path.for_each_mut(doc, &mut |v| step.op.apply(v, p))
                    .map_err(|source| StepError {
                        index,
                        op: step.op.name(),
                        path: path.as_str().to_owned(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Every path with what its operation makes of a matched value's type.
    pub fn path_effects(&self) -> impl Iterator<Item = (&JsonPath, Effect)> {
        self.steps
            .iter()
            .flat_map(|s| s.paths.iter().map(move |p| (p, s.op.effect())))
    }

    /// Every path with its operation's name (for reports).
    pub fn describe(&self) -> Vec<(String, &'static str)> {
        self.steps
            .iter()
            .flat_map(|s| {
                s.paths
                    .iter()
                    .map(move |p| (p.as_str().to_owned(), s.op.name()))
            })
            .collect()
    }

    /// The index and name of the first step making reversible tokens, if any.
    pub fn first_reversible(&self) -> Option<(usize, &'static str)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.op.makes_reversible_tokens())
            .map(|(i, s)| (i, s.op.name()))
    }
}
