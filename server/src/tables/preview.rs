//! The first rows of a stored table, as JSON values for the API and the UI.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::scan::ScanError;

/// Up to `limit` rows, each a list of values in schema order. Strings, numbers and
/// booleans map to JSON; timestamps become RFC 3339 strings; nulls are `null`.
pub fn first_rows(path: &Path, limit: usize) -> Result<Vec<Vec<Value>>, ScanError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .with_batch_size(limit.max(1))
        .with_limit(limit)
        .build()?;
    let mut rows = Vec::with_capacity(limit);
    for batch in reader {
        append_rows(&batch?, &mut rows)?;
        if rows.len() >= limit {
            break;
        }
    }
    rows.truncate(limit);
    Ok(rows)
}

fn append_rows(batch: &RecordBatch, rows: &mut Vec<Vec<Value>>) -> Result<(), ScanError> {
    let options = FormatOptions::default().with_null("");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    for row in 0..batch.num_rows() {
        let values = batch
            .columns()
            .iter()
            .zip(&formatters)
            .map(|(column, formatter)| json_value(column.as_ref(), formatter, row))
            .collect();
        rows.push(values);
    }
    Ok(())
}

fn json_value(column: &dyn Array, formatter: &ArrayFormatter<'_>, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
        DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => {
            serde_json::Number::from_f64(column.as_primitive::<Float64Type>().value(row))
                .map_or(Value::Null, Value::Number)
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            let text = formatter.value(row).to_string();
            text.parse::<i64>().map_or(Value::String(text), Value::from)
        }
        DataType::Timestamp(unit, _) => {
            let micros = match unit {
                TimeUnit::Second => column
                    .as_primitive::<TimestampSecondType>()
                    .value(row)
                    .saturating_mul(1_000_000),
                TimeUnit::Millisecond => column
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row)
                    .saturating_mul(1_000),
                TimeUnit::Microsecond => {
                    column.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => {
                    column.as_primitive::<TimestampNanosecondType>().value(row) / 1_000
                }
            };
            chrono::DateTime::from_timestamp_micros(micros).map_or(Value::Null, |t| {
                Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            })
        }
        _ => Value::String(formatter.value(row).to_string()),
    }
}
