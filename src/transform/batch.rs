//! Rules applied to Arrow record batches (Parquet input).
//!
//! **Columnar rules** work on columns by name, exactly as on a CSV header: pass-through columns
//! are the input's arrays, untouched (same type, nullability and values); pseudonymized and
//! `fieldsToTransform` columns become nullable UTF-8 strings computed from each value's text
//! (strings as they are, other scalars as Arrow displays them), trimmed as CSV cells are, so a
//! pseudonym from a Parquet column equals the one from the same value in a CSV.
//!
//! **Record rules** run on each row as a JSON object, through the same JSONPath engine as NDJSON.
//! Parquet output needs its types before any value is read, so the plan first evaluates every
//! path over the *schema* (filters and indexes assumed to match, so it over-approximates) to
//! learn which top-level columns a transform can reach and which leaves can become strings.
//! Only those columns go through JSON and back; every other column is copied as it is.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use serde_json::Value;

use super::columnar::java_trim;
use super::ops::{Effect, ValueError};
use super::schema::SchemaShape;
use super::{ColumnarPlan, ColumnarProgram, CompiledSchema, PlanError, RecordPlan, Unsupported};
use crate::format::parquet::json_lines;
use crate::format::JsonSyntax;
use crate::jsonpath::{Segment, Selector};
use crate::pseudonym::Pseudonymizer;

/// A batch that cannot be sanitized. Never carries a data value.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// One row's record failed a transform.
    #[error("row {row}, column `{column}`: {source}")]
    Value {
        /// 1-based row number in the file.
        row: u64,
        /// The JSONPath concerned.
        column: String,
        /// What is wrong.
        source: ValueError,
    },
    /// A row's JSON form could not be read back.
    #[error("row {row}: cannot read the row as JSON: {} error", .syntax.kind())]
    RowJson {
        /// 1-based row number in the file.
        row: u64,
        /// What is wrong.
        syntax: JsonSyntax,
    },
    /// Arrow could not convert the batch (a value that does not fit the output's type).
    #[error("rows {first_row}-{last_row}: {problem}")]
    Convert {
        /// First row of the batch.
        first_row: u64,
        /// Last row of the batch.
        last_row: u64,
        /// Arrow's error without the values it quotes.
        problem: ConvertProblem,
    },
    /// The transformed records could not be written as JSON for Arrow.
    #[error("rows {first_row}-{last_row}: {source}")]
    Encode {
        /// First row of the batch.
        first_row: u64,
        /// Last row of the batch.
        last_row: u64,
        /// The writer's error.
        source: serde_json::Error,
    },
}

fn convert_error(batch: &RecordBatch, first_row: u64) -> impl Fn(ArrowError) -> BatchError {
    let last_row = first_row + (batch.num_rows() as u64).saturating_sub(1);
    move |source| BatchError::Convert {
        first_row,
        last_row,
        problem: ConvertProblem::from(&source),
    }
}

/// What Arrow's conversion error says, without its text: arrow-json and arrow-cast quote the
/// offending value (`failed to parse "..." as Int64`, `expected string got ...`), so only the
/// field path (`whilst decoding field 'a'` prefixes, names from the schema) and the kind of
/// error are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertProblem {
    /// The field path arrow-json named, outermost first (empty when it named none).
    fields: Vec<String>,
    /// Which kind of Arrow error it was.
    kind: &'static str,
}

impl From<&ArrowError> for ConvertProblem {
    fn from(e: &ArrowError) -> Self {
        let (fields, kind) = match e {
            ArrowError::JsonError(text) => {
                let mut fields = Vec::new();
                let mut rest = text.as_str();
                while let Some(after) = rest.strip_prefix("whilst decoding field '") {
                    let Some(end) = after.find("': ") else { break };
                    fields.push(after[..end].to_owned());
                    rest = &after[end + 3..];
                }
                (fields, "a value does not fit the column's type")
            }
            ArrowError::CastError(_) | ArrowError::ParseError(_) => {
                (Vec::new(), "a value cannot be cast to the column's type")
            }
            ArrowError::InvalidArgumentError(_) | ArrowError::SchemaError(_) => {
                (Vec::new(), "the batch does not fit the output schema")
            }
            _ => (Vec::new(), "Arrow could not build the output batch"),
        };
        ConvertProblem { fields, kind }
    }
}

