//! `/login` and `/setup`: plain HTML forms that post to the server's
//! `/auth/login` and `/auth/setup`, so that signing in works without
//! JavaScript; the server redirects back with `?error=` when it fails.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::MIN_PASSWORD_CHARS;
use crate::components::layout::PageHeader;
use crate::pages::workload::PostedError;
use crate::session::use_page_user;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .with(|q| q.get("next"))
            .filter(|n| crate::href::same_origin_path(n).is_some())
    };
    let user = use_page_user();
    view! {
        <Title text="Sign in" />
        <div class="auth">
            <PageHeader title="Sign in" subtitle="Tally: self-hosted text analytics" />
            {match user {
                Some(u) => {
                    let text = match u.name {
                        Some(name) => format!("You are signed in as {name} ({}).", u.role),
                        None => "This Tally needs no sign-in: it serves only this machine.".to_string(),
                    };
                    view! {
                        <p class="alert alert--ok" role="status" data-testid="already-signed-in">{text}" "<a href="/">"Go to the Dashboard"</a></p>
                    }.into_any()
                }
                None => view! {
                    <PostedError />
                    <form method="post" action="/auth/login" class="card form" data-testid="login-form">
                        <input type="hidden" name="next" value=next />
                        <div class="field">
                            <label for="login-name">"User name"</label>
                            <input id="login-name" name="name" required autocomplete="username" autocapitalize="none" spellcheck="false" />
                        </div>
                        <div class="field">
                            <label for="login-password">"Password"</label>
                            <input id="login-password" name="password" type="password" required autocomplete="current-password" />
                        </div>
                        <div class="form__actions">
                            <button type="submit" class="btn" data-testid="login-submit">"Sign in"</button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let secret = move || query.with(|q| q.get("secret")).unwrap_or_default();
    let name = move || query.with(|q| q.get("name")).unwrap_or_default();
    view! {
        <Title text="Create the first admin" />
        <div class="auth">
            <PageHeader title="Create the first admin" subtitle="This link works once: the account you create here manages every other." />
            <PostedError />
            <form method="post" action="/auth/setup" class="card form" data-testid="setup-form">
                <input type="hidden" name="secret" value=secret />
                <div class="field">
                    <label for="setup-name">"User name"</label>
                    <input id="setup-name" name="name" required autocomplete="username" autocapitalize="none" spellcheck="false" value=name />
                    <p class="field__help">"Letters, digits, '.', '_' and '-'."</p>
                </div>
                <div class="field">
                    <label for="setup-password">"Password"</label>
                    <input id="setup-password" name="password" type="password" required autocomplete="new-password" minlength=MIN_PASSWORD_CHARS />
                    <p class="field__help">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p>
                </div>
                <div class="field">
                    <label for="setup-password-again">"Password, again"</label>
                    <input id="setup-password-again" name="password_again" type="password" required autocomplete="new-password" />
                </div>
                <div class="form__actions">
                    <button type="submit" class="btn" data-testid="setup-submit">"Create the admin and sign in"</button>
                </div>
            </form>
        </div>
    }
}
