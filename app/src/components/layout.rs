//! The frame every page sits in: header with navigation, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::Role;
use crate::session::use_page_user;

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
                        <li><A href="/runs">"Runs"</A></li>
                        <li><A href="/datasets">"Datasets"</A></li>
                        <li><a href="/docs" rel="external">"API docs"</a></li>
                    </ul>
                </nav>
                <UserMenu />
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

/// The signed-in user, their account and admin links, and sign-out (a plain
/// form post). Absent on a server that needs no sign-in.
#[component]
fn UserMenu() -> impl IntoView {
    let user = use_page_user();
    user.and_then(|u| u.name.map(|name| (name, u.role))).map(|(name, role)| {
        view! {
            <div class="user-menu" data-testid="user-menu">
                <A href="/account" attr:class="user-menu__name" attr:data-testid="user-name">{name}</A>
                <span class="user-menu__role">{role.as_str()}</span>
                {(role == Role::Admin).then(|| view! { <A href="/admin" attr:data-testid="admin-link">"Admin"</A> })}
                <form method="post" action="/auth/logout" class="inline-form">
                    <button type="submit" class="btn btn--secondary btn--small" data-testid="sign-out">"Sign out"</button>
                </form>
            </div>
        }
    })
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
