//! Imports: a source file (CSV, JSON Lines, Parquet or plain text) into a new
//! Parquet table file, with schema inference and precise errors, within
//! [`ImportLimits`] whoever sends the file.
//!
//! A crate of its own, with no database or web server in it: the server
//! calls it, and the fuzz targets (`fuzz/`) drive it with hostile files.
//!
//! Converting is synchronous and streams: each format reads its source once to
//! infer the schema and once to write (Parquet only validates), holding one batch
//! of rows in memory at a time. Callers run it on a blocking thread.

mod csv;
mod guard;
pub mod infer;
mod jsonl;
mod parquet_file;
mod parquet_thrift;
pub mod schema;
mod text;
pub mod writer;

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use tally_app::catalog::{Column, SourceFormat};
use tally_engine::{CancelToken, Pace};

use guard::{GuardedReader, RecordEnds, Stop};

/// A source file already on local disk (an upload is spooled to disk first).
#[derive(Debug, Clone)]
pub struct ImportSource {
    /// The name the user gave it (used for the `source` column of text imports,
    /// and to guess the format).
    pub name: String,
    pub path: PathBuf,
}

/// How to read the sources.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The format; guessed from the first file name's extension when absent.
    pub format: Option<SourceFormat>,
    /// CSV field delimiter (default `,`).
    pub delimiter: u8,
    /// CSV quote character (default `"`).
    pub quote: u8,
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the file.
    pub replace_invalid_utf8: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: None,
            delimiter: b',',
            quote: b'"',
            replace_invalid_utf8: false,
        }
    }
}

/// What an import may cost, whoever sends it: server settings, documented in
/// `docs/operations.md`.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Columns a table may have (`--max-columns`).
    pub max_columns: usize,
    /// Bytes one CSV record, JSON line or text line may have (`--max-record-bytes`).
    pub max_record_bytes: u64,
    /// Bytes a Parquet upload may decode to, per byte of file
    /// (`--max-parquet-expansion`); any file may decode to 256 MiB.
    pub max_parquet_expansion: u64,
    /// Bytes of source an import reads per second; for a Parquet upload, its
    /// decoded batches' size in memory (`--import-read-rate`). `None`: no limit.
    pub read_rate: Option<NonZeroU64>,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_columns: 10_000,
            max_record_bytes: 64 << 20,
            max_parquet_expansion: 500,
            read_rate: None,
        }
    }
}

impl ImportLimits {
    /// Opens a source for a format reader that buffers up to `read_ahead`
    /// bytes beyond the record it is on.
    fn open(
        &self,
        source: &ImportSource,
        read_ahead: usize,
        cancel: &CancelToken,
    ) -> Result<(GuardedReader<std::fs::File>, RecordEnds), ImportError> {
        let file = std::fs::File::open(&source.path)?;
        let (reader, ends) = GuardedReader::new(
            file,
            self.max_record_bytes,
            read_ahead as u64,
            cancel.clone(),
        );
        Ok((reader.paced(self.pace(cancel)), ends))
    }

    /// The read pace an import keeps, if it is limited.
    fn pace(&self, cancel: &CancelToken) -> Option<Pace> {
        self.read_rate.map(|rate| Pace::new(rate, cancel.clone()))
    }

    fn check_columns(&self, found: usize) -> Result<(), ImportError> {
        if found > self.max_columns {
            return Err(ImportError::Invalid(format!(
                "{found} columns is more than the limit of {} (--max-columns)",
                self.max_columns
            )));
        }
        Ok(())
    }

    /// Refuses a record of `len` bytes that ends at `line`.
    fn check_record(&self, len: u64, line: u64) -> Result<(), ImportError> {
        if len > self.max_record_bytes {
            return Err(record_too_long(self.max_record_bytes, Some(line)));
        }
        Ok(())
    }
}

