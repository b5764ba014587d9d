//! Parquet: validated (schema supported, every row group decodes) and kept as is.
//!
//! A small Parquet file can decode to gigabytes (a page of one repeated value
//! compresses to almost nothing). Validation refuses a file whose row groups
//! claim more than `--max-parquet-expansion` times its size, and counts what it
//! actually decodes against the same bound, batch by batch, so a file that lies
//! in its metadata stops there too. Before the reader decodes the footer and
//! the page headers, a bounded walk of their Thrift refuses what would hold it
//! in a loop (`parquet_thrift`). Preview and scans only ever read files that
//! passed these checks.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow_array::Array;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::column::page::Page;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use parquet::file::reader::{FileReader, SerializedFileReader};
use tally_app::catalog::Column;
use tally_app::names::ColumnName;
use tally_engine::CancelToken;

use super::{ImportError, ImportLimits, ImportSource};
use crate::parquet_thrift::{self, WalkError};
use crate::schema::column_type;

/// Where a column chunk lies in the file: its start and length, if both are
/// possible (neither negative nor past the end).
fn chunk_range(chunk: &ColumnChunkMetaData, file_bytes: u64) -> Option<(u64, u64)> {
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or_else(|| chunk.data_page_offset());
    let start = u64::try_from(start).ok()?;
    let len = u64::try_from(chunk.compressed_size()).ok()?;
    start
        .checked_add(len)
        .is_some_and(|end| end <= file_bytes)
        .then_some((start, len))
}

/// Refuses column chunks whose place in the file is impossible (a negative
/// offset or size, or past the end): the Parquet reader asserts on them and
/// panics (found by the `import_parquet` fuzz target).
fn check_chunks(metadata: &ParquetMetaData, file_bytes: u64) -> Result<(), String> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for (c, chunk) in group.columns().iter().enumerate() {
            if chunk_range(chunk, file_bytes).is_none() {
                return Err(format!(
                    "column chunk {c} of row group {g} lies outside the file"
                ));
            }
        }
    }
    Ok(())
}

/// Walks the footer's Thrift before the Parquet reader decodes it (see
/// `parquet_thrift`). A file whose footer cannot be found is left to the
/// reader, which says why.
fn check_footer(file: &mut File, file_bytes: u64) -> Result<(), String> {
    const TAIL: u64 = 8;
    if file_bytes < TAIL {
        return Ok(());
    }
    let mut tail = [0_u8; TAIL as usize];
    file.seek(SeekFrom::Start(file_bytes - TAIL))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| e.to_string())?;
    let (len, magic) = tail.split_at(4);
    let len = u64::from(u32::from_le_bytes([len[0], len[1], len[2], len[3]]));
    // The reader does not ask the footer to leave room for the magic
    // number at the start (found by the fuzz target: a footer that begins
    // inside it), so neither does this check.
    if magic != b"PAR1" || len > file_bytes - TAIL {
        return Ok(());
    }
    let footer = read_at(file, file_bytes - TAIL - len, len)?;
    parquet_thrift::check_footer(&footer).map_err(|e| format!("its footer: {e}"))
}

/// Walks every page header of a column chunk, page by page, before the
/// Parquet reader reads them (see `parquet_thrift`): each header must be
/// whole and bounded, and each page must fit in what is left of the chunk,
/// as the reader requires too.
fn check_pages(file: &mut File, (start, len): (u64, u64)) -> Result<(), String> {
    /// Most page headers are tens of bytes; statistics can make them longer.
    const FIRST_WINDOW: u64 = 8 << 10;
    let end = start + len;
    let mut pos = start;
    while pos < end {
        let left = end - pos;
        let mut window = FIRST_WINDOW.min(left);
        let header = loop {
            let bytes = read_at(file, pos, window)?;
            match parquet_thrift::read_page_header(&bytes) {
                Err(WalkError::Truncated) if window < left => window = (window * 4).min(left),
                Err(WalkError::Truncated) => {
                    return Err(format!(
                        "the page header at byte {pos} runs past its column chunk"
                    ));
                }
                Err(e) => return Err(format!("the page header at byte {pos}: {e}")),
                Ok(header) => break header,
            }
        };
        let page = u64::try_from(header.compressed_page_size)
            .ok()
            .filter(|page| header.len + page <= left)
            .ok_or_else(|| {
                format!(
                    "the page at byte {pos} claims {} bytes, more than its column chunk holds",
                    header.compressed_page_size
                )
            })?;
        pos += header.len + page;
    }
    Ok(())
}

fn read_at(file: &mut File, pos: u64, len: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(pos))
        .and_then(|_| file.by_ref().take(len).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if (bytes.len() as u64) < len {
        return Err(format!("the file ends before byte {}", pos + len));
    }
    Ok(bytes)
}

