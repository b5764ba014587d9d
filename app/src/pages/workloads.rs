//! `/workloads`: the workloads list, with search, status filter, sort and
//! pagination kept in the URL (shareable, back-button friendly, rendered on the
//! server; the filter form is a plain GET form, so it works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::list_workloads;
use crate::components::layout::PageHeader;
use crate::components::status_badge::StatusBadge;
use crate::format::{duration, thousands, timestamp};
use crate::href::with_query;
use crate::workload::{DEFAULT_PAGE, Workload, WorkloadPage, WorkloadSort, WorkloadStatus};

/// The list's state, as the URL query holds it.
#[derive(Clone, Debug, PartialEq, Default)]
struct ListParams {
    status: String,
    q: String,
    sort: String,
    page: u64,
}

impl ListParams {
    fn href(&self, page: u64) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        with_query(
            "/workloads",
            &[
                ("q", self.q.clone()),
                ("status", self.status.clone()),
                ("sort", self.sort.clone()),
                ("page", page),
            ],
        )
    }
}

#[component]
pub fn WorkloadsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| ListParams {
            status: q.get("status").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
            sort: q.get("sort").unwrap_or_default(),
            page: q
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1),
        })
    });
    let page = Resource::new(
        move || params.get(),
        |p| async move {
            let offset = (p.page - 1) * DEFAULT_PAGE;
            list_workloads(
                p.status,
                p.q,
                p.sort,
                DEFAULT_PAGE.to_string(),
                offset.to_string(),
            )
            .await
        },
    );

    view! {
        <Title text="Workloads" />
        <PageHeader title="Workloads" subtitle="Each workload counts the words of one column of one table." />
        <section class="card" aria-labelledby="workloads-title">
            <header class="card__header">
                <h2 id="workloads-title">"All workloads"</h2>
                {crate::session::can(crate::auth::Role::Editor).then(|| view! {
                    <a class="btn" href="/workloads/new" data-testid="new-workload">"New workload"</a>
                })}
            </header>
            <FilterForm params />
            <Transition fallback=|| view! { <p class="muted">"Loading workloads…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(result) => view! { <WorkloadTable result params=params.get_untracked() /> }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FilterForm(params: Memo<ListParams>) -> impl IntoView {
    let current = params.get_untracked();
    view! {
        <form class="filters" method="get" action="/workloads" role="search" data-testid="workload-filters">
            <label class="field field--inline">
                <span class="field__label">"Search names"</span>
                <input type="search" name="q" value=current.q.clone() placeholder="Name contains…" />
            </label>
            <label class="field field--inline">
                <span class="field__label">"Status"</span>
                <select name="status">
                    <option value="" selected=current.status.is_empty()>"Any status"</option>
                    {WorkloadStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=current.status == s.as_str()>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field field--inline">
                <span class="field__label">"Sort"</span>
                <select name="sort">
                    {WorkloadSort::ALL.into_iter().map(|s| {
                        let selected = current.sort == s.as_str() || (current.sort.is_empty() && s == WorkloadSort::default());
                        view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="btn">"Apply"</button>
        </form>
    }
}

#[component]
fn WorkloadTable(result: WorkloadPage, params: ListParams) -> impl IntoView {
    let total = result.total;
    let pages = total.div_ceil(DEFAULT_PAGE).max(1);
    let page = params.page.min(pages);
    if result.items.is_empty() {
        let filtered = !params.q.is_empty() || !params.status.is_empty();
        return view! {
            <div class="empty-state" data-testid="workloads-empty">
                <h3>{if filtered { "No workload matches" } else { "No workloads yet" }}</h3>
                <p class="muted">
                    {if filtered {
                        "Change the search or the status filter."
                    } else {
                        "Create one with POST /api/v1/workloads (see the API docs): it counts the words of a string column and runs at once."
                    }}
                </p>
            </div>
        }
        .into_any();
    }
    let first = (page - 1) * DEFAULT_PAGE + 1;
    let last = first + result.items.len() as u64 - 1;
    view! {
        <p class="muted" data-testid="workloads-count">
            {format!("{}–{} of {} workloads", thousands(first), thousands(last), thousands(total))}
        </p>
        <div class="table-scroll">
            <table class="data" data-testid="workloads-table">
                <thead>
                    <tr>
                        <th scope="col">"Id"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Source"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Last run"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {result.items.into_iter().map(|w| view! { <WorkloadRow w /> }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a rel="prev" href=params.href(page - 1)>"← Previous"</a> })}
            <span>{format!("Page {page} of {pages}")}</span>
            {(page < pages).then(|| view! { <a rel="next" href=params.href(page + 1)>"Next →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn WorkloadRow(w: Workload) -> impl IntoView {
    let last_run = w
        .last_run
        .as_ref()
        .map(|r| match (&r.started_at, &r.finished_at) {
            (Some(_), Some(_)) => match r.duration_secs {
                Some(secs) => format!(
                    "#{} · {} · {} words",
                    r.id,
                    duration(secs),
                    thousands(r.total_words)
                ),
                None => format!("#{} · {} words", r.id, thousands(r.total_words)),
            },
            (Some(_), None) => format!("#{} · {:.0} %", r.id, r.progress * 100.0),
            _ => format!("#{} · waiting", r.id),
        });
    view! {
        <tr data-testid="workload-row">
            <td>{w.id}</td>
            <td><a href=format!("/workloads/{}", w.id) data-testid="workload-link">{w.name.clone()}</a></td>
            <td>{w.workload_type.as_str()}</td>
            <td><code>{w.source()}</code></td>
            <td><StatusBadge status=w.status /></td>
            <td>{last_run.unwrap_or_else(|| "—".into())}</td>
            <td><time datetime=w.created_at.clone()>{timestamp(&w.created_at)}</time></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_the_filters_and_encode_them() {
        let p = ListParams {
            status: "running".into(),
            q: "a b&c".into(),
            sort: String::new(),
            page: 1,
        };
        assert_eq!(p.href(2), "/workloads?q=a%20b%26c&status=running&page=2");
        assert_eq!(ListParams::default().href(1), "/workloads");
    }
}
