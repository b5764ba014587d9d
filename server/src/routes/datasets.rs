//! `/api/v1/projects/...`: the catalog over REST, and table uploads.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use serde::Deserialize;
use tally_app::catalog::{DatasetInfo, ProjectInfo, SourceFormat, TableDetail, TableInfo};
use tally_app::names::{DatasetName, ProjectName, TableRef};
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use crate::catalog::Missing;
use crate::error::ServiceError;
use crate::startup::AppState;
use crate::tables::import::{ImportOptions, ImportSource};

/// A name in a URL that breaks the naming rule cannot exist: 404, as for any
/// other missing name.
fn project(raw: &str) -> Result<ProjectName, ServiceError> {
    ProjectName::parse(raw).map_err(|_| {
        ServiceError::NotFound(
            Missing::Project {
                project: raw.into(),
            }
            .to_string(),
        )
    })
}

fn dataset(project: &str, raw: &str) -> Result<DatasetName, ServiceError> {
    DatasetName::parse(raw).map_err(|_| {
        ServiceError::NotFound(
            Missing::Dataset {
                project: project.into(),
                dataset: raw.into(),
            }
            .to_string(),
        )
    })
}

fn table_ref(p: &str, d: &str, t: &str) -> Result<TableRef, ServiceError> {
    let reference = TableRef {
        project: project(p)?,
        dataset: dataset(p, d)?,
        table: tally_app::names::TableName::parse(t).map_err(|_| {
            ServiceError::NotFound(
                Missing::Table {
                    project: p.into(),
                    dataset: d.into(),
                    table: t.into(),
                }
                .to_string(),
            )
        })?,
    };
    Ok(reference)
}

/// Lists every project.
#[utoipa::path(get, path = "/api/v1/projects", tag = "datasets",
    responses((status = 200, description = "All projects, by name", body = [ProjectInfo])))]
pub async fn list_projects(
    State(state): State<AppState>,
) -> Result<Json<Vec<ProjectInfo>>, ServiceError> {
    Ok(Json(state.service.list_projects().await?))
}

/// Lists the datasets of a project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/datasets", tag = "datasets",
    params(("project" = String, Path, description = "Project name")),
    responses(
        (status = 200, description = "The project's datasets, by name", body = [DatasetInfo]),
        (status = 404, description = "No such project", body = crate::routes::ErrorBody,
            example = json!({"detail": "Project 'x' does not exist"})),
    ))]
pub async fn list_datasets(
    State(state): State<AppState>,
    Path(p): Path<String>,
) -> Result<Json<Vec<DatasetInfo>>, ServiceError> {
    Ok(Json(state.service.list_datasets(&project(&p)?).await?))
}

/// Lists the tables of a dataset.
#[utoipa::path(get, path = "/api/v1/projects/{project}/datasets/{dataset}/tables", tag = "datasets",
    params(("project" = String, Path), ("dataset" = String, Path)),
    responses(
        (status = 200, description = "The dataset's tables, by name", body = [TableInfo]),
        (status = 404, description = "No such project or dataset", body = crate::routes::ErrorBody,
            example = json!({"detail": "Dataset 'x' does not exist in project 'p'"})),
    ))]
pub async fn list_tables(
    State(state): State<AppState>,
    Path((p, d)): Path<(String, String)>,
) -> Result<Json<Vec<TableInfo>>, ServiceError> {
    Ok(Json(
        state
            .service
            .list_tables(&project(&p)?, &dataset(&p, &d)?)
            .await?,
    ))
}

/// A table: schema, statistics and its first rows.
#[utoipa::path(get, path = "/api/v1/projects/{project}/datasets/{dataset}/tables/{table}", tag = "datasets",
    params(("project" = String, Path), ("dataset" = String, Path), ("table" = String, Path)),
    responses(
        (status = 200, description = "The table", body = TableDetail),
        (status = 404, description = "No such project, dataset or table", body = crate::routes::ErrorBody,
            example = json!({"detail": "Table 'x' does not exist in dataset 'p.d'"})),
    ))]
pub async fn get_table(
    State(state): State<AppState>,
    Path((p, d, t)): Path<(String, String, String)>,
) -> Result<Json<TableDetail>, ServiceError> {
    Ok(Json(
        state.service.table_detail(&table_ref(&p, &d, &t)?).await?,
    ))
}

/// Deletes a table and its data.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/datasets/{dataset}/tables/{table}", tag = "datasets",
    params(("project" = String, Path), ("dataset" = String, Path), ("table" = String, Path)),
    responses(
        (status = 200, description = "The deleted table", body = TableInfo),
        (status = 404, description = "No such table", body = crate::routes::ErrorBody),
        (status = 409, description = "A run is reading the table", body = crate::routes::ErrorBody),
    ))]
pub async fn delete_table(
    State(state): State<AppState>,
    Path((p, d, t)): Path<(String, String, String)>,
) -> Result<Json<TableInfo>, ServiceError> {
    Ok(Json(
        state.service.delete_table(&table_ref(&p, &d, &t)?).await?,
    ))
}