impl std::fmt::Display for ConvertProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.fields.is_empty() {
            f.write_str(self.kind)
        } else {
            write!(f, "field `{}`: {}", self.fields.join("."), self.kind)
        }
    }
}

/// Whether a column of this type has a text form that columnar transforms can work on.
fn is_scalar(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, v) => is_scalar(v),
        DataType::Struct(_)
        | DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::Map(..)
        | DataType::Union(..)
        | DataType::RunEndEncoded(..)
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => false,
        _ => true,
    }
}

/// The text of each value of a scalar column.
enum Texts<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Display(ArrayFormatter<'a>),
}

impl<'a> Texts<'a> {
    fn new(array: &'a dyn Array, options: &'a FormatOptions<'a>) -> Result<Self, ArrowError> {
        Ok(match array.data_type() {
            DataType::Utf8 => Texts::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Texts::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Texts::View(array.as_string_view()),
            _ => Texts::Display(ArrayFormatter::try_new(array, options)?),
        })
    }

    fn get<'s>(&'s self, row: usize, buf: &'s mut String) -> &'s str {
        match self {
            Texts::Utf8(a) => a.value(row),
            Texts::LargeUtf8(a) => a.value(row),
            Texts::View(a) => a.value(row),
            Texts::Display(f) => {
                use std::fmt::Write as _;
                buf.clear();
                // Writing to a String cannot fail; a formatter error leaves the text empty.
                let _ = write!(buf, "{}", f.value(row));
                buf
            }
        }
    }
}

/// Columnar rules compiled against a Parquet schema.
pub struct ColumnarBatchPlan {
    plan: ColumnarPlan,
    output: SchemaRef,
}

impl ColumnarBatchPlan {
    /// Binds the compiled rules to the schema's top-level fields (as to a CSV header).
    pub fn compile(program: &ColumnarProgram, input: &Schema) -> Result<Self, PlanError> {
        let header: Vec<String> = input.fields().iter().map(|f| f.name().clone()).collect();
        let plan = program.bind(&header)?;
        let names: Vec<String> = plan.output_header().map(str::to_string).collect();
        let mut fields = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let src = input.field(plan.source_of(i));
            if plan.is_clear(i) {
                fields.push(
                    Field::new(name, src.data_type().clone(), src.is_nullable())
                        .with_metadata(src.metadata().clone()),
                );
                continue;
            }
            if !is_scalar(src.data_type()) {
                return Err(Unsupported::NotScalar {
                    column: src.name().clone(),
                    data_type: src.data_type().to_string(),
                }
                .into());
            }
            fields.push(Field::new(name, DataType::Utf8, true));
        }
        Ok(ColumnarBatchPlan {
            plan,
            output: Arc::new(Schema::new(fields)),
        })
    }

    /// The schema of the output batches.
    pub fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// Transforms one batch.
    pub fn apply(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        p: &Pseudonymizer,
    ) -> Result<RecordBatch, BatchError> {
        let options = FormatOptions::default();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.width());
        let mut buf = String::new();
        let mut out = String::new();
        for i in 0..self.plan.width() {
            let src = batch.column(self.plan.source_of(i));
            if self.plan.is_clear(i) {
                columns.push(src.clone());
                continue;
            }
            let texts =
                Texts::new(src.as_ref(), &options).map_err(convert_error(batch, first_row))?;
            let nulls = src.logical_nulls();
            let mut b = StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 48);
            for row in 0..batch.num_rows() {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    b.append_null();
                    continue;
                }
                let value = java_trim(texts.get(row, &mut buf));
                if value.is_empty() {
                    b.append_value("");
                } else if self.plan.transform_value(i, value, p, &mut out) {
                    b.append_value(&out);
                } else {
                    b.append_null();
                }
            }
            columns.push(Arc::new(b.finish()));
        }
        RecordBatch::try_new(self.output.clone(), columns).map_err(convert_error(batch, first_row))
    }
}

/// Where a column of the record plan's Parquet output comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The input column at this index, copied.
    Original(usize),
    /// The decoded column at this index (it went through the transforms).
    Decoded(usize),
}

/// Record rules compiled against a Parquet schema.
pub struct RecordBatchPlan {
    /// Input columns each row's JSON object holds.
    eval: Vec<usize>,
    /// The Parquet output's schema.
    output: SchemaRef,
    sources: Vec<Source>,
    /// Decoded columns' types with dictionaries unwrapped (arrow-json decodes no dictionaries).
    decode: SchemaRef,
}