/// Refuses dictionary pages that claim more entries than their column chunk
/// has values, or than their bytes can hold (every dictionary entry takes at
/// least a byte): the reader sizes the dictionary from that claim before
/// decoding it, so a few bytes could ask for gigabytes (found by the
/// `import_parquet` fuzz target: 5 GB for a 1.5 KB file). A chunk's
/// dictionary page comes first, so only that page is read.
fn check_dictionaries(path: &Path) -> Result<(), String> {
    let reader = SerializedFileReader::new(File::open(path).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        for c in 0..group.num_columns() {
            let chunk_values = group.metadata().column(c).num_values();
            let mut pages = group.get_column_page_reader(c).map_err(|e| e.to_string())?;
            let is_dict = pages
                .peek_next_page()
                .map_err(|e| e.to_string())?
                .is_some_and(|page| page.is_dict);
            if !is_dict {
                continue;
            }
            if let Some(Page::DictionaryPage {
                buf, num_values, ..
            }) = pages.get_next_page().map_err(|e| e.to_string())?
            {
                let claimed = i64::from(num_values);
                if claimed > chunk_values || claimed > buf.len() as i64 {
                    return Err(format!(
                        "the dictionary of column chunk {c} of row group {g} claims {num_values} \
                         entries in {} bytes, for {chunk_values} values",
                        buf.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What any Parquet file may decode to, whatever its size.
pub(super) const EXPANSION_FLOOR: u64 = 256 << 20;

/// Rows per validated batch: small, so one batch never holds much of the bound.
const BATCH_ROWS: usize = 4096;

pub(super) fn convert(
    source: &ImportSource,
    limits: &ImportLimits,
    cancel: &CancelToken,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    // The Parquet reader panics on some malformed files (an assertion on chunk
    // offsets, a division by zero in a byte-array decoder: both found by the
    // `import_parquet` fuzz target). Such a panic is the file's fault and is
    // answered like any other invalid file, not as a crashed request.
    let validated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        validate(source, limits, cancel)
    }))
    .unwrap_or_else(|_| {
        Err(ImportError::Invalid(format!(
            "'{}' is not a valid Parquet file: the Parquet reader could not decode it",
            source.name
        )))
    });
    let (columns, rows) = validated?;
    // The upload is already a file of ours: move it (copy across file systems).
    if fs::rename(&source.path, out).is_err() {
        fs::copy(&source.path, out)?;
    }
    Ok((columns, rows))
}

/// Reads the whole file within the limits; returns its columns and row count.
fn validate(
    source: &ImportSource,
    limits: &ImportLimits,
    cancel: &CancelToken,
) -> Result<(Vec<Column>, u64), ImportError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ImportError::Invalid(format!(
            "'{}' is not a valid Parquet file: {e}",
            source.name
        ))
    };
    let mut file = File::open(&source.path)?;
    let file_bytes = file.metadata()?.len();
    check_footer(&mut file, file_bytes).map_err(|e| invalid(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| invalid(&e))?;
    limits.check_columns(builder.schema().fields().len())?;
    // Small files may always decode to the floor: the ratio is for bombs,
    // not for a few repetitive columns.
    let bound = file_bytes
        .saturating_mul(limits.max_parquet_expansion)
        .max(EXPANSION_FLOOR);
    let too_big = |decoded: u64| {
        ImportError::TooLarge(format!(
            "'{}' decodes to {decoded} bytes or more, over {} times its size of {file_bytes} \
             bytes (--max-parquet-expansion)",
            source.name, limits.max_parquet_expansion
        ))
    };
    check_chunks(builder.metadata(), file_bytes).map_err(|e| invalid(&e))?;
    let mut pages = File::open(&source.path)?;
    for group in builder.metadata().row_groups() {
        for chunk in group.columns() {
            if cancel.is_cancelled() {
                return Err(ImportError::Cancelled);
            }
            if let Some(range) = chunk_range(chunk, file_bytes) {
                check_pages(&mut pages, range).map_err(|e| invalid(&e))?;
            }
        }
    }
    check_dictionaries(&source.path).map_err(|e| invalid(&e))?;
    let claimed: u64 = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.total_byte_size()).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add);
    if claimed > bound {
        return Err(too_big(claimed));
    }
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
    let (mut rows, mut decoded) = (0_u64, 0_u64);
    let mut pace = limits.pace(cancel);
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| invalid(&e))?;
    for batch in reader {
        if cancel.is_cancelled() {
            return Err(ImportError::Cancelled);
        }
        let batch = batch.map_err(|e| invalid(&e))?;
        rows += batch.num_rows() as u64;
        let bytes: usize = batch
            .columns()
            .iter()
            .map(|c| c.get_array_memory_size())
            .sum();
        decoded = decoded.saturating_add(bytes as u64);
        if decoded > bound {
            return Err(too_big(decoded));
        }
        if let Some(pace) = &mut pace {
            pace.hold_after(bytes as u64);
        }
    }
    Ok((columns, rows))
}
