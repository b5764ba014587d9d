//! A workload's row filter against a table: checked against the table's
//! schema ([`resolve`]), then applied to each decoded batch ([`RowPredicate`]).
//!
//! The shape of a filter is checked without a table ([`RowFilter`], in the app
//! crate); here each column must exist and each value must read as the
//! column's type. Text values are accepted for numbers and booleans (the UI's
//! form sends text, and the prototype's clients were lax the same way);
//! numbers are not accepted for text, where `1600` and `"1600.0"` would not
//! mean the same. Ranges apply to integer, float and timestamp columns.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Datum, Float64Array, Int64Array, RecordBatch, Scalar,
    StringArray,
};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{ArrowError, DataType, Schema, TimeUnit};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use tally_app::catalog::{ColumnType, TableInfo};
use tally_app::error::FieldError;
use tally_app::workload::{FilterOp, Literal, RowFilter};

/// A value in its column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Text(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
}

impl Typed {
    /// The value as it is stored in a workload: numbers and booleans as
    /// JSON's, timestamps as RFC 3339 text.
    fn literal(&self) -> Literal {
        match self {
            Self::Text(s) => Literal::Text(s.clone()),
            Self::Integer(n) => Literal::Number((*n).into()),
            Self::Float(x) => serde_json::Number::from_f64(*x)
                .map_or_else(|| Literal::Text(x.to_string()), Literal::Number),
            Self::Boolean(b) => Literal::Boolean(*b),
            Self::Timestamp(us) => Literal::Text(
                DateTime::<Utc>::from_timestamp_micros(*us)
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                    .unwrap_or_default(),
            ),
        }
    }

    /// The value as a one-row array of its comparison type (see [`compared`]).
    fn array(&self) -> ArrayRef {
        match self {
            Self::Text(s) => Arc::new(StringArray::from(vec![s.as_str()])),
            Self::Integer(n) | Self::Timestamp(n) => Arc::new(Int64Array::from(vec![*n])),
            Self::Float(x) => Arc::new(Float64Array::from(vec![*x])),
            Self::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
        }
    }
}

/// One condition, its values in the column's type.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnTest {
    pub column: String,
    pub kind: ColumnType,
    pub op: FilterOp,
    pub values: Vec<Typed>,
}

/// A filter checked against a table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedFilter {
    pub tests: Vec<ColumnTest>,
    /// The filter with each value in its column's type, as it is stored.
    pub normalized: RowFilter,
}

impl ResolvedFilter {
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// The columns the filter reads, each once.
    pub fn columns(&self) -> Vec<&str> {
        self.normalized.columns()
    }
}