impl RecordBatchPlan {
    /// Analyses the plan's paths over `input`. With `all_columns`, every column goes through
    /// the transforms (JSON or CSV output, which are written from the records).
    pub fn compile(
        plan: &RecordPlan,
        input: &Schema,
        all_columns: bool,
    ) -> Result<Self, PlanError> {
        let mut tree = TypeTree::new(input);
        let mut touched: BTreeSet<usize> = BTreeSet::new();
        let mut root_filter = false;
        let mut everything = plan.schema().is_some();
        for (path, effect) in plan.path_effects() {
            let segments = path.segments();
            root_filter |= matches!(
                segments.first().map(|s| &s.selector),
                Some(Selector::Filter(_))
            );
            let mut matched = BTreeSet::new();
            tree.walk(segments, TypeTree::ROOT, &mut matched);
            for node in matched {
                match tree.nodes[node].column {
                    Some(c) => {
                        touched.insert(c);
                    }
                    None => everything = true,
                }
                let n = &mut tree.nodes[node];
                match effect {
                    Effect::Null => n.nullable = true,
                    Effect::String => n.to_string = matches!(n.kind, Kind::Leaf),
                }
            }
        }
        let columns = input.fields().len();
        if everything {
            touched = (0..columns).collect();
        }
        let eval: Vec<usize> = if all_columns || root_filter {
            (0..columns).collect()
        } else {
            touched.iter().copied().collect()
        };

        let mut fields: Vec<Field> = Vec::with_capacity(columns);
        let mut sources = Vec::with_capacity(columns);
        let mut decode_fields: Vec<Field> = Vec::new();
        for (c, field) in input.fields().iter().enumerate() {
            if !touched.contains(&c) {
                fields.push(field.as_ref().clone());
                sources.push(Source::Original(c));
                continue;
            }
            let node = tree.column_node(c);
            let mut out = Field::new(
                field.name(),
                tree.rebuild(node, field.data_type()),
                field.is_nullable() || tree.nodes[node].nullable,
            )
            .with_metadata(field.metadata().clone());
            if let Some(schema) = plan.schema() {
                match schema.shape(CompiledSchema::ROOT) {
                    SchemaShape::Object(Some(props)) => match props.get(field.name()) {
                        Some(idx) => out = filter_field(out, schema, *idx),
                        None => continue, // dropped by the filter
                    },
                    SchemaShape::Object(None) | SchemaShape::Any => {
                        out = filter_field(out, schema, CompiledSchema::ROOT)
                    }
                    _ => return Err(Unsupported::SchemaNotObject.into()),
                }
            }
            decode_fields.push(Field::new(
                out.name(),
                without_dictionaries(out.data_type()),
                out.is_nullable(),
            ));
            sources.push(Source::Decoded(decode_fields.len() - 1));
            fields.push(out);
        }
        Ok(RecordBatchPlan {
            eval,
            output: Arc::new(Schema::new(fields)),
            sources,
            decode: Arc::new(Schema::new(decode_fields)),
        })
    }

