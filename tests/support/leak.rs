//! A leak checker for sanitized output: given an input, the rules it was sanitized with and
//! the output, it reports every original value of a pseudonymized or redacted column / field
//! found in the output, and every email-shaped string in the output that is not part of a
//! pseudonym token.
//!
//! # What is sensitive
//!
//! The rules are parsed with the crate's own types ([`BulkRules`]); a `fileRules` file is
//! resolved for the input's name as the CLI does.
//!
//! - **Columnar rules** (CSV/TSV, or Parquet read as rows): the values of every column named
//!   in `columnsToPseudonymize`, `columnsToPseudonymizeIfPresent` or `columnsToRedact`, and of
//!   every column left out by `columnsToInclude` (names trimmed, matched case-insensitively,
//!   as the sanitizer matches them).
//! - **Record rules** (NDJSON, JSON array, CSV rows as objects, Parquet rows as objects): every
//!   string, number and object key *below* a node matched by a `pseudonymize`, `redact`,
//!   `tokenize`, `textDigest` or `textDigestKeywords` path, evaluated with the crate's JSONPath
//!   engine on the original record.
//!
//! Values are trimmed (chars <= U+0020, as the sanitizer trims cells).
//!
//! # False-positive policy
//!
//! Output is searched for each sensitive value as a substring of every output cell (a CSV
//! field, a JSON string, number or key; a raw line when the output does not parse). A
//! sensitive value is **not** searched for when:
//!
//! 1. it is shorter than [`MIN_VALUE_CHARS`] characters (`1`, `IN`, `a`: too short and common to
//!    mean anything, and they occur by chance inside clear data and hashes);
//! 2. it occurs (as a substring) in a value the rules legitimately keep in clear in the same
//!    input: a pass-through column or field, a column or key name, a column that is also
//!    duplicated into a clear copy (`columnsToDuplicate`) or read by a `fieldsToTransform`
//!    without `pseudonymize: true` (whose output the checker cannot predict), or the domain
//!    of an email in a pseudonymized column (kept in clear beside the hash under the default
//!    `EMAIL_DOMAIN_HANDLING=PRESERVE`), or a `textDigestKeywords` keyword (counted by name in
//!    every digest). Finding it in the output proves nothing there.
//!
//! An occurrence that starts or ends strictly inside a run of 43 or more base64url characters
//! (a hash or the body of a `p~` token) is a chance match cutting through a pseudonym (`so@x.org`
//! in `t~...so@x.org`) and is ignored; an occurrence that covers such a run exactly, or does not
//! touch one, is a hit.
//!
//! # Email-shaped strings
//!
//! Every output cell is scanned (without regexes) for `local@domain.tld`: `local` a run of
//! RFC 5322 atext characters and dots, `domain` two or more labels of letters, digits and
//! `-`, the last 2 to 26 letters. Such a string is allowed only when its local part ends in a
//! pseudonym token, since the email forms of a pseudonym keep the domain after `@`:
//! `t~<43 base64url>` (`URL_SAFE_TOKEN`) or `p~<64 or more base64url>` (a reversible token),
//! starting the local part or following a character that is not base64url (`x=t~...@acme.com`
//! in a URL), or a bare 43-character hash forming the whole local part. Everything else (a raw email in any column, pseudonymized or not, or a
//! token glued to clear text) is a hit: rules that pass an email column through in clear are
//! exactly what this check is for. The JSON encoding (`{"domain":"acme.com","hash":"..."}`)
//! and `h~` / `e~` domains contain no `@`-shaped email and need no exception. Column names
//! (the CSV header) and object keys are structure that no rule can change, so they are
//! searched for sensitive values but not scanned for emails.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt;

use psoxy::format::DataFormat;
use psoxy::jsonpath::JsonPath;
use psoxy::rules::{BulkRules, ColumnarRules, FieldTransformStep, RecordFormat, RecordTransform};
use serde_json::Value;

/// Sensitive values shorter than this (in characters) are not searched for.
pub const MIN_VALUE_CHARS: usize = 4;

/// Length of a pseudonym hash (base64url of SHA-256, no padding).
const HASH_LEN: usize = 43;
/// Minimum length of a `p~` token body: base64url of a 32-byte hash and one AES block.
const MIN_REVERSIBLE_BODY: usize = 64;

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitKind {
    /// An original value of a pseudonymized or redacted column / field.
    Original {
        /// The value.
        value: String,
        /// Where it was in the input (`line 3, column EMAIL` or `record 2, $.organizer.email`).
        origin: String,
    },
    /// An email-shaped string that is not a pseudonym token.
    Email {
        /// The string.
        text: String,
    },
}

