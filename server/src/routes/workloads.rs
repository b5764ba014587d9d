//! `/api/v1/workloads`: the prototype's REST API, kept compatible.

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use tally_app::auth::Principal;
use tally_app::workload::{Executor, Workload, WorkloadQuery, WorkloadType};
use tally_engine::CountOptions;
use utoipa::{IntoParams, ToSchema};

use super::json_body::{JsonObject, WorkloadId};
use super::{AppState, TOTAL_COUNT, ValidationErrorBody};
use crate::error::ServiceError;

/// The body of `POST` and `PUT`. Unknown fields are ignored.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: bodies are validated by WorkloadSpec
pub struct NewWorkload {
    workload_type: WorkloadType,
    /// 1 to 200 characters after trimming.
    #[schema(example = "Shakespeare word count")]
    name: String,
    #[schema(example = "public-data")]
    src_project: String,
    #[schema(example = "samples")]
    src_dataset: String,
    #[schema(example = "shakespeare")]
    src_table: String,
    /// A string column of the table.
    #[schema(example = "word")]
    src_column_name: String,
    /// How words are cut and counted; defaults when absent.
    options: Option<CountOptions>,
    /// What counts the runs: `native` (default) or `spark` (on a server
    /// started with `--spark-master`; the `whitespace` and `spark`
    /// tokenizers only).
    executor: Option<Executor>,
    /// Which rows are counted (every row when absent): conditions keyed by
    /// column, all of which a row must meet. A column maps to a value
    /// (equality) or to operators `eq`, `in` (a list), `gt`, `gte`, `lt`,
    /// `lte` (integer, float and timestamp columns). Values must fit the
    /// column's type; timestamps are dates or RFC 3339 times. Also taken as
    /// text, one condition a line (`corpus = hamlet`, `year >= 1600`). The
    /// native executor only.
    #[schema(value_type = Option<Object>, example = json!({"corpus": "hamlet", "year": {"gte": 1600, "lt": 1610}}))]
    filter: Option<serde_json::Value>,
    /// A column of the table (any type) whose values split the counts into
    /// groups, its null rows a group of their own; each run then keeps every
    /// group's counts as well as all rows' (`GET /runs/{id}/groups`,
    /// `?group=` on the results). The native executor only.
    #[schema(example = "corpus")]
    group_by: Option<String>,
}

/// The body of `PATCH`: a JSON merge patch (RFC 7396) of the definition. Only
/// the fields present change; `"options": {"min_length": 3}` changes one option.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WorkloadPatch {
    workload_type: Option<WorkloadType>,
    #[schema(example = "Renamed")]
    name: Option<String>,
    src_project: Option<String>,
    src_dataset: Option<String>,
    src_table: Option<String>,
    src_column_name: Option<String>,
    options: Option<CountOptions>,
    executor: Option<Executor>,
    /// A merge patch of the filter: `{"filter": {"year": null}}` drops the
    /// conditions on one column, `{"filter": null}` the whole filter.
    #[schema(value_type = Option<Object>)]
    filter: Option<serde_json::Value>,
    /// A column to count per group of; `null` counts the rows together.
    group_by: Option<String>,
}

/// Query parameters of `GET /workloads`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Only workloads with this status: created, queued, running, succeeded,
    /// failed or cancelled.
    status: Option<String>,
    /// Only workloads whose name contains this text (case-insensitive).
    q: Option<String>,
    /// Order: `id` (default, oldest first), `-id`, `name`, `-name`,
    /// `-updated_at` or `status`.
    sort: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u64>,
    /// Workloads to skip (default 0).
    offset: Option<u64>,
}

