//! ColumnarRules compiled once into a [`ColumnarProgram`] (regexes and templates of
//! `fieldsToTransform` compiled, so a bad one fails at start), then bound to each file's
//! header into a per-column [`ColumnarPlan`].

use std::collections::HashMap;

use super::cell::Step;
use super::{PlanError, RowError, RowProblem};
use crate::format::csv::{write_field, CsvFields};
use crate::pseudonym::{PseudonymFormat, Pseudonymizer};
use crate::rules::ColumnarRules;

/// What happens to one output cell.
#[derive(Debug, Clone)]
enum CellOp {
    /// The trimmed value, unchanged.
    Clear,
    /// Pseudonymized with the plan's format.
    Pseudonymize,
    /// A chain of `fieldsToTransform` steps.
    Derive(Vec<Step>),
}

/// What a column of the output is, for reports (`psoxy check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnAction {
    /// Passed through in clear.
    Clear,
    /// Pseudonymized.
    Pseudonymized,
    /// Computed by `fieldsToTransform`.
    Derived,
}

#[derive(Debug, Clone)]
struct OutputColumn {
    name: String,
    source: usize,
    op: CellOp,
}

/// A compiled columnar plan: the output header and, per output column, its source column and
/// operation. Built once per file; [`ColumnarPlan::transform_row`] runs per row.
#[derive(Debug, Clone)]
pub struct ColumnarPlan {
    columns: Vec<OutputColumn>,
    input_header: Vec<String>,
    format: PseudonymFormat,
}

/// Trims like Java's `String.trim()`: every char <= U+0020 at either end.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

/// [`java_trim`] on bytes (UTF-8 safe: bytes <= 0x20 are always single ASCII chars).
pub fn java_trim_bytes(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| *c > 0x20).unwrap_or(b.len());
    let end = b.iter().rposition(|c| *c > 0x20).map_or(start, |e| e + 1);
    &b[start..end]
}

/// The file columns `rules` name as sources (pseudonymized, renamed, duplicated, transformed),
/// once each in the order the rules name them: a header of them lets the rules compile fully.
/// A name that is a duplicate's new name is not a file column.
pub fn source_columns(rules: &ColumnarRules) -> Vec<String> {
    let key = |n: &str| java_trim(n).to_lowercase();
    let copies: Vec<String> = rules
        .columns_to_duplicate
        .values()
        .map(|n| key(n))
        .collect();
    let named = rules
        .columns_to_pseudonymize
        .iter()
        .chain(&rules.columns_to_pseudonymize_if_present)
        .filter(|n| !copies.contains(&key(n)))
        .chain(rules.columns_to_rename.keys())
        .chain(rules.columns_to_duplicate.keys())
        .cloned()
        .chain(
            rules
                .fields_to_transform
                .iter()
                .map(|(field, spec)| spec.source_column.clone().unwrap_or_else(|| field.clone())),
        );
    let mut header: Vec<String> = Vec::new();
    for name in named {
        if !header.iter().any(|h| key(h) == key(&name)) {
            header.push(name);
        }
    }
    header
}

/// A row must have at least as many fields as the header (extra fields are ignored).
pub(crate) fn require_width(fields: usize, header: usize, line: u64) -> Result<(), RowError> {
    if fields < header {
        return Err(RowError {
            line,
            column: None,
            problem: RowProblem::TooFewFields {
                line,
                fields,
                header,
            },
        });
    }
    Ok(())
}

/// A cell trimmed and checked to be UTF-8; the error names the line and column, not the value.
pub(crate) fn cell_text<'a>(raw: &'a [u8], line: u64, column: &str) -> Result<&'a str, RowError> {
    std::str::from_utf8(java_trim_bytes(raw)).map_err(|_| RowError {
        line,
        column: Some(column.to_string()),
        problem: RowProblem::NotUtf8,
    })
}

