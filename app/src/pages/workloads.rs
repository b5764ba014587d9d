//! `/workloads`: the workloads list, with search, status filter, sort and
//! pagination kept in the URL (shareable, back-button friendly, rendered on the
//! server; the filter form is a plain GET form, so it works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::list_workloads;
use crate::components::layout::PageHeader;
use crate::components::source_name::SourceName;
use crate::components::status_badge::StatusBadge;
use crate::format::{duration, thousands, timestamp};
use crate::href::with_query;
use crate::workload::{
    DEFAULT_PAGE, MAX_PAGE, Workload, WorkloadPage, WorkloadSort, WorkloadStatus,
};

/// The list's state, as the URL query holds it.
#[derive(Clone, Debug, PartialEq)]
struct ListParams {
    status: String,
    q: String,
    sort: String,
    page: u64,
    /// Workloads per page: `?limit=`, from 1 to `MAX_PAGE`.
    limit: u64,
}

impl Default for ListParams {
    fn default() -> Self {
        Self {
            status: String::new(),
            q: String::new(),
            sort: String::new(),
            page: 1,
            limit: DEFAULT_PAGE,
        }
    }
}

impl ListParams {
    fn href(&self, page: u64) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        let limit = if self.limit == DEFAULT_PAGE {
            String::new()
        } else {
            self.limit.to_string()
        };
        with_query(
            "/workloads",
            &[
                ("q", self.q.clone()),
                ("status", self.status.clone()),
                ("sort", self.sort.clone()),
                ("limit", limit),
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
            limit: q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .unwrap_or(DEFAULT_PAGE),
        })
    });
    let page = Resource::new(
        move || params.get(),
        |p| async move {
            let offset = (p.page - 1).saturating_mul(p.limit);
            list_workloads(
                p.status,
                p.q,
                p.sort,
                p.limit.to_string(),
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
    let pages = total.div_ceil(params.limit).max(1);
    let page = params.page;
    if result.items.is_empty() {
        return view! { <NoWorkloads params total pages /> }.into_any();
    }
    let first = (page - 1) * params.limit + 1;
    let last = first + result.items.len() as u64 - 1;
    let count = if total == 1 {
        "1 workload".to_string()
    } else if pages == 1 {
        format!("{} workloads", thousands(total))
    } else {
        format!(
            "{}–{} of {} workloads",
            thousands(first),
            thousands(last),
            thousands(total)
        )
    };
    view! {
        <p class="muted" data-testid="workloads-count">{count}</p>
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

/// An empty page of the list: a fresh installation, a filter nothing matches,
/// or a page past the last one.
#[component]
fn NoWorkloads(params: ListParams, total: u64, pages: u64) -> impl IntoView {
    let filtered = !params.q.is_empty() || !params.status.is_empty();
    let (title, body) = if total > 0 {
        (
            format!("Page {} is past the end", thousands(params.page)),
            view! {
                <p class="muted">
                    {format!("{} matching workloads fill {} ", thousands(total), thousands(pages))}
                    {if pages == 1 { "page" } else { "pages" }}". "
                    <a href=params.href(pages) data-testid="last-page">{format!("Go to page {}", thousands(pages))}</a>
                </p>
            }
            .into_any(),
        )
    } else if filtered {
        (
            "No workload matches".to_string(),
            view! {
                <p class="muted">
                    "Change the search or the status filter, or "
                    <a href="/workloads">"show every workload"</a>"."
                </p>
            }
            .into_any(),
        )
    } else {
        (
            "No workloads yet".to_string(),
            view! {
                <p class="muted">"A workload counts the words of one text column of a table, and runs at once."</p>
                {if crate::session::can(crate::auth::Role::Editor) {
                    view! { <a class="btn" href="/workloads/new" data-testid="empty-new-workload">"New workload"</a> }.into_any()
                } else {
                    view! { <p class="muted">"An editor can create one."</p> }.into_any()
                }}
            }
            .into_any(),
        )
    };
    view! {
        <div class="empty-state" data-testid="workloads-empty">
            <h3>{title}</h3>
            {body}
        </div>
    }
}

#[component]
fn WorkloadRow(w: Workload) -> impl IntoView {
    // Parts that each stay whole; the cell may wrap between them, so the
    // name beside it keeps its room.
    let last_run: Vec<String> = match &w.last_run {
        None => vec!["—".into()],
        Some(r) => {
            let facts = match (&r.started_at, &r.finished_at) {
                // The run's own time and its wait in the queue, never one sum.
                (Some(_), Some(_)) => match (r.run_secs, r.queue_secs) {
                    (Some(run), Some(wait)) => vec![
                        format!("ran {}", duration(run)),
                        format!("waited {}", duration(wait)),
                        format!("{} words", thousands(r.total_words)),
                    ],
                    _ => vec![format!("{} words", thousands(r.total_words))],
                },
                (Some(_), None) => vec![format!("{:.0} %", r.progress * 100.0)],
                _ => vec!["waiting".into()],
            };
            std::iter::once(format!("#{}", r.id)).chain(facts).collect()
        }
    };
    let last_run = last_run
        .into_iter()
        .enumerate()
        .map(|(i, part)| view! { {(i > 0).then_some(" · ")}<span>{part}</span> })
        .collect_view();
    view! {
        <tr data-testid="workload-row">
            <td>{w.id}</td>
            <td class="text"><a href=format!("/workloads/{}", w.id) data-testid="workload-link">{w.name.clone()}</a></td>
            <td>{crate::labels::workload_type(w.workload_type)}</td>
            <td class="text"><SourceName name=w.source() /></td>
            <td><StatusBadge status=w.status /></td>
            <td class="parts">{last_run}</td>
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
            limit: DEFAULT_PAGE,
        };
        assert_eq!(p.href(2), "/workloads?q=a%20b%26c&status=running&page=2");
        assert_eq!(ListParams::default().href(1), "/workloads");
        let small = ListParams {
            limit: 10,
            ..ListParams::default()
        };
        assert_eq!(small.href(3), "/workloads?limit=10&page=3");
    }
}
