//! Extractors for JSON APIs that answer every bad request the way FastAPI
//! clients expect: a status and a `detail` that says what is wrong.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::{Map, Value};
use tally_app::error::FieldError;

use super::AppState;
use crate::error::ServiceError;

/// How far past the limit a body is still read to answer 413 cleanly.
const DRAIN_FACTOR: usize = 4;

/// A request body that is a JSON object: 415 for another content type, 413 over
/// the limit (`--max-json-bytes`), 400 for malformed JSON, 422 for JSON that is
/// not an object.
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ServiceError::UnsupportedMediaType(format!(
                "Content-Type must be application/json, not '{}'",
                if content_type.is_empty() {
                    "(none)"
                } else {
                    content_type
                }
            )));
        }
        let limit = state.service.max_json_bytes();
        let too_large = || {
            ServiceError::PayloadTooLarge(format!(
                "Request body is larger than the limit of {limit} bytes"
            ))
        };
        // A body somewhat over the limit is read (and dropped) before the 413,
        // so that the client, still sending, gets the answer rather than a reset
        // connection; a body far over it is cut off.
        let drain = limit.saturating_mul(DRAIN_FACTOR);
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > drain) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(request.into_body(), drain)
            .await
            .map_err(|_| too_large())?;
        if bytes.len() > limit {
            return Err(too_large());
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::BadRequest(format!(
                "Malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        match value {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(ServiceError::Invalid(vec![FieldError {
                loc: vec!["body".into()],
                msg: "Input should be a valid dictionary or object".into(),
                kind: "model_attributes_type".into(),
            }])),
        }
    }
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The integer id in a URL path (`/workloads/{id}`): 422 for anything else,
/// located at `path.workload_id` as FastAPI does.
pub struct WorkloadId(pub u64);

impl FromRequestParts<AppState> for WorkloadId {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "workload_id").await.map(Self)
    }
}

/// A run id in a URL path, as [`WorkloadId`].
pub struct RunId(pub u64);

impl FromRequestParts<AppState> for RunId {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "run_id").await.map(Self)
    }
}

/// Query parameters as `T`; a query that does not fit (a repeated parameter,
/// say) is a 400 with a JSON `detail`, not axum's plain-text rejection.
pub struct QueryParams<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(params)| Self(params))
            .map_err(|e| ServiceError::BadRequest(format!("query: {}", e.body_text())))
    }
}

/// Two run ids in a URL path (`/runs/{run_id}/compare/{other_run_id}`),
/// each checked as [`RunId`] is.
pub struct RunPair(pub u64, pub u64);

impl FromRequestParts<AppState> for RunPair {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((first, second)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| ServiceError::BadRequest(e.body_text()))?;
        let mut errors = Vec::new();
        let mut id = |raw: &str, name: &str| {
            raw.parse::<u64>().map_err(|_| {
                errors.push(FieldError::path(
                    name,
                    "Input should be a valid integer, unable to parse string as an integer".into(),
                    "int_parsing",
                ))
            })
        };
        match (id(&first, "run_id"), id(&second, "other_run_id")) {
            (Ok(a), Ok(b)) => Ok(Self(a, b)),
            _ => Err(ServiceError::Invalid(errors)),
        }
    }
}

/// A user id in a URL path, as [`WorkloadId`].
pub struct UserId(pub u64);

impl FromRequestParts<AppState> for UserId {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "user_id").await.map(Self)
    }
}

/// A token id in a URL path, as [`WorkloadId`].
pub struct TokenId(pub u64);

impl FromRequestParts<AppState> for TokenId {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "token_id").await.map(Self)
    }
}

async fn path_id(parts: &mut Parts, state: &AppState, name: &str) -> Result<u64, ServiceError> {
    let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|e| ServiceError::BadRequest(e.body_text()))?;
    raw.parse::<u64>().map_err(|_| {
        ServiceError::Invalid(vec![FieldError::path(
            name,
            "Input should be a valid integer, unable to parse string as an integer".into(),
            "int_parsing",
        )])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