/// ColumnarRules compiled, before any header is known: every regex and template of
/// `fieldsToTransform` compiled. [`ColumnarProgram::bind`] makes the plan of one file.
#[derive(Debug, Clone)]
pub struct ColumnarProgram {
    rules: ColumnarRules,
    /// The compiled steps of each `fieldsToTransform` entry, in rule order.
    fields: Vec<Vec<Step>>,
}

impl ColumnarProgram {
    /// Compiles `rules`; a regex that does not compile is an error naming its step.
    pub fn compile(rules: &ColumnarRules) -> Result<Self, PlanError> {
        let fields = rules
            .fields_to_transform
            .iter()
            .map(|(field, spec)| {
                spec.transforms
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        Step::compile(s, &format!("fieldsToTransform.{field}.transforms[{i}]"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ColumnarProgram {
            rules: rules.clone(),
            fields,
        })
    }

    /// The rules compiled.
    pub fn rules(&self) -> &ColumnarRules {
        &self.rules
    }

    /// The input delimiter the rules set, if any.
    pub fn delimiter(&self) -> Option<u8> {
        self.rules.delimiter.as_ref().and_then(|d| d.bytes().next())
    }

    /// The plan for a file whose header is `header` (raw names; trimmed here): each output
    /// column's source and operation.
    pub fn bind(&self, header: &[String]) -> Result<ColumnarPlan, PlanError> {
        ColumnarPlan::compile(self, header)
    }
}

fn key(name: &str) -> String {
    java_trim(name).to_lowercase()
}

impl ColumnarPlan {
    /// Binds `program` to a file whose header is `header` (raw names; trimmed here).
    fn compile(program: &ColumnarProgram, header: &[String]) -> Result<Self, PlanError> {
        let rules = &program.rules;
        let header: Vec<String> = header.iter().map(|h| java_trim(h).to_string()).collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            by_name.entry(key(h)).or_default().push(i);
        }
        let available = header.join(", ");
        let missing = |column: &str, rule: &'static str| PlanError::MissingColumn {
            column: column.to_string(),
            rule,
            available: available.clone(),
        };
        let duplicates: Vec<(usize, String)> = rules
            .columns_to_duplicate
            .iter()
            .map(|(orig, copy)| {
                by_name
                    .get(&key(orig))
                    .map(|idx| (idx[0], java_trim(copy).to_string()))
                    .ok_or_else(|| missing(orig, "columnsToDuplicate"))
            })
            .collect::<Result<_, _>>()?;
        let is_duplicate_name = |n: &str| duplicates.iter().any(|(_, c)| key(c) == key(n));

        let mut pseudonymized = vec![false; header.len()];
        let mut pseudonymized_copies: Vec<String> = Vec::new();
        for (names, required) in [
            (&rules.columns_to_pseudonymize, true),
            (&rules.columns_to_pseudonymize_if_present, false),
        ] {
            for name in names {
                match by_name.get(&key(name)) {
                    Some(idx) => idx.iter().for_each(|i| pseudonymized[*i] = true),
                    None if is_duplicate_name(name) => pseudonymized_copies.push(key(name)),
                    None if required => return Err(missing(name, "columnsToPseudonymize")),
                    None => {}
                }
            }
        }
        let redacted: Vec<String> = rules.columns_to_redact.iter().map(|n| key(n)).collect();
        let include: Option<Vec<String>> = rules
            .columns_to_include
            .as_ref()
            .map(|names| names.iter().map(|n| key(n)).collect());
        let mut renamed: Vec<Option<String>> = vec![None; header.len()];
        for (old, new) in &rules.columns_to_rename {
            let idx = by_name
                .get(&key(old))
                .ok_or_else(|| missing(old, "columnsToRename"))?;
            idx.iter()
                .for_each(|i| renamed[*i] = Some(java_trim(new).to_string()));
        }
        let kept = |names: &[&str]| {
            !names.iter().any(|n| redacted.contains(&key(n)))
                && include
                    .as_ref()
                    .is_none_or(|inc| names.iter().any(|n| inc.contains(&key(n))))
        };

        let mut columns = Vec::new();
        for (i, h) in header.iter().enumerate() {
            let new_name = renamed[i].clone();
            let mut names = vec![h.as_str()];
            if let Some(n) = &new_name {
                names.push(n);
            }
            if !kept(&names) {
                continue;
            }
            columns.push(OutputColumn {
                name: new_name.unwrap_or_else(|| h.clone()),
                source: i,
                op: if pseudonymized[i] {
                    CellOp::Pseudonymize
                } else {
                    CellOp::Clear
                },
            });
        }
        let mut extras = Vec::new();
        for (source, copy) in duplicates {
            if !kept(&[copy.as_str()]) {
                continue;
            }
            let op = if pseudonymized_copies.contains(&key(&copy)) {
                CellOp::Pseudonymize
            } else {
                CellOp::Clear
            };
            extras.push(OutputColumn {
                name: copy,
                source,
                op,
            });
        }
        for ((field, spec), steps) in rules.fields_to_transform.iter().zip(&program.fields) {
            let source_name = spec.source_column.as_deref().unwrap_or(field);
            let source = by_name
                .get(&key(source_name))
                .ok_or_else(|| missing(source_name, "fieldsToTransform"))?[0];
            let steps = steps.clone();
            let name = java_trim(spec.new_name.as_deref().unwrap_or(field)).to_string();
            let derived = OutputColumn {
                name,
                source,
                op: CellOp::Derive(steps),
            };
            // A derived column named like a kept file column replaces it in place.
            match columns
                .iter_mut()
                .find(|c| key(&c.name) == key(&derived.name))
            {
                Some(existing) => *existing = derived,
                None => extras.push(derived),
            }
        }
        extras.sort_by(|a, b| a.name.cmp(&b.name));
        columns.extend(extras);

        // Duplicate names the file itself has are kept; rules must not create new clashes.
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            let file_has_twice = by_name.get(&key(&c.name)).is_some_and(|idx| idx.len() > 1);
            if !seen.insert(key(&c.name)) && !file_has_twice {
                return Err(PlanError::DuplicateOutputColumn(c.name.clone()));
            }
        }
        Ok(ColumnarPlan {
            columns,
            input_header: header,
            format: rules.pseudonym_format,
        })
    }

