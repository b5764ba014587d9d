//! HTTP routes outside the Leptos app: one module per resource.

pub mod auth;
pub mod datasets;
pub mod deadline;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod json_body;
pub mod liveness;
pub mod runs;
pub mod workloads;

/// Every error answer: `{"detail": "..."}`, as FastAPI writes it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Table 'x' does not exist in dataset 'p.d'")]
    pub detail: String,
}
