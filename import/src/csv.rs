//! CSV with a header row: two passes, one to infer the column types, one to write.

use std::path::Path;

use csv::{ByteRecord, ErrorKind, ReaderBuilder};
use tally_app::catalog::Column;
use tally_engine::CancelToken;

use super::guard::{GuardedReader, RecordEnds};
use super::infer::{TypeGuess, column_names};
use super::writer::TableWriter;
use super::{ImportError, ImportLimits, ImportOptions, ImportSource, decode};

/// The CSV reader's own buffer: the most it reads ahead of a record.
const READ_AHEAD: usize = 64 * 1024;

type Source = csv::Reader<GuardedReader<std::fs::File>>;

fn reader(
    source: &ImportSource,
    options: &ImportOptions,
    limits: &ImportLimits,
    cancel: &CancelToken,
) -> Result<(Source, RecordEnds), ImportError> {
    let (file, ends) = limits.open(source, READ_AHEAD, cancel)?;
    let reader = ReaderBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(READ_AHEAD)
        .from_reader(file);
    Ok((reader, ends))
}

/// Reads the next record; refuses one longer than the limit (the guard has
/// already stopped one much longer).
fn next_record(
    rdr: &mut Source,
    ends: &RecordEnds,
    limits: &ImportLimits,
    record: &mut ByteRecord,
) -> Result<bool, ImportError> {
    let start = rdr.position().byte();
    if !rdr.read_byte_record(record).map_err(csv_error)? {
        return Ok(false);
    }
    let end = rdr.position().byte();
    limits.check_record(
        end.saturating_sub(start),
        record.position().map_or(0, |p| p.line()),
    )?;
    ends.ended_at(end);
    Ok(true)
}

fn csv_error(e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        ErrorKind::Io(io) => ImportError::from(io),
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
    limits: &ImportLimits,
    cancel: &CancelToken,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    // Pass 1: header and types.
    let (mut rdr, ends) = reader(source, options, limits, cancel)?;
    let header = rdr.byte_headers().map_err(csv_error)?.clone();
    let header_end = rdr.position().byte();
    limits.check_record(header_end, 1)?;
    limits.check_columns(header.len())?;
    ends.ended_at(header_end);
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
    while next_record(&mut rdr, &ends, limits, &mut record)? {
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
    let (mut rdr, ends) = reader(source, options, limits, cancel)?;
    rdr.byte_headers().map_err(csv_error)?;
    ends.ended_at(rdr.position().byte());
    let mut cells: Vec<String> = Vec::with_capacity(columns.len());
    while next_record(&mut rdr, &ends, limits, &mut record)? {
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
