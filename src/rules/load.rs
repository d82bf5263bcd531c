//! Loading rules: plain YAML, base64 YAML, or base64 of gzipped YAML; shape detection and key
//! validation with "did you mean" suggestions.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::columnar::{COLUMNAR_KEYS, FIELD_TRANSFORM_KEYS, REPLACE_KEYS, STEP_KEYS};
use super::record::{DIGEST_KEYWORDS_KEYS, RECORD_KEYS, RECORD_TRANSFORM_KEYS};
use super::schema::BULK_SCHEMA_KEYS;
use super::suggest::nearest;
use super::text::{decode_envelope, type_name};
use super::{BulkRules, MultiTypeRules, RulesError};

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
    let value: Value = serde_yaml::from_str(text)
        .map_err(|e| RulesError::Invalid(format!("not valid YAML: {e}")))?;
    from_value(value, "")
}

fn from_value(value: Value, at: &str) -> Result<BulkRules, RulesError> {
    let map = match value {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        other => {
            return Err(RulesError::Invalid(format!(
                "rules{} must be a mapping of keys, found {}",
                at_suffix(at),
                type_name(&other)
            )))
        }
    };
    if map.contains_key("fileRules") {
        check_keys(&map, &["fileRules"], at)?;
        let Some(Value::Mapping(templates)) = map.get("fileRules").cloned() else {
            return Err(RulesError::Invalid(format!(
                "fileRules{} must map path templates to rules",
                at_suffix(at)
            )));
        };
        let mut out = MultiTypeRules::default();
        for (template, rules) in templates {
            let Value::String(template) = template else {
                return Err(RulesError::Invalid(
                    "fileRules keys must be path templates".into(),
                ));
            };
            let inner_at = join(at, &format!("fileRules['{template}']"));
            let rules = from_value(rules, &inner_at)?;
            out.file_rules.insert(template, rules);
        }
        out.validate_templates()?;
        return Ok(BulkRules::MultiType(out));
    }
    let is_record = RECORD_KEYS.iter().any(|k| map.contains_key(*k));
    if is_record {
        validate_record(&map, at)?;
        serde_yaml::from_value(Value::Mapping(map))
            .map(BulkRules::Record)
            .map_err(|e| invalid(at, e))
    } else {
        validate_columnar(&map, at)?;
        serde_yaml::from_value(Value::Mapping(map))
            .map(BulkRules::Columnar)
            .map_err(|e| invalid(at, e))
    }
}

fn invalid(at: &str, e: serde_yaml::Error) -> RulesError {
    RulesError::Invalid(format!(
        "{}{e}",
        if at.is_empty() {
            String::new()
        } else {
            format!("{at}: ")
        }
    ))
}

fn validate_columnar(map: &Mapping, at: &str) -> Result<(), RulesError> {
    check_keys(map, COLUMNAR_KEYS, at)?;
    if let Some(Value::Mapping(fields)) = map.get("fieldsToTransform") {
        for (name, entry) in fields {
            let name = key_text(name);
            let entry_at = join(at, &format!("fieldsToTransform.{name}"));
            if let Value::Mapping(entry) = entry {
                check_keys(entry, FIELD_TRANSFORM_KEYS, &entry_at)?;
                if let Some(Value::Sequence(steps)) = entry.get("transforms") {
                    for (i, step) in steps.iter().enumerate() {
                        if let Value::Mapping(step) = step {
                            let step_at = format!("{entry_at}.transforms[{i}]");
                            check_keys(step, STEP_KEYS, &step_at)?;
                            if let Some(Value::Mapping(r)) = step.get("javaRegExpReplace") {
                                check_keys(
                                    r,
                                    REPLACE_KEYS,
                                    &format!("{step_at}.javaRegExpReplace"),
                                )?;
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(Value::String(d)) = map.get("delimiter") {
        if d.chars().count() != 1 || !d.is_ascii() {
            return Err(RulesError::Invalid(format!(
                "delimiter{} must be a single ASCII character, found `{d}`",
                at_suffix(at)
            )));
        }
    }
    Ok(())
}

fn validate_record(map: &Mapping, at: &str) -> Result<(), RulesError> {
    check_keys(map, RECORD_KEYS, at)?;
    if let Some(Value::Sequence(transforms)) = map.get("transforms") {
        for (i, t) in transforms.iter().enumerate() {
            let t_at = join(at, &format!("transforms[{i}]"));
            match t {
                Value::Mapping(t) => {
                    check_keys(t, RECORD_TRANSFORM_KEYS, &t_at)?;
                    if t.len() != 1 {
                        return Err(RulesError::Invalid(format!(
                            "{t_at} must have exactly one key (one of {})",
                            RECORD_TRANSFORM_KEYS.join(", ")
                        )));
                    }
                    if let Some(Value::Mapping(k)) = t.get("textDigestKeywords") {
                        check_keys(
                            k,
                            DIGEST_KEYWORDS_KEYS,
                            &format!("{t_at}.textDigestKeywords"),
                        )?;
                    }
                }
                other => {
                    return Err(RulesError::Invalid(format!(
                        "{t_at} must be a one-key map like `pseudonymize: $.email`, found {}",
                        type_name(other)
                    )))
                }
            }
        }
    }
    if let Some(schema) = map.get("outputSchemaFilter") {
        validate_schema(schema, &join(at, "outputSchemaFilter"))?;
    }
    Ok(())
}

fn validate_schema(schema: &Value, at: &str) -> Result<(), RulesError> {
    let Value::Mapping(m) = schema else {
        return Ok(()); // serde reports the type error
    };
    check_keys(m, BULK_SCHEMA_KEYS, at)?;
    for key in ["properties", "definitions"] {
        if let Some(Value::Mapping(props)) = m.get(key) {
            for (name, s) in props {
                validate_schema(s, &format!("{at}.{key}.{}", key_text(name)))?;
            }
        }
    }
    if let Some(items) = m.get("items") {
        validate_schema(items, &format!("{at}.items"))?;
    }
    Ok(())
}

fn check_keys(map: &Mapping, allowed: &[&str], at: &str) -> Result<(), RulesError> {
    for key in map.keys() {
        let key = key_text(key);
        if !allowed.contains(&key.as_str()) {
            return Err(RulesError::UnknownKey {
                suggestion: nearest(&key, allowed).map(str::to_string),
                key,
                at: at.to_string(),
            });
        }
    }
    Ok(())
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn join(at: &str, next: &str) -> String {
    if at.is_empty() {
        next.to_string()
    } else {
        format!("{at}.{next}")
    }
}

fn at_suffix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" at {at}")
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