/// How to read an upload; all optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `csv`, `jsonl`, `parquet` or `text`; else from the content type or file name.
    pub format: Option<String>,
    /// CSV delimiter: one ASCII character, or `tab` (default `,`).
    pub delimiter: Option<String>,
    /// CSV quote character (default `"`).
    pub quote: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the upload.
    pub replace_invalid_utf8: Option<bool>,
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
    fn merge(&mut self, name: &str, value: String) {
        match name {
            "format" => self.format = Some(value),
            "delimiter" => self.delimiter = Some(value),
            "quote" => self.quote = Some(value),
            "replace_invalid_utf8" => {
                self.replace_invalid_utf8 = Some(matches!(value.as_str(), "true" | "on" | "1"))
            }
            "filename" => self.filename = Some(value),
            _ => {}
        }
    }

    fn options(&self, content_type: Option<&str>) -> Result<ImportOptions, ServiceError> {
        let format = match (&self.format, content_type.and_then(format_of_content_type)) {
            (Some(f), _) if !f.is_empty() => Some(SourceFormat::parse(f).ok_or_else(|| {
                ServiceError::UnsupportedMediaType(format!(
                    "unsupported format '{f}': use csv, jsonl, parquet or text"
                ))
            })?),
            (_, from_type) => from_type,
        };
        Ok(ImportOptions {
            format,
            delimiter: self
                .delimiter
                .as_deref()
                .map(|d| one_ascii("delimiter", d))
                .transpose()?
                .unwrap_or(b','),
            quote: self
                .quote
                .as_deref()
                .map(|q| one_ascii("quote", q))
                .transpose()?
                .unwrap_or(b'"'),
            replace_invalid_utf8: self.replace_invalid_utf8.unwrap_or(false),
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

/// A file being received; deleted on drop unless handed to the import (which
/// deletes or moves it).
struct Spooled {
    path: std::path::PathBuf,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams `chunks` to a new file, stopping at `limit` bytes.
async fn spool<S, E>(
    state: &AppState,
    mut chunks: S,
    limit: u64,
) -> Result<(Spooled, u64), ServiceError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let spooled = Spooled {
        path: state.service.incoming_path(),
    };
    let mut file = tokio::fs::File::create(&spooled.path)
        .await
        .map_err(ServiceError::internal)?;
    let mut size = 0_u64;
    while let Some(chunk) = chunks
        .try_next()
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the upload was interrupted: {e}")))?
    {
        size += chunk.len() as u64;
        if size > limit {
            return Err(ServiceError::PayloadTooLarge(format!(
                "the upload is larger than the limit of {limit} bytes"
            )));
        }
        file.write_all(&chunk)
            .await
            .map_err(ServiceError::internal)?;
    }
    file.flush().await.map_err(ServiceError::internal)?;
    Ok((spooled, size))
}

/// Creates a table from an upload: a raw body (one file) or `multipart/form-data`
/// (file parts, plus optional `format`, `delimiter`, `quote`,
/// `replace_invalid_utf8` fields).
#[utoipa::path(post, path = "/api/v1/projects/{project}/datasets/{dataset}/tables/{table}", tag = "datasets",
    params(("project" = String, Path), ("dataset" = String, Path), ("table" = String, Path), UploadParams),
    request_body(content = Vec<u8>, description = "The file: a raw body (text/csv, application/x-ndjson, \
        application/vnd.apache.parquet, text/plain or any type with `format`), or multipart/form-data file parts",
        content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "The new table", body = TableInfo),
        (status = 400, description = "Empty file", body = crate::routes::ErrorBody),
        (status = 409, description = "The table exists", body = crate::routes::ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = crate::routes::ErrorBody),
        (status = 415, description = "Unknown format", body = crate::routes::ErrorBody),
        (status = 422, description = "Invalid name or content (the detail says where)", body = crate::routes::ErrorBody,
            example = json!({"detail": "line 3: expected 2 fields like the header, found 3"})),
    ))]
pub async fn upload_table(
    State(state): State<AppState>,
    Path((p, d, t)): Path<(String, String, String)>,
    Query(mut params): Query<UploadParams>,
    headers: HeaderMap,
    request: Request,
) -> Result<impl IntoResponse, ServiceError> {
    let reference = TableRef::parse(&format!("{p}.{d}.{t}"))
        .map_err(|e| ServiceError::Unprocessable(format!("table: {e}")))?;
    let limit = state.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ServiceError::PayloadTooLarge(format!(
            "the upload is larger than the limit of {limit} bytes"
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut files: Vec<(String, Spooled)> = Vec::new();
    let mut received = 0_u64;
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ServiceError::BadRequest(format!("malformed multipart body: {e}")))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ServiceError::BadRequest(format!("malformed multipart body: {e}")))?
        {
            let name = field.name().unwrap_or("").to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    let (spooled, size) =
                        spool(&state, field, limit.saturating_sub(received)).await?;
                    received += size;
                    files.push((file_name, spooled));
                }
                None => {
                    let value = field
                        .text()
                        .await
                        .map_err(|e| ServiceError::BadRequest(format!("field {name}: {e}")))?;
                    params.merge(&name, value);
                }
            }
        }
        if files.is_empty() {
            return Err(ServiceError::BadRequest("the form has no file part".into()));
        }
    } else {
        let name = params
            .filename
            .clone()
            .unwrap_or_else(|| "upload".to_string());
        let (spooled, _) = spool(&state, request.into_body().into_data_stream(), limit).await?;
        files.push((name, spooled));
    }
    let raw_type = (!content_type.starts_with("multipart/")).then_some(content_type.as_str());
    let options = params.options(raw_type)?;
    let sources = files
        .iter()
        .map(|(name, spooled)| ImportSource {
            name: name.clone(),
            path: spooled.path.clone(),
        })
        .collect();
    let info = state
        .service
        .import_table(&reference, sources, options)
        .await?;
    drop(files);
    let location = format!(
        "/api/v1/projects/{}/datasets/{}/tables/{}",
        info.project, info.dataset, info.name
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(info),
    ))
}