/// Checks `filter` against `table`'s schema: every column must exist and
/// every value read as its column's type. Problems are located as the
/// filter's own are (`["filter", column, op]`).
pub fn resolve(filter: &RowFilter, table: &TableInfo) -> Result<ResolvedFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut tests = Vec::new();
    for condition in filter.conditions() {
        let column = &condition.column;
        let at = [column.as_str(), condition.op.as_str()];
        let Some(found) = table.column(column) else {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            errors.push(FieldError::body(
                &["filter", column],
                format!(
                    "Column '{column}' does not exist in table '{}': its columns are {}",
                    table.reference(),
                    names.join(", ")
                ),
                "value_error",
            ));
            continue;
        };
        let kind = found.kind;
        if condition.op.is_range() && matches!(kind, ColumnType::String | ColumnType::Boolean) {
            errors.push(FieldError::body(
                &["filter", at[0], at[1]],
                format!(
                    "Column '{column}' holds {} values: '{}' applies to integer, float and timestamp columns (use = or in)",
                    kind.as_str(),
                    condition.op.symbol()
                ),
                "value_error",
            ));
            continue;
        }
        let mut values = Vec::with_capacity(condition.values.len());
        for literal in &condition.values {
            match typed(literal, kind) {
                Ok(value) => values.push(value),
                Err(why) => errors.push(FieldError::body(
                    &["filter", at[0], at[1]],
                    format!("Column '{column}' holds {} values: {why}", kind.as_str()),
                    "value_error",
                )),
            }
        }
        tests.push(ColumnTest {
            column: column.clone(),
            kind,
            op: condition.op,
            values,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let literals = tests
        .iter()
        .map(|t| t.values.iter().map(Typed::literal).collect())
        .collect();
    let normalized = filter.with_values(literals).ok_or_else(|| {
        vec![FieldError::body(
            &["filter"],
            "The filter changed shape while it was checked".into(),
            "value_error",
        )]
    })?;
    Ok(ResolvedFilter { tests, normalized })
}

/// A literal as a value of a column of type `kind`, or why it is not one.
fn typed(literal: &Literal, kind: ColumnType) -> Result<Typed, String> {
    match (kind, literal) {
        (ColumnType::String, Literal::Text(s)) => Ok(Typed::Text(s.clone())),
        (ColumnType::String, other) => Err(format!(
            "write the value {} as text (in quotes)",
            shown(other)
        )),
        (ColumnType::Integer, Literal::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                    .map(|x| x as i64)
            })
            .map(Typed::Integer)
            .ok_or_else(|| format!("{n} is not a whole number in range")),
        (ColumnType::Integer, Literal::Text(s)) => s
            .trim()
            .parse::<i64>()
            .map(Typed::Integer)
            .map_err(|_| format!("'{s}' is not a whole number")),
        (ColumnType::Float, Literal::Number(n)) => n
            .as_f64()
            .map(Typed::Float)
            .ok_or_else(|| format!("{n} is not a number")),
        (ColumnType::Float, Literal::Text(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Typed::Float)
            .ok_or_else(|| format!("'{s}' is not a number")),
        (ColumnType::Boolean, Literal::Boolean(b)) => Ok(Typed::Boolean(*b)),
        (ColumnType::Boolean, Literal::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Typed::Boolean(true)),
            "false" => Ok(Typed::Boolean(false)),
            _ => Err(format!("'{s}' is not true or false")),
        },
        (ColumnType::Timestamp, Literal::Text(s)) => timestamp(s.trim()).ok_or_else(|| {
            format!("'{s}' is not a date (2026-12-07) or an RFC 3339 time (2026-12-07T10:00:00Z)")
        }),
        (_, other) => Err(format!("{} is not one of them", shown(other))),
    }
}

fn shown(literal: &Literal) -> String {
    match literal {
        Literal::Text(s) => format!("'{s}'"),
        Literal::Number(n) => n.to_string(),
        Literal::Boolean(b) => b.to_string(),
    }
}

/// A date (midnight UTC) or an RFC 3339 time, as microseconds.
fn timestamp(s: &str) -> Option<Typed> {
    let at = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    };
    Some(Typed::Timestamp(at.timestamp_micros()))
}

/// A filter ready for the batches of one projection: each test with the
/// batch column it reads and its values as comparable scalars.
pub struct RowPredicate {
    tests: Vec<PreparedTest>,
}

struct PreparedTest {
    index: usize,
    kind: ColumnType,
    op: FilterOp,
    values: Vec<Scalar<ArrayRef>>,
}

impl RowPredicate {
    /// Prepares `filter` for batches of `schema` (the scan's projection).
    pub fn new(filter: &ResolvedFilter, schema: &Schema) -> Result<Self, ArrowError> {
        let mut tests = Vec::with_capacity(filter.tests.len());
        for test in &filter.tests {
            let index = schema.index_of(&test.column)?;
            let column_type = schema.field(index).data_type();
            let values = test
                .values
                .iter()
                .map(|value| {
                    let array = value.array();
                    // Text is compared in the column's own string layout;
                    // other values in their comparison type (see `compared`).
                    let array = if test.kind == ColumnType::String {
                        arrow_cast::cast(&array, column_type)?
                    } else {
                        array
                    };
                    Ok(Scalar::new(array))
                })
                .collect::<Result<_, ArrowError>>()?;
            tests.push(PreparedTest {
                index,
                kind: test.kind,
                op: test.op,
                values,
            });
        }
        Ok(Self { tests })
    }

