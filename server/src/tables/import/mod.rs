//! Imports: a source file (CSV, JSON Lines, Parquet or plain text) into a new
//! Parquet table file, with schema inference and precise errors.
//!
//! Converting is synchronous and streams: each format reads its source once to
//! infer the schema and once to write (Parquet only validates), holding one batch
//! of rows in memory at a time. Callers run it on a blocking thread.

mod csv;
pub mod infer;
mod jsonl;
mod parquet_file;
mod text;
pub mod writer;

use std::path::{Path, PathBuf};

use tally_app::catalog::{Column, SourceFormat};

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
    /// 413
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("cannot read or write the table data: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the table file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("cannot build the table data: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
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

/// Converts `sources` into a Parquet file at `out`.
pub fn convert(
    sources: &[ImportSource],
    options: &ImportOptions,
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
        SourceFormat::Csv => csv::convert(&sources[0], options, out)?,
        SourceFormat::Jsonl => jsonl::convert(&sources[0], options, out)?,
        SourceFormat::Parquet => parquet_file::convert(&sources[0], out)?,
        SourceFormat::Text => text::convert(sources, options, out)?,
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
