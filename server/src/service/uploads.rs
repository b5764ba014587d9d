//! Receiving uploads: streaming files to the table store's spool with a size
//! limit, and reading the fields of an upload form. Shared by the REST upload
//! route and the UI's upload server function.

use futures_util::{Stream, TryStreamExt};
use tally_app::catalog::SourceFormat;
use tokio::io::AsyncWriteExt;

use super::TallyService;
use crate::error::{ServiceError, is_disk_full};
use crate::tables::import::{ImportOptions, ImportSource};

/// A received file; deleted on drop (the import reads it or moves it first).
pub struct Spooled {
    pub name: String,
    pub path: std::path::PathBuf,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Spooled {
    pub fn source(&self) -> ImportSource {
        ImportSource {
            name: self.name.clone(),
            path: self.path.clone(),
        }
    }
}

/// How to read an upload, as query parameters or form fields; all optional.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `csv`, `jsonl`, `parquet` or `text`; else from the content type or file name.
    pub format: Option<String>,
    /// CSV delimiter: one ASCII character, or `tab` (default `,`).
    pub delimiter: Option<String>,
    /// CSV quote character (default `"`).
    pub quote: Option<String>,
    /// `true` to replace invalid UTF-8 with U+FFFD instead of rejecting the
    /// upload (default `false`).
    pub replace_invalid_utf8: Option<String>,
    /// The file's name, for a raw body (guesses the format from its extension).
    pub filename: Option<String>,
}

fn one_ascii(field: &str, raw: &str) -> Result<u8, ServiceError> {
    match raw {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() && s != "\n" && s != "\r" => Ok(s.as_bytes()[0]),
        _ => Err(ServiceError::Unprocessable(format!(
            "{field}: must be a single ASCII character or 'tab', not '{raw}'"
        ))),
    }
}

impl UploadParams {
    /// Takes a form field into account (unknown names are ignored).
    pub fn merge(&mut self, name: &str, value: String) {
        let value = value.trim().to_string();
        match name {
            "format" => self.format = Some(value),
            "delimiter" => self.delimiter = Some(value),
            "quote" => self.quote = Some(value),
            "replace_invalid_utf8" => self.replace_invalid_utf8 = Some(value),
            "filename" => self.filename = Some(value),
            _ => {}
        }
    }

    /// The import options; `content_type` is the raw body's, if any.
    pub fn options(&self, content_type: Option<&str>) -> Result<ImportOptions, ServiceError> {
        let format = match (
            self.format
                .as_deref()
                .filter(|f| !f.is_empty() && *f != "auto"),
            content_type,
        ) {
            (Some(f), _) => Some(SourceFormat::parse(f).ok_or_else(|| {
                ServiceError::UnsupportedMediaType(format!(
                    "format: unsupported format '{f}': use csv, jsonl, parquet or text"
                ))
            })?),
            (None, Some(t)) => format_of_content_type(t),
            (None, None) => None,
        };
        Ok(ImportOptions {
            format,
            delimiter: self
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| one_ascii("delimiter", d))
                .transpose()?
                .unwrap_or(b','),
            quote: self
                .quote
                .as_deref()
                .filter(|q| !q.is_empty())
                .map(|q| one_ascii("quote", q))
                .transpose()?
                .unwrap_or(b'"'),
            replace_invalid_utf8: match self.replace_invalid_utf8.as_deref().map(str::trim) {
                None | Some("" | "false" | "off" | "0") => false,
                // `on` is what a checked HTML checkbox sends.
                Some("true" | "on" | "1") => true,
                Some(other) => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(ServiceError::Unprocessable(format!(
                        "replace_invalid_utf8: must be true or false, not '{shown}'"
                    )));
                }
            },
        })
    }
}

fn format_of_content_type(content_type: &str) -> Option<SourceFormat> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/csv" => Some(SourceFormat::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
            Some(SourceFormat::Jsonl)
        }
        "application/vnd.apache.parquet" | "application/x-parquet" => Some(SourceFormat::Parquet),
        "text/plain" => Some(SourceFormat::Text),
        _ => None,
    }
}

/// The files and fields of an upload form.
pub struct UploadForm {
    pub files: Vec<Spooled>,
    pub params: UploadParams,
    /// The `table` field, when the form has one (the UI's form does).
    pub table: Option<String>,
}

