//! [`TableScan`]: one string column of a stored table, as batches for the engine.
//!
//! Only the scanned column is read from the Parquet file (a projection), one row
//! group after another; the engine counts batches on all cores while the next
//! ones are decoded.

use std::fs::File;
use std::path::Path;

use arrow_array::{Array, StringArray, cast::AsArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use tally_app::catalog::{ColumnType, TableInfo};
use tally_engine::TextBatch;

/// Rows per decoded batch.
const BATCH_ROWS: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("column '{column}' does not exist in table '{table}'")]
    NoSuchColumn { table: String, column: String },
    #[error(
        "column '{column}' of table '{table}' is {kind}, not string: only string columns can be counted"
    )]
    NotAString {
        table: String,
        column: String,
        kind: &'static str,
    },
    #[error("cannot read the table file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the table file is damaged: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("the table file is damaged: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// A batch of one string column's values.
pub struct StringBatch(StringArray);

impl TextBatch for StringBatch {
    fn num_values(&self) -> usize {
        self.0.len()
    }

    fn value(&self, index: usize) -> Option<&str> {
        (!self.0.is_null(index)).then(|| self.0.value(index))
    }
}

impl StringBatch {
    /// Bytes of text in the batch (for throughput figures).
    pub fn text_bytes(&self) -> usize {
        self.0.value_data().len()
    }
}

/// An open scan of one string column.
pub struct TableScan {
    reader: ParquetRecordBatchReader,
    rows: u64,
}

impl TableScan {
    /// Opens `column` of the table stored at `path`.
    pub fn open(path: &Path, table: &TableInfo, column: &str) -> Result<Self, ScanError> {
        let reference = table.reference();
        let col = table
            .column(column)
            .ok_or_else(|| ScanError::NoSuchColumn {
                table: reference.clone(),
                column: column.into(),
            })?;
        if col.kind != ColumnType::String {
            return Err(ScanError::NotAString {
                table: reference,
                column: column.into(),
                kind: col.kind.as_str(),
            });
        }
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
        let index = builder
            .schema()
            .index_of(column)
            .map_err(|_| ScanError::NoSuchColumn {
                table: reference,
                column: column.into(),
            })?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()?;
        Ok(Self { reader, rows })
    }

    /// Rows in the table (the total for progress).
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl Iterator for TableScan {
    type Item = Result<StringBatch, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e.into())),
        };
        let column = batch.column(0);
        // Tally writes Utf8; an imported Parquet file may use another string type.
        let strings = match column.data_type() {
            arrow_schema::DataType::Utf8 => column.as_string::<i32>().clone(),
            _ => match arrow_cast_utf8(column) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            },
        };
        Some(Ok(StringBatch(strings)))
    }
}

fn arrow_cast_utf8(column: &dyn Array) -> Result<StringArray, ScanError> {
    if let Some(large) = column.as_string_opt::<i64>() {
        return Ok(large.iter().collect());
    }
    if let Some(view) = column.as_string_view_opt() {
        return Ok(view.iter().collect());
    }
    Err(ScanError::Arrow(arrow_schema::ArrowError::CastError(
        format!("cannot read {} as text", column.data_type()),
    )))
}
