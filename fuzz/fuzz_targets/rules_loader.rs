//! Rules loading (YAML, base64 YAML, base64 gzip YAML), then compiling what loaded: columnar
//! rules against a fixed header, record rules into a plan applied to a sample record, and the
//! path templates of multi-type rules.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::{load_rules_bytes, BulkRules};
use psoxy::transform::{ColumnarProgram, RecordPlan};

fn pseudonymizer() -> &'static Pseudonymizer {
    static P: OnceLock<Pseudonymizer> = OnceLock::new();
    P.get_or_init(|| {
        Pseudonymizer::new(&PseudonymSettings {
            salt: "fuzz-salt".into(),
            encryption_key: Some("fuzz-key".into()),
            ..Default::default()
        })
        .expect("settings are valid")
    })
}

const HEADER: &[&str] = &[
    "EMPLOYEE_ID",
    "EMAIL",
    "EMPLOYEE_EMAIL",
    "MANAGER_ID",
    "MANAGER_EMAIL",
    "SALARY",
    "COMMENT",
    "DEPARTMENT",
    "BADGE_ID",
];

const RECORD: &str = r#"{"id":"u1","email":"alice@acme.com","organizer":{"email":"Bob <bob@acme.com>","displayName":"Bob"},"attendees":[{"email":"c@x.io","displayName":"C"},{"email":"d@x.io"}],"summary":"Quarterly planning review","description":"secret","n":42,"f":1.5,"b":true,"z":null,"nested":{"a":[1,[2,{"b":"c"}]]}}"#;

fn compile(rules: &BulkRules, depth: usize) {
    let p = pseudonymizer();
    match rules {
        BulkRules::Columnar(c) => {
            let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
            if let Ok(plan) = ColumnarProgram::compile(c).and_then(|p| p.bind(&header)) {
                let _ = plan.output_header().count();
            }
        }
        BulkRules::Record(r) => {
            if let Ok(plan) = RecordPlan::compile(r, p) {
                let mut record: serde_json::Value = serde_json::from_str(RECORD).unwrap();
                let _ = plan.apply(&mut record, p);
            }
        }
        BulkRules::MultiType(m) => {
            if m.validate_templates().is_ok() && depth < 8 {
                for key in ["a/b/c.csv", "/export/2024/hris.csv", "x.ndjson", ""] {
                    if let Ok(Some((_, inner))) = m.select(key) {
                        compile(inner, depth + 1);
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(rules) = load_rules_bytes(data) {
        let _ = rules.kind();
        compile(&rules, 0);
    }
});
