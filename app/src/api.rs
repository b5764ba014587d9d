//! Server functions: the UI's calls to the server, each at a stable endpoint under
//! `/api/fn/` so that they can also be called with curl (see the README).

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

use crate::catalog::{ProjectTree, TableDetail, TableInfo};
use crate::domain::SystemStatus;
use crate::error::AppError;
use crate::workload::{Workload, WorkloadForm, WorkloadPage};

/// `POST /api/fn/system/status`: the Dashboard's status card.
#[server(prefix = "/api/fn", endpoint = "system/status")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    Ok(service()?.system_status().await)
}

/// `POST /api/fn/datasets/tree`: every project, dataset and table.
#[server(prefix = "/api/fn", endpoint = "datasets/tree")]
pub async fn get_catalog_tree() -> Result<Vec<ProjectTree>, AppError> {
    answer(service()?.catalog_tree().await)
}

/// `POST /api/fn/datasets/table` (`table=project.dataset.table`): schema, stats, first rows.
#[server(prefix = "/api/fn", endpoint = "datasets/table")]
pub async fn get_table(table: String) -> Result<TableDetail, AppError> {
    answer(service()?.table_detail(&table).await)
}

/// `POST /api/fn/datasets/upload` (multipart): imports the form's files as a new table.
#[server(prefix = "/api/fn", endpoint = "datasets/upload", input = MultipartFormData)]
pub async fn upload_table(form: MultipartData) -> Result<TableInfo, AppError> {
    answer(service()?.import_upload(form).await)
}

/// `POST /api/fn/datasets/delete` (`table=project.dataset.table`): deletes a table.
#[server(prefix = "/api/fn", endpoint = "datasets/delete")]
pub async fn delete_table(table: String) -> Result<TableInfo, AppError> {
    answer(service()?.delete_table(&table).await)
}

/// `POST /api/fn/workloads/list` (`status`, `q`, `sort`, `limit`, `offset`, all
/// optional text as in the REST query): one page of workloads and the total.
#[server(prefix = "/api/fn", endpoint = "workloads/list")]
pub async fn list_workloads(
    #[server(default)] status: String,
    #[server(default)] q: String,
    #[server(default)] sort: String,
    #[server(default)] limit: String,
    #[server(default)] offset: String,
) -> Result<WorkloadPage, AppError> {
    let params = [
        ("status", status.as_str()),
        ("q", q.as_str()),
        ("sort", sort.as_str()),
        ("limit", limit.as_str()),
        ("offset", offset.as_str()),
    ];
    let query =
        crate::workload::WorkloadQuery::parse(params.into_iter().filter(|(_, v)| !v.is_empty()))
            .map_err(AppError::invalid);
    match query {
        Ok(query) => answer(service()?.list_workloads(query).await),
        Err(e) => answer(Err(e)),
    }
}

/// `POST /api/fn/workloads/get` (`id`): one workload.
#[server(prefix = "/api/fn", endpoint = "workloads/get")]
pub async fn get_workload(id: u64) -> Result<Workload, AppError> {
    answer(service()?.workload(id).await)
}

/// `POST /api/fn/workloads/create` (`form[name]=...`, see [`WorkloadForm`]):
/// validates like `POST /api/v1/workloads` and creates the workload.
#[server(prefix = "/api/fn", endpoint = "workloads/create")]
pub async fn create_workload(form: WorkloadForm) -> Result<Workload, AppError> {
    answer(service()?.create_workload(form).await)
}

/// `POST /api/fn/workloads/update` (`id`, `form[...]`): replaces the definition.
#[server(prefix = "/api/fn", endpoint = "workloads/update")]
pub async fn update_workload(id: u64, form: WorkloadForm) -> Result<Workload, AppError> {
    answer(service()?.update_workload(id, form).await)
}

/// `POST /api/fn/workloads/delete` (`id`): deletes a workload, its runs and results.
#[server(prefix = "/api/fn", endpoint = "workloads/delete")]
pub async fn delete_workload(id: u64) -> Result<Workload, AppError> {
    answer(service()?.delete_workload(id).await)
}

/// The service the server provided in context; an error (not a panic) if it is missing.
#[cfg(feature = "ssr")]
fn service() -> Result<crate::service::SharedService, AppError> {
    use_context::<crate::service::SharedService>()
        .ok_or_else(|| AppError::new(500, "the Tally service is not available on this server"))
}

/// Answers a failure with its own HTTP status (422, 404...) rather than 500, so
/// that logs and scripts see what the REST API would say.
#[cfg(feature = "ssr")]
fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(e.status)
    {
        response.set_status(status);
    }
    result
}
