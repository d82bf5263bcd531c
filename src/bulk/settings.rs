//! Bulk-mode settings, read by name from a lookup (the environment, then a parameter store).

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::format::DataFormat;
use crate::pseudonym::{PseudonymError, PseudonymSettings};
use crate::rules::{load_rules_bytes, BulkRules, RulesError};

/// Everything the bulk function needs besides storage clients.
#[derive(Debug, Clone)]
pub struct BulkSettings {
    /// Salt, keys and email handling.
    pub pseudonym: PseudonymSettings,
    /// The rules of the main output.
    pub rules: BulkRules,
    /// SHA-256 (hex) of the main rules' text, reported as `psoxy-rules-sha`.
    pub rules_sha: String,
    /// `OUTPUT_BUCKET`.
    pub output_bucket: String,
    /// `INPUT_BASE_PATH`: removed from the start of input keys.
    pub input_base_path: String,
    /// `OUTPUT_BASE_PATH`: put in front of output keys.
    pub output_base_path: String,
    /// `COMPRESS_OUTPUT_ALWAYS` (default true): gzip the main output.
    pub compress_output: bool,
    /// `PSOXY_SHUFFLE_ROWS` (default true): shuffle columnar rows within 500-row chunks.
    pub shuffle: bool,
    /// `PSOXY_INSTANCE_ID` (default: the Lambda function's name, else `psoxy`).
    pub instance_id: String,
    /// `ADDITIONAL_TRANSFORMS`: extra independent outputs of the same input.
    pub additional: Vec<AdditionalTransform>,
    /// `BULK_OUTPUT_FORMAT` (`NDJSON`, `JSON_ARRAY`, `CSV` or `PARQUET`): convert; unset keeps the
    /// input's.
    pub output_format: Option<DataFormat>,
}

/// One entry of `ADDITIONAL_TRANSFORMS`.
#[derive(Debug, Clone)]
pub struct AdditionalTransform {
    /// Bucket written to.
    pub bucket: String,
    /// Prefix of the output keys within that bucket.
    pub path_within_bucket: String,
    /// Rules of this output.
    pub rules: BulkRules,
    /// SHA-256 (hex) of these rules' text.
    pub rules_sha: String,
    /// Gzip this output.
    pub compress_output: bool,
}

/// A setting that is missing or invalid. Names the setting, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A required setting is absent.
    #[error("setting {0} is required but not set")]
    Missing(&'static str),
    /// A setting does not parse.
    #[error("setting {name} is invalid: {message}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// Why (never the value).
        message: String,
    },
    /// The rules do not load.
    #[error("setting {name}: {source}")]
    Rules {
        /// `RULES` or `ADDITIONAL_TRANSFORMS[i]`.
        name: String,
        /// Why.
        source: RulesError,
    },
    /// The pseudonym settings are inconsistent.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAdditional {
    destination_bucket_name: String,
    #[serde(default)]
    path_within_bucket: String,
    rules: serde_yaml::Value,
    #[serde(default = "yes")]
    compress_output: bool,
}

fn yes() -> bool {
    true
}

/// SHA-256 of `text` in lower-case hex.
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn flag(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(_) => Err(SettingsError::Invalid {
            name,
            message: "expected true or false".into(),
        }),
    }
}

/// Every setting [`BulkSettings::from_lookup`] reads besides `AWS_LAMBDA_FUNCTION_NAME`: the
/// names the function looks up in a parameter store when the environment lacks them.
pub const SETTING_NAMES: &[&str] = &[
    "PSOXY_SALT",
    "PSOXY_ENCRYPTION_KEY",
    "EMAIL_CANONICALIZATION",
    "EMAIL_DOMAIN_HANDLING",
    "SALT_EMAIL_DOMAINS",
    "ENCRYPTION_KEY_EMAIL_DOMAINS",
    "SALT_IP",
    "ENCRYPTION_KEY_IP",
    "RULES",
    "ADDITIONAL_TRANSFORMS",
    "OUTPUT_BUCKET",
    "INPUT_BASE_PATH",
    "OUTPUT_BASE_PATH",
    "COMPRESS_OUTPUT_ALWAYS",
    "PSOXY_SHUFFLE_ROWS",
    "PSOXY_INSTANCE_ID",
    "BULK_OUTPUT_FORMAT",
];

