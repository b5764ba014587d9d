//! `GET /` for API clients: the prototype answered `{"message": "Running.."}` at
//! its root, and scripts still poll it. Browsers (which ask for HTML) get the UI.

use axum::Json;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Answers `GET /` with the prototype's liveness JSON when the client prefers
/// JSON to HTML; passes every other request on.
pub async fn prototype_root(request: Request, next: Next) -> Response {
    if request.method() == Method::GET && request.uri().path() == "/" && wants_json(&request) {
        return Json(json!({ "message": "Running.." })).into_response();
    }
    next.run(request).await
}

fn wants_json(request: &Request) -> bool {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    accept.contains("application/json") && !accept.contains("text/html")
}
