//! CSV with a header row: two passes, one to infer the column types, one to write.

use std::path::Path;

use csv::{ByteRecord, ErrorKind, ReaderBuilder};
use tally_app::catalog::Column;

use super::infer::{TypeGuess, column_names};
use super::writer::TableWriter;
use super::{ImportError, ImportOptions, ImportSource, decode};

fn reader(
    source: &ImportSource,
    options: &ImportOptions,
) -> Result<csv::Reader<std::fs::File>, ImportError> {
    ReaderBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .has_headers(true)
        .flexible(false)
        .from_path(&source.path)
        .map_err(csv_error)
}

fn csv_error(e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        ErrorKind::Io(io) => ImportError::Io(io),
        ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => ImportError::Invalid(format!(
            "line {}: expected {expected_len} fields like the header, found {len}",
            pos.map_or(line.unwrap_or(0), |p| p.line())
        )),
        other => ImportError::Invalid(format!("line {}: {other:?}", line.unwrap_or(0))),
    }
}

pub(super) fn convert(
    source: &ImportSource,
    options: &ImportOptions,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    // Pass 1: header and types.
    let mut rdr = reader(source, options)?;
    let header = rdr.byte_headers().map_err(csv_error)?.clone();
    let raw_names = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            decode(h, options.replace_invalid_utf8, |at| {
                format!("in header field {} at byte offset {at}", i + 1)
            })
            .map(|s| s.into_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names = column_names(&raw_names);
    let mut guesses = vec![TypeGuess::default(); names.len()];
    let mut record = ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_error)? {
        for (i, field) in record.iter().enumerate() {
            let cell = decode_field(&record, i, field, &names, options.replace_invalid_utf8)?;
            guesses[i].observe(&cell);
        }
    }
    let columns: Vec<Column> = names
        .iter()
        .zip(&guesses)
        .map(|(name, g)| Column {
            name: name.clone(),
            kind: g.column_type(),
        })
        .collect();

    // Pass 2: rows.
    let mut writer = TableWriter::create(out, &columns)?;
    let mut rdr = reader(source, options)?;
    rdr.byte_headers().map_err(csv_error)?;
    let mut cells: Vec<String> = Vec::with_capacity(columns.len());
    while rdr.read_byte_record(&mut record).map_err(csv_error)? {
        cells.clear();
        for (i, field) in record.iter().enumerate() {
            cells.push(
                decode_field(&record, i, field, &names, options.replace_invalid_utf8)?.into_owned(),
            );
        }
        let line = record.position().map_or(0, |p| p.line());
        writer.push_text_row(cells.iter().map(String::as_str), line)?;
    }
    Ok((columns, writer.finish()?))
}

fn decode_field<'a>(
    record: &ByteRecord,
    index: usize,
    field: &'a [u8],
    names: &[String],
    replace: bool,
) -> Result<std::borrow::Cow<'a, str>, ImportError> {
    decode(field, replace, |valid| {
        let (line, start) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
        let within = record.range(index).map_or(0, |r| r.start);
        format!(
            "in column '{}' on line {line}, at byte offset {}",
            names.get(index).map_or("?", String::as_str),
            // Field data is stored without delimiters: one per field before this one.
            start as usize + within + index + valid
        )
    })
}
