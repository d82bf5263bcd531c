//! The parts of `psoxy smoke` that need no network: the sample it uploads (a CSV generated from
//! a connector's columnar rules, every value unique and findable), what the deployment should
//! write for it (the same sample sanitized here), and the checks of what it did write.

use std::collections::HashMap;

use crate::rules::ColumnarRules;
use crate::transform::columnar::{java_trim, source_columns};

/// The column every sample has besides the rules' own: passed through, or dropped by
/// `columnsToInclude`, as any column the rules do not name.
pub const NOTE_COLUMN: &str = "PSOXY_SMOKE_NOTE";

/// A generated sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The CSV text.
    pub csv: Vec<u8>,
    /// Each cell's value with its column, in the order written: every value is unique, so a
    /// value found in an output came from its cell.
    pub cells: Vec<(String, String)>,
    /// Data rows.
    pub rows: usize,
}

/// A CSV of `rows` rows with every column `rules` name (sources, redacted, included) and
/// [`NOTE_COLUMN`]. Cells are `smoke-<run>-<column>-<row>`, emails (columns whose name holds
/// `MAIL`) `smoke.<run>.<column>.<row>@example.com`.
pub fn sample(rules: &ColumnarRules, run: &str, rows: usize) -> Sample {
    let key = |n: &str| java_trim(n).to_lowercase();
    let mut columns = source_columns(rules);
    let others = rules
        .columns_to_redact
        .iter()
        .chain(rules.columns_to_include.iter().flatten())
        .chain(std::iter::once(&NOTE_COLUMN.to_string()))
        .cloned()
        .collect::<Vec<_>>();
    for name in others {
        if !columns.iter().any(|c| key(c) == key(&name)) {
            columns.push(name);
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut cells = Vec::new();
    // Writing to memory cannot fail.
    let _ = writer.write_record(&columns);
    for row in 1..=rows {
        let record: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(c, name)| {
                if name.to_ascii_uppercase().contains("MAIL") {
                    format!("smoke.{run}.{c}.{row}@example.com")
                } else {
                    format!("smoke-{run}-{c}-{row}")
                }
            })
            .collect();
        let _ = writer.write_record(&record);
        cells.extend(columns.iter().cloned().zip(record));
    }
    Sample {
        csv: writer.into_inner().unwrap_or_default(),
        cells,
        rows,
    }
}

/// What the deployment should write, and how to recognise it.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The sample sanitized here (with the given salt, or a throwaway one).
    pub local: Vec<u8>,
    /// Whether `local` was made with the deployment's salt (given by the user): then the
    /// output must equal it byte for byte.
    pub salt_given: bool,
    /// The cells of the sample.
    pub cells: Vec<(String, String)>,
    /// `psoxy-original-object-key`: `bucket/key` of the upload.
    pub original_key: String,
    /// SHA-256 (hex) of the rules file's text.
    pub rules_sha: String,
    /// The salt's `psoxy-salt-sha`, when the salt was given.
    pub salt_sha: Option<String>,
}

/// One check of the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Whether it held (`None`: not checked, and why in `what`).
    pub passed: Option<bool>,
    /// What was checked, and what was found (column names and counts, never values).
    pub what: String,
}

impl Check {
    fn of(passed: bool, what: impl Into<String>) -> Check {
        Check {
            passed: Some(passed),
            what: what.into(),
        }
    }
}

