//! Compiled rules for many objects: one [`Sanitizer`], or one per `fileRules` template of
//! multi-type rules, built on first use and shared across threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Sanitizer;
use crate::pseudonym::Pseudonymizer;
use crate::rules::{BulkRules, MultiTypeRules, RulesError};
use crate::transform::PlanError;

/// Why rules could not be prepared for an object.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A template is invalid.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The selected rules do not compile.
    #[error("rules for `{template}`: {source}")]
    Plan {
        /// The template (or `*` for single rules) whose rules failed.
        template: String,
        /// Why.
        source: PlanError,
    },
}

/// Rules ready to sanitize objects by key.
pub enum RuleEngine {
    /// The same rules for every object.
    Single(Arc<Sanitizer>),
    /// Rules chosen per object key.
    Multi {
        /// The templates and their rules.
        rules: MultiTypeRules,
        /// Shared pseudonymizer.
        pseudonymizer: Arc<Pseudonymizer>,
        /// Worker threads per sanitizer.
        threads: usize,
        /// Sanitizers built so far, by template.
        built: Mutex<HashMap<String, Arc<Sanitizer>>>,
    },
}

impl RuleEngine {
    /// Prepares `rules` (single rules are compiled now, multi-type rules per template on use).
    pub fn new(
        rules: BulkRules,
        pseudonymizer: Arc<Pseudonymizer>,
        threads: usize,
    ) -> Result<Self, EngineError> {
        Ok(match rules {
            BulkRules::MultiType(rules) => RuleEngine::Multi {
                rules,
                pseudonymizer,
                threads,
                built: Mutex::new(HashMap::new()),
            },
            single => RuleEngine::Single(Arc::new(
                Sanitizer::new(&single, pseudonymizer, threads).map_err(|source| {
                    EngineError::Plan {
                        template: "*".into(),
                        source,
                    }
                })?,
            )),
        })
    }

    /// The sanitizer for an object key and the template that chose it; `None` when no
    /// `fileRules` template matches the key (the object is to be skipped).
    pub fn for_key(&self, key: &str) -> Result<Option<(String, Arc<Sanitizer>)>, EngineError> {
        match self {
            RuleEngine::Single(s) => Ok(Some(("*".into(), s.clone()))),
            RuleEngine::Multi {
                rules,
                pseudonymizer,
                threads,
                built,
            } => {
                let Some((template, selected)) = rules.select(key)? else {
                    return Ok(None);
                };
                let mut built = built
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(s) = built.get(&template) {
                    return Ok(Some((template, s.clone())));
                }
                let s = Arc::new(
                    Sanitizer::new(selected, pseudonymizer.clone(), *threads).map_err(
                        |source| EngineError::Plan {
                            template: template.clone(),
                            source,
                        },
                    )?,
                );
                built.insert(template.clone(), s.clone());
                Ok(Some((template, s)))
            }
        }
    }
}
