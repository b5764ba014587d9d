//! [`TableWriter`]: typed rows in, a Parquet file out, with bounded memory.
//!
//! Rows are buffered in Arrow builders and flushed as record batches of at most
//! [`BATCH_ROWS`] rows or [`BATCH_BYTES`] bytes; row groups are closed once they
//! hold [`ROW_GROUP_BYTES`], so neither the batch nor the Parquet writer's buffer
//! grows with the input.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use tally_app::catalog::{Column, ColumnType};

use super::ImportError;
use super::infer::{parse_bool, parse_float, parse_int, parse_timestamp};
use crate::schema::{UTC, arrow_schema};

const BATCH_ROWS: usize = 64 * 1024;
const BATCH_BYTES: usize = 32 << 20;
const ROW_GROUP_BYTES: usize = 96 << 20;

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::String => Self::Str(StringBuilder::new()),
            ColumnType::Integer => Self::Int(Int64Builder::new()),
            ColumnType::Float => Self::Float(Float64Builder::new()),
            ColumnType::Boolean => Self::Bool(BooleanBuilder::new()),
            ColumnType::Timestamp => {
                Self::Time(TimestampMicrosecondBuilder::new().with_timezone(UTC))
            }
        }
    }

    /// Appends a text cell (empty is null); `false` when it does not parse.
    fn push_text(&mut self, cell: &str) -> bool {
        if cell.is_empty() {
            self.push_null();
            return true;
        }
        match self {
            Self::Str(b) => b.append_value(cell),
            Self::Int(b) => match parse_int(cell) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            Self::Float(b) => match parse_float(cell) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            Self::Bool(b) => match parse_bool(cell) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            Self::Time(b) => match parse_timestamp(cell) {
                Some(v) => b.append_value(v),
                None => return false,
            },
        }
        true
    }

    /// Appends a JSON value; nested values go into string columns as JSON text.
    fn push_json(&mut self, value: &Value) -> bool {
        match (self, value) {
            (b, Value::Null) => b.push_null(),
            (Self::Str(b), Value::String(s)) => b.append_value(s),
            (Self::Str(b), other) => b.append_value(other.to_string()),
            (Self::Int(b), Value::Number(n)) => match n.as_i64() {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Self::Float(b), Value::Number(n)) => match n.as_f64() {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Self::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (Self::Time(b), Value::String(s)) => match parse_timestamp(s) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    fn push_null(&mut self) {
        match self {
            Self::Str(b) => b.append_null(),
            Self::Int(b) => b.append_null(),
            Self::Float(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Str(b) => Arc::new(b.finish()),
            Self::Int(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
        }
    }
}

/// Writes rows of known columns to a new Parquet file.
pub struct TableWriter {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    columns: Vec<Column>,
    builders: Vec<Builder>,
    batch_rows: usize,
    batch_bytes: usize,
    rows: u64,
}

impl TableWriter {
    pub fn create(path: &Path, columns: &[Column]) -> Result<Self, ImportError> {
        let schema = arrow_schema(columns);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(1).map_err(ImportError::Parquet)?,
            ))
            .set_max_row_group_row_count(Some(1 << 20))
            .build();
        let writer = ArrowWriter::try_new(File::create(path)?, schema.clone(), Some(props))?;
        Ok(Self {
            writer,
            schema,
            columns: columns.to_vec(),
            builders: columns.iter().map(|c| Builder::new(c.kind)).collect(),
            batch_rows: 0,
            batch_bytes: 0,
            rows: 0,
        })
    }

    /// Appends one row of text cells, in column order. `line` is for messages.
    pub fn push_text_row<'a>(
        &mut self,
        cells: impl IntoIterator<Item = &'a str>,
        line: u64,
    ) -> Result<(), ImportError> {
        for (i, cell) in cells.into_iter().enumerate() {
            self.batch_bytes += cell.len();
            if !self.builders[i].push_text(cell) {
                return Err(self.mismatch(i, line, cell));
            }
        }
        self.end_row()
    }

    /// Appends one row of string cells verbatim: an empty cell stays an empty
    /// string (plain-text lines), where [`Self::push_text_row`] reads it as null.
    pub fn push_text_row_keep_empty(
        &mut self,
        cells: &[&str],
        line: u64,
    ) -> Result<(), ImportError> {
        for (i, cell) in cells.iter().enumerate() {
            self.batch_bytes += cell.len();
            match &mut self.builders[i] {
                Builder::Str(b) => b.append_value(cell),
                other => {
                    if !other.push_text(cell) {
                        return Err(self.mismatch(i, line, cell));
                    }
                }
            }
        }
        self.end_row()
    }

    /// Appends one row of JSON values, in column order (`None`: the key was absent).
    pub fn push_json_row<'a>(
        &mut self,
        values: impl IntoIterator<Item = Option<&'a Value>>,
        line: u64,
    ) -> Result<(), ImportError> {
        for (i, value) in values.into_iter().enumerate() {
            let value = value.unwrap_or(&Value::Null);
            self.batch_bytes += match value {
                Value::String(s) => s.len(),
                _ => 8,
            };
            if !self.builders[i].push_json(value) {
                return Err(self.mismatch(i, line, &value.to_string()));
            }
        }
        self.end_row()
    }

    fn mismatch(&self, column: usize, line: u64, cell: &str) -> ImportError {
        let shown: String = cell.chars().take(40).collect();
        ImportError::Invalid(format!(
            "line {line}: value '{shown}' in column '{}' is not a {}",
            self.columns[column].name,
            self.columns[column].kind.as_str()
        ))
    }

    fn end_row(&mut self) -> Result<(), ImportError> {
        self.batch_rows += 1;
        self.rows += 1;
        if self.batch_rows >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), ImportError> {
        if self.batch_rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.writer.write(&batch)?;
        if self.writer.in_progress_size() >= ROW_GROUP_BYTES {
            self.writer.flush()?;
        }
        self.batch_rows = 0;
        self.batch_bytes = 0;
        Ok(())
    }

    /// Flushes and closes the file; returns the number of rows written.
    pub fn finish(mut self) -> Result<u64, ImportError> {
        self.flush_batch()?;
        self.writer.close()?;
        Ok(self.rows)
    }
}