    /// The schema of the Parquet output.
    pub fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// Each row of `batch` as a JSON object (of the columns the transforms need), transformed.
    pub fn records(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        plan: &RecordPlan,
        p: &Pseudonymizer,
    ) -> Result<Vec<Value>, BatchError> {
        let projected = batch
            .project(&self.eval)
            .map_err(convert_error(batch, first_row))?;
        let text = json_lines(&projected).map_err(convert_error(batch, first_row))?;
        let mut records = Vec::with_capacity(batch.num_rows());
        for (i, line) in text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let row = first_row + i as u64;
            let mut value: Value =
                serde_json::from_slice(line).map_err(|e| BatchError::RowJson {
                    row,
                    syntax: JsonSyntax::of(&e),
                })?;
            plan.apply(&mut value, p).map_err(|e| BatchError::Value {
                row,
                column: e.path,
                source: e.source,
            })?;
            records.push(value);
        }
        Ok(records)
    }

    /// Transforms `batch` into a batch of the output schema.
    pub fn apply(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        plan: &RecordPlan,
        p: &Pseudonymizer,
    ) -> Result<RecordBatch, BatchError> {
        let to_arrow = convert_error(batch, first_row);
        let decoded: Option<RecordBatch> = if self.decode.fields().is_empty() {
            None
        } else {
            let records = self.records(batch, first_row, plan, p)?;
            let mut text = Vec::with_capacity(records.len() * 128);
            for r in &records {
                serde_json::to_writer(&mut text, r).map_err(|source| BatchError::Encode {
                    first_row,
                    last_row: first_row + (records.len() as u64).saturating_sub(1),
                    source,
                })?;
                text.push(b'\n');
            }
            let mut decoder = arrow_json::ReaderBuilder::new(self.decode.clone())
                .with_coerce_primitive(true)
                .with_batch_size(batch.num_rows().max(1))
                .build_decoder()
                .map_err(&to_arrow)?;
            let mut pos = 0;
            while pos < text.len() {
                let n = decoder.decode(&text[pos..]).map_err(&to_arrow)?;
                if n == 0 {
                    break;
                }
                pos += n;
            }
            decoder.flush().map_err(&to_arrow)?
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.sources.len());
        for (field, source) in self.output.fields().iter().zip(&self.sources) {
            match source {
                Source::Original(c) => columns.push(batch.column(*c).clone()),
                Source::Decoded(d) => {
                    let Some(decoded) = decoded.as_ref() else {
                        return Err(to_arrow(ArrowError::ComputeError("no rows decoded".into())));
                    };
                    let column = decoded.column(*d);
                    if column.data_type() == field.data_type() {
                        columns.push(column.clone());
                    } else {
                        columns
                            .push(arrow_cast::cast(column, field.data_type()).map_err(&to_arrow)?);
                    }
                }
            }
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(self.output.clone(), columns, &options).map_err(to_arrow)
    }
}

/// `field` as the output schema filter leaves it: undeclared struct members dropped; every
/// field nullable (a value of the wrong type becomes null).
fn filter_field(field: Field, schema: &CompiledSchema, idx: usize) -> Field {
    let dt = match (schema.shape(idx), field.data_type()) {
        (SchemaShape::Object(Some(props)), DataType::Struct(members)) => {
            let kept: Vec<Field> = members
                .iter()
                .filter_map(|m| {
                    props
                        .get(m.name())
                        .map(|i| filter_field(m.as_ref().clone(), schema, *i))
                })
                .collect();
            DataType::Struct(Fields::from(kept))
        }
        (SchemaShape::Array(Some(item)), DataType::List(f)) => {
            DataType::List(Arc::new(filter_field(f.as_ref().clone(), schema, item)))
        }
        (SchemaShape::Array(Some(item)), DataType::LargeList(f)) => {
            DataType::LargeList(Arc::new(filter_field(f.as_ref().clone(), schema, item)))
        }
        (_, dt) => dt.clone(),
    };
    field.with_data_type(dt).with_nullable(true)
}

