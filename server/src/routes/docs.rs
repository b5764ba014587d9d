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
    paths(super::health::healthz),
    components(schemas(super::health::Health, super::health::DatabaseHealth)),
    tags((name = "health", description = "Liveness and readiness"))
)]
pub struct ApiDoc;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, ApiDoc::openapi()))
}
