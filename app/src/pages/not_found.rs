//! The fallback for any path no route matches.

use leptos::prelude::*;
use leptos_meta::Title;

/// Renders "page not found" and, on the server, answers with HTTP 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Page not found" />
        <section class="not-found" data-testid="not-found">
            <p class="not-found__code" aria-hidden="true">"404"</p>
            <h1>"Page not found"</h1>
            <p class="muted">"There is nothing at this address. It may have been deleted, or the link may be wrong."</p>
            <a class="btn" href="/">"Back to the Dashboard"</a>
        </section>
    }
}