/// The pseudonym settings (salt, keys, email handling) by name through `get`, shared by
/// both modes' settings.
pub fn pseudonym_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<PseudonymSettings, SettingsError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let parse =
        |name: &'static str, default: &str| get(name).unwrap_or_else(|| default.to_string());
    Ok(PseudonymSettings {
        salt: get("PSOXY_SALT").ok_or(SettingsError::Missing("PSOXY_SALT"))?,
        encryption_key: get("PSOXY_ENCRYPTION_KEY"),
        email_canonicalization: parse("EMAIL_CANONICALIZATION", "STRICT").parse().map_err(
            |_| SettingsError::Invalid {
                name: "EMAIL_CANONICALIZATION",
                message: "expected STRICT or IGNORE_DOTS".into(),
            },
        )?,
        email_domain_handling: parse("EMAIL_DOMAIN_HANDLING", "PRESERVE").parse().map_err(
            |_| SettingsError::Invalid {
                name: "EMAIL_DOMAIN_HANDLING",
                message: "expected PRESERVE, REDACT, TOKENIZE or ENCRYPT".into(),
            },
        )?,
        salt_email_domains: get("SALT_EMAIL_DOMAINS"),
        encryption_key_email_domains: get("ENCRYPTION_KEY_EMAIL_DOMAINS"),
        salt_ip: get("SALT_IP"),
        encryption_key_ip: get("ENCRYPTION_KEY_IP"),
    })
}

/// Names of the settings [`pseudonym_settings`] reads.
pub const PSEUDONYM_SETTING_NAMES: &[&str] = &[
    "PSOXY_SALT",
    "PSOXY_ENCRYPTION_KEY",
    "EMAIL_CANONICALIZATION",
    "EMAIL_DOMAIN_HANDLING",
    "SALT_EMAIL_DOMAINS",
    "ENCRYPTION_KEY_EMAIL_DOMAINS",
    "SALT_IP",
    "ENCRYPTION_KEY_IP",
];

impl BulkSettings {
    /// Reads the settings by name through `get` (empty values count as unset).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let pseudonym = pseudonym_settings(&get)?;
        let rules_text = get("RULES").ok_or(SettingsError::Missing("RULES"))?;
        let rules =
            load_rules_bytes(rules_text.as_bytes()).map_err(|source| SettingsError::Rules {
                name: "RULES".into(),
                source,
            })?;
        let additional = match get("ADDITIONAL_TRANSFORMS") {
            None => Vec::new(),
            Some(text) => parse_additional(&text)?,
        };
        Ok(BulkSettings {
            pseudonym,
            rules,
            rules_sha: sha256_hex(rules_text.as_bytes()),
            output_bucket: get("OUTPUT_BUCKET").ok_or(SettingsError::Missing("OUTPUT_BUCKET"))?,
            input_base_path: get("INPUT_BASE_PATH").unwrap_or_default(),
            output_base_path: get("OUTPUT_BASE_PATH").unwrap_or_default(),
            compress_output: flag(&get, "COMPRESS_OUTPUT_ALWAYS", true)?,
            shuffle: flag(&get, "PSOXY_SHUFFLE_ROWS", true)?,
            instance_id: get("PSOXY_INSTANCE_ID")
                .or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "psoxy".into()),
            additional,
            output_format: match get("BULK_OUTPUT_FORMAT").map(|v| v.trim().to_ascii_uppercase()) {
                None => None,
                Some(v) if v == "NDJSON" => Some(DataFormat::Ndjson),
                Some(v) if v == "JSON_ARRAY" || v == "JSON" => Some(DataFormat::JsonArray),
                Some(v) if v == "CSV" => Some(DataFormat::Csv { delimiter: b',' }),
                Some(v) if v == "PARQUET" => Some(DataFormat::Parquet),
                Some(_) => {
                    return Err(SettingsError::Invalid {
                        name: "BULK_OUTPUT_FORMAT",
                        message: "expected NDJSON, JSON_ARRAY, CSV or PARQUET".into(),
                    })
                }
            },
        })
    }
}

/// A serde message with the values it quotes (`invalid type: string "..."`) left out: the
/// setting may hold a secret put in the wrong place, and errors never show setting values.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in message.chars() {
        if !quoted {
            if c == '"' {
                quoted = true;
                out.push_str("\"...\"");
            } else {
                out.push(c);
            }
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = false;
        }
    }
    out
}

