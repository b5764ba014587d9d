//! `/api/v1/projects/...`: the catalog over REST, and table uploads.

use axum::Json;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use tally_app::auth::Principal;
use tally_app::catalog::{DatasetInfo, ProjectInfo, TableDetail, TableInfo};
use tally_app::names::{DatasetName, ProjectName, TableRef};

use super::AppState;
use super::json_body::QueryParams;
use crate::error::ServiceError;
use crate::service::uploads::{Spooled, UploadParams, too_large};
use crate::store::catalog;

/// A name in a URL that breaks the naming rule cannot exist: 404, as for any
/// other missing name.
fn project(raw: &str) -> Result<ProjectName, ServiceError> {
    Ok(catalog::project_name(raw)?)
}

fn dataset(project: &str, raw: &str) -> Result<DatasetName, ServiceError> {
    Ok(catalog::dataset_name(project, raw)?)
}

fn table_ref(p: &str, d: &str, t: &str) -> Result<TableRef, ServiceError> {
    Ok(catalog::table_ref(p, d, t)?)
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
    Extension(who): Extension<Principal>,
    Path((p, d, t)): Path<(String, String, String)>,
) -> Result<Json<TableInfo>, ServiceError> {
    Ok(Json(
        state
            .service
            .delete_table(&who, &table_ref(&p, &d, &t)?)
            .await?,
    ))
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
        (status = 422, description = "Invalid name or content (the detail says where)", body = crate::routes::AnyErrorBody,
            example = json!({"detail": "line 3: expected 2 fields like the header, found 3"})),
    ))]
pub async fn upload_table(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((p, d, t)): Path<(String, String, String)>,
    QueryParams(params): QueryParams<UploadParams>,
    headers: HeaderMap,
    request: Request,
) -> Result<impl IntoResponse, ServiceError> {
    let reference = TableRef::parse(&format!("{p}.{d}.{t}"))
        .map_err(|e| ServiceError::Unprocessable(format!("table: {e}")))?;
    let service = &state.service;
    let limit = service.max_upload_bytes();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = request.into_body().into_data_stream();
    let (files, options) = match multer::parse_boundary(&content_type) {
        Ok(boundary) => {
            let mut form = service
                .read_upload_form(multer::Multipart::new(body, boundary))
                .await?;
            let mut merged = params;
            if let Some(f) = form.params.format.take() {
                merged.format = Some(f);
            }
            merged.delimiter = form.params.delimiter.take().or(merged.delimiter);
            merged.quote = form.params.quote.take().or(merged.quote);
            merged.replace_invalid_utf8 = form
                .params
                .replace_invalid_utf8
                .or(merged.replace_invalid_utf8);
            (form.files, merged.options(None)?)
        }
        Err(_) => {
            let options = params.options(Some(&content_type))?;
            let name = params
                .filename
                .clone()
                .unwrap_or_else(|| "upload".to_string());
            let (spooled, _) = service.spool(name, body, limit).await?;
            (vec![spooled], options)
        }
    };
    let sources = files.iter().map(Spooled::source).collect();
    let info = service
        .import_table(&who, &reference, sources, options)
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
