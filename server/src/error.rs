//! [`ServiceError`]: every failure of the service layer, in one place, with the
//! HTTP status it maps to. Routes and server functions never pick statuses
//! themselves.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tally_app::error::FieldError;

use crate::auth::AuthError;
use crate::store::catalog::{CatalogError, Missing};
use crate::store::database::DbError;
use crate::tables::import::ImportError;
use crate::tables::scan::ScanError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    /// Invalid input, every problem located (FastAPI's 422 body).
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// 503: the server could not answer in time, or is busy.
    #[error("{0}")]
    Unavailable(String),
    /// 507: the disk is full, or would cross the reserve kept free
    /// (`--min-free-disk`).
    #[error("{0}")]
    InsufficientStorage(String),
    /// Too many failed sign-ins; the client may try again after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// Details go to the log; the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) | Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client sees.
    pub fn detail(&self) -> String {
        match self {
            Self::Internal(_) => "Internal server error: see the server log".to_string(),
            other => other.to_string(),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if let Self::Internal(message) = &self {
            tracing::error!(%message, "request failed");
        }
        let detail = match &self {
            Self::Invalid(errors) => json!(errors),
            other => json!(other.detail()),
        };
        let mut response = (self.status(), Json(json!({ "detail": detail }))).into_response();
        if let Self::TooManyRequests { retry_after, .. } = &self
            && let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.loc.join("."), e.msg))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<AuthError> for ServiceError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials | AuthError::SetupClosed => Self::Unauthorized(e.to_string()),
            AuthError::TooManyAttempts(wait) => Self::TooManyRequests {
                message: e.to_string(),
                retry_after: wait.as_secs().max(1),
            },
            AuthError::Invalid(message) => Self::Unprocessable(message),
            AuthError::NotFound(message) => Self::NotFound(message),
            AuthError::Forbidden(message) => Self::Forbidden(message),
            AuthError::Conflict(message) => Self::Conflict(message),
            AuthError::Internal(message) => Self::Internal(message),
        }
    }
}

impl From<CatalogError> for ServiceError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(missing) => missing.into(),
            CatalogError::TableExists(_) | CatalogError::InUse(_) => Self::Conflict(e.to_string()),
            CatalogError::Db(db) => db.into(),
        }
    }
}

impl From<crate::runs::results::ResultsError> for ServiceError {
    fn from(e: crate::runs::results::ResultsError) -> Self {
        match e {
            crate::runs::results::ResultsError::NoSuchGroup(why) => {
                Self::NotFound(format!("No such group: {why}"))
            }
            e => Self::Internal(e.to_string()),
        }
    }
}

impl From<Missing> for ServiceError {
    fn from(missing: Missing) -> Self {
        Self::NotFound(missing.to_string())
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl ServiceError {
    pub fn disk_full() -> Self {
        Self::InsufficientStorage(
            "the server's disk is full: nothing was stored; free some space or ask an administrator"
                .into(),
        )
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e {
            // Still conflicting after every retry (`Database::execute`): other
            // writers of the same rows, which a later try does not meet.
            DbError::Query(query) if crate::store::database::is_conflict(&query) => {
                Self::Unavailable(
                    "the database is busy with conflicting writes; try again".to_string(),
                )
            }
            e => Self::Internal(e.to_string()),
        }
    }
}

impl From<ImportError> for ServiceError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::UnsupportedFormat(_) => Self::UnsupportedMediaType(e.to_string()),
            ImportError::Empty(_) => Self::BadRequest(e.to_string()),
            ImportError::Invalid(_) => Self::Unprocessable(e.to_string()),
            ImportError::TooLarge(_) => Self::PayloadTooLarge(e.to_string()),
            ImportError::Cancelled => Self::BadRequest(e.to_string()),
            ImportError::Io(io) if is_disk_full(&io) => Self::disk_full(),
            ImportError::Io(_) | ImportError::Parquet(_) | ImportError::Arrow(_) => {
                Self::Internal(e.to_string())
            }
        }
    }
}

impl From<ScanError> for ServiceError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::NoSuchColumn { .. } => Self::NotFound(e.to_string()),
            ScanError::NotAString { .. } => Self::Unprocessable(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}