/// One leak: what, and where in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// What leaked.
    pub kind: HitKind,
    /// Where in the output (`line 5, column EMPLOYEE_EMAIL`, `line 2, $.attendees[0].email`).
    pub location: String,
}

impl fmt::Display for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            HitKind::Original { value, origin } => write!(
                f,
                "output {}: original value {value:?} (input {origin})",
                self.location
            ),
            HitKind::Email { text } => write!(
                f,
                "output {}: email-shaped {text:?} outside a pseudonym token",
                self.location
            ),
        }
    }
}

/// A sensitive value of the input and where it was.
#[derive(Debug, Clone)]
pub struct Sensitive {
    /// The (trimmed) value.
    pub value: String,
    /// Where it was in the input.
    pub origin: String,
}

/// What the checker learned from the input.
#[derive(Debug, Default)]
pub struct InputScan {
    /// Values that must not appear in the output (after the false-positive policy).
    pub sensitive: Vec<Sensitive>,
    /// Sensitive values set aside by the policy (too short, or also kept in clear).
    pub exempt: usize,
}

/// One piece of output text and where it is.
struct Cell {
    location: String,
    text: String,
    /// A column name or object key: structure, not data (not scanned for emails).
    name: bool,
}

/// Checks `output` (sanitized from `input`, named `input_name`, with `rules`) and returns
/// every hit. `output_format` is the output's format (`None`: the input's, as the sanitizer
/// writes it unless converting). Gzip (input or output) is decompressed, a UTF-8 BOM dropped.
/// Errors when the input cannot be read (so that nothing is checked silently).
pub fn check(
    input: &[u8],
    input_name: &str,
    rules: &BulkRules,
    output: &[u8],
    output_format: Option<DataFormat>,
) -> Result<Vec<Hit>, String> {
    let Some(rules) = select_rules(rules, input_name)? else {
        return Ok(Vec::new());
    };
    let input_format = input_format(rules, input_name)?;
    let scan = scan_input(input, input_format, rules)?;
    let output_format = output_format.unwrap_or(match input_format {
        DataFormat::Csv { .. } => DataFormat::Csv { delimiter: b',' },
        f => f,
    });
    Ok(check_output(&scan, output, output_format))
}

/// How many distinct sensitive values of `input` the checker searches outputs for (after the
/// false-positive policy): a caller can make sure a check is not vacuous.
pub fn searched(input: &[u8], input_name: &str, rules: &BulkRules) -> Result<usize, String> {
    let Some(rules) = select_rules(rules, input_name)? else {
        return Ok(0);
    };
    let format = input_format(rules, input_name)?;
    Ok(scan_input(input, format, rules)?.sensitive.len())
}

/// Panics with the hit list when there is any hit.
pub fn assert_no_hits(label: &str, hits: &[Hit]) {
    if !hits.is_empty() {
        let list: Vec<String> = hits.iter().take(50).map(|h| format!("  {h}")).collect();
        panic!(
            "{label}: {} leak(s) in the sanitized output:\n{}{}",
            hits.len(),
            list.join("\n"),
            if hits.len() > 50 { "\n  ..." } else { "" }
        );
    }
}

/// The rules that apply to `name` (a `fileRules` file resolved; `None`: no template matches).
pub fn select_rules<'r>(rules: &'r BulkRules, name: &str) -> Result<Option<&'r BulkRules>, String> {
    match rules {
        BulkRules::MultiType(m) => Ok(m.select(name).map_err(|e| e.to_string())?.map(|(_, r)| r)),
        other => Ok(Some(other)),
    }
}

/// The format the sanitizer reads `name` in under `rules` (as its AUTO / extension logic).
pub fn input_format(rules: &BulkRules, name: &str) -> Result<DataFormat, String> {
    let by_name = DataFormat::from_name(name);
    Ok(match rules {
        BulkRules::Columnar(c) => match by_name {
            Some(DataFormat::Parquet) => DataFormat::Parquet,
            Some(DataFormat::Csv { delimiter }) if c.delimiter.is_none() => {
                DataFormat::Csv { delimiter }
            }
            _ => DataFormat::Csv {
                delimiter: c
                    .delimiter
                    .as_deref()
                    .and_then(|d| d.bytes().next())
                    .unwrap_or(b','),
            },
        },
        BulkRules::Record(r) => match r.format {
            RecordFormat::Ndjson => DataFormat::Ndjson,
            RecordFormat::JsonArray => DataFormat::JsonArray,
            RecordFormat::Csv => DataFormat::Csv { delimiter: b',' },
            RecordFormat::Parquet => DataFormat::Parquet,
            RecordFormat::Auto => by_name.unwrap_or(DataFormat::Ndjson),
        },
        BulkRules::MultiType(_) => return Err("nested fileRules: select the rules first".into()),
    })
}

