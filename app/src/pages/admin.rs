//! `/admin` (admins only): users (create, change role, reset password,
//! delete) and the audit log.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{CreateUser, DeleteUser, SetUserPassword, SetUserRole, list_audit, list_users};
use crate::auth::{AuditPage, MIN_PASSWORD_CHARS, Role, UserInfo};
use crate::components::layout::PageHeader;
use crate::format::{thousands, timestamp};
use crate::href::with_query;

/// Audit events on one page.
const AUDIT_PAGE: u64 = 50;

#[component]
pub fn AdminPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let role = ServerAction::<SetUserRole>::new();
    let password = ServerAction::<SetUserPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                role.version().get(),
                delete.version().get(),
            )
        },
        |_| list_users(),
    );
    let query = use_query_map();
    let filter = move || query.with(|q| q.get("action")).unwrap_or_default();
    let offset = move || {
        query
            .with(|q| q.get("offset"))
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let audit = Resource::new(
        move || {
            (
                filter(),
                offset(),
                create.version().get(),
                role.version().get(),
                password.version().get(),
                delete.version().get(),
            )
        },
        |(action, offset, ..)| list_audit(action, String::new(), offset, AUDIT_PAGE),
    );
    let error = move || {
        [
            create.value().get().and_then(Result::err),
            role.value().get().and_then(Result::err),
            password.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.message)
    };
    view! {
        <Title text="Admin" />
        <PageHeader title="Admin" subtitle="Users, their roles, and what everyone changed" />
        {move || error().map(|m| view! { <p class="alert alert--error" role="alert" data-testid="admin-error">{m}</p> })}
        <section class="card" aria-labelledby="users-title">
            <header class="card__header"><h2 id="users-title">"Users"</h2></header>
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! { <UserTable list role password delete /> }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"New user"</h3>
            <ActionForm action=create attr:class="form" attr:data-testid="user-form">
                <div class="field-row">
                    <div class="field">
                        <label for="user-name">"User name"</label>
                        <input id="user-name" name="name" required autocapitalize="none" spellcheck="false" />
                    </div>
                    <div class="field">
                        <label for="user-password">"Password"</label>
                        <input id="user-password" name="password" type="password" required autocomplete="new-password" minlength=MIN_PASSWORD_CHARS />
                    </div>
                    <div class="field">
                        <label for="user-role">"Role"</label>
                        <RoleSelect id="user-role" selected=Role::Viewer />
                    </div>
                </div>
                <div class="form__actions"><button type="submit" class="btn" data-testid="user-create">"Create user"</button></div>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="audit-title">
            <header class="card__header"><h2 id="audit-title">"Audit log"</h2></header>
            <form method="get" action="/admin" class="toolbar">
                <label for="audit-action">"Action starts with"</label>
                <input id="audit-action" name="action" value=filter placeholder="workload." />
                <button type="submit" class="btn btn--secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match audit.await {
                        Ok(page) => view! { <AuditTable page filter=filter() offset=offset() /> }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RoleSelect(id: &'static str, selected: Role) -> impl IntoView {
    view! {
        <select id=id name="role">
            {Role::ALL.into_iter().map(|r| view! {
                <option value=r.as_str() selected=r == selected>{r.as_str()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
fn UserTable(
    list: Vec<UserInfo>,
    role: ServerAction<SetUserRole>,
    password: ServerAction<SetUserPassword>,
    delete: ServerAction<DeleteUser>,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data" data-testid="users-table">
                <thead><tr><th>"Id"</th><th>"Name"</th><th>"Role"</th><th>"Created"</th><th>"New password"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|u| {
                        let role_id = format!("role-{}", u.id);
                        let role_label = format!("Role of {}", u.name);
                        let password_label = format!("New password for {}", u.name);
                        view! {
                            <tr data-testid="user-row">
                                <td class="num">{u.id}</td>
                                <td class="text">{u.name.clone()}</td>
                                <td>
                                    <ActionForm action=role attr:class="inline-form">
                                        <input type="hidden" name="id" value=u.id />
                                        <label class="visually-hidden" for=role_id.clone()>{role_label}</label>
                                        <select id=role_id name="role">
                                            {Role::ALL.into_iter().map(|r| view! {
                                                <option value=r.as_str() selected=r == u.role>{r.as_str()}</option>
                                            }).collect_view()}
                                        </select>
                                        <button type="submit" class="btn btn--secondary">"Set"</button>
                                    </ActionForm>
                                </td>
                                <td>{timestamp(&u.created_at)}</td>
                                <td>
                                    <ActionForm action=password attr:class="inline-form">
                                        <input type="hidden" name="id" value=u.id />
                                        <input name="password" type="password" aria-label=password_label autocomplete="new-password" minlength=MIN_PASSWORD_CHARS required />
                                        <button type="submit" class="btn btn--secondary">"Reset"</button>
                                    </ActionForm>
                                </td>
                                <td>
                                    <ActionForm action=delete attr:class="inline-form">
                                        <input type="hidden" name="id" value=u.id />
                                        <button type="submit" class="btn btn--danger" data-testid="user-delete">"Delete"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AuditTable(page: AuditPage, filter: String, offset: u64) -> impl IntoView {
    let shown = page.items.len() as u64;
    let next = (offset + shown < page.total).then(|| {
        with_query(
            "/admin",
            &[
                ("action", filter.clone()),
                ("offset", (offset + AUDIT_PAGE).to_string()),
            ],
        )
    });
    let previous = (offset > 0).then(|| {
        with_query(
            "/admin",
            &[
                ("action", filter.clone()),
                ("offset", offset.saturating_sub(AUDIT_PAGE).to_string()),
            ],
        )
    });
    view! {
        <p class="muted" data-testid="audit-total">
            {if page.total == 0 { "No events.".to_string() } else {
                format!("{}–{} of {}", thousands(offset + 1), thousands(offset + shown), thousands(page.total))
            }}
        </p>
        <div class="table-scroll">
            <table class="data" data-testid="audit-table">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"From"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th></tr></thead>
                <tbody>
                    {page.items.into_iter().map(|e| view! {
                        <tr>
                            <td>{timestamp(&e.at)}</td>
                            <td class="text">{e.actor}</td>
                            <td>{e.address}</td>
                            <td><code>{e.action}</code></td>
                            <td class="text">{e.target}</td>
                            <td class="text">{e.detail}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Audit pages">
            {previous.map(|href| view! { <a class="btn btn--secondary" href=href>"Newer"</a> })}
            {next.map(|href| view! { <a class="btn btn--secondary" href=href>"Older"</a> })}
        </nav>
    }
}
