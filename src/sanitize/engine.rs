//! Compiled rules for many objects: one [`Sanitizer`], or one per `fileRules` template of
//! multi-type rules. Every template's rules are compiled when the engine is built (a bad rule
//! fails at start, naming its template), and all share one pool of worker threads.

use std::sync::Arc;

use super::{worker_pool, Sanitizer};
use crate::pseudonym::Pseudonymizer;
use crate::rules::{BulkRules, MultiTypeRules, PathTemplate, RulesError};
use crate::transform::PlanError;

/// Why rules could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A template is invalid.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The rules of a template do not compile.
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
    /// Rules chosen per object key by compiled `fileRules` templates.
    Multi(Selector),
}

/// Compiled `fileRules`: each template with its rules, in file order.
pub struct Selector {
    entries: Vec<(PathTemplate, String, Choice)>,
}

/// Compiles one template's rules (its label, its rules) into a sanitizer.
type Build<'b> = dyn FnMut(&str, &BulkRules) -> Result<Arc<Sanitizer>, EngineError> + 'b;

enum Choice {
    Rules(Arc<Sanitizer>),
    Nested(Selector),
}

impl Selector {
    fn compile(
        rules: &MultiTypeRules,
        outer: Option<&str>,
        build: &mut Build<'_>,
    ) -> Result<Selector, EngineError> {
        let mut entries = Vec::with_capacity(rules.file_rules.len());
        for (template, r) in &rules.file_rules {
            let label = match outer {
                Some(o) => format!("{o} > {template}"),
                None => template.clone(),
            };
            let choice = match r {
                BulkRules::MultiType(inner) => {
                    Choice::Nested(Selector::compile(inner, Some(&label), build)?)
                }
                single => Choice::Rules(build(&label, single)?),
            };
            entries.push((PathTemplate::parse(template)?, template.clone(), choice));
        }
        Ok(Selector { entries })
    }

    /// The first template (in file order) matching the whole key, with its label; an inner
    /// `fileRules` is matched against what the outer template's last variable captured.
    fn select(&self, key: &str) -> Option<(String, Arc<Sanitizer>)> {
        for (template, text, choice) in &self.entries {
            let Some(captured) = template.match_key(key) else {
                continue;
            };
            return match choice {
                Choice::Rules(s) => Some((text.clone(), s.clone())),
                Choice::Nested(inner) => inner
                    .select(captured)
                    .map(|(label, s)| (format!("{text} > {label}"), s)),
            };
        }
        None
    }
}

impl RuleEngine {
    /// Compiles `rules`: single rules, or every template of multi-type rules. `threads` workers
    /// (`0`: every core), shared by all.
    pub fn new(
        rules: BulkRules,
        pseudonymizer: Arc<Pseudonymizer>,
        threads: usize,
    ) -> Result<Self, EngineError> {
        let plan_error = |template: &str| {
            let template = template.to_owned();
            move |source| EngineError::Plan { template, source }
        };
        let pool = worker_pool(threads).map_err(plan_error("*"))?;
        Ok(match rules {
            BulkRules::MultiType(rules) => {
                let mut build = |label: &str, single: &BulkRules| {
                    Sanitizer::with_pool(single, pseudonymizer.clone(), pool.clone())
                        .map(Arc::new)
                        .map_err(plan_error(label))
                };
                RuleEngine::Multi(Selector::compile(&rules, None, &mut build)?)
            }
            single => RuleEngine::Single(Arc::new(
                Sanitizer::with_pool(&single, pseudonymizer, pool).map_err(plan_error("*"))?,
            )),
        })
    }

    /// The sanitizer for an object key and the template that chose it; `None` when no
    /// `fileRules` template matches the key (the object is to be skipped).
    pub fn for_key(&self, key: &str) -> Result<Option<(String, Arc<Sanitizer>)>, EngineError> {
        match self {
            RuleEngine::Single(s) => Ok(Some(("*".into(), s.clone()))),
            RuleEngine::Multi(selector) => Ok(selector.select(key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rules_yaml;

    fn engine(yaml: &str) -> Result<RuleEngine, EngineError> {
        let p = Pseudonymizer::salted("salt");
        RuleEngine::new(parse_rules_yaml(yaml).unwrap(), Arc::new(p), 1)
    }

    #[test]
    fn every_template_is_compiled_at_start() {
        let e = engine(
            "fileRules:\n  a.csv:\n    columnsToRedact: [x]\n  b.ndjson:\n    transforms:\n      - redact: '$.a['\n",
        )
        .err()
        .expect("the bad template fails before any object");
        let message = e.to_string();
        assert!(
            message.starts_with("rules for `b.ndjson`: invalid JSONPath"),
            "{message}"
        );
        let bad_regex = engine(
            "fileRules:\n  x/{f}:\n    fileRules:\n      h.csv:\n        fieldsToTransform:\n          A:\n            transforms:\n              - filter: '('\n",
        )
        .err()
        .expect("the bad regex fails before any object")
        .to_string();
        assert!(
            bad_regex.starts_with("rules for `x/{f} > h.csv`: invalid regular expression"),
            "{bad_regex}"
        );
    }

    #[test]
    fn keys_find_their_template() {
        let e = engine("fileRules:\n  /hr/{file}:\n    fileRules:\n      hris.csv:\n        columnsToRedact: [ID]\n  other.csv:\n    columnsToRedact: [ID]\n").unwrap();
        assert_eq!(
            e.for_key("hr/hris.csv").unwrap().unwrap().0,
            "/hr/{file} > hris.csv"
        );
        assert_eq!(e.for_key("other.csv").unwrap().unwrap().0, "other.csv");
        assert!(e.for_key("nothing.csv").unwrap().is_none());
    }
}
