//! Every operation's examples, run through the rule loaders of their dialect exactly as a rule
//! file would give them.

use serde_json::Value;

use super::{Dialect, Outcome, EXAMPLE_KEY, EXAMPLE_SALT, REGISTRY};
use crate::pseudonym::{PseudonymSettings, Pseudonymizer};
use crate::rules::api::ApiRules;
use crate::rules::{parse_rules_yaml, BulkRules};
use crate::transform::{RecordPlan, ResponsePlan, RowError};

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&PseudonymSettings {
        salt: EXAMPLE_SALT.into(),
        encryption_key: Some(EXAMPLE_KEY.into()),
        ..Default::default()
    })
    .expect("example settings")
}

/// Runs `rule` (one transform in `dialect`'s syntax) on `input`; the result or the error (as
/// the bulk sanitizer or the proxy reports it).
fn run(dialect: Dialect, rule: &str, input: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let p = pseudonymizer();
    let mut doc: Value = serde_json::from_str(input).expect("example input is JSON");
    match dialect {
        Dialect::Record => {
            let BulkRules::Record(rules) =
                parse_rules_yaml(&format!("transforms:\n  - {rule}\n")).expect("record rule")
            else {
                panic!("not record rules: {rule}")
            };
            let plan = RecordPlan::compile(&rules, &p).expect("record plan");
            // As the bulk sanitizer reports it, for the record on line 1.
            plan.apply(&mut doc, &p)
                .map_err(|e| Box::new(RowError::at_step(1, e)))?;
        }
        Dialect::Response => {
            let rules = ApiRules::from_yaml(&format!(
                "endpoints:\n  - pathTemplate: /x\n    transforms:\n      - {rule}\n"
            ))
            .expect("API rule");
            let plan =
                ResponsePlan::compile(&rules.endpoints[0], &rules.definitions).expect("plan");
            plan.apply(&mut doc, &p)?;
        }
    }
    Ok(doc)
}

#[test]
fn every_example_gives_its_output() {
    let mut ran = 0;
    for d in REGISTRY {
        for e in d.examples {
            let what = format!("{} / {}", d.name, e.title);
            let got = run(e.dialect, e.rule, e.input);
            match (&e.output, got) {
                (Outcome::Doc(want), Ok(got)) => {
                    let want: Value = serde_json::from_str(want)
                        .unwrap_or_else(|err| panic!("{what}: output is not JSON: {err}"));
                    assert_eq!(got, want, "{what}");
                }
                (Outcome::Error(want), Err(got)) => {
                    assert!(got.to_string().contains(want), "{what}: {got}")
                }
                (Outcome::Doc(_), Err(got)) => panic!("{what}: failed: {got}"),
                (Outcome::Error(want), Ok(got)) => {
                    panic!("{what}: gave {got} instead of the error {want}")
                }
            }
            ran += 1;
        }
    }
    assert!(ran >= REGISTRY.len());
}

#[test]
fn every_operation_is_documented_with_a_response_example() {
    let mut names: Vec<&str> = REGISTRY.iter().map(|d| d.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), REGISTRY.len(), "a name is registered twice");
    for d in REGISTRY {
        assert!(!d.summary.is_empty(), "{}", d.name);
        assert!(
            d.examples.iter().any(|e| e.dialect == Dialect::Response),
            "{} has no API example",
            d.name
        );
        for p in d.parameters {
            assert!(
                !p.doc.is_empty() && !p.kind.is_empty(),
                "{}.{}",
                d.name,
                p.name
            );
        }
    }
}

#[test]
fn the_bulk_transforms_have_record_examples() {
    // Every bulk transform key is a registered operation (`textDigestKeywords` is the
    // keyword form of `textDigest`).
    for key in crate::rules::RECORD_TRANSFORM_KEYS {
        let name = key.strip_suffix("Keywords").unwrap_or(key);
        let d = super::definition(name).expect("registered");
        assert!(
            d.examples.iter().any(|e| e.dialect == Dialect::Record),
            "{name} has no bulk record example"
        );
    }
}

#[test]
fn an_unknown_parameter_is_refused_by_every_operation() {
    for d in REGISTRY {
        let params: serde_yaml::Value = serde_yaml::from_str("{notAParameter: 1}").unwrap();
        let e = (d.build)(params).expect_err(d.name).to_string();
        assert!(e.contains("notAParameter"), "{}: {e}", d.name);
    }
}