/// The checks of `body` (decompressed) and `metadata` (user metadata, decoded) against `want`.
pub fn checks(want: &Expectation, body: &[u8], metadata: &HashMap<String, String>) -> Vec<Check> {
    let mut checks = Vec::new();
    let meta = |name: &str| metadata.get(name).map(String::as_str).unwrap_or("(none)");
    checks.push(Check::of(
        meta("psoxy-original-object-key") == want.original_key,
        format!(
            "psoxy-original-object-key is the upload's: {}",
            meta("psoxy-original-object-key")
        ),
    ));
    checks.push(Check::of(
        meta("psoxy-rules-sha") == want.rules_sha,
        if meta("psoxy-rules-sha") == want.rules_sha {
            "the deployed rules are this rules file (psoxy-rules-sha)".to_string()
        } else {
            format!(
                "the deployed rules are this rules file (psoxy-rules-sha): they are not ({})",
                meta("psoxy-rules-sha")
            )
        },
    ));
    checks.push(match &want.salt_sha {
        Some(sha) => Check::of(
            meta("psoxy-salt-sha") == sha,
            if meta("psoxy-salt-sha") == sha {
                "the deployed salt is the given salt (psoxy-salt-sha): pseudonyms join"
            } else {
                "the deployed salt is the given salt (psoxy-salt-sha): it is not, pseudonyms will not join"
            },
        ),
        None => Check {
            passed: None,
            what: "the deployed salt: not checked (give --salt or PSOXY_SALT)".into(),
        },
    });
    checks.push(Check {
        passed: Some(metadata.contains_key("psoxy-version")),
        what: format!("written by psoxy {}", meta("psoxy-version")),
    });

    let text = String::from_utf8_lossy(body);
    let local = String::from_utf8_lossy(&want.local);
    let header = |t: &str| t.lines().next().unwrap_or("").to_string();
    checks.push(Check::of(
        header(&text) == header(&local),
        format!("header: {}", header(&text)),
    ));
    let rows = |t: &str| t.lines().count().saturating_sub(1);
    checks.push(Check::of(
        rows(&text) == rows(&local),
        format!("rows: {} written, {} expected", rows(&text), rows(&local)),
    ));
    // A value absent from the local output is pseudonymized, redacted or dropped: it must be
    // absent from the deployment's too; one present passes in clear and must be kept.
    let mut leaked: Vec<&str> = Vec::new();
    let mut lost: Vec<&str> = Vec::new();
    let mut hidden_columns: Vec<&str> = Vec::new();
    for (column, value) in &want.cells {
        let clear_here = local.contains(value.as_str());
        let clear_there = text.contains(value.as_str());
        if !clear_here && !hidden_columns.contains(&column.as_str()) {
            hidden_columns.push(column);
        }
        let list = match (clear_here, clear_there) {
            (false, true) => &mut leaked,
            (true, false) => &mut lost,
            _ => continue,
        };
        if !list.contains(&column.as_str()) {
            list.push(column);
        }
    }
    checks.push(Check::of(
        leaked.is_empty(),
        if leaked.is_empty() {
            format!(
                "no clear value of the pseudonymized, redacted or dropped columns ({})",
                hidden_columns.join(", ")
            )
        } else {
            format!("clear values in the output from: {}", leaked.join(", "))
        },
    ));
    checks.push(Check::of(
        lost.is_empty(),
        if lost.is_empty() {
            "the columns passed in clear are kept".to_string()
        } else {
            format!(
                "columns that should pass in clear do not: {}",
                lost.join(", ")
            )
        },
    ));
    checks.push(if want.salt_given {
        Check::of(
            body == want.local.as_slice(),
            if body == want.local.as_slice() {
                "byte-identical to this sample sanitized here with the given salt"
            } else {
                "byte-identical to this sample sanitized here with the given salt: it differs (other pseudonym settings, BULK_OUTPUT_FORMAT or PSOXY_SHUFFLE_ROWS?)"
            },
        )
    } else {
        Check {
            passed: None,
            what: "the pseudonyms themselves: not checked (give --salt or PSOXY_SALT)".into(),
        }
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{load_rules_bytes, BulkRules};

    fn rules(text: &str) -> ColumnarRules {
        match load_rules_bytes(text.as_bytes()).unwrap() {
            BulkRules::Columnar(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_sample_has_every_named_column_and_unique_values() {
        let r = rules(
            "columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL]\ncolumnsToRedact: [SALARY]\ncolumnsToRename: {DEPT: DEPARTMENT}\n",
        );
        let s = sample(&r, "r1", 3);
        let text = String::from_utf8(s.csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("EMPLOYEE_ID,EMPLOYEE_EMAIL,DEPT,SALARY,PSOXY_SMOKE_NOTE")
        );
        assert_eq!(
            lines.next(),
            Some("smoke-r1-0-1,smoke.r1.1.1@example.com,smoke-r1-2-1,smoke-r1-3-1,smoke-r1-4-1")
        );
        assert_eq!(s.cells.len(), 15);
        let mut values: Vec<&String> = s.cells.iter().map(|(_, v)| v).collect();
        values.sort();
        values.dedup();
        assert_eq!(values.len(), 15);
    }

    fn expectation(local: &str, salt: bool) -> Expectation {
        Expectation {
            local: local.as_bytes().to_vec(),
            salt_given: salt,
            cells: vec![
                ("ID".into(), "smoke-1".into()),
                ("DEPT".into(), "smoke-2".into()),
            ],
            original_key: "input/k.csv".into(),
            rules_sha: "abc".into(),
            salt_sha: salt.then(|| "s1".into()),
        }
    }

    fn metadata(rules: &str, salt: &str) -> HashMap<String, String> {
        HashMap::from([
            ("psoxy-original-object-key".into(), "input/k.csv".into()),
            ("psoxy-rules-sha".into(), rules.into()),
            ("psoxy-salt-sha".into(), salt.into()),
            ("psoxy-version".into(), "0.1.0".into()),
        ])
    }

    #[test]
    fn a_faithful_output_passes_every_check() {
        let local = "ID,DEPT\n\"{\"\"hash\"\":\"\"x\"\"}\",smoke-2\n";
        let all = checks(
            &expectation(local, true),
            local.as_bytes(),
            &metadata("abc", "s1"),
        );
        assert!(all.iter().all(|c| c.passed == Some(true)), "{all:?}");
        // Without the salt, the salt and the pseudonyms are not checked.
        let some = checks(
            &expectation(local, false),
            local.as_bytes(),
            &metadata("abc", "s1"),
        );
        assert_eq!(some.iter().filter(|c| c.passed.is_none()).count(), 2);
        assert!(some.iter().all(|c| c.passed != Some(false)), "{some:?}");
    }

    #[test]
    fn leaks_lost_columns_and_other_settings_fail_naming_columns_only() {
        let local = "ID,DEPT\nh1,smoke-2\n";
        let leaking = "ID,DEPT\nsmoke-1,smoke-2\n";
        let failed: Vec<Check> = checks(
            &expectation(local, true),
            leaking.as_bytes(),
            &metadata("abc", "s2"),
        )
        .into_iter()
        .filter(|c| c.passed == Some(false))
        .collect();
        let text: Vec<&str> = failed.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(failed.len(), 3, "{text:?}");
        assert!(text[0].contains("pseudonyms will not join"), "{text:?}");
        assert_eq!(text[1], "clear values in the output from: ID");
        assert!(text[2].contains("it differs"), "{text:?}");
        assert!(failed.iter().all(|c| !c.what.contains("smoke-1")));
        let dropped = "ID\nh1\n";
        let lost = checks(
            &expectation(local, false),
            dropped.as_bytes(),
            &metadata("other", "s1"),
        );
        let text: Vec<&str> = lost
            .iter()
            .filter(|c| c.passed == Some(false))
            .map(|c| c.what.as_str())
            .collect();
        assert!(
            text.iter().any(|t| t.contains("they are not (other)")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.starts_with("header: ID")), "{text:?}");
        assert!(
            text.contains(&"columns that should pass in clear do not: DEPT"),
            "{text:?}"
        );
    }
}
