//! Bulk-mode settings, read through the one settings lookup ([`crate::settings`]).

use serde::Deserialize;

use crate::format::charset::{InputEncoding, ENCODING_NAMES};
use crate::format::DataFormat;
use crate::pseudonym::PseudonymSettings;
use crate::rules::{load_rules_bytes, sha256_hex, BulkRules, RulesError};
use crate::settings::catalog::{
    ADDITIONAL_TRANSFORMS, AWS_LAMBDA_FUNCTION_NAME, BULK_OUTPUT_FORMAT, COMPRESS_OUTPUT_ALWAYS,
    INPUT_BASE_PATH, INPUT_ENCODING, K_SERVICE, OUTPUT_BASE_PATH, OUTPUT_BUCKET, PSOXY_INSTANCE_ID,
    PSOXY_SHUFFLE_ROWS, PSOXY_THREADS, RULES, S3_FORCE_PATH_STYLE,
};
use crate::settings::catalog::{
    FANOUT_CHUNK_BYTES, FANOUT_STATE_MACHINE_ARN, FANOUT_THRESHOLD_BYTES, FANOUT_WORK_BUCKET,
};
use crate::settings::{
    instance_id, pseudonym_settings, Setting, SettingError, Settings, PSEUDONYM_SETTINGS,
};

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
    /// `INPUT_ENCODING` (default UTF-8): the character encoding of text inputs.
    pub input_encoding: InputEncoding,
    /// `PSOXY_THREADS` (default 0: every core).
    pub threads: usize,
    /// The `FANOUT_*` settings.
    pub fanout: FanoutSettings,
}

/// Where and when large objects are sanitized in chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutSettings {
    /// `FANOUT_STATE_MACHINE_ARN`: fan-out is off without it.
    pub state_machine_arn: Option<String>,
    /// `FANOUT_WORK_BUCKET`: plans and parts.
    pub work_bucket: Option<String>,
    /// `FANOUT_THRESHOLD_BYTES`.
    pub threshold_bytes: u64,
    /// `FANOUT_CHUNK_BYTES`.
    pub chunk_bytes: u64,
}

/// The smallest chunk: S3 parts are at least 5 MiB, and chunks much smaller than that only
/// add overhead.
pub const MIN_CHUNK_BYTES: u64 = 16 << 20;

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

/// A bulk setting that is missing or invalid. Names the setting, never its value.
#[derive(Debug, thiserror::Error)]
pub enum BulkSettingsError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// Rules do not load.
    #[error("setting {name}: {source}")]
    Rules {
        /// `RULES` or `ADDITIONAL_TRANSFORMS[i].rules`.
        name: String,
        /// Why.
        source: RulesError,
    },
}

/// Bulk-mode settings besides the pseudonym ones.
const OWN_SETTINGS: &[&Setting] = &[
    &RULES,
    &ADDITIONAL_TRANSFORMS,
    &OUTPUT_BUCKET,
    &INPUT_BASE_PATH,
    &OUTPUT_BASE_PATH,
    &COMPRESS_OUTPUT_ALWAYS,
    &PSOXY_SHUFFLE_ROWS,
    &PSOXY_INSTANCE_ID,
    &AWS_LAMBDA_FUNCTION_NAME,
    &K_SERVICE,
    &BULK_OUTPUT_FORMAT,
    &INPUT_ENCODING,
    &PSOXY_THREADS,
    &FANOUT_STATE_MACHINE_ARN,
    &FANOUT_THRESHOLD_BYTES,
    &FANOUT_CHUNK_BYTES,
    &FANOUT_WORK_BUCKET,
    &S3_FORCE_PATH_STYLE,
];

/// Every setting the bulk function (and `psoxy watch`) reads: the pseudonym settings and the
/// bulk mode's own.
pub fn bulk_settings() -> Vec<&'static Setting> {
    PSEUDONYM_SETTINGS
        .iter()
        .chain(OWN_SETTINGS)
        .copied()
        .collect()
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

