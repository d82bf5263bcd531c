//! `psoxy check` on bulk rules: validate them and preview their effect on a sample.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::preview::preview_pseudonymizer;
use crate::cli::{format_override, shown, CheckArgs, CliError, EXIT_OK, EXIT_WARNINGS};
use crate::format::charset::InputEncoding;
use crate::format::compression::decoded_reader;
use crate::format::csv::CsvBatchReader;
use crate::format::json_array::ArrayPiece;
use crate::format::parquet::ParquetInput;
use crate::format::{json_batches, DataFormat, JsonLayout};
use crate::pseudonym::Pseudonymizer;
use crate::rules::{BulkRules, ColumnarRules};
use crate::sanitize::{Sanitizer, StreamOptions};
use crate::transform::columnar::{java_trim, source_columns, ColumnAction};
use crate::transform::{ColumnarProgram, RecordPlan};

/// Runs `psoxy check` on bulk rules.
pub(super) fn run(args: &CheckArgs, rules: BulkRules) -> Result<i32, CliError> {
    let (p, _) = preview_pseudonymizer()?;
    validate(&rules, &p).map_err(|e| CliError(format!("{}: {e}", shown(&args.rules))))?;
    println!("{}: valid {}", shown(&args.rules), rules.kind());
    let Some(sample) = &args.sample else {
        if let BulkRules::MultiType(m) = &rules {
            for (template, r) in &m.file_rules {
                println!("  {template} -> {}", r.kind());
            }
        }
        return Ok(EXIT_OK);
    };
    let rules = match &rules {
        BulkRules::MultiType(m) => {
            let key = sample.to_string_lossy().replace('\\', "/");
            let key = key.strip_prefix("./").unwrap_or(&key);
            let (template, selected) = m.select(key)?.ok_or_else(|| {
                CliError(format!(
                    "{key}: no fileRules template matches this path; it would be skipped"
                ))
            })?;
            println!(
                "{key}: matches fileRules template `{template}` ({})",
                selected.kind()
            );
            selected
        }
        single => single,
    };
    let sanitizer = Sanitizer::new(rules, p.clone(), 1)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.rules))))?;
    let key = sample
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let encoding = args.input_encoding.unwrap_or_default();
    let opts = StreamOptions {
        object_key: key,
        format: format_override(args.input_format),
        shuffle: false,
        gzip_output: false,
        content_type: None,
        output_format: None,
        input_encoding: encoding,
        ..Default::default()
    };
    let format = sanitizer
        .resolve_format(&opts)
        .map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
    let warnings = match (rules, format) {
        (BulkRules::Columnar(c), DataFormat::Csv { .. } | DataFormat::Parquet) => {
            check_columnar(c, sample, format, encoding, args.rows, &p)?
        }
        (BulkRules::Record(r), format) => {
            let plan = RecordPlan::compile(r, &p)?;
            check_records(&plan, sample, format, encoding, args.rows, &p)?
        }
        _ => {
            return Err(CliError(format!(
                "{}: rules and sample format do not fit",
                shown(sample)
            )))
        }
    };
    if warnings.is_empty() {
        println!("no warnings");
        Ok(EXIT_OK)
    } else {
        for w in &warnings {
            eprintln!("WARNING: {w}");
        }
        eprintln!(
            "{} warning(s): review them before sending this data anywhere",
            warnings.len()
        );
        Ok(if args.strict { EXIT_WARNINGS } else { EXIT_OK })
    }
}

/// Compiles everything that can be compiled without data: JSONPaths, regexes, schemas.
fn validate(rules: &BulkRules, p: &Pseudonymizer) -> Result<(), crate::transform::PlanError> {
    match rules {
        BulkRules::Record(r) => RecordPlan::compile(r, p).map(|_| ()),
        BulkRules::Columnar(c) => {
            let header = source_columns(c);
            ColumnarProgram::compile(c)?.bind(&header).map(|_| ())
        }
        BulkRules::MultiType(m) => m.file_rules.values().try_for_each(|r| validate(r, p)),
    }
}

fn open(
    sample: &Path,
    encoding: InputEncoding,
) -> Result<Box<dyn std::io::BufRead + Send>, CliError> {
    let file = File::open(sample).map_err(|e| CliError(format!("{}: {e}", shown(sample))))?;
    decoded_reader(file, encoding).map_err(|e| CliError(format!("{}: {e}", shown(sample))))
}

/// A row with its line (CSV) or row (Parquet) number.
type NumberedRow = (u64, csv::ByteRecord);

