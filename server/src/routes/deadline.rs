//! Request-level limits that sit in front of every handler: a time limit on
//! producing an answer, and the form the upload server function needs.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ServiceError;

/// Where uploads arrive: they take as long as the client needs to send them,
/// bounded by size (`--max-upload-bytes`), not by time.
const UPLOAD_FN: &str = "/api/fn/datasets/upload";

fn is_upload(request: &Request) -> bool {
    if request.method() != Method::POST {
        return false;
    }
    let path = request.uri().path();
    path == UPLOAD_FN || (path.starts_with("/api/v1/projects/") && path.contains("/tables/"))
}

/// Answers 503 when a request takes longer than `limit` to produce its
/// answer's head. Streamed bodies (event streams, CSV downloads) are not cut:
/// their head comes at once and the body streams after; uploads are exempt.
pub async fn limit_time(limit: Duration, request: Request, next: Next) -> Response {
    if is_upload(&request) {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ServiceError::Unavailable(format!(
            "the request took longer than the limit of {} s (--request-timeout): nothing \
             more is done for it; try again, or ask an administrator",
            limit.as_secs_f64()
        ))
        .into_response(),
    }
}

/// The upload server function takes only `multipart/form-data`: Leptos's
/// decoder panics on any other body (answered 500 before this check).
pub async fn upload_form_only(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && request.uri().path() == UPLOAD_FN {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| multer::parse_boundary(t).is_ok());
        if !multipart {
            return ServiceError::UnsupportedMediaType(
                "file: send the upload as multipart/form-data with a boundary".into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request as HttpRequest, StatusCode};
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    fn app(limit: Duration) -> Router {
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        };
        Router::new()
            .route("/slow", get(slow))
            .route("/api/v1/projects/p/datasets/d/tables/t", post(slow))
            .route(UPLOAD_FN, post(|| async { "uploaded" }))
            .layer(axum::middleware::from_fn(upload_form_only))
            .layer(axum::middleware::from_fn(move |request, next| {
                limit_time(limit, request, next)
            }))
    }

    async fn status(app: Router, request: HttpRequest<Body>) -> StatusCode {
        app.oneshot(request)
            .await
            .map_or(StatusCode::IM_A_TEAPOT, |r| r.status())
    }

    #[tokio::test]
    async fn a_slow_answer_is_cut_at_the_limit_and_an_upload_is_not() {
        let get_slow = HttpRequest::get("/slow")
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            status(app(Duration::from_millis(50)), get_slow).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let get_slow = HttpRequest::get("/slow")
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            status(app(Duration::from_secs(5)), get_slow).await,
            StatusCode::OK
        );
        let upload = HttpRequest::post("/api/v1/projects/p/datasets/d/tables/t")
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            status(app(Duration::from_millis(50)), upload).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn the_upload_function_takes_only_a_multipart_form() {
        let json = HttpRequest::post(UPLOAD_FN)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("request");
        assert_eq!(
            status(app(Duration::from_secs(5)), json).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let form = HttpRequest::post(UPLOAD_FN)
            .header("content-type", "multipart/form-data; boundary=x")
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            status(app(Duration::from_secs(5)), form).await,
            StatusCode::OK
        );
    }
}
