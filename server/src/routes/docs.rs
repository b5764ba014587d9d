//! The OpenAPI document (`/api/v1/openapi.json`) and Swagger UI (`/docs`), served
//! from assets vendored into the binary so that they work offline.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::startup::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally",
        description = "Self-hosted workload manager for text analytics: word counts over table columns."
    ),
    paths(
        super::health::healthz,
        super::workloads::create,
        super::workloads::list,
        super::workloads::get,
        super::workloads::replace,
        super::workloads::patch,
        super::workloads::delete,
        super::runs::start,
        super::runs::list,
        super::runs::get,
        super::runs::cancel,
        super::runs::workload_wordcount,
        super::runs::run_wordcount,
        super::runs::events,
        super::datasets::list_projects,
        super::datasets::list_datasets,
        super::datasets::list_tables,
        super::datasets::get_table,
        super::datasets::upload_table,
        super::datasets::delete_table,
    ),
    components(schemas(
        super::health::Health,
        super::health::DatabaseHealth,
        super::ErrorBody,
        super::workloads::NewWorkload,
        super::workloads::WorkloadPatch,
        super::workloads::ValidationErrorBody,
        tally_app::error::FieldError,
        tally_app::workload::Workload,
        tally_app::workload::WorkloadType,
        tally_app::workload::WorkloadStatus,
        tally_app::workload::RunSummary,
        tally_app::run::Run,
        tally_app::run::RunState,
        tally_app::run::RunProgress,
        tally_app::run::RunTimings,
        tally_app::run::RunLogEntry,
        tally_app::run::WordCountPage,
        tally_app::run::WordCountRow,
        tally_app::run::ServerEvent,
        tally_engine::CountOptions,
        tally_engine::TokenizerKind,
        tally_engine::CaseMode,
        tally_engine::Stopwords,
        tally_app::catalog::ProjectInfo,
        tally_app::catalog::DatasetInfo,
        tally_app::catalog::TableInfo,
        tally_app::catalog::TableDetail,
        tally_app::catalog::Column,
        tally_app::catalog::ColumnType,
        tally_app::catalog::SourceFormat,
    )),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "runs", description = "Runs of workloads, their results, and the live event stream"),
        (name = "workloads", description = "Workloads: word counts over a table column (the prototype's API)"),
        (name = "datasets", description = "The catalog of projects, datasets and tables, and table uploads"),
    )
)]
pub struct ApiDoc;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, ApiDoc::openapi()))
}