/// The header and first `max_rows` rows of a CSV or Parquet sample (Parquet cells as text).
fn sample_table(
    sample: &Path,
    format: DataFormat,
    encoding: InputEncoding,
    max_rows: usize,
) -> Result<(Vec<String>, Vec<NumberedRow>), CliError> {
    let err = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", shown(sample)));
    let mut rows = Vec::new();
    if format == DataFormat::Parquet {
        return parquet_table(sample, max_rows);
    }
    let DataFormat::Csv { delimiter } = format else {
        return Err(err(&"not a table format"));
    };
    let mut reader =
        CsvBatchReader::new(open(sample, encoding)?, delimiter).map_err(|e| err(&e))?;
    let header = reader.header().to_vec();
    'rows: while let Some(batch) = reader.next_batch().map_err(|e| err(&e))? {
        for row in batch.into_rows().map_err(|e| err(&e))? {
            if rows.len() >= max_rows {
                break 'rows;
            }
            rows.push(row);
        }
    }
    Ok((header, rows))
}

/// The header and first `max_rows` rows of a Parquet sample, cells as text.
fn parquet_table(
    sample: &Path,
    max_rows: usize,
) -> Result<(Vec<String>, Vec<NumberedRow>), CliError> {
    let (header, cells) = parquet_file(sample)?
        .head_table(max_rows)
        .map_err(|e| sample_error(sample, &e))?;
    let rows = (1..)
        .zip(cells)
        .map(|(n, cells)| (n, csv::ByteRecord::from(cells)))
        .collect();
    Ok((header, rows))
}

/// The first `max_rows` rows of a Parquet sample as JSON records, numbered from 1.
fn parquet_records(sample: &Path, max_rows: usize) -> Result<Vec<(u64, Value)>, CliError> {
    let text = parquet_file(sample)?
        .head_json(max_rows)
        .map_err(|e| sample_error(sample, &e))?;
    let lines = text.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    (1..)
        .zip(lines)
        .map(|(n, line)| {
            let v: Value = serde_json::from_slice(line).map_err(|e| sample_error(sample, &e))?;
            Ok((n, v))
        })
        .collect()
}

fn parquet_file(sample: &Path) -> Result<ParquetInput, CliError> {
    ParquetInput::spool(open(sample, InputEncoding::Utf8)?)
        .map_err(|e| sample_error(sample, &e))?
        .ok_or_else(|| sample_error(sample, &"empty file"))
}

fn sample_error(sample: &Path, e: &dyn std::fmt::Display) -> CliError {
    CliError(format!("{}: {e}", shown(sample)))
}

fn check_columnar(
    rules: &ColumnarRules,
    sample: &Path,
    format: DataFormat,
    encoding: InputEncoding,
    max_rows: usize,
    p: &Pseudonymizer,
) -> Result<Vec<String>, CliError> {
    let err = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", shown(sample)));
    let (raw_header, rows) = sample_table(sample, format, encoding, max_rows)?;
    let header: Vec<String> = raw_header
        .iter()
        .map(|h| java_trim(h).to_string())
        .collect();
    let plan = ColumnarProgram::compile(rules)
        .and_then(|program| program.bind(&raw_header))
        .map_err(|e| err(&e))?;
    let described = plan.describe();
    let mut clear_values: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut cells = Vec::new();
    for (line, record) in &rows {
        plan.transform_row(record, *line, p, &mut cells)
            .map_err(|e| err(&e))?;
        for (i, (_, _, action)) in described.iter().enumerate() {
            if *action == ColumnAction::Clear {
                clear_values.entry(i).or_default().push(cells[i].clone());
            }
        }
    }
    let scanned = rows.len();
    println!(
        "{}: {} columns, {} rows scanned",
        shown(sample),
        header.len(),
        scanned
    );
    println!();
    println!("  {:<32} ACTION", "INPUT COLUMN");
    let unnamed: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, name)| name.is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    // Unnamed columns pass through unless `columnsToInclude` leaves them out.
    let unnamed_kept = described.iter().any(|(_, src, _)| src.is_empty());
    for (position, name) in header.iter().enumerate() {
        if name.is_empty() {
            let label = format!("(unnamed, column {})", position + 1);
            let action = if unnamed_kept {
                "clear (no name: passes through)"
            } else {
                "dropped (not included)"
            };
            println!("  {label:<32} {action}");
            continue;
        }
        let outs: Vec<String> = described
            .iter()
            .filter(|(_, src, _)| src == name)
            .map(|(out, _, action)| {
                let verb = match action {
                    ColumnAction::Clear => "clear",
                    ColumnAction::Pseudonymized => "pseudonymized",
                    ColumnAction::Derived => "derived",
                };
                if out == name {
                    verb.to_string()
                } else {
                    format!("{verb} as {out}")
                }
            })
            .collect();
        let action = if outs.is_empty() {
            "dropped (redacted / not included)".to_string()
        } else {
            outs.join(", ")
        };
        println!("  {name:<32} {action}");
    }
    println!();
    let mut warnings = Vec::new();
    if unnamed_kept && !unnamed.is_empty() {
        let positions: Vec<String> = unnamed.iter().map(usize::to_string).collect();
        warnings.push(format!(
            "the header has {} unnamed column(s) (column {}; trailing commas?): they pass through unchanged, as in Psoxy since 0.5.4; make sure they hold nothing personal, or remove them",
            unnamed.len(),
            positions.join(", ")
        ));
    }
    for (i, (out, src, action)) in described.iter().enumerate() {
        if *action != ColumnAction::Clear || src.is_empty() {
            continue;
        }
        let values = clear_values.get(&i).map(Vec::as_slice).unwrap_or_default();
        clear_warnings(&format!("column `{out}`"), src, values, &mut warnings);
    }
    Ok(warnings)
}