/// Collects the sensitive values of `input` (read as `format`) under `rules` (columnar or
/// record), applying the false-positive policy.
pub fn scan_input(
    input: &[u8],
    format: DataFormat,
    rules: &BulkRules,
) -> Result<InputScan, String> {
    let input = decoded(input);
    let mut sensitive = Vec::new();
    let mut clear = String::new();
    match (rules, format) {
        (BulkRules::Columnar(c), DataFormat::Csv { delimiter }) => {
            let rows = read_csv(&input, delimiter)?;
            columnar(c, &rows, &mut sensitive, &mut clear);
        }
        (BulkRules::Columnar(c), DataFormat::Parquet) => {
            let rows = parquet_as_rows(&input)?;
            columnar(c, &rows, &mut sensitive, &mut clear);
        }
        (BulkRules::Record(r), format) => {
            let records = read_records(&input, format)?;
            for (origin, record) in &records {
                record_values(&r.transforms, origin, record, &mut sensitive, &mut clear);
            }
        }
        (rules, format) => {
            return Err(format!(
                "cannot scan {format:?} input under {}",
                rules.kind()
            ))
        }
    }
    let mut scan = InputScan::default();
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for s in sensitive {
        if s.value.chars().count() < MIN_VALUE_CHARS {
            scan.exempt += 1;
        } else if seen.insert(s.value.clone()) {
            candidates.push(s);
        } else {
            scan.exempt += 1;
        }
    }
    let finder = Finder::new(candidates.iter().map(|s| s.value.as_str()));
    let mut in_clear = vec![false; candidates.len()];
    finder.each(&clear, |i, _, _| in_clear[i] = true);
    for (s, in_clear) in candidates.into_iter().zip(in_clear) {
        if in_clear {
            scan.exempt += 1;
        } else {
            scan.sensitive.push(s);
        }
    }
    Ok(scan)
}

/// Finds many needles (each at least 4 bytes long) in a text in one pass, by their first
/// four bytes.
struct Finder<'a> {
    needles: Vec<&'a str>,
    by_prefix: std::collections::HashMap<[u8; 4], Vec<usize>>,
}

impl<'a> Finder<'a> {
    fn new(needles: impl Iterator<Item = &'a str>) -> Self {
        let needles: Vec<&str> = needles.collect();
        let mut by_prefix: std::collections::HashMap<[u8; 4], Vec<usize>> = Default::default();
        for (i, n) in needles.iter().enumerate() {
            let prefix: [u8; 4] = n.as_bytes()[..4].try_into().expect("needles of 4+ bytes");
            by_prefix.entry(prefix).or_default().push(i);
        }
        Finder { needles, by_prefix }
    }

    /// Calls `f(needle index, start, end)` for every occurrence in `text`.
    fn each(&self, text: &str, mut f: impl FnMut(usize, usize, usize)) {
        let b = text.as_bytes();
        for start in 0..b.len().saturating_sub(3) {
            let window: [u8; 4] = b[start..start + 4].try_into().unwrap();
            if let Some(ids) = self.by_prefix.get(&window) {
                for &i in ids {
                    let n = self.needles[i].as_bytes();
                    if b[start..].starts_with(n) {
                        f(i, start, start + n.len());
                    }
                }
            }
        }
    }
}

/// Searches `output` (in `format`) for the sensitive values of `scan` and for email-shaped
/// strings outside pseudonym tokens.
pub fn check_output(scan: &InputScan, output: &[u8], format: DataFormat) -> Vec<Hit> {
    let output = decoded(output);
    let cells = output_cells(&output, format);
    let finder = Finder::new(scan.sensitive.iter().map(|s| s.value.as_str()));
    let mut hits = Vec::new();
    for cell in &cells {
        let opaque = opaque_spans(&cell.text);
        let mut leaked = std::collections::BTreeSet::new();
        finder.each(&cell.text, |i, at, end| {
            // Cutting through a hash: a chance match, not a copied value.
            let in_token = opaque
                .iter()
                .any(|&(a, b)| (a < at && at < b) || (a < end && end < b));
            if !in_token {
                leaked.insert(i);
            }
        });
        for i in leaked {
            let s = &scan.sensitive[i];
            hits.push(Hit {
                kind: HitKind::Original {
                    value: s.value.clone(),
                    origin: s.origin.clone(),
                },
                location: cell.location.clone(),
            });
        }
        if cell.name {
            continue;
        }
        for text in find_emails(&cell.text) {
            hits.push(Hit {
                kind: HitKind::Email { text },
                location: cell.location.clone(),
            });
        }
    }
    hits
}