/// Creates a workload.
#[utoipa::path(post, path = "/api/v1/workloads", tag = "workloads",
    request_body(content = NewWorkload, example = json!({
        "workload_type": "wordcount", "name": "Shakespeare word count",
        "src_project": "public-data", "src_dataset": "samples", "src_table": "shakespeare",
        "src_column_name": "word", "options": {"tokenizer": "words", "case": "lower"}})),
    responses(
        (status = 201, description = "Created; `Location` names it", body = Workload,
            headers(("Location" = String, description = "/api/v1/workloads/{id}"))),
        (status = 400, description = "Malformed JSON", body = super::ErrorBody),
        (status = 404, description = "The source project, dataset, table or column does not exist", body = super::ErrorBody,
            example = json!({"detail": "Source table 'x' does not exist in dataset 'p.d'"})),
        (status = 413, description = "Body larger than the limit (1 MiB by default)", body = super::ErrorBody),
        (status = 415, description = "Not application/json", body = super::ErrorBody),
        (status = 422, description = "Missing field, wrong type, invalid value, or a column that is not a string", body = ValidationErrorBody,
            example = json!({"detail": [{"loc": ["body", "src_column_name"], "msg": "Field required", "type": "missing"}]})),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ServiceError> {
    let workload = state.service.create_workload(&who, &body).await?;
    let location = format!("/api/v1/workloads/{}", workload.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(workload),
    ))
}

/// Lists workloads: a plain JSON array, as the prototype answered, with the
/// number matching in `X-Total-Count`.
#[utoipa::path(get, path = "/api/v1/workloads", tag = "workloads", params(ListParams),
    responses(
        (status = 200, description = "One page of workloads", body = [Workload],
            headers(("X-Total-Count" = u64, description = "Workloads matching the filters"))),
        (status = 422, description = "An invalid parameter", body = ValidationErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ServiceError> {
    let query = WorkloadQuery::parse(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ServiceError::Invalid)?;
    let page = state.service.list_workloads(query).await?;
    Ok(([(TOTAL_COUNT, page.total.to_string())], Json(page.items)))
}

/// One workload.
#[utoipa::path(get, path = "/api/v1/workloads/{workload_id}", tag = "workloads",
    params(("workload_id" = u64, Path)),
    responses(
        (status = 200, description = "The workload", body = Workload),
        (status = 404, description = "No such workload", body = super::ErrorBody,
            example = json!({"detail": "Workload not found"})),
        (status = 422, description = "The id is not an integer", body = ValidationErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    WorkloadId(id): WorkloadId,
) -> Result<Json<Workload>, ServiceError> {
    Ok(Json(state.service.workload(id).await?))
}

/// Replaces a workload's definition. Earlier runs keep the definition they ran with.
#[utoipa::path(put, path = "/api/v1/workloads/{workload_id}", tag = "workloads",
    params(("workload_id" = u64, Path)),
    request_body = NewWorkload,
    responses(
        (status = 200, description = "The updated workload", body = Workload),
        (status = 404, description = "No such workload, or the new source does not exist", body = super::ErrorBody),
        (status = 409, description = "A run is queued or running", body = super::ErrorBody),
        (status = 422, description = "Invalid definition", body = ValidationErrorBody),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    WorkloadId(id): WorkloadId,
    JsonObject(body): JsonObject,
) -> Result<Json<Workload>, ServiceError> {
    Ok(Json(
        state
            .service
            .update_workload(&who, id, &body, false)
            .await?,
    ))
}

/// Changes part of a workload's definition.
#[utoipa::path(patch, path = "/api/v1/workloads/{workload_id}", tag = "workloads",
    params(("workload_id" = u64, Path)),
    request_body = WorkloadPatch,
    responses(
        (status = 200, description = "The updated workload", body = Workload),
        (status = 404, description = "No such workload, or the new source does not exist", body = super::ErrorBody),
        (status = 409, description = "A run is queued or running", body = super::ErrorBody),
        (status = 422, description = "Invalid definition", body = ValidationErrorBody),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    WorkloadId(id): WorkloadId,
    JsonObject(body): JsonObject,
) -> Result<Json<Workload>, ServiceError> {
    Ok(Json(
        state.service.update_workload(&who, id, &body, true).await?,
    ))
}

/// Deletes a workload (cancelling its run, deleting its runs and results) and
/// returns it as it was.
#[utoipa::path(delete, path = "/api/v1/workloads/{workload_id}", tag = "workloads",
    params(("workload_id" = u64, Path)),
    responses(
        (status = 200, description = "The deleted workload", body = Workload),
        (status = 404, description = "No such workload", body = super::ErrorBody),
        (status = 422, description = "The id is not an integer", body = ValidationErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    WorkloadId(id): WorkloadId,
) -> Result<Json<Workload>, ServiceError> {
    Ok(Json(state.service.delete_workload(&who, id).await?))
}