fn check_records(
    plan: &RecordPlan,
    sample: &Path,
    format: DataFormat,
    encoding: InputEncoding,
    max_rows: usize,
    p: &Pseudonymizer,
) -> Result<Vec<String>, CliError> {
    let err = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", shown(sample)));
    let mut originals: Vec<(u64, Value)> = Vec::new();
    match format {
        DataFormat::Ndjson | DataFormat::JsonArray => {
            let mut reader = json_batches(
                open(sample, encoding)?,
                if format == DataFormat::JsonArray {
                    JsonLayout::Array(ArrayPiece::default())
                } else {
                    JsonLayout::Lines
                },
                1,
            );
            'outer: while let Some(batch) = reader().map_err(|e| err(&e))? {
                for (line, text) in batch.iter() {
                    if originals.len() >= max_rows {
                        break 'outer;
                    }
                    if text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let v: Value = serde_json::from_slice(text).map_err(|e| {
                        err(&format!(
                            "line {line}: invalid JSON at column {}",
                            e.column()
                        ))
                    })?;
                    originals.push((line, v));
                }
            }
        }
        DataFormat::Parquet => originals = parquet_records(sample, max_rows)?,
        DataFormat::Csv { .. } => {
            let (header, rows) = sample_table(sample, format, encoding, max_rows)?;
            let header: Vec<String> = header.iter().map(|h| java_trim(h).to_string()).collect();
            for (line, record) in &rows {
                let obj = header
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| {
                        (
                            h.clone(),
                            Value::String(java_trim(&String::from_utf8_lossy(v)).to_string()),
                        )
                    })
                    .collect();
                originals.push((*line, Value::Object(obj)));
            }
        }
    }
    println!("{}: {} records scanned", shown(sample), originals.len());
    println!();
    println!("  {:<48} {:<18} MATCHES", "JSONPATH", "TRANSFORM");
    let mut warnings = Vec::new();
    for (path, op) in plan.describe() {
        let parsed = crate::jsonpath::JsonPath::parse(&path).map_err(|e| err(&e))?;
        let matches: usize = originals.iter().map(|(_, v)| parsed.select(v).len()).sum();
        println!("  {path:<48} {op:<18} {matches}");
        if matches == 0 && !originals.is_empty() {
            warnings.push(format!(
                "{op} path `{path}` matched nothing in the sample (typo?)"
            ));
        }
    }
    println!();
    let mut clear: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (line, mut v) in originals {
        plan.apply(&mut v, p)
            .map_err(|e| err(&format!("line {line}: {e}")))?;
        collect_strings(&v, "$".to_string(), &mut clear);
    }
    for (path, values) in &clear {
        let leaf = path.rsplit(['.', '[']).next().unwrap_or(path);
        clear_warnings(&format!("`{path}`"), leaf, values, &mut warnings);
    }
    Ok(warnings)
}

/// Warnings for a column or field (`subject`) that passes through in clear.
fn clear_warnings(subject: &str, name: &str, values: &[String], out: &mut Vec<String>) {
    if let Some(kind) = identifier_name(name).filter(|k| name_warning_applies(k, values)) {
        out.push(format!(
            "{subject} passes through in clear and its name suggests {kind}"
        ));
    }
    if let Some(w) = value_warning(values) {
        out.push(format!("{subject} passes through in clear and {w}"));
    }
}