/// Email-shaped strings of `text` whose local part is not a pseudonym token (see the module
/// documentation for the exact shapes).
pub fn find_emails(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && is_local_byte(b[start - 1]) {
            start -= 1;
        }
        while start < at && b[start] == b'.' {
            start += 1;
        }
        let mut end = at + 1;
        while end < b.len() && is_domain_byte(b[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let (local, domain) = (&text[start..at], &text[at + 1..end]);
        if local.is_empty() || !is_domain(domain) {
            continue;
        }
        if !is_token_local(local) {
            found.push(text[start..end].to_string());
        }
    }
    found
}

fn is_local_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&c)
}

fn is_domain_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.'
}

fn is_base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// `a.b.tld`: two or more labels of letters, digits and inner `-`; the last 2-26 letters.
fn is_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && {
            let tld = labels[labels.len() - 1];
            (2..=26).contains(&tld.len()) && tld.bytes().all(|c| c.is_ascii_alphabetic())
        }
}

/// Whether an email-shaped string's local part ends in a pseudonym token that starts at a
/// token boundary.
fn is_token_local(local: &str) -> bool {
    let b = local.as_bytes();
    let mut run = b.len();
    while run > 0 && is_base64url(b[run - 1]) {
        run -= 1;
    }
    let body = b.len() - run;
    let before = &local[..run];
    let boundary = |prefix_start: usize| prefix_start == 0 || !is_base64url(b[prefix_start - 1]);
    if before.ends_with("t~") {
        body == HASH_LEN && boundary(run - 2)
    } else if before.ends_with("p~") {
        body >= MIN_REVERSIBLE_BODY && boundary(run - 2)
    } else {
        // A bare hash only as the whole local part.
        body == HASH_LEN && run == 0
    }
}

/// Byte ranges of runs of 43 or more base64url characters (hashes, token bodies).
fn opaque_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_base64url(b[i]) {
            let start = i;
            while i < b.len() && is_base64url(b[i]) {
                i += 1;
            }
            if i - start >= HASH_LEN {
                spans.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    spans
}

/// Decompresses gzip (by its magic bytes) and drops a UTF-8 BOM.
pub fn decoded(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out);
        out
    } else {
        bytes.to_vec()
    };
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    bytes
}

/// Trims chars <= U+0020, as the sanitizer trims cells.
fn trimmed(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// A table: header and rows, each row with the input line it started on.
struct Rows {
    header: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

fn read_csv(input: &[u8], delimiter: u8) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut header = None;
    let mut rows = Vec::new();
    for record in reader.byte_records() {
        let record = record.map_err(|e| format!("input CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record
            .iter()
            .map(|c| trimmed(&String::from_utf8_lossy(c)).to_string())
            .collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push((format!("line {line}"), cells));
        }
    }
    Ok(Rows {
        header: header.unwrap_or_default(),
        rows,
    })
}

/// Parquet rows as text cells by top-level column (nested values as JSON text).
fn parquet_as_rows(input: &[u8]) -> Result<Rows, String> {
    let records = parquet_records(input)?;
    let mut header: Vec<String> = Vec::new();
    if let Some(schema) = parquet_schema_names(input)? {
        header = schema;
    }
    let rows = records
        .into_iter()
        .map(|(origin, record)| {
            let cells = header
                .iter()
                .map(|name| match record.get(name) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => trimmed(s).to_string(),
                    Some(other) => other.to_string(),
                })
                .collect();
            (origin, cells)
        })
        .collect();
    Ok(Rows { header, rows })
}

fn parquet_schema_names(input: &[u8]) -> Result<Option<Vec<String>>, String> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::copy_from_slice(input),
    )
    .map_err(|e| format!("parquet: {e}"))?;
    Ok(Some(
        builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    ))
}

