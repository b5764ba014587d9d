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

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderName;
use leptos::config::LeptosOptions;
use tally_app::service::{SharedAccounts, SharedService};

use crate::service::TallyService;

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

/// Shared state of every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Arc<TallyService>,
    /// The public URL is https: cookies are `Secure`.
    pub https: bool,
}

impl AppState {
    /// The service as the UI's server functions see it.
    pub fn app_service(&self) -> SharedService {
        self.service.clone()
    }

    /// The account service as the UI's server functions see it.
    pub fn app_accounts(&self) -> SharedAccounts {
        self.service.accounts().clone()
    }
}

/// The header that carries how many items match a list request.
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

/// A 422 answer: each problem with its location.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the answer is written by `ServiceError`
pub struct ValidationErrorBody {
    detail: Vec<tally_app::error::FieldError>,
}

/// A parsed query and its `format` parameter (`json`, the default, or `csv`)
/// together: the query and whether CSV is asked for, or every problem of
/// both, each located at its parameter.
pub fn with_format<T>(
    parsed: Result<T, Vec<tally_app::error::FieldError>>,
    format: Option<&str>,
) -> Result<(T, bool), crate::error::ServiceError> {
    let csv = match format {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(tally_app::error::FieldError::query(
            "format",
            "Input should be json or csv".into(),
            "enum",
        )),
    };
    match (parsed, csv) {
        (Ok(query), Ok(csv)) => Ok((query, csv)),
        (parsed, csv) => {
            let mut errors = parsed.err().unwrap_or_default();
            errors.extend(csv.err());
            Err(crate::error::ServiceError::Invalid(errors))
        }
    }
}
