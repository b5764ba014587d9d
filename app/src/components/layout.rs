//! The frame every page sits in: header with navigation, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

/// The application frame. Navigation links mark the current page with
/// `aria-current="page"` (the router does this), which the stylesheet highlights.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <div class="topbar__inner">
                <A href="/" attr:class="brand">
                    <svg class="brand__mark" viewBox="0 0 24 24" aria-hidden="true">
                        <rect x="3" y="12" width="4" height="9" rx="1" />
                        <rect x="10" y="7" width="4" height="14" rx="1" />
                        <rect x="17" y="3" width="4" height="18" rx="1" />
                    </svg>
                    <span>"Tally"</span>
                </A>
                <nav aria-label="Main">
                    <ul class="nav">
                        <li><A href="/" exact=true>"Dashboard"</A></li>
                        <li><A href="/workloads">"Workloads"</A></li>
                        <li><A href="/datasets">"Datasets"</A></li>
                        <li><a href="/docs" rel="external">"API docs"</a></li>
                    </ul>
                </nav>
            </div>
        </header>
        <main id="main" class="content" tabindex="-1">
            {children()}
        </main>
        <footer class="footer">
            <span>"Tally · self-hosted text analytics"</span>
            <a href="/healthz" rel="external">"health"</a>
        </footer>
    }
}

/// A page's heading row: title, an optional subtitle and optional actions on the right.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="page-header">
            <div>
                <h1>{title}</h1>
                {subtitle.map(|s| view! { <p class="page-header__subtitle">{s}</p> })}
            </div>
            <div class="page-header__actions">{children.map(|c| c())}</div>
        </div>
    }
}