    /// Names of the output columns, in order.
    pub fn output_header(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Number of output columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Number of input columns every row must have.
    pub fn input_width(&self) -> usize {
        self.input_header.len()
    }

    /// For each output column: its name, source column name and action.
    pub fn describe(&self) -> Vec<(String, String, ColumnAction)> {
        self.columns
            .iter()
            .map(|c| {
                let action = match c.op {
                    CellOp::Clear => ColumnAction::Clear,
                    CellOp::Pseudonymize => ColumnAction::Pseudonymized,
                    CellOp::Derive(_) => ColumnAction::Derived,
                };
                (c.name.clone(), self.input_header[c.source].clone(), action)
            })
            .collect()
    }

    /// Transforms one row. `fields` are the raw (untrimmed) cells; `out` receives one string per
    /// output column (its previous contents are overwritten). Rows with fewer fields than the
    /// header are an error; extra fields are ignored.
    pub fn transform_row(
        &self,
        fields: &csv::ByteRecord,
        line: u64,
        pseudonymizer: &Pseudonymizer,
        out: &mut Vec<String>,
    ) -> Result<(), RowError> {
        require_width(fields.len(), self.input_header.len(), line)?;
        out.resize_with(self.columns.len(), String::new);
        for (col, cell_out) in self.columns.iter().zip(out.iter_mut()) {
            cell_out.clear();
            let raw = fields.get(col.source).unwrap_or_default();
            let value = cell_text(raw, line, &self.input_header[col.source])?;
            if value.is_empty() {
                continue;
            }
            self.apply(&col.op, value, pseudonymizer, cell_out);
        }
        Ok(())
    }

    /// [`ColumnarPlan::transform_row`] for a record parsed from valid UTF-8 text, appending
    /// the output row to `out` as a CSV line (`,`-separated, minimal quoting, `terminator`).
    /// `scratch` is reused for computed cells. Gives the bytes `transform_row` followed by the
    /// csv crate's writer gives.
    ///
    /// `quote_free` says that no field of `text` needs quoting (see
    /// [`CsvBatch::quote_free`](crate::format::csv::CsvBatch::quote_free)): clear fields are
    /// then copied without testing them.
    #[allow(clippy::too_many_arguments)]
    pub fn transform_text_row(
        &self,
        fields: &CsvFields,
        text: &str,
        quote_free: bool,
        line: u64,
        pseudonymizer: &Pseudonymizer,
        terminator: &[u8],
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), RowError> {
        require_width(fields.len(), self.input_header.len(), line)?;
        let row_start = out.len();
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let value = java_trim(fields.get(text, col.source).unwrap_or_default());
            if value.is_empty() {
                continue;
            }
            match &col.op {
                CellOp::Clear if quote_free => out.extend_from_slice(value.as_bytes()),
                CellOp::Clear => write_field(out, value),
                op => {
                    scratch.clear();
                    self.apply(op, value, pseudonymizer, scratch);
                    if matches!(op, CellOp::Pseudonymize) && self.format != PseudonymFormat::Json {
                        // base64url, `t~`, `@` and a domain: nothing to quote.
                        debug_assert!(!scratch.contains([',', '"', '\r', '\n']));
                        out.extend_from_slice(scratch.as_bytes());
                    } else {
                        write_field(out, scratch);
                    }
                }
            }
        }
        if self.columns.len() == 1 && out.len() == row_start {
            // The csv crate writes a record of one empty field as `""` (else it would read
            // back as no record at all).
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(terminator);
        Ok(())
    }

    /// The input column (index into the header) output column `i` reads.
    pub fn source_of(&self, i: usize) -> usize {
        self.columns[i].source
    }

    /// Whether output column `i` passes its source through unchanged.
    pub fn is_clear(&self, i: usize) -> bool {
        matches!(self.columns[i].op, CellOp::Clear)
    }

    /// Computes output column `i` from its source's trimmed, non-empty `value` into `out`
    /// (cleared first). Returns `false` when the result is null (a `fieldsToTransform` filter
    /// that did not match).
    pub fn transform_value(
        &self,
        i: usize,
        value: &str,
        pseudonymizer: &Pseudonymizer,
        out: &mut String,
    ) -> bool {
        out.clear();
        self.apply(&self.columns[i].op, value, pseudonymizer, out)
    }

    fn apply(&self, op: &CellOp, value: &str, p: &Pseudonymizer, out: &mut String) -> bool {
        match op {
            CellOp::Clear => out.push_str(value),
            CellOp::Pseudonymize => {
                p.pseudonymize_into(value, self.format, out);
            }
            CellOp::Derive(steps) => return self.derive(steps, value, p, out),
        }
        true
    }

    fn derive(&self, steps: &[Step], value: &str, p: &Pseudonymizer, out: &mut String) -> bool {
        let mut current = value.to_string();
        for step in steps {
            if let Step::Pseudonymize = step {
                match p.pseudonymize(&current, self.format) {
                    Some(v) => current = v,
                    None => return false,
                }
                continue;
            }
            match step.apply_text(&current) {
                Some(v) => current = v,
                None => return false,
            }
        }
        out.push_str(&current);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(rules: &ColumnarRules, header: &[String]) -> Result<ColumnarPlan, PlanError> {
        ColumnarProgram::compile(rules)?.bind(header)
    }
    use crate::format::csv::{quote_free, writer, CsvRecords};
    use crate::rules::{parse_rules_yaml, BulkRules};
    use proptest::prelude::*;

    proptest! {
        /// The text fast path writes exactly what `transform_row` plus the csv crate's
        /// writer write, and fails the same way on short rows.
        #[test]
        fn text_rows_match_the_general_path(
            cells in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec!["", " ", "E01", "a@x.com", " Al <al@y.org> ", "\"q\"", "x,y", "é", "\r\n"]),
                    1..5,
                ),
                1..6,
            ),
            single in any::<bool>(),
            format in proptest::sample::select(vec!["URL_SAFE_HASH_ONLY", "URL_SAFE_TOKEN", "JSON"]),
        ) {
            let header: Vec<String> = if single { vec!["A".into()] } else { ["A", "B", "C"].map(String::from).to_vec() };
            let columns = if single { "columnsToPseudonymize: [A]\n" } else { "columnsToPseudonymize: [A]\ncolumnsToRedact: [C]\n" };
            let yaml = format!("{columns}pseudonymFormat: {format}\n");
            let plan = bind(&rules(&yaml), &header).unwrap();
            let p = Pseudonymizer::salted("s");
            let mut text = String::new();
            for row in &cells {
                let mut w = writer(false, 0);
                w.write_record(row).unwrap();
                text.push_str(std::str::from_utf8(&w.into_inner().unwrap()).unwrap());
            }
            let mut expected = writer(false, 0);
            let mut expected_err = None;
            let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
            let mut rec = csv::ByteRecord::new();
            let mut out_cells = Vec::new();
            while reader.read_byte_record(&mut rec).unwrap() {
                let line = rec.position().unwrap().line();
                match plan.transform_row(&rec, line, &p, &mut out_cells) {
                    Ok(()) => expected.write_record(out_cells.iter().map(String::as_bytes)).unwrap(),
                    Err(e) => { expected_err = Some(e.to_string()); break; }
                }
            }
            let mut ours = Vec::new();
            let mut ours_err = None;
            let mut records = CsvRecords::new(&text, 1, b',');
            let mut fields = CsvFields::default();
            let mut scratch = String::new();
            let quote_free = quote_free(&text, b',');
            while let Some(line) = records.next_into(&mut fields) {
                if let Err(e) = plan.transform_text_row(&fields, &text, quote_free, line, &p, b"\n", &mut ours, &mut scratch) {
                    ours_err = Some(e.to_string());
                    break;
                }
            }
            let failed = ours_err.is_some();
            prop_assert_eq!(ours_err, expected_err);
            if !failed {
                let expected = expected.into_inner().unwrap();
                prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&expected));
            }
        }
    }

    fn rules(yaml: &str) -> ColumnarRules {
        match parse_rules_yaml(yaml).unwrap() {
            BulkRules::Columnar(c) => c,
            other => panic!("not columnar: {other:?}"),
        }
    }

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn names(plan: &ColumnarPlan) -> Vec<&str> {
        plan.output_header().collect()
    }

    fn run(plan: &ColumnarPlan, cells: &[&str]) -> Vec<String> {
        let p = Pseudonymizer::salted("salt");
        let mut out = Vec::new();
        plan.transform_row(&csv::ByteRecord::from(cells.to_vec()), 2, &p, &mut out)
            .unwrap();
        out
    }

    #[test]
    fn missing_required_columns_are_errors_naming_rule_and_column() {
        let h = header(&["ID", "EMAIL"]);
        for (yaml, col, rule) in [
            (
                "columnsToPseudonymize: [MAIL]",
                "MAIL",
                "columnsToPseudonymize",
            ),
            ("columnsToRename: {X: Y}", "X", "columnsToRename"),
            ("columnsToDuplicate: {X: Y}", "X", "columnsToDuplicate"),
            (
                "fieldsToTransform: {X: {newName: Y, transforms: []}}",
                "X",
                "fieldsToTransform",
            ),
        ] {
            match bind(&rules(yaml), &h) {
                Err(PlanError::MissingColumn {
                    column, rule: r, ..
                }) => {
                    assert_eq!((column.as_str(), r), (col, rule), "{yaml}");
                }
                other => panic!("{yaml}: expected a missing-column error, got {other:?}"),
            }
        }
        // The lenient form and redaction of absent columns are fine.
        assert!(bind(
            &rules("columnsToPseudonymizeIfPresent: [MAIL]\ncolumnsToRedact: [NOPE]"),
            &h
        )
        .is_ok());
    }

    #[test]
    fn output_order_rename_duplicate_and_derived() {
        let plan = bind(
            &rules("columnsToRename: {b: B2}\ncolumnsToDuplicate: {a: Z_COPY, c: A_COPY}\nfieldsToTransform: {c: {newName: M_DERIVED, transforms: [{formatString: 'x%s'}]}}"),
            &header(&[" a ", "b", "c"]),
        )
        .unwrap();
        assert_eq!(
            names(&plan),
            ["a", "B2", "c", "A_COPY", "M_DERIVED", "Z_COPY"]
        );
        assert_eq!(
            run(&plan, &["1", "2", " 3 "]),
            ["1", "2", "3", "3", "x3", "1"]
        );
    }

    #[test]
    fn redact_and_include_filter_file_columns() {
        let plan = bind(
            &rules("columnsToPseudonymize: [a]\ncolumnsToRedact: [A, d]\ncolumnsToInclude: [a, new_b, c, d]\ncolumnsToRename: {b: NEW_B}"),
            &header(&["a", "b", "c", "d", "e"]),
        )
        .unwrap();
        assert_eq!(
            names(&plan),
            ["NEW_B", "c"],
            "redact wins over pseudonymize; include matches new names"
        );
    }

    #[test]
    fn pseudonymizing_a_duplicate_copy() {
        let plan = bind(
            &rules("columnsToDuplicate: {ID: ID_HASHED}\ncolumnsToPseudonymize: [id_hashed]\npseudonymFormat: URL_SAFE_HASH_ONLY"),
            &header(&["ID"]),
        )
        .unwrap();
        assert_eq!(
            run(&plan, &["1"]),
            ["1", "0zPKqEd-CtbCLB1ZSwX6Zo7uAWUvkpfHGzv9-cuYwZc"]
        );
    }

    #[test]
    fn derived_column_with_a_file_columns_name_replaces_it() {
        let plan = bind(
            &rules("fieldsToTransform: {EMAIL: {transforms: [{filter: '(.*)@old\\.com'}, {formatString: '%s@new.com'}]}}"),
            &header(&["ID", "EMAIL"]),
        )
        .unwrap();
        assert_eq!(names(&plan), ["ID", "EMAIL"]);
        assert_eq!(run(&plan, &["1", "bo@old.com"]), ["1", "bo@new.com"]);
        assert_eq!(
            run(&plan, &["1", "bo@x.com"]),
            ["1", ""],
            "no filter match -> empty"
        );
    }

    #[test]
    fn rules_must_not_create_duplicate_output_names() {
        let err = bind(&rules("columnsToRename: {a: B}"), &header(&["a", "b"])).unwrap_err();
        assert!(
            matches!(&err, PlanError::DuplicateOutputColumn(c) if c == "b"),
            "{err}"
        );
        // Duplicate names the file already has are kept as they are.
        assert!(bind(&rules("columnsToPseudonymize: [x]"), &header(&["x", "x"])).is_ok());
    }

    #[test]
    fn short_rows_blank_cells_and_invalid_utf8() {
        let plan = bind(&rules("columnsToPseudonymize: [a]"), &header(&["a", "b"])).unwrap();
        let p = Pseudonymizer::salted("salt");
        let mut out = Vec::new();
        let err = plan
            .transform_row(&csv::ByteRecord::from(vec!["1"]), 7, &p, &mut out)
            .unwrap_err();
        assert_eq!(err.to_string(), "line 7: row 7 has 1 fields, header has 2");
        assert_eq!(run(&plan, &["  ", "x", "extra"]), ["", "x"]);
        let bad = csv::ByteRecord::from(vec![&b"1"[..], &b"\xff"[..]]);
        let err = plan.transform_row(&bad, 3, &p, &mut out).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("b"));
    }

    #[test]
    fn java_trim_semantics() {
        assert_eq!(java_trim("\t x \u{1}"), "x");
        assert_eq!(java_trim("\u{a0}x\u{a0}"), "\u{a0}x\u{a0}");
        assert_eq!(java_trim_bytes(b"  \r\n"), b"");
    }
}
