//! Parquet: validated (schema supported, every row group decodes) and kept as is.

use std::fs::{self, File};
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tally_app::catalog::Column;
use tally_app::names::ColumnName;

use super::{ImportError, ImportSource};
use crate::tables::schema::column_type;

pub(super) fn convert(
    source: &ImportSource,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ImportError::Invalid(format!(
            "'{}' is not a valid Parquet file: {e}",
            source.name
        ))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&source.path)?)
        .map_err(|e| invalid(&e))?;
    let mut columns = Vec::new();
    for field in builder.schema().fields() {
        if let Err(e) = ColumnName::parse(field.name()) {
            return Err(ImportError::Invalid(format!(
                "Parquet column '{}': {e}",
                field.name()
            )));
        }
        let kind = column_type(field.data_type()).ok_or_else(|| {
            ImportError::Invalid(format!(
                "Parquet column '{}' has type {}, which Tally does not store (string, integer, float, boolean, timestamp)",
                field.name(),
                field.data_type()
            ))
        })?;
        columns.push(Column {
            name: field.name().clone(),
            kind,
        });
    }
    let mut rows = 0_u64;
    for batch in builder.build().map_err(|e| invalid(&e))? {
        rows += batch.map_err(|e| invalid(&e))?.num_rows() as u64;
    }
    // The upload is already a file of ours: move it (copy across file systems).
    if fs::rename(&source.path, out).is_err() {
        fs::copy(&source.path, out)?;
    }
    Ok((columns, rows))
}