/// `dt` with every dictionary replaced by its value type.
fn without_dictionaries(dt: &DataType) -> DataType {
    let field = |f: &FieldRef| -> FieldRef {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(without_dictionaries(f.data_type())),
        )
    };
    match dt {
        DataType::Dictionary(_, v) => without_dictionaries(v),
        DataType::Struct(fs) => DataType::Struct(fs.iter().map(field).collect()),
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// The shape of a schema node, as JSONPath sees the JSON it becomes.
#[derive(Debug)]
enum Kind {
    /// A struct: named members.
    Object(Vec<(String, usize)>),
    /// A list: one node for every element.
    Array(usize),
    /// A map: unknown keys, one node for every value.
    Map(usize),
    /// Anything else.
    Leaf,
}

#[derive(Debug)]
struct TypeNode {
    kind: Kind,
    /// The top-level column the node is in; `None` for the root.
    column: Option<usize>,
    /// A transform may turn the value into a string.
    to_string: bool,
    /// A transform may turn the value into null.
    nullable: bool,
}

/// The schema as a tree of JSON shapes, for evaluating paths without data.
struct TypeTree {
    nodes: Vec<TypeNode>,
}

impl TypeTree {
    const ROOT: usize = 0;

    fn new(schema: &Schema) -> Self {
        let mut tree = TypeTree {
            nodes: vec![TypeNode {
                kind: Kind::Leaf,
                column: None,
                to_string: false,
                nullable: false,
            }],
        };
        let members = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| (f.name().clone(), tree.add(f.data_type(), c)))
            .collect();
        tree.nodes[Self::ROOT].kind = Kind::Object(members);
        tree
    }

    fn add(&mut self, dt: &DataType, column: usize) -> usize {
        let kind = match dt {
            DataType::Struct(fields) => Kind::Object(
                fields
                    .iter()
                    .map(|f| (f.name().clone(), self.add(f.data_type(), column)))
                    .collect(),
            ),
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::ListView(f)
            | DataType::LargeListView(f) => Kind::Array(self.add(f.data_type(), column)),
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    Kind::Map(self.add(kv[1].data_type(), column))
                }
                _ => Kind::Leaf,
            },
            _ => Kind::Leaf,
        };
        self.nodes.push(TypeNode {
            kind,
            column: Some(column),
            to_string: false,
            nullable: false,
        });
        self.nodes.len() - 1
    }

    fn column_node(&self, column: usize) -> usize {
        match &self.nodes[Self::ROOT].kind {
            Kind::Object(members) => members[column].1,
            _ => Self::ROOT,
        }
    }

    /// Adds to `out` every node `segments` can reach from `node`.
    fn walk(&self, segments: &[Segment], node: usize, out: &mut BTreeSet<usize>) {
        let Some((segment, rest)) = segments.split_first() else {
            out.insert(node);
            return;
        };
        let mut starts = vec![node];
        if segment.descendant {
            self.descendants(node, &mut starts);
        }
        for start in starts {
            for next in self.select(&segment.selector, start) {
                self.walk(rest, next, out);
            }
        }
    }

    fn descendants(&self, node: usize, out: &mut Vec<usize>) {
        let children: Vec<usize> = match &self.nodes[node].kind {
            Kind::Object(members) => members.iter().map(|(_, c)| *c).collect(),
            Kind::Array(c) | Kind::Map(c) => vec![*c],
            Kind::Leaf => Vec::new(),
        };
        for c in children {
            out.push(c);
            self.descendants(c, out);
        }
    }

    /// What one selector can reach from `node`, assuming filters hold and indexes exist.
    fn select(&self, selector: &Selector, node: usize) -> Vec<usize> {
        match (&self.nodes[node].kind, selector) {
            (Kind::Object(members), Selector::Names(names)) => members
                .iter()
                .filter(|(n, _)| names.contains(n))
                .map(|(_, c)| *c)
                .collect(),
            (Kind::Object(members), Selector::Wildcard) => {
                members.iter().map(|(_, c)| *c).collect()
            }
            (Kind::Map(v), Selector::Names(_) | Selector::Wildcard) => vec![*v],
            (
                Kind::Array(item),
                Selector::Wildcard | Selector::Indexes(_) | Selector::Slice { .. },
            ) => {
                vec![*item]
            }
            (Kind::Array(item), Selector::Filter(_)) => vec![*item],
            (Kind::Object(_) | Kind::Map(_), Selector::Filter(_)) => vec![node],
            _ => Vec::new(),
        }
    }

    /// The output type of `node`, whose input type is `dt`.
    fn rebuild(&self, node: usize, dt: &DataType) -> DataType {
        let n = &self.nodes[node];
        let field = |f: &FieldRef, child: usize| -> FieldRef {
            Arc::new(
                Field::new(
                    f.name(),
                    self.rebuild(child, f.data_type()),
                    f.is_nullable() || self.nodes[child].nullable,
                )
                .with_metadata(f.metadata().clone()),
            )
        };
        match (&n.kind, dt) {
            (Kind::Leaf, _) if n.to_string => DataType::Utf8,
            (Kind::Object(members), DataType::Struct(fields)) => DataType::Struct(
                fields
                    .iter()
                    .zip(members)
                    .map(|(f, (_, c))| field(f, *c))
                    .collect(),
            ),
            (Kind::Array(c), DataType::List(f)) => DataType::List(field(f, *c)),
            (Kind::Array(c), DataType::LargeList(f)) => DataType::LargeList(field(f, *c)),
            (Kind::Array(c), DataType::FixedSizeList(f, len)) => {
                DataType::FixedSizeList(field(f, *c), *len)
            }
            (Kind::Map(c), DataType::Map(entries, sorted)) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    let kv = Fields::from(vec![kv[0].clone(), field(&kv[1], *c)]);
                    DataType::Map(
                        Arc::new(
                            entries
                                .as_ref()
                                .clone()
                                .with_data_type(DataType::Struct(kv)),
                        ),
                        *sorted,
                    )
                }
                _ => dt.clone(),
            },
            _ => dt.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConvertProblem;
    use arrow_schema::ArrowError;

    #[test]
    fn arrow_conversion_errors_keep_the_field_path_and_drop_the_values() {
        let quoted = ArrowError::JsonError(
            "whilst decoding field 'r': whilst decoding field 'a': failed to parse \"jane@acme.com\" as Int32"
                .into(),
        );
        let shown = ConvertProblem::from(&quoted).to_string();
        assert_eq!(shown, "field `r.a`: a value does not fit the column's type");
        let got = ArrowError::JsonError("expected string got {\"ssn\": \"123-45-6789\"}".into());
        assert_eq!(
            ConvertProblem::from(&got).to_string(),
            "a value does not fit the column's type"
        );
        let cast = ArrowError::CastError("Cannot cast string 'jane' to value of Int64 type".into());
        assert!(!ConvertProblem::from(&cast).to_string().contains("jane"));
    }

    use super::*;
    use crate::rules::{parse_rules_yaml, BulkRules};

    fn schema() -> Schema {
        let person = DataType::Struct(Fields::from(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("email", DataType::Utf8, true),
        ]));
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("owner", person.clone(), true),
            Field::new(
                "people",
                DataType::List(Arc::new(Field::new("item", person, true))),
                true,
            ),
            Field::new("count", DataType::Int32, true),
        ])
    }

    fn compile(transforms: &str, all: bool) -> RecordBatchPlan {
        let BulkRules::Record(r) =
            parse_rules_yaml(&format!("format: PARQUET\ntransforms:\n{transforms}")).unwrap()
        else {
            panic!("record rules")
        };
        let p = Pseudonymizer::salted("s");
        let plan = RecordPlan::compile(&r, &p).unwrap();
        RecordBatchPlan::compile(&plan, &schema(), all).unwrap()
    }

    fn types(plan: &RecordBatchPlan) -> Vec<String> {
        plan.output_schema()
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "{}:{}{}",
                    f.name(),
                    f.data_type(),
                    if f.is_nullable() { "?" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn only_reachable_columns_go_through_the_transforms() {
        let plan = compile("  - pseudonymize: $.owner.email\n", false);
        assert_eq!(plan.eval, [1]);
        assert!(matches!(plan.sources[0], Source::Original(0)));
        assert!(matches!(plan.sources[1], Source::Decoded(0)));
        // JSON output needs every column in the records.
        assert_eq!(
            compile("  - pseudonymize: $.owner.email\n", true).eval,
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn deep_scans_reach_every_matching_leaf_and_integers_become_strings() {
        let plan = compile("  - pseudonymize: $..id\n", false);
        assert_eq!(plan.eval, [0, 1, 2]);
        let t = types(&plan);
        assert_eq!(t[0], "id:Utf8");
        assert!(t[1].contains("\"id\": non-null Utf8"), "{}", t[1]);
        assert!(t[2].contains("\"id\": non-null Utf8"), "{}", t[2]);
        assert_eq!(t[3], "count:Int32?");
    }

    #[test]
    fn filters_and_indexes_are_assumed_to_match() {
        let plan = compile("  - redact: \"$.people[?(@.email == 'x')].id\"\n", false);
        assert_eq!(plan.eval, [2]);
        // Redacted: the required member becomes nullable.
        assert!(
            types(&plan)[2].contains("(\"id\": Int64,"),
            "{:?}",
            types(&plan)
        );
        let plan = compile("  - pseudonymize: \"$.people[3].id\"\n", false);
        assert!(
            types(&plan)[2].contains("\"id\": non-null Utf8"),
            "{:?}",
            types(&plan)
        );
        // A filter on the root tests the whole record: every column is read.
        let plan = compile("  - pseudonymize: \"$[?(@.count > 1)].id\"\n", false);
        assert_eq!(plan.eval, [0, 1, 2, 3]);
        assert_eq!(types(&plan)[0], "id:Utf8");
    }

    #[test]
    fn redacting_the_root_touches_everything() {
        let plan = compile("  - redact: $\n", false);
        assert_eq!(plan.eval, [0, 1, 2, 3]);
    }
}