/// Parquet rows as JSON objects, through arrow-json (an independent reader).
fn parquet_records(input: &[u8]) -> Result<Vec<(String, Value)>, String> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::copy_from_slice(input),
    )
    .and_then(|b| b.build())
    .map_err(|e| format!("parquet: {e}"))?;
    let mut ndjson = Vec::new();
    {
        let mut writer = arrow_json::LineDelimitedWriter::new(&mut ndjson);
        for batch in reader {
            let batch = batch.map_err(|e| format!("parquet: {e}"))?;
            writer.write(&batch).map_err(|e| format!("parquet: {e}"))?;
        }
        writer.finish().map_err(|e| format!("parquet: {e}"))?;
    }
    let text = String::from_utf8_lossy(&ndjson);
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            serde_json::from_str(l)
                .ok()
                .map(|v| (format!("row {}", i + 1), v))
        })
        .collect())
}

/// Records of a record-format input, each with its origin (`line N` / `record N` / `row N`).
fn read_records(input: &[u8], format: DataFormat) -> Result<Vec<(String, Value)>, String> {
    Ok(match format {
        DataFormat::Ndjson => String::from_utf8_lossy(input)
            .split('\n')
            .enumerate()
            .filter_map(|(i, l)| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .map(|v| (format!("line {}", i + 1), v))
            })
            .collect(),
        DataFormat::JsonArray => match serde_json::from_slice::<Value>(input) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("record {}", i + 1), v))
                .collect(),
            Ok(_) => Vec::new(),
            Err(e) => return Err(format!("input JSON array: {e}")),
        },
        DataFormat::Csv { delimiter } => {
            let rows = read_csv(input, delimiter)?;
            rows.rows
                .into_iter()
                .map(|(origin, cells)| {
                    let mut object = serde_json::Map::new();
                    for (name, cell) in rows.header.iter().zip(cells) {
                        object.insert(name.clone(), Value::String(cell));
                    }
                    (origin, Value::Object(object))
                })
                .collect()
        }
        DataFormat::Parquet => parquet_records(input)?,
    })
}

/// Sensitive and clear values of a table under columnar rules.
fn columnar(c: &ColumnarRules, rows: &Rows, sensitive: &mut Vec<Sensitive>, clear: &mut String) {
    let key = |s: &str| trimmed(s).to_lowercase();
    let set = |names: &[String]| -> HashSet<String> { names.iter().map(|n| key(n)).collect() };
    let pseudonymized: HashSet<String> = set(&c.columns_to_pseudonymize)
        .union(&set(&c.columns_to_pseudonymize_if_present))
        .cloned()
        .collect();
    let redacted = set(&c.columns_to_redact);
    let include = c.columns_to_include.as_ref().map(|i| set(i));
    let renamed: std::collections::HashMap<String, String> = c
        .columns_to_rename
        .iter()
        .map(|(old, new)| (key(old), key(new)))
        .collect();
    let excluded = |name: &str| {
        include.as_ref().is_some_and(|inc| {
            !inc.contains(name) && !renamed.get(name).is_some_and(|new| inc.contains(new))
        })
    };
    // Columns whose values also reach the output in clear by another route.
    let mut clear_routes: HashSet<String> = HashSet::new();
    for (original, copy) in &c.columns_to_duplicate {
        let copy = key(copy);
        if !pseudonymized.contains(&copy) && !redacted.contains(&copy) && !excluded(&copy) {
            clear_routes.insert(key(original));
        }
    }
    for (name, t) in &c.fields_to_transform {
        if !t
            .transforms
            .iter()
            .any(|s| matches!(s, FieldTransformStep::Pseudonymize))
        {
            clear_routes.insert(key(t.source_column.as_deref().unwrap_or(name)));
        }
    }
    let header: Vec<String> = rows.header.iter().map(|h| key(h)).collect();
    for name in &rows.header {
        clear.push_str(name);
        clear.push('\u{0}');
    }
    for (origin, cells) in &rows.rows {
        for (i, cell) in cells.iter().enumerate() {
            let Some(name) = header.get(i) else { continue };
            if cell.is_empty() {
                continue;
            }
            let pseudo = pseudonymized.contains(name);
            let hidden = pseudo || redacted.contains(name) || excluded(name);
            if hidden && !clear_routes.contains(name) {
                sensitive.push(Sensitive {
                    value: cell.clone(),
                    origin: format!("{origin}, column {}", rows.header[i]),
                });
                if pseudo && !redacted.contains(name) && !excluded(name) {
                    push_domain(cell, clear);
                }
            } else {
                clear.push_str(cell);
                clear.push('\u{0}');
            }
        }
    }
}