impl TallyService {
    /// Streams `chunks` into a new spool file, refusing more than `limit` bytes.
    pub async fn spool<S, E>(
        &self,
        name: String,
        mut chunks: S,
        limit: u64,
    ) -> Result<(Spooled, u64), ServiceError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let spooled = Spooled {
            name,
            path: self.tables.files.incoming_path(".upload"),
        };
        self.ensure_free_disk(0)?;
        let mut file = tokio::fs::File::create(&spooled.path)
            .await
            .map_err(write_error)?;
        let (mut size, mut checked_at) = (0_u64, 0_u64);
        while let Some(chunk) = chunks
            .try_next()
            .await
            .map_err(|e| ServiceError::BadRequest(format!("the upload was interrupted: {e}")))?
        {
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large(self.max_upload_bytes()));
            }
            if size - checked_at >= FREE_DISK_CHECK_EVERY {
                self.ensure_free_disk(0)?;
                checked_at = size;
            }
            file.write_all(&chunk).await.map_err(write_error)?;
        }
        file.flush().await.map_err(write_error)?;
        Ok((spooled, size))
    }

    /// Reads a multipart form: file parts are spooled (within the upload limit in
    /// total), other fields are collected.
    pub async fn read_upload_form(
        &self,
        mut form: multer::Multipart<'static>,
    ) -> Result<UploadForm, ServiceError> {
        let read = self.read_form_parts(&mut form).await;
        if matches!(read, Err(ServiceError::PayloadTooLarge(_))) {
            drain(&mut form, DRAIN_BYTES).await;
        }
        read
    }

    async fn read_form_parts(
        &self,
        form: &mut multer::Multipart<'static>,
    ) -> Result<UploadForm, ServiceError> {
        let mut upload = UploadForm {
            files: Vec::new(),
            params: UploadParams::default(),
            table: None,
        };
        let limits = self.limits();
        let (mut received, mut parts) = (0_u64, 0_usize);
        while let Some(field) = form.next_field().await.map_err(malformed)? {
            parts += 1;
            if parts > limits.form_parts {
                return Err(ServiceError::PayloadTooLarge(format!(
                    "file: the form has more than {} parts (--max-form-parts)",
                    limits.form_parts
                )));
            }
            let name = field.name().unwrap_or("").to_string();
            match field.file_name().map(str::to_string) {
                // Browsers send an empty file part when no file was chosen.
                Some(file_name) if !file_name.is_empty() => {
                    let budget = self.max_upload_bytes().saturating_sub(received);
                    let (spooled, size) = self.spool(file_name, field, budget).await?;
                    received += size;
                    upload.files.push(spooled);
                }
                Some(_) => {}
                None => {
                    let value = bounded_text(field, &name, limits.form_field_bytes).await?;
                    if name == "table" {
                        upload.table = Some(value.trim().to_string());
                    } else {
                        upload.params.merge(&name, value);
                    }
                }
            }
        }
        if upload.files.is_empty() {
            return Err(ServiceError::BadRequest(
                "file: choose at least one file to upload".into(),
            ));
        }
        Ok(upload)
    }
}

/// How much of a refused form is still read, so that a client still sending a
/// form a little over a limit reads the 413 instead of a reset connection
/// (the server closes a connection whose request it did not read to the end).
const DRAIN_BYTES: usize = 4 << 20;

/// Reads and drops up to `budget` more bytes of `form`.
async fn drain(form: &mut multer::Multipart<'static>, budget: usize) {
    let mut left = budget;
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            match left.checked_sub(chunk.len()) {
                Some(rest) => left = rest,
                None => return,
            }
        }
    }
}

fn malformed(e: multer::Error) -> ServiceError {
    ServiceError::BadRequest(format!("malformed multipart body: {e}"))
}

/// How often (in bytes received) a spooling upload looks at the free disk.
const FREE_DISK_CHECK_EVERY: u64 = 64 << 20;

fn write_error(e: std::io::Error) -> ServiceError {
    if is_disk_full(&e) {
        ServiceError::disk_full()
    } else {
        ServiceError::internal(e)
    }
}

/// A form field's text, refused past `limit` bytes: `field.text()` would
/// collect a field of any size in memory.
async fn bounded_text(
    mut field: multer::Field<'static>,
    name: &str,
    limit: usize,
) -> Result<String, ServiceError> {
    // The name is the client's: shown short.
    let shown: String = name.chars().take(40).collect();
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if text.len() + chunk.len() > limit {
            return Err(ServiceError::PayloadTooLarge(format!(
                "{shown}: the form field is longer than the limit of {limit} bytes \
                 (--max-form-field-bytes)"
            )));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text)
        .map_err(|_| ServiceError::BadRequest(format!("{shown}: the form field is not UTF-8")))
}

pub fn too_large(limit: u64) -> ServiceError {
    ServiceError::PayloadTooLarge(format!(
        "file: the upload is larger than the limit of {limit} bytes"
    ))
}
