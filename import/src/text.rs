//! Plain text: one row per line in a `line` column; several files add a `source`
//! column with each file's name.

use std::io::{BufRead, BufReader};
use std::path::Path;

use tally_app::catalog::{Column, ColumnType};
use tally_engine::CancelToken;

use super::jsonl::READ_AHEAD;
use super::writer::TableWriter;
use super::{ImportError, ImportLimits, ImportOptions, ImportSource, decode};

pub(super) fn convert(
    sources: &[ImportSource],
    options: &ImportOptions,
    limits: &ImportLimits,
    cancel: &CancelToken,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    let mut columns = vec![Column {
        name: "line".into(),
        kind: ColumnType::String,
    }];
    let with_source = sources.len() > 1;
    if with_source {
        columns.push(Column {
            name: "source".into(),
            kind: ColumnType::String,
        });
    }
    let mut writer = TableWriter::create(out, &columns)?;
    let mut buf = Vec::with_capacity(4096);
    for source in sources {
        let (file, ends) = limits.open(source, READ_AHEAD, cancel)?;
        let mut reader = BufReader::with_capacity(READ_AHEAD, file);
        let (mut line_no, mut offset) = (0_u64, 0_u64);
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            limits.check_record(n as u64, line_no)?;
            ends.ended_at(offset + n as u64);
            let mut end = buf.len();
            if buf.ends_with(b"\n") {
                end -= 1;
                if buf[..end].ends_with(b"\r") {
                    end -= 1;
                }
            }
            let line = decode(&buf[..end], options.replace_invalid_utf8, |valid| {
                format!(
                    "in '{}' on line {line_no}, at byte offset {}",
                    source.name,
                    offset + valid as u64
                )
            })?;
            // An empty line is a row with an empty `line`, not a null.
            let row = [line.as_ref(), source.name.as_str()];
            writer.push_text_row_keep_empty(&row[..columns.len()], line_no)?;
            offset += n as u64;
        }
    }
    Ok((columns, writer.finish()?))
}