/// The domain of an email-looking value (kept in clear beside its hash).
fn push_domain(value: &str, clear: &mut String) {
    if let Some((_, domain)) = value.rsplit_once('@') {
        let domain = domain.trim_end_matches(|c: char| c == '>' || c <= ' ');
        clear.push_str(domain);
        clear.push('\u{0}');
    }
}

/// Sensitive and clear values of one record under record transforms.
fn record_values(
    transforms: &[RecordTransform],
    origin: &str,
    record: &Value,
    sensitive: &mut Vec<Sensitive>,
    clear: &mut String,
) {
    let mut hidden: Vec<(*const Value, String, bool)> = Vec::new();
    for t in transforms {
        if let RecordTransform::TextDigestKeywords(k) = t {
            // Keywords are written into the digests by design.
            for keyword in &k.keywords {
                clear.push_str(keyword);
                clear.push('\u{0}');
            }
        }
        let (paths, pseudo) = match t {
            RecordTransform::Pseudonymize(p) | RecordTransform::Tokenize(p) => (p.to_vec(), true),
            RecordTransform::Redact(p) | RecordTransform::TextDigest(p) => (p.to_vec(), false),
            RecordTransform::TextDigestKeywords(k) => (k.json_paths.to_vec(), false),
        };
        for path in paths {
            let Ok(compiled) = JsonPath::parse(&path) else {
                continue;
            };
            for node in compiled.select(record) {
                hidden.push((node as *const Value, path.clone(), pseudo));
            }
        }
    }
    walk(record, &hidden, None, origin, sensitive, clear);
}

fn walk(
    node: &Value,
    hidden: &[(*const Value, String, bool)],
    under: Option<(&str, bool)>,
    origin: &str,
    sensitive: &mut Vec<Sensitive>,
    clear: &mut String,
) {
    let matched = hidden
        .iter()
        .find(|(p, _, _)| std::ptr::eq(*p, node))
        .map(|(_, path, pseudo)| (path.as_str(), *pseudo));
    let under = under.or(matched);
    let leaf = |text: String, sensitive: &mut Vec<Sensitive>, clear: &mut String| {
        let text = trimmed(&text).to_string();
        if text.is_empty() {
            return;
        }
        match under {
            Some((path, pseudo)) => {
                if pseudo {
                    push_domain(&text, clear);
                }
                sensitive.push(Sensitive {
                    value: text,
                    origin: format!("{origin}, {path}"),
                });
            }
            None => {
                clear.push_str(&text);
                clear.push('\u{0}');
            }
        }
    };
    match node {
        Value::String(s) => leaf(s.clone(), sensitive, clear),
        Value::Number(n) => leaf(n.to_string(), sensitive, clear),
        Value::Bool(_) | Value::Null => {}
        Value::Array(items) => {
            for item in items {
                walk(item, hidden, under, origin, sensitive, clear);
            }
        }
        Value::Object(members) => {
            for (k, v) in members {
                // Keys stay in the output whatever is done to their values.
                clear.push_str(k);
                clear.push('\u{0}');
                walk(v, hidden, under, origin, sensitive, clear);
            }
        }
    }
}

/// The output as cells with their locations.
fn output_cells(output: &[u8], format: DataFormat) -> Vec<Cell> {
    match format {
        DataFormat::Csv { delimiter } => {
            csv_cells(output, delimiter).unwrap_or_else(|| raw_lines(output))
        }
        DataFormat::Ndjson => {
            let text = String::from_utf8_lossy(output);
            let mut cells = Vec::new();
            for (i, line) in text.split('\n').enumerate() {
                let location = format!("line {}", i + 1);
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => json_cells(&v, &location, "$".into(), &mut cells),
                    Err(_) if line.trim().is_empty() => {}
                    Err(_) => cells.push(Cell {
                        location,
                        text: line.to_string(),
                        name: false,
                    }),
                }
            }
            cells
        }
        DataFormat::JsonArray => match serde_json::from_slice::<Value>(output) {
            Ok(Value::Array(items)) => {
                let mut cells = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    json_cells(item, &format!("record {}", i + 1), "$".into(), &mut cells);
                }
                cells
            }
            _ => raw_lines(output),
        },
        DataFormat::Parquet => match parquet_records(output) {
            Ok(records) => {
                let mut cells = Vec::new();
                for (origin, record) in &records {
                    json_cells(record, origin, "$".into(), &mut cells);
                }
                cells
            }
            Err(e) => vec![Cell {
                location: format!("(unreadable Parquet: {e})"),
                text: String::from_utf8_lossy(output).into_owned(),
                name: false,
            }],
        },
    }
}

