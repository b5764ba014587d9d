//! HTTP routes outside the Leptos app: one module per resource.

pub mod auth;
pub mod compare;
pub mod datasets;
pub mod deadline;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod json_body;
pub mod liveness;
pub mod metrics;
pub mod request_id;
pub mod runs;
pub mod workloads;

/// Either shape of error answer: a message, or (a 422) each problem with its
/// location. Documented on the answers any operation may give (see
/// `docs::CommonAnswers`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AnyErrorBody {
    pub detail: ErrorDetail,
}

/// A message, or located problems.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ErrorDetail {
    Message(String),
    Problems(Vec<tally_app::error::FieldError>),
}

/// Every error answer: `{"detail": "..."}`, as FastAPI writes it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Table 'x' does not exist in dataset 'p.d'")]
    pub detail: String,
}