impl BulkSettings {
    /// Reads the bulk settings from `settings` (resolved with [`bulk_settings`]).
    pub fn from_settings(settings: &Settings) -> Result<Self, BulkSettingsError> {
        let pseudonym = pseudonym_settings(settings)?;
        let rules_text = settings.required(&RULES)?;
        let rules =
            load_rules_bytes(rules_text.as_bytes()).map_err(|source| BulkSettingsError::Rules {
                name: RULES.name.into(),
                source,
            })?;
        let additional = match settings.get(&ADDITIONAL_TRANSFORMS) {
            None => Vec::new(),
            Some(text) => parse_additional(text)?,
        };
        let text = |s: &Setting| settings.get_or_default(s).unwrap_or_default().to_owned();
        Ok(BulkSettings {
            pseudonym,
            rules,
            rules_sha: sha256_hex(rules_text.as_bytes()),
            output_bucket: settings.required(&OUTPUT_BUCKET)?.to_owned(),
            input_base_path: text(&INPUT_BASE_PATH),
            output_base_path: text(&OUTPUT_BASE_PATH),
            compress_output: settings.flag(&COMPRESS_OUTPUT_ALWAYS)?,
            shuffle: settings.flag(&PSOXY_SHUFFLE_ROWS)?,
            instance_id: instance_id(settings),
            additional,
            output_format: match settings.upper(&BULK_OUTPUT_FORMAT).as_deref() {
                None => None,
                Some("NDJSON") => Some(DataFormat::Ndjson),
                Some("JSON_ARRAY" | "JSON") => Some(DataFormat::JsonArray),
                Some("CSV") => Some(DataFormat::Csv { delimiter: b',' }),
                Some("PARQUET") => Some(DataFormat::Parquet),
                Some(_) => {
                    return Err(SettingError::Invalid {
                        name: BULK_OUTPUT_FORMAT.name,
                        expected: "NDJSON, JSON_ARRAY, CSV or PARQUET",
                    }
                    .into())
                }
            },
            input_encoding: match settings.get(&INPUT_ENCODING) {
                None => InputEncoding::Utf8,
                Some(name) => InputEncoding::parse(name).map_err(|_| SettingError::Invalid {
                    name: INPUT_ENCODING.name,
                    expected: ENCODING_NAMES,
                })?,
            },
            threads: settings
                .get_or_default(&PSOXY_THREADS)
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0),
            fanout: FanoutSettings {
                state_machine_arn: settings.get(&FANOUT_STATE_MACHINE_ARN).map(str::to_owned),
                work_bucket: settings.get(&FANOUT_WORK_BUCKET).map(str::to_owned),
                threshold_bytes: bytes(settings, &FANOUT_THRESHOLD_BYTES, 1)?,
                chunk_bytes: bytes(settings, &FANOUT_CHUNK_BYTES, MIN_CHUNK_BYTES)?,
            },
        })
    }
}

/// A byte count of at least `min`.
fn bytes(settings: &Settings, setting: &Setting, min: u64) -> Result<u64, SettingError> {
    settings
        .get_or_default(setting)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|n| *n >= min)
        .ok_or(SettingError::Invalid {
            name: setting.name,
            expected: "a whole number of bytes (FANOUT_CHUNK_BYTES: at least 16777216)",
        })
}

/// Parses `ADDITIONAL_TRANSFORMS`: a YAML list of `{destinationBucketName, pathWithinBucket,
/// rules, compressOutput}`; `rules` is a rules mapping or a string holding rules (YAML, base64).
fn parse_additional(text: &str) -> Result<Vec<AdditionalTransform>, BulkSettingsError> {
    let yaml = |e: serde_yaml::Error| SettingError::yaml(ADDITIONAL_TRANSFORMS.name, &e);
    let raw: Vec<RawAdditional> = serde_yaml::from_str(text).map_err(yaml)?;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let rules_text = match r.rules {
                serde_yaml::Value::String(s) => s,
                other => serde_yaml::to_string(&other).map_err(yaml)?,
            };
            let rules = load_rules_bytes(rules_text.as_bytes()).map_err(|source| {
                BulkSettingsError::Rules {
                    name: format!("{}[{i}].rules", ADDITIONAL_TRANSFORMS.name),
                    source,
                }
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
    use crate::settings::Flags;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<BulkSettings, BulkSettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BulkSettings::from_settings(&Settings::from_sources(
            &bulk_settings(),
            &Flags::new(),
            &|k| map.get(k).cloned(),
        ))
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
        assert_eq!(s.threads, 0);
        assert_eq!(s.input_encoding, InputEncoding::Utf8);
    }

    #[test]
    fn input_encoding_is_named_in_any_spelling_and_an_unknown_one_refused() {
        let mut pairs = BASE.to_vec();
        pairs.push(("INPUT_ENCODING", "windows-1252"));
        assert_eq!(
            settings(&pairs).unwrap().input_encoding,
            InputEncoding::Windows1252
        );
        pairs[3] = ("INPUT_ENCODING", "SHIFT_JIS");
        let err = settings(&pairs).unwrap_err().to_string();
        assert!(
            err.contains("INPUT_ENCODING") && err.contains("UTF-16LE") && !err.contains("SHIFT"),
            "{err}"
        );
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
    fn invalid_additional_transforms_do_not_show_the_value() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ADDITIONAL_TRANSFORMS", "s3cr3t-salt"));
        let err = settings(&pairs).unwrap_err().to_string();
        assert!(
            err.contains("ADDITIONAL_TRANSFORMS") && !err.contains("s3cr3t"),
            "{err}"
        );
    }

    #[test]
    fn placeholders_read_as_unset() {
        let mut pairs = BASE.to_vec();
        pairs.push(("OUTPUT_BASE_PATH", "PLACEHOLDER"));
        assert_eq!(settings(&pairs).unwrap().output_base_path, "");
    }

    #[test]
    fn debug_output_hides_the_salt() {
        let s = settings(BASE).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t-salt"));
    }
}