/// A record past `--max-record-bytes`, at `line` when it is known (the guard
/// stops one that never ends before its line is counted).
fn record_too_long(limit: u64, line: Option<u64>) -> ImportError {
    let at = line.map_or_else(String::new, |l| format!("line {l}: "));
    ImportError::TooLarge(format!(
        "{at}a record is longer than the limit of {limit} bytes (--max-record-bytes)"
    ))
}

/// What a conversion wrote.
#[derive(Debug, Clone)]
pub struct Converted {
    pub format: SourceFormat,
    pub columns: Vec<Column>,
    pub rows: u64,
}

/// Why an import was refused or failed. Each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// 415
    #[error("unsupported format '{0}': use csv, jsonl, parquet or text")]
    UnsupportedFormat(String),
    /// 400
    #[error("{0} is empty")]
    Empty(String),
    /// 422: the content is not valid for its format (the message says where).
    #[error("{0}")]
    Invalid(String),
    /// 413: past one of the [`ImportLimits`] (the message names it).
    #[error("{0}")]
    TooLarge(String),
    /// The client went away; nobody reads the answer.
    #[error("the import was cancelled")]
    Cancelled,
    #[error("cannot read or write the table data: {0}")]
    Io(std::io::Error),
    #[error("cannot write the table file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("cannot build the table data: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl From<std::io::Error> for ImportError {
    fn from(e: std::io::Error) -> Self {
        match Stop::of(&e) {
            Some(Stop::Cancelled) => Self::Cancelled,
            Some(Stop::RecordTooLong { limit }) => record_too_long(limit, None),
            None => Self::Io(e),
        }
    }
}

/// The format to use: the explicit one, else the first file's extension.
pub fn resolve_format(
    sources: &[ImportSource],
    format: Option<SourceFormat>,
) -> Result<SourceFormat, ImportError> {
    if let Some(f) = format {
        return Ok(f);
    }
    let first = sources.first().map(|s| s.name.as_str()).unwrap_or("");
    SourceFormat::from_file_name(first).ok_or_else(|| {
        let ext = first.rsplit_once('.').map_or("(no extension)", |(_, e)| e);
        ImportError::UnsupportedFormat(ext.to_string())
    })
}

/// Converts `sources` into a Parquet file at `out`, within `limits`; stops
/// early once `cancel` is set.
pub fn convert(
    sources: &[ImportSource],
    options: &ImportOptions,
    limits: &ImportLimits,
    cancel: &CancelToken,
    out: &Path,
) -> Result<Converted, ImportError> {
    let format = resolve_format(sources, options.format)?;
    if sources.is_empty() {
        return Err(ImportError::Empty("the upload".into()));
    }
    if format != SourceFormat::Text && sources.len() > 1 {
        return Err(ImportError::Invalid(format!(
            "{} imports take one file; only text imports combine several (with a `source` column)",
            format.as_str()
        )));
    }
    for s in sources {
        if std::fs::metadata(&s.path)?.len() == 0 {
            return Err(ImportError::Empty(format!("the file '{}'", s.name)));
        }
    }
    let (columns, rows) = match format {
        SourceFormat::Csv => csv::convert(&sources[0], options, limits, cancel, out)?,
        SourceFormat::Jsonl => jsonl::convert(&sources[0], options, limits, cancel, out)?,
        SourceFormat::Parquet => parquet_file::convert(&sources[0], limits, cancel, out)?,
        SourceFormat::Text => text::convert(sources, options, limits, cancel, out)?,
    };
    Ok(Converted {
        format,
        columns,
        rows,
    })
}

/// Decodes a cell, or explains where invalid UTF-8 is.
fn decode<'a>(
    bytes: &'a [u8],
    replace: bool,
    place: impl FnOnce(usize) -> String,
) -> Result<std::borrow::Cow<'a, str>, ImportError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.into()),
        Err(_) if replace => Ok(String::from_utf8_lossy(bytes)),
        Err(e) => Err(ImportError::Invalid(format!(
            "invalid UTF-8 {} (import with replace_invalid_utf8=true to replace it with U+FFFD)",
            place(e.valid_up_to())
        ))),
    }
}