fn csv_cells(output: &[u8], delimiter: u8) -> Option<Vec<Cell>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(output);
    let mut header: Vec<String> = Vec::new();
    let mut cells = Vec::new();
    for (r, record) in reader.byte_records().enumerate() {
        let record = record.ok()?;
        let line = record.position().map_or(0, |p| p.line());
        for (i, field) in record.iter().enumerate() {
            let text = String::from_utf8_lossy(field).into_owned();
            let column = header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("#{}", i + 1));
            let location = if r == 0 {
                format!("line {line} (header), column #{}", i + 1)
            } else {
                format!("line {line}, column {column}")
            };
            if r == 0 {
                header.push(text.clone());
            }
            cells.push(Cell {
                location,
                text,
                name: r == 0,
            });
        }
    }
    Some(cells)
}

fn raw_lines(output: &[u8]) -> Vec<Cell> {
    String::from_utf8_lossy(output)
        .split('\n')
        .enumerate()
        .map(|(i, l)| Cell {
            location: format!("line {}", i + 1),
            text: l.to_string(),
            name: false,
        })
        .collect()
}

fn json_cells(v: &Value, location: &str, path: String, cells: &mut Vec<Cell>) {
    match v {
        Value::String(s) => cells.push(Cell {
            location: format!("{location}, {path}"),
            text: s.clone(),
            name: false,
        }),
        Value::Number(n) => cells.push(Cell {
            location: format!("{location}, {path}"),
            text: n.to_string(),
            name: false,
        }),
        Value::Bool(_) | Value::Null => {}
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_cells(item, location, format!("{path}[{i}]"), cells);
            }
        }
        Value::Object(members) => {
            for (k, item) in members {
                cells.push(Cell {
                    location: format!("{location}, key of {path}"),
                    text: k.clone(),
                    name: true,
                });
                json_cells(item, location, format!("{path}.{k}"), cells);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use psoxy::rules::parse_rules_yaml;

    const HASH: &str = "UFdK0TvVTvZ23c6QslyCy0o2MSq2DRtDjEXfTPJyyMk";

    fn csv_check(rules: &str, input: &str, output: &str) -> Vec<Hit> {
        check(
            input.as_bytes(),
            "t.csv",
            &parse_rules_yaml(rules).unwrap(),
            output.as_bytes(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn emails_outside_tokens_are_found() {
        assert_eq!(
            find_emails("write to alice.b+x@acme.co.uk."),
            ["alice.b+x@acme.co.uk"]
        );
        assert_eq!(find_emails("Bob <bob@acme.com>"), ["bob@acme.com"]);
        assert!(find_emails(&format!("t~{HASH}@acme.com")).is_empty());
        assert!(find_emails(&format!("x=t~{HASH}@acme.com")).is_empty());
        assert!(find_emails(&format!("{HASH}@acme.com")).is_empty());
        let p_token = format!("p~{HASH}{HASH}@acme.com");
        assert!(find_emails(&p_token).is_empty());
        // A token glued to clear text, a short hash, an unknown prefix: not tokens.
        assert_eq!(find_emails(&format!("bobt~{HASH}@acme.com")).len(), 1);
        assert_eq!(find_emails(&format!("t~{}@acme.com", &HASH[1..])).len(), 1);
        assert_eq!(find_emails(&format!("q~{HASH}@acme.com")).len(), 1);
        // Not email-shaped: no TLD, a tokenized domain, a bare @.
        assert!(find_emails("alice@localhost a@b.c @acme.com x@").is_empty());
        assert!(find_emails(&format!("t~{HASH}@h~{HASH}")).is_empty());
    }

    #[test]
    fn a_correct_output_passes() {
        let rules = "columnsToPseudonymize: [EMAIL]\ncolumnsToRedact: [SALARY]\npseudonymFormat: URL_SAFE_TOKEN\n";
        let input = "EMAIL,NAME,SALARY\nalice@acme.com,Alice A,123456\n";
        let output = format!("EMAIL,NAME\nt~{HASH}@acme.com,Alice A\n");
        assert_eq!(csv_check(rules, input, &output), []);
        let json = format!("\"{{\"\"domain\"\":\"\"acme.com\"\",\"\"hash\"\":\"\"{HASH}\"\"}}\"");
        let rules = "columnsToPseudonymize: [EMAIL]\ncolumnsToRedact: [SALARY]\n";
        assert_eq!(
            csv_check(rules, input, &format!("EMAIL,NAME\n{json},Alice A\n")),
            []
        );
    }

    #[test]
    fn copied_values_and_raw_emails_are_reported_with_their_place() {
        let rules = "columnsToPseudonymize: [EMAIL, ID]\ncolumnsToRedact: [SALARY]\n";
        let input =
            "ID,EMAIL,NAME,SALARY,CONTACT\nE0001,alice@acme.com,Alice A,123456,bob@acme.com\n";
        // ID copied through, the salary kept in a note, and CONTACT (which the rules should
        // have covered) passed in clear.
        let output =
            "ID,EMAIL,NAME,CONTACT\nE0001,x,Alice A (paid 123456),bob@acme.com\n".to_string();
        let hits = csv_check(rules, input, &output);
        let shown: Vec<String> = hits.iter().map(|h| h.to_string()).collect();
        assert_eq!(hits.len(), 3, "{shown:#?}");
        assert!(
            shown[0].contains("line 2, column ID") && shown[0].contains("\"E0001\""),
            "{shown:#?}"
        );
        assert!(
            shown[1].contains("line 2, column NAME")
                && shown[1].contains("123456")
                && shown[1].contains("input line 2, column SALARY"),
            "{shown:#?}"
        );
        assert!(
            matches!(&hits[2].kind, HitKind::Email { text } if text == "bob@acme.com"),
            "{shown:#?}"
        );
        assert!(hits[2].location.contains("column CONTACT"));
    }

    #[test]
    fn policy_exempts_short_values_and_values_kept_in_clear() {
        let rules = "columnsToPseudonymize: [ID, DEPT_CODE]\n";
        // `E1` is too short; `Sales` is also a clear department.
        let input = "ID,DEPT_CODE,DEPARTMENT\nE1,Sales,Sales\n";
        let output = "ID,DEPT_CODE,DEPARTMENT\nE1,x,Sales\n";
        assert_eq!(csv_check(rules, input, output), []);
        // A chance match inside a hash is not a leak; the whole cell equal to it is.
        let rules = "columnsToPseudonymize: [ID]\n";
        let inside = &HASH[5..12];
        let input = format!("ID,X\n{inside},y\n");
        assert_eq!(csv_check(rules, &input, &format!("ID,X\n{HASH},y\n")), []);
        assert_eq!(
            csv_check(rules, &input, &format!("ID,X\n{inside},y\n")).len(),
            1
        );
        // Nor is one straddling the end of a token's hash and its domain.
        let rules = "columnsToPseudonymize: [EMAIL]\npseudonymFormat: URL_SAFE_TOKEN\n";
        let input = format!("EMAIL,X\n{}@globex.org,y\n", &HASH[41..]);
        let output = format!("EMAIL,X\nt~{HASH}@globex.org,y\n");
        assert_eq!(csv_check(rules, &input, &output), []);
    }

    #[test]
    fn record_rules_paths_are_checked() {
        let rules = parse_rules_yaml(
            "transforms:\n  - pseudonymize: $.organizer.email\n  - redact: $..displayName\n",
        )
        .unwrap();
        let input =
            br#"{"organizer":{"email":"mei@acme.com","displayName":"Mei Walker"},"room":"7C-North"}"#;
        let good = format!(
            "{{\"organizer\":{{\"email\":\"t~{HASH}@acme.com\",\"displayName\":null}},\"room\":\"7C-North\"}}\n"
        );
        assert_eq!(
            check(input, "e.ndjson", &rules, good.as_bytes(), None).unwrap(),
            []
        );
        let leaky = "{\"organizer\":{\"email\":\"t~x\",\"displayName\":\"Mei Walker\"}}\n{\"note\":\"ask mei@acme.com\"}\n";
        let hits = check(input, "e.ndjson", &rules, leaky.as_bytes(), None).unwrap();
        let shown: Vec<String> = hits.iter().map(|h| h.to_string()).collect();
        assert_eq!(hits.len(), 3, "{shown:#?}");
        assert!(
            shown[0].contains("line 1, $.organizer.displayName")
                && shown[0].contains("$..displayName")
        );
        assert!(shown[1].contains("line 2, $.note") && shown[1].contains("mei@acme.com"));
        assert!(matches!(&hits[2].kind, HitKind::Email { .. }));
    }
}
