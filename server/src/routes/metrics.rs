//! `GET /metrics` (Prometheus scrapes it), and the middleware that records
//! each HTTP request for it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tally_app::run::RunState;

use super::AppState;
use crate::error::ServiceError;
use crate::metrics::CONTENT_TYPE;
use crate::service::TallyService;

/// Every metric, with the figures the database holds read now.
pub async fn scrape(State(state): State<AppState>) -> Result<Response, ServiceError> {
    let service = &state.service;
    let (counts, oldest) = service.runs().state_counts().await?;
    let by_state: Vec<(String, u64)> = RunState::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                counts.get(s.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    let queued = counts.get(RunState::Queued.as_str()).copied().unwrap_or(0);
    let waited = oldest.map(|at| (Utc::now() - at).to_std().unwrap_or_default());
    let metrics = service.metrics();
    metrics.set_queue(&by_state, queued, waited);
    metrics.set_event_streams(service.stream_slots().open());
    let body = metrics.encode().map_err(ServiceError::internal)?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// Records each request by method, route template and status, and its time
/// to the answer's headers.
pub async fn record(
    State(service): State<Arc<TallyService>>,
    request: Request,
    next: Next,
) -> Response {
    // Only the methods Tally answers get a series of their own: a client
    // inventing methods must not invent series.
    let method = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    // The route's template, its parameters written `:id` rather than axum's
    // `{id}`: braces inside a label value trip some scrapers' parsers.
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || "unmatched".to_string(),
        |p| p.as_str().replace('{', ":").replace('}', ""),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    service.metrics().request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
