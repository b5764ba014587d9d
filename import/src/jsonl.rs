//! JSON Lines: one object per line. Keys become columns (in first-seen order);
//! numbers, booleans and strings keep their types (strings that are timestamps
//! become timestamps), nested arrays and objects are stored as JSON text.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};
use tally_app::catalog::{Column, ColumnType};
use tally_engine::CancelToken;

use super::infer::{TypeGuess, column_names, parse_timestamp};
use super::writer::TableWriter;
use super::{ImportError, ImportLimits, ImportOptions, ImportSource};

/// The line reader's buffer: the most it reads ahead of a line.
pub(super) const READ_AHEAD: usize = 1 << 20;

/// Calls `f` with each object and its line number.
fn for_each_object(
    source: &ImportSource,
    options: &ImportOptions,
    limits: &ImportLimits,
    cancel: &CancelToken,
    mut f: impl FnMut(Map<String, Value>, u64) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let (file, ends) = limits.open(source, READ_AHEAD, cancel)?;
    let mut reader = BufReader::with_capacity(READ_AHEAD, file);
    let mut buf = Vec::with_capacity(4096);
    let (mut line, mut offset) = (0_u64, 0_u64);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        limits.check_record(n as u64, line)?;
        let start = offset;
        offset += n as u64;
        ends.ended_at(offset);
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) if options.replace_invalid_utf8 => String::from_utf8_lossy(&buf),
            Err(e) => {
                return Err(ImportError::Invalid(format!(
                    "invalid UTF-8 on line {line}, at byte offset {} (import with replace_invalid_utf8=true to replace it with U+FFFD)",
                    start + e.valid_up_to() as u64
                )));
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => f(map, line)?,
            Ok(other) => {
                let kind = match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                return Err(ImportError::Invalid(format!(
                    "line {line}: expected a JSON object, found {kind}"
                )));
            }
            Err(e) => {
                return Err(ImportError::Invalid(format!(
                    "line {line}: invalid JSON: {e}"
                )));
            }
        }
    }
}

fn value_type(value: &Value) -> Option<ColumnType> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => ColumnType::Boolean,
        Value::Number(n) if n.is_i64() => ColumnType::Integer,
        Value::Number(_) => ColumnType::Float,
        Value::String(s) if parse_timestamp(s).is_some() => ColumnType::Timestamp,
        _ => ColumnType::String,
    })
}

pub(super) fn convert(
    source: &ImportSource,
    options: &ImportOptions,
    limits: &ImportLimits,
    cancel: &CancelToken,
    out: &Path,
) -> Result<(Vec<Column>, u64), ImportError> {
    let mut keys: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut guesses: Vec<TypeGuess> = Vec::new();
    let mut objects = 0_u64;
    for_each_object(source, options, limits, cancel, |map, _| {
        objects += 1;
        for (key, value) in &map {
            let i = match index.get(key) {
                Some(&i) => i,
                None => {
                    limits.check_columns(keys.len() + 1)?;
                    keys.push(key.clone());
                    guesses.push(TypeGuess::default());
                    index.insert(key.clone(), keys.len() - 1);
                    keys.len() - 1
                }
            };
            if let Some(kind) = value_type(value) {
                guesses[i].observe_type(kind);
            }
        }
        Ok(())
    })?;
    if objects == 0 {
        return Err(ImportError::Empty(format!(
            "the file '{}' (no JSON objects)",
            source.name
        )));
    }
    let names = column_names(&keys);
    let columns: Vec<Column> = names
        .into_iter()
        .zip(&guesses)
        .map(|(name, g)| Column {
            name,
            kind: g.column_type(),
        })
        .collect();
    let mut writer = TableWriter::create(out, &columns)?;
    for_each_object(source, options, limits, cancel, |map, line| {
        writer.push_json_row(keys.iter().map(|k| map.get(k)), line)
    })?;
    Ok((columns, writer.finish()?))
}