    /// The rows of `batch` that meet every test (a null meets none).
    pub fn keep(&self, batch: &RecordBatch) -> Result<BooleanBuffer, ArrowError> {
        let mut keep = BooleanBuffer::new_set(batch.num_rows());
        for test in &self.tests {
            let column = compared(batch.column(test.index), test.kind)?;
            let mut hits = BooleanBuffer::new_unset(batch.num_rows());
            for value in &test.values {
                let result = compare(&column, test.op, value)?;
                hits = &hits | &met(&result);
            }
            keep = &keep & &hits;
        }
        Ok(keep)
    }
}

/// A column in the type its values are compared in: text as it is, integers
/// as 64-bit, floats as 64-bit, timestamps as microseconds (whatever unit and
/// time zone the file uses).
fn compared(column: &ArrayRef, kind: ColumnType) -> Result<ArrayRef, ArrowError> {
    let target = match kind {
        ColumnType::String | ColumnType::Boolean => return Ok(column.clone()),
        ColumnType::Integer => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Timestamp => {
            let tz = match column.data_type() {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            let micros = arrow_cast::cast(column, &DataType::Timestamp(TimeUnit::Microsecond, tz))?;
            return arrow_cast::cast(&micros, &DataType::Int64);
        }
    };
    if column.data_type() == &target {
        Ok(column.clone())
    } else {
        arrow_cast::cast(column, &target)
    }
}

fn compare(column: &ArrayRef, op: FilterOp, value: &dyn Datum) -> Result<BooleanArray, ArrowError> {
    use arrow_ord::cmp;
    match op {
        FilterOp::Eq | FilterOp::In => cmp::eq(column, value),
        FilterOp::Gt => cmp::gt(column, value),
        FilterOp::Gte => cmp::gt_eq(column, value),
        FilterOp::Lt => cmp::lt(column, value),
        FilterOp::Lte => cmp::lt_eq(column, value),
    }
}

/// The rows a comparison holds for: true and not null.
fn met(result: &BooleanArray) -> BooleanBuffer {
    match result.nulls() {
        Some(nulls) => result.values() & nulls.inner(),
        None => result.values().clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Field;
    use serde_json::json;
    use tally_app::catalog::{Column, SourceFormat};

    fn table() -> TableInfo {
        let column = |name: &str, kind| Column {
            name: name.into(),
            kind,
        };
        TableInfo {
            project: "p".into(),
            dataset: "d".into(),
            name: "t".into(),
            columns: vec![
                column("text", ColumnType::String),
                column("corpus", ColumnType::String),
                column("year", ColumnType::Integer),
                column("score", ColumnType::Float),
                column("staged", ColumnType::Boolean),
                column("at", ColumnType::Timestamp),
            ],
            row_count: 0,
            stored_bytes: 0,
            source_format: SourceFormat::Csv,
            created_at: String::new(),
        }
    }

    fn filter(value: serde_json::Value) -> RowFilter {
        serde_json::from_value(value).expect("a filter's shape")
    }

    #[test]
    fn values_are_read_in_their_columns_types_and_stored_so() {
        let resolved = resolve(
            &filter(json!({
                "year": {"gte": "1600", "lt": 1610.0},
                "score": {"gt": "0.5"},
                "staged": "TRUE",
                "at": {"lt": "1601-01-01"},
                "corpus": {"in": ["hamlet", "1600"]},
            })),
            &table(),
        )
        .expect("valid");
        let json = resolved.normalized.to_json();
        assert_eq!(json["year"], json!({"gte": 1600, "lt": 1610}));
        assert_eq!(json["score"], json!({"gt": 0.5}));
        assert_eq!(json["staged"], json!({"eq": true}));
        assert_eq!(json["at"], json!({"lt": "1601-01-01T00:00:00Z"}));
        assert_eq!(json["corpus"], json!({"in": ["hamlet", "1600"]}));
        // What is stored resolves to itself.
        let again = resolve(&resolved.normalized, &table()).expect("valid");
        assert_eq!(again, resolved);
    }

    #[test]
    fn a_filter_that_does_not_fit_the_schema_names_column_and_problem() {
        let errors = resolve(
            &filter(json!({
                "nope": "x",
                "corpus": {"gt": "a"},
                "year": "sixteen hundred",
                "text": 5,
                "at": "yesterday",
                "staged": {"in": ["maybe"]},
            })),
            &table(),
        )
        .expect_err("invalid");
        let got: Vec<(String, &str)> = errors
            .iter()
            .map(|e| (e.loc.join("."), e.msg.as_str()))
            .collect();
        let find = |loc: &str| {
            got.iter()
                .find(|(l, _)| l == loc)
                .map(|(_, m)| *m)
                .unwrap_or_else(|| panic!("no error at {loc}: {got:?}"))
        };
        assert!(find("body.filter.nope").contains("does not exist in table 'p.d.t'"));
        assert!(find("body.filter.nope").contains("text, corpus, year"));
        assert!(find("body.filter.corpus.gt").contains("applies to integer"));
        assert!(find("body.filter.year.eq").contains("not a whole number"));
        assert!(find("body.filter.text.eq").contains("as text"));
        assert!(find("body.filter.at.eq").contains("not a date"));
        assert!(find("body.filter.staged.in").contains("true or false"));
        assert_eq!(got.len(), 6, "{got:?}");
    }

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("corpus", DataType::Utf8View, true),
            Field::new("year", DataType::Int32, true),
            Field::new("score", DataType::Float64, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]);
        let corpus = arrow_array::StringViewArray::from(vec![
            Some("hamlet"),
            Some("macbeth"),
            None,
            Some("hamlet"),
        ]);
        let year = arrow_array::Int32Array::from(vec![Some(1600), Some(1606), Some(1600), None]);
        let score = Float64Array::from(vec![Some(0.1), Some(0.9), Some(0.5), Some(0.7)]);
        let at = arrow_array::TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(86_400_000_000),
            None,
            Some(1),
        ])
        .with_timezone("UTC");
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(corpus),
                Arc::new(year),
                Arc::new(score),
                Arc::new(at),
            ],
        )
        .expect("a batch")
    }

    fn kept(value: serde_json::Value) -> Vec<bool> {
        let mut table = table();
        table.columns.retain(|c| c.name != "text");
        let resolved = resolve(&filter(value), &table).expect("valid");
        let batch = batch();
        let predicate = RowPredicate::new(&resolved, &batch.schema()).expect("prepared");
        predicate.keep(&batch).expect("kept").iter().collect()
    }

    #[test]
    fn each_operator_keeps_the_rows_it_should_and_nulls_never() {
        assert_eq!(
            kept(json!({"corpus": "hamlet"})),
            [true, false, false, true]
        );
        assert_eq!(
            kept(json!({"corpus": {"in": ["macbeth", "hamlet"]}})),
            [true, true, false, true]
        );
        assert_eq!(
            kept(json!({"year": {"gte": 1600, "lt": 1606}})),
            [true, false, true, false]
        );
        assert_eq!(
            kept(json!({"year": {"gt": 1600}})),
            [false, true, false, false]
        );
        assert_eq!(
            kept(json!({"score": {"lte": 0.5}})),
            [true, false, true, false]
        );
        assert_eq!(
            kept(json!({"at": {"gte": "1970-01-02"}})),
            [false, true, false, false]
        );
        assert_eq!(
            kept(json!({"at": {"lt": "1970-01-01T00:00:00.000001Z"}})),
            [true, false, false, false]
        );
        assert_eq!(
            kept(json!({"corpus": "hamlet", "year": 1600})),
            [true, false, false, false]
        );
        assert_eq!(
            kept(json!({"corpus": "othello"})),
            [false, false, false, false]
        );
        assert_eq!(kept(json!({})), [true, true, true, true]);
    }
}
