//! ColumnarRules: column-level rules for CSV/TSV files.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::keys::{check_keys, join, key_text};
use super::{RulesError, ShapeError};

use crate::pseudonym::PseudonymFormat;

/// Column-level rules (Psoxy's `ColumnarRules`). Column names are matched to the file's header
/// after trimming, case-insensitively.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnarRules {
    /// Columns whose values are replaced by pseudonyms; each must exist in the file.
    #[serde(default)]
    pub columns_to_pseudonymize: Vec<String>,
    /// Columns pseudonymized when the file has them; absent ones are ignored.
    #[serde(default)]
    pub columns_to_pseudonymize_if_present: Vec<String>,
    /// Columns dropped from the output.
    #[serde(default)]
    pub columns_to_redact: Vec<String>,
    /// Allow-list of columns to output; `None` keeps all.
    #[serde(default)]
    pub columns_to_include: Option<Vec<String>>,
    /// Old name -> new name; the renamed column keeps its position.
    #[serde(default)]
    pub columns_to_rename: IndexMap<String, String>,
    /// Original column -> name of an added copy (placed after the file's columns).
    #[serde(default)]
    pub columns_to_duplicate: IndexMap<String, String>,
    /// How pseudonyms are written (default `JSON`).
    #[serde(default)]
    pub pseudonym_format: PseudonymFormat,
    /// Input field delimiter (default `,`); a single character.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Derived output columns computed by a chain of transforms.
    #[serde(default)]
    pub fields_to_transform: IndexMap<String, FieldTransform>,
}

/// One entry of `fieldsToTransform`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldTransform {
    /// Name of the output column (default: the entry's key).
    #[serde(default)]
    pub new_name: Option<String>,
    /// Column read (default: the entry's key).
    #[serde(default)]
    pub source_column: Option<String>,
    /// Steps applied in order to the source column's original value.
    #[serde(default)]
    pub transforms: Vec<FieldTransformStep>,
}

/// One step of a `fieldsToTransform` chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawStep")]
pub enum FieldTransformStep {
    /// Whole-match regex; value becomes group 1 when the regex has a group; no match -> empty.
    Filter(String),
    /// `%s` in the template is replaced by the value.
    FormatString(String),
    /// Replace, only when `reg_exp` matches the whole value (`$1` refers to groups).
    JavaRegExpReplace(RegexReplace),
    /// Pseudonymize with the rules' `pseudonymFormat`.
    Pseudonymize,
}

/// Arguments of `javaRegExpReplace`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegexReplace {
    /// Java-syntax regular expression.
    pub reg_exp: String,
    /// Replacement with `$n` group references.
    pub replace: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStep {
    filter: Option<String>,
    format_string: Option<String>,
    java_reg_exp_replace: Option<RegexReplace>,
    pseudonymize: Option<bool>,
}

/// A `fieldsToTransform` step that is not exactly one transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepShapeError {
    /// `pseudonymize: false`.
    #[error("`pseudonymize: false` is not a transform; remove the step")]
    PseudonymizeFalse,
    /// No transform key.
    #[error("a transform step needs one of filter, formatString, javaRegExpReplace, pseudonymize")]
    Empty,
    /// More than one.
    #[error("each transform step must have exactly one key; write one list item per step")]
    Several,
}

impl TryFrom<RawStep> for FieldTransformStep {
    type Error = StepShapeError;

    fn try_from(raw: RawStep) -> Result<Self, StepShapeError> {
        let mut steps = Vec::new();
        if let Some(f) = raw.filter {
            steps.push(FieldTransformStep::Filter(f));
        }
        if let Some(f) = raw.format_string {
            steps.push(FieldTransformStep::FormatString(f));
        }
        if let Some(r) = raw.java_reg_exp_replace {
            steps.push(FieldTransformStep::JavaRegExpReplace(r));
        }
        match raw.pseudonymize {
            Some(true) => steps.push(FieldTransformStep::Pseudonymize),
            Some(false) => return Err(StepShapeError::PseudonymizeFalse),
            None => {}
        }
        match steps.len() {
            1 => Ok(steps.remove(0)),
            0 => Err(StepShapeError::Empty),
            _ => Err(StepShapeError::Several),
        }
    }
}

/// Keys valid at the top level of ColumnarRules.
pub(crate) const COLUMNAR_KEYS: &[&str] = &[
    "columnsToPseudonymize",
    "columnsToPseudonymizeIfPresent",
    "columnsToRedact",
    "columnsToInclude",
    "columnsToRename",
    "columnsToDuplicate",
    "pseudonymFormat",
    "delimiter",
    "fieldsToTransform",
];
/// Keys valid in a `fieldsToTransform` entry.
pub(crate) const FIELD_TRANSFORM_KEYS: &[&str] = &["newName", "sourceColumn", "transforms"];
/// Keys valid in a `fieldsToTransform` step.
pub(crate) const STEP_KEYS: &[&str] = &[
    "filter",
    "formatString",
    "javaRegExpReplace",
    "pseudonymize",
];
/// Keys valid in `javaRegExpReplace`.
pub(crate) const REPLACE_KEYS: &[&str] = &["regExp", "replace"];

/// Checks the keys of a columnar rules mapping (and of its `fieldsToTransform` entries and
/// steps) and its delimiter, before the model is read.
pub(super) fn check(map: &Mapping, at: &str) -> Result<(), RulesError> {
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
            return Err(ShapeError::Delimiter {
                at: at.to_owned(),
                found: d.clone(),
            }
            .into());
        }
    }
    Ok(())
}
