//! What answers when no route matched: an embedded site file, a JSON 404 under
//! `/api/`, or the app's own "page not found" page (rendered with status 404).

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use serde_json::json;
use tally_app::shell;

use super::AppState;
use crate::site;

pub async fn fallback(State(state): State<AppState>, request: Request<Body>) -> Response {
    let path = request.uri().path().to_owned();
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && let Some(response) = site::respond(&path, request.headers())
    {
        return response;
    }
    if path.starts_with("/api/") {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "detail": "Not Found" })),
        )
            .into_response();
    }
    let options = state.leptos_options.clone();
    let service = state.app_service();
    let accounts = state.app_accounts();
    let render = leptos_axum::render_app_to_stream_with_context(
        {
            let options = options.clone();
            move || {
                provide_context(options.clone());
                provide_context(service.clone());
                provide_context(accounts.clone());
            }
        },
        move || shell(options.clone()),
    );
    render(request).await.into_response()
}
