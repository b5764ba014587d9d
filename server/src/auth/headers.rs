//! Security headers on every answer.
//!
//! Pages carry a Content-Security-Policy with a per-response nonce, which the
//! app shell sets (Leptos puts the same nonce on its inline hydration
//! scripts); every other answer gets the same policy without one, so no
//! script runs from it at all. `style-src-attr 'unsafe-inline'` admits the
//! `style="width: ..."` of progress bars (no script can run from a style
//! attribute); `<style>` elements and inline scripts stay forbidden.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of answers that are not pages.
pub const DEFAULT_CSP: &str = tally_app::security::CSP_WITHOUT_SCRIPTS;

/// Swagger UI (`/docs`) injects `<style>` elements as it renders, so its pages
/// admit inline styles; its scripts are files of this site like everyone's.
pub const DOCS_CSP: &str = tally_app::security::CSP_WITH_INLINE_STYLES;

/// Adds the headers to the answer; `https` adds HSTS.
pub async fn security_headers(https: bool, request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if docs { DOCS_CSP } else { DEFAULT_CSP };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}