/// Clear string leaves by normalized path (`$.a[*].b`); pseudonym tokens are skipped.
fn collect_strings(v: &Value, path: String, out: &mut BTreeMap<String, Vec<String>>) {
    match v {
        Value::String(s) if !(s.starts_with("t~") || s.starts_with("p~")) => {
            out.entry(path).or_default().push(s.clone());
        }
        Value::Object(m) => {
            for (k, child) in m {
                collect_strings(child, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for child in a {
                collect_strings(child, format!("{path}[*]"), out);
            }
        }
        _ => {}
    }
}

/// What a column or field name suggests it holds, if it looks like personal data.
fn identifier_name(name: &str) -> Option<&'static str> {
    // Split camelCase too (`employeeId` -> `employee_Id`) so whole-word tests work.
    let mut split = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if prev_lower && c.is_uppercase() {
            split.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        split.push(c);
    }
    let upper = split.to_uppercase();
    let tokens: Vec<&str> = upper
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let has = |words: &[&str]| tokens.iter().any(|t| words.iter().any(|w| t.contains(w)));
    if has(&["EMAIL", "MAIL"]) {
        Some("email addresses")
    } else if has(&["PHONE", "MOBILE"]) {
        Some("phone numbers")
    } else if has(&["SSN", "PASSPORT", "NATIONAL"]) {
        Some("government identifiers")
    } else if has(&["NAME"]) || has(&["FIRST", "LAST", "SURNAME"]) && !has(&["DATE"]) {
        Some("personal names")
    } else if has(&["ADDRESS", "BIRTH", "DOB"]) {
        Some("personal details")
    } else if tokens.iter().any(|t| {
        matches!(
            *t,
            "ID" | "IDS" | "IDENTIFIER" | "GUID" | "UPN" | "LOGIN" | "USERNAME"
        )
    }) {
        Some("an identifier")
    } else {
        None
    }
}

/// A generic "identifier" name (`SURVEY_ID`, `BUILDING_ID`) only warns when its values are
/// varied enough to single people out; names suggesting emails, phones or names always warn.
fn name_warning_applies(kind: &str, values: &[String]) -> bool {
    if kind != "an identifier" {
        return true;
    }
    let distinct: std::collections::HashSet<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .collect();
    distinct.len() >= 20 || distinct.len() * 10 > values.len()
}

fn email_anywhere() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
            .expect("valid regex")
    })
}

fn phone_like() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\+?[0-9][0-9 ().-]{6,}[0-9]$").expect("valid regex"))
}

/// A warning about sampled clear values that look like emails or phone numbers.
fn value_warning(values: &[String]) -> Option<String> {
    let non_empty = values.iter().filter(|v| !v.is_empty()).count();
    let emails = values
        .iter()
        .filter(|v| email_anywhere().is_match(v))
        .count();
    if emails > 0 {
        return Some(format!(
            "{emails} of {non_empty} sampled values contain email addresses"
        ));
    }
    let phones = values
        .iter()
        .filter(|v| phone_like().is_match(v) && v.chars().filter(char::is_ascii_digit).count() >= 7)
        .filter(|v| !looks_like_date(v))
        .count();
    if phones > 0 && phones * 2 >= non_empty {
        return Some(format!(
            "{phones} of {non_empty} sampled values look like phone numbers"
        ));
    }
    None
}

fn looks_like_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10 && b[4] == b'-' && b[7] == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_suggest_identifiers() {
        assert_eq!(identifier_name("MANAGER_EMAIL"), Some("email addresses"));
        assert_eq!(identifier_name("employee id"), Some("an identifier"));
        assert_eq!(identifier_name("EMPLOYEE_ID"), Some("an identifier"));
        assert_eq!(identifier_name("BADGE_ID"), Some("an identifier"));
        assert_eq!(identifier_name("Full Name"), Some("personal names"));
        assert_eq!(identifier_name("DEPARTMENT"), None);
        assert_eq!(identifier_name("JOIN_DATE"), None);
        assert_eq!(identifier_name("VALID"), None);
        assert_eq!(identifier_name("employeeId"), Some("an identifier"));
    }

    #[test]
    fn generic_id_names_need_varied_values() {
        let few: Vec<String> = (0..200).map(|i| format!("S{}", i % 2)).collect();
        let many: Vec<String> = (0..200).map(|i| format!("E{i}")).collect();
        assert!(!name_warning_applies("an identifier", &few));
        assert!(name_warning_applies("an identifier", &many));
        assert!(name_warning_applies("email addresses", &few));
    }

    #[test]
    fn value_warnings() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(value_warning(&v(&["ok", "contact bob@acme.com please"]))
            .unwrap()
            .contains("1 of 2"));
        assert!(value_warning(&v(&["+1 415 555 0100", "(415) 555-0101"]))
            .unwrap()
            .contains("phone"));
        assert!(value_warning(&v(&["2024-01-01", "Engineering"])).is_none());
    }
}