/// Parses `ADDITIONAL_TRANSFORMS`: a YAML list of `{destinationBucketName, pathWithinBucket,
/// rules, compressOutput}`; `rules` is a rules mapping or a string holding rules (YAML, base64).
fn parse_additional(text: &str) -> Result<Vec<AdditionalTransform>, SettingsError> {
    let invalid = |message: String| SettingsError::Invalid {
        name: "ADDITIONAL_TRANSFORMS",
        message,
    };
    let raw: Vec<RawAdditional> =
        serde_yaml::from_str(text).map_err(|e| invalid(without_values(&e.to_string())))?;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let rules_text = match r.rules {
                serde_yaml::Value::String(s) => s,
                other => serde_yaml::to_string(&other).map_err(|e| invalid(e.to_string()))?,
            };
            let rules =
                load_rules_bytes(rules_text.as_bytes()).map_err(|source| SettingsError::Rules {
                    name: format!("ADDITIONAL_TRANSFORMS[{i}].rules"),
                    source,
                })?;
            Ok(AdditionalTransform {
                bucket: r.destination_bucket_name,
                path_within_bucket: r.path_within_bucket,
                rules,
                rules_sha: sha256_hex(rules_text.as_bytes()),
                compress_output: r.compress_output,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<BulkSettings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BulkSettings::from_lookup(&|k| map.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("PSOXY_SALT", "s3cr3t-salt"),
        ("RULES", "columnsToPseudonymize: [EMPLOYEE_ID]\n"),
        ("OUTPUT_BUCKET", "out"),
    ];

    #[test]
    fn defaults() {
        let s = settings(BASE).unwrap();
        assert!(s.compress_output && s.shuffle);
        assert_eq!(s.instance_id, "psoxy");
        assert_eq!(s.rules_sha.len(), 64);
        assert!(s.additional.is_empty());
    }

    #[test]
    fn missing_and_invalid_settings_are_named_without_values() {
        let err = settings(&BASE[1..]).unwrap_err().to_string();
        assert!(err.contains("PSOXY_SALT"), "{err}");
        let mut bad = BASE.to_vec();
        bad.push(("COMPRESS_OUTPUT_ALWAYS", "sometimes"));
        let err = settings(&bad).unwrap_err().to_string();
        assert!(
            err.contains("COMPRESS_OUTPUT_ALWAYS") && !err.contains("sometimes"),
            "{err}"
        );
        let mut bad = BASE.to_vec();
        bad[1] = ("RULES", "columnsToPseudonymise: [A]\n");
        assert!(settings(&bad)
            .unwrap_err()
            .to_string()
            .contains("did you mean"));
    }

    #[test]
    fn additional_transforms() {
        let mut pairs = BASE.to_vec();
        pairs.push(("COMPRESS_OUTPUT_ALWAYS", "false"));
        pairs.push((
            "ADDITIONAL_TRANSFORMS",
            "- destinationBucketName: extra\n  pathWithinBucket: v2/\n  rules:\n    columnsToRedact: [SALARY]\n  compressOutput: false\n- destinationBucketName: other\n  rules: \"columnsToPseudonymize: [ID]\"\n",
        ));
        let s = settings(&pairs).unwrap();
        assert!(!s.compress_output);
        assert_eq!(s.additional.len(), 2);
        assert_eq!(s.additional[0].bucket, "extra");
        assert_eq!(s.additional[0].path_within_bucket, "v2/");
        assert!(!s.additional[0].compress_output);
        assert!(s.additional[1].compress_output);
        assert!(
            matches!(&s.additional[1].rules, BulkRules::Columnar(c) if c.columns_to_pseudonymize == ["ID"])
        );
    }

    #[test]
    fn setting_names_list_everything_read() {
        let asked = std::cell::RefCell::new(Vec::new());
        let map: HashMap<&str, &str> = BASE.iter().copied().collect();
        BulkSettings::from_lookup(&|k| {
            asked.borrow_mut().push(k.to_string());
            map.get(k).map(|v| v.to_string())
        })
        .unwrap();
        for name in asked.into_inner() {
            assert!(
                SETTING_NAMES.contains(&name.as_str()) || name == "AWS_LAMBDA_FUNCTION_NAME",
                "{name} is read but not in SETTING_NAMES"
            );
        }
    }

    #[test]
    fn invalid_additional_transforms_do_not_show_the_value() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ADDITIONAL_TRANSFORMS", "s3cr3t-salt"));
        let err = settings(&pairs).unwrap_err().to_string();
        assert!(
            err.contains("ADDITIONAL_TRANSFORMS") && !err.contains("s3cr3t"),
            "{err}"
        );
        assert_eq!(
            without_values(r#"invalid type: string "a\"b", expected a sequence"#),
            r#"invalid type: string "...", expected a sequence"#
        );
    }

    #[test]
    fn debug_output_hides_the_salt() {
        let s = settings(BASE).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t-salt"));
    }
}
