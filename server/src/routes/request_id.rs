//! Request ids: every request gets one, the answer carries it back in
//! `X-Request-Id`, and the request's span records it, so every log line
//! written while serving the request names it (in `--log-format json`, as
//! `span.request_id`). A client's or a proxy's own `X-Request-Id` is kept
//! when it is a plain token, so one id follows a request through both logs;
//! anything else is replaced by a new UUID (v7: ordered by time).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longer ids are replaced: a log line should not carry a client's essay.
pub const MAX_LEN: usize = 128;

/// Whether a client's id can be logged as it is: 1 to [`MAX_LEN`] visible
/// ASCII characters, no quotes or backslashes (nothing a log reader would
/// have to unescape).
fn is_plain(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\'))
}

fn new_id() -> HeaderValue {
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_str(&uuid::Uuid::now_v7().hyphenated().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Middleware: settles the request's id before the span is made, and sets it
/// on the answer.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .filter(|id| is_plain(id.as_bytes()))
        .cloned()
        .unwrap_or_else(new_id);
    request.headers_mut().insert(HEADER, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER, id);
    response
}

/// The span every request is served in (for `TraceLayer::make_span_with`).
/// The path without its query: a query can hold a secret (the setup link's).
pub fn span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tokens_are_kept_and_anything_else_is_not() {
        for kept in ["abc-123", "Root=1-5759e988-bd862e3fe1be46a994272793", "a"] {
            assert!(is_plain(kept.as_bytes()), "{kept}");
        }
        let long = "x".repeat(MAX_LEN + 1);
        for replaced in ["", "a b", "quote\"d", "back\\slash", "tab\there", &long] {
            assert!(!is_plain(replaced.as_bytes()), "{replaced}");
        }
        assert!(is_plain("x".repeat(MAX_LEN).as_bytes()));
    }

    #[test]
    fn new_ids_are_uuids_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.to_str().unwrap_or_default()).is_ok());
    }
}
