//! Tally's column types and their Arrow/Parquet representation.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use tally_app::catalog::{Column, ColumnType};

/// The time zone of every stored timestamp: UTC, spelt as an offset so that
/// readers need no time-zone database.
pub const UTC: &str = "+00:00";

/// The Arrow type a column is stored as.
pub fn arrow_type(kind: ColumnType) -> DataType {
    match kind {
        ColumnType::String => DataType::Utf8,
        ColumnType::Integer => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
    }
}

/// The Tally type of an Arrow type found in an imported Parquet file, if supported.
pub fn column_type(data_type: &DataType) -> Option<ColumnType> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::String,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => ColumnType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => ColumnType::Timestamp,
        _ => return None,
    })
}

/// The Arrow schema of a table written by Tally (every column nullable).
pub fn arrow_schema(columns: &[Column]) -> Arc<Schema> {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.kind), true))
            .collect::<Vec<_>>(),
    ))
}
