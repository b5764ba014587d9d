//! Tally's user interface: the pages and components, the domain types the UI and
//! the server exchange, and the server-function declarations behind every UI action.
//!
//! This crate compiles twice: with `ssr` into the server (where server functions run
//! and call the [`service::AppService`] the server provides), and with `hydrate` into
//! the WASM bundle (where server functions become HTTP calls). Nothing server-only may
//! be reachable without `ssr`.

#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod catalog;
pub mod compare;
pub mod components;
pub mod error;
pub mod format;
pub mod href;
pub mod labels;
pub mod live;
pub mod names;
pub mod pages;
pub mod paging;
pub mod run;
pub mod run_list;
pub mod security;
#[cfg(feature = "ssr")]
pub mod service;
pub mod session;
pub mod system_status;
pub mod upload;
pub mod words_query;
pub mod workload;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::AppShell;
use crate::pages::{
    account::AccountPage,
    admin::AdminPage,
    compare::CompareRunsPage,
    dashboard::DashboardPage,
    datasets::DatasetsPage,
    login::{LoginPage, SetupPage},
    not_found::NotFoundPage,
    run::RunPage,
    runs::RunsPage,
    table::TablePage,
    workload::WorkloadPage,
    workload_editor::{EditWorkloadPage, NewWorkloadPage},
    workloads::WorkloadsPage,
};

/// The document title of a page titled `page`. On the server it is escaped:
/// `leptos_meta` writes the title into the head as it is (see
/// [`security::escape_text`]); in the browser it is set as text.
fn page_title(page: String) -> String {
    let title = if page.is_empty() {
        "Tally".to_string()
    } else {
        format!("{page} · Tally")
    };
    if cfg!(feature = "ssr") {
        security::escape_text(&title)
    } else {
        title
    }
}

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's policy names the nonce Leptos puts on its inline scripts.
    #[cfg(feature = "ssr")]
    if let Some(nonce) = leptos::nonce::use_nonce()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(value) = http::HeaderValue::from_str(&security::page_csp(&nonce))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes inside the shared shell.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::provide_page_user();

    view! {
        <Stylesheet id="tally-css" href="/pkg/tally.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Tally: a self-hosted workload manager for text analytics." />
        <Title formatter=page_title />
        <Router>
            <AppShell>
                <Routes fallback=NotFoundPage>
                    // Rendered whole: streamed, each card's "Loading…" line was
                    // painted first and then replaced by its taller content,
                    // shifting the cards below (Lighthouse: CLS 0.07).
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/workloads") view=WorkloadsPage ssr=SsrMode::Async />
                    <Route path=path!("/workloads/new") view=NewWorkloadPage ssr=SsrMode::Async />
                    <Route path=path!("/workloads/:id") view=WorkloadPage ssr=SsrMode::Async />
                    <Route path=path!("/workloads/:id/edit") view=EditWorkloadPage ssr=SsrMode::Async />
                    <Route path=path!("/runs") view=RunsPage ssr=SsrMode::Async />
                    <Route path=path!("/runs/:id") view=RunPage ssr=SsrMode::Async />
                    <Route path=path!("/runs/:id/compare/:other") view=CompareRunsPage ssr=SsrMode::Async />
                    <Route path=path!("/datasets") view=DatasetsPage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/setup") view=SetupPage />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    // Rendered whole before answering, so that a missing table is a 404.
                    <Route path=path!("/datasets/:project/:dataset/:table") view=TablePage ssr=SsrMode::Async />
                </Routes>
            </AppShell>
        </Router>
    }
}
