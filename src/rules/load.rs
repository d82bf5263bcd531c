//! Loading rules: plain YAML, base64 YAML, or base64 of gzipped YAML; shape detection and key
//! validation with "did you mean" suggestions.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::keys::{check_keys, join};
use super::record::RECORD_KEYS;
use super::text::{decode_envelope, type_name};
use super::{columnar, record, BulkRules, MultiTypeRules, RulesError, ShapeError};

/// Reads and parses a rules file (any of the accepted encodings).
pub fn load_rules_file(path: &Path) -> Result<BulkRules, RulesError> {
    let bytes = std::fs::read(path).map_err(|source| RulesError::Read {
        path: path.display().to_string(),
        source,
    })?;
    load_rules_bytes(&bytes)
}

/// Parses rules from bytes holding YAML, base64 YAML, or base64 gzipped YAML.
pub fn load_rules_bytes(bytes: &[u8]) -> Result<BulkRules, RulesError> {
    let text = decode_envelope(bytes)?;
    parse_rules_yaml(&text)
}

/// Parses YAML text into rules of the shape its keys indicate.
pub fn parse_rules_yaml(text: &str) -> Result<BulkRules, RulesError> {
    let value: Value = serde_yaml::from_str(text).map_err(RulesError::NotYaml)?;
    from_value(value, "")
}

fn from_value(value: Value, at: &str) -> Result<BulkRules, RulesError> {
    let map = match value {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        other => {
            return Err(ShapeError::NotAMapping {
                at: at.to_owned(),
                found: type_name(&other),
            }
            .into())
        }
    };
    if map.contains_key("fileRules") {
        check_keys(&map, &["fileRules"], at)?;
        let Some(Value::Mapping(templates)) = map.get("fileRules").cloned() else {
            return Err(ShapeError::FileRulesNotAMapping { at: at.to_owned() }.into());
        };
        let mut out = MultiTypeRules::default();
        for (template, rules) in templates {
            let Value::String(template) = template else {
                return Err(ShapeError::TemplateNotAString.into());
            };
            let inner_at = join(at, &format!("fileRules['{template}']"));
            let rules = from_value(rules, &inner_at)?;
            out.file_rules.insert(template, rules);
        }
        out.validate_templates()?;
        return Ok(BulkRules::MultiType(out));
    }
    let is_record = RECORD_KEYS.iter().any(|k| map.contains_key(*k));
    let invalid = |source| RulesError::Value {
        at: at.to_owned(),
        source,
    };
    if is_record {
        record::check(&map, at)?;
        serde_yaml::from_value(Value::Mapping(map))
            .map(BulkRules::Record)
            .map_err(invalid)
    } else {
        columnar::check(&map, at)?;
        serde_yaml::from_value(Value::Mapping(map))
            .map(BulkRules::Columnar)
            .map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{FieldTransformStep, JsonPaths, RecordFormat, RecordTransform};
    use base64::Engine;
    use std::io::Write;

    const HRIS: &str = "columnsToPseudonymize:\n  - EMPLOYEE_ID\n  - EMPLOYEE_EMAIL\ncolumnsToRedact: [SALARY]\npseudonymFormat: URL_SAFE_TOKEN\n";

    #[test]
    fn columnar_plain_yaml() {
        let BulkRules::Columnar(r) = parse_rules_yaml(HRIS).unwrap() else {
            panic!("not columnar")
        };
        assert_eq!(
            r.columns_to_pseudonymize,
            vec!["EMPLOYEE_ID", "EMPLOYEE_EMAIL"]
        );
        assert_eq!(r.columns_to_redact, vec!["SALARY"]);
    }

    #[test]
    fn base64_and_base64_gzip_envelopes() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(HRIS);
        let plain = load_rules_bytes(HRIS.as_bytes()).unwrap();
        assert_eq!(load_rules_bytes(b64.as_bytes()).unwrap(), plain);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(HRIS.as_bytes()).unwrap();
        let gz64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        assert_eq!(
            load_rules_bytes(format!("{gz64}\n").as_bytes()).unwrap(),
            plain
        );
    }

    #[test]
    fn unknown_key_names_key_and_suggestion() {
        let err = parse_rules_yaml("columnsToPseudonymise: [A]\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`columnsToPseudonymise`"), "{msg}");
        assert!(
            msg.contains("did you mean `columnsToPseudonymize`"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_nested_keys() {
        let msg = parse_rules_yaml(
            "fieldsToTransform:\n  X:\n    newName: Y\n    transforms:\n      - filtr: a\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("`filtr`") && msg.contains("fieldsToTransform.X.transforms[0]"),
            "{msg}"
        );
        assert!(msg.contains("`filter`"), "{msg}");
        let msg = parse_rules_yaml("transforms:\n  - pseudonymise: $.a\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did you mean `pseudonymize`"), "{msg}");
        let msg = parse_rules_yaml("outputSchemaFilter:\n  type: object\n  propertys: {}\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did you mean `properties`"), "{msg}");
    }

    #[test]
    fn field_transform_steps() {
        let BulkRules::Columnar(r) = parse_rules_yaml(
            "fieldsToTransform:\n  GH:\n    newName: GH_ALIAS\n    transforms:\n      - filter: \"(.*)_x\"\n      - formatString: \"%s@gh\"\n      - javaRegExpReplace: {regExp: \"a(.*)\", replace: \"$1\"}\n      - pseudonymize: true\n",
        )
        .unwrap() else {
            panic!()
        };
        let steps = &r.fields_to_transform["GH"].transforms;
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[3], FieldTransformStep::Pseudonymize);
        assert!(parse_rules_yaml(
            "fieldsToTransform:\n  GH:\n    transforms:\n      - {filter: a, formatString: b}\n"
        )
        .is_err());
    }

    #[test]
    fn record_rules() {
        let BulkRules::Record(r) = parse_rules_yaml(
            "format: CSV\ntransforms:\n  - redact: $.a\n  - pseudonymize: [$.b, $.c]\n  - textDigestKeywords: {keywords: [x], jsonPaths: $.d}\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(r.format, RecordFormat::Csv);
        assert_eq!(
            r.transforms[0],
            RecordTransform::Redact(JsonPaths::One("$.a".into()))
        );
        assert_eq!(r.transforms.len(), 3);
    }

    #[test]
    fn multi_type_rules_nest() {
        let BulkRules::MultiType(m) = parse_rules_yaml(
            "fileRules:\n  /export/{week}/hris.csv:\n    columnsToPseudonymize: [A]\n  /export/{week}/events.ndjson:\n    transforms:\n      - redact: $.x\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(m.file_rules.len(), 2);
        let msg = parse_rules_yaml("fileRules:\n  a.csv:\n    columnsToRedakt: [A]\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("fileRules['a.csv']"), "{msg}");
    }

    #[test]
    fn bad_delimiter_and_bad_shape() {
        assert!(parse_rules_yaml("delimiter: ';;'\n").is_err());
        assert!(parse_rules_yaml("- a\n- b\n").is_err());
        assert!(parse_rules_yaml("pseudonymFormat: NOPE\n").is_err());
    }
}
