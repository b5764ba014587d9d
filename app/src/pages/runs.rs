//! `/runs`: every run of every workload, newest first, filtered by state,
//! workload and the day it was queued. The filters live in the URL (a plain
//! GET form, so a filtered list is a link and works without JavaScript); the
//! states of the runs shown move with the event stream.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::search_runs;
use crate::components::layout::PageHeader;
use crate::components::runs_table::{LiveStates, RunColumn, RunsTable};
use crate::error::AppError;
use crate::format::thousands;
use crate::href::with_query;
use crate::live::{throttled_reload, use_server_events};
use crate::run::{RunState, ServerEvent};
use crate::run_list::{DEFAULT_RUNS_PAGE, RunListPage};

/// The shortest time between two reloads of the list.
const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1000);

/// The list's filters as the URL query holds them (text, checked by the server).
#[derive(Clone, Debug, PartialEq, Default)]
struct RunsParams {
    state: String,
    workload_id: String,
    since: String,
    until: String,
    page: u64,
}

impl RunsParams {
    fn href(&self, page: u64) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        with_query(
            "/runs",
            &[
                ("state", self.state.clone()),
                ("workload_id", self.workload_id.clone()),
                ("since", self.since.clone()),
                ("until", self.until.clone()),
                ("page", page),
            ],
        )
    }

    fn filtered(&self) -> bool {
        !(self.state.is_empty()
            && self.workload_id.is_empty()
            && self.since.is_empty()
            && self.until.is_empty())
    }
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| RunsParams {
            state: q.get("state").unwrap_or_default(),
            workload_id: q.get("workload_id").unwrap_or_default(),
            since: q.get("since").unwrap_or_default(),
            until: q.get("until").unwrap_or_default(),
            page: q
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1),
        })
    });
    let changed = RwSignal::new(0u64);
    let live: LiveStates = RwSignal::new(HashMap::new());
    let runs = Resource::new(
        move || (params.get(), changed.get()),
        |(p, _)| async move {
            let offset = (p.page - 1).saturating_mul(DEFAULT_RUNS_PAGE);
            search_runs(
                p.state,
                p.workload_id,
                p.since,
                p.until,
                DEFAULT_RUNS_PAGE.to_string(),
                offset.to_string(),
            )
            .await
        },
    );
    // A run changing state (or a new run) reloads the list, for its timings
    // and for the runs a filter now keeps; the badge changes at once.
    let reload = throttled_reload(changed, RELOAD_INTERVAL);
    use_server_events(
        move |event| {
            if let ServerEvent::Run { run_id, state, .. } = event {
                let known = live.with_untracked(|m| m.get(&run_id).copied());
                if known != Some(state) {
                    live.update(|m| {
                        m.insert(run_id, state);
                    });
                    reload();
                }
            }
        },
        // The list's next reload catches up; the pages of one run ask at once.
        || {},
    );

    view! {
        <Title text="Runs" />
        <PageHeader title="Runs" subtitle="Every run of every workload, newest first." />
        <section class="card" aria-labelledby="runs-title">
            <header class="card__header"><h2 id="runs-title">"All runs"</h2></header>
            <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || Suspend::new(async move {
                    let p = params.get_untracked();
                    match runs.await {
                        Ok(page) => view! {
                            <RunFilters params=p.clone() error=None />
                            <RunTable page params=p live />
                        }.into_any(),
                        Err(e) if !e.errors.is_empty() => view! {
                            <RunFilters params=p error=Some(e) />
                        }.into_any(),
                        Err(e) => view! {
                            <RunFilters params=p error=None />
                            <p class="alert alert--error" role="alert">{e.message}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filter form; a bad filter's message sits next to its field.
#[component]
fn RunFilters(params: RunsParams, error: Option<AppError>) -> impl IntoView {
    let message = |field: &str| error.as_ref().and_then(|e| e.for_field(field));
    let field_error = move |field: &'static str, id: &'static str| {
        let text = message(field);
        let shown = text.is_some();
        view! { <p class="field__error" id=id role="alert" data-testid=id hidden=!shown>{text}</p> }
    };
    view! {
        <form class="filters" method="get" action="/runs" role="search" data-testid="run-filters">
            <label class="field field--inline">
                <span class="field__label">"State"</span>
                <select name="state" aria-describedby="runs-state-error">
                    <option value="" selected=params.state.is_empty()>"Any state"</option>
                    {RunState::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=params.state == s.as_str()>{s.status().label()}</option>
                    }).collect_view()}
                </select>
                {field_error("state", "runs-state-error")}
            </label>
            <label class="field field--inline">
                <span class="field__label">"Workload id"</span>
                <input name="workload_id" value=params.workload_id.clone() inputmode="numeric" placeholder="Any workload"
                    aria-describedby="runs-workload-error" aria-invalid=message("workload_id").is_some().to_string() />
                {field_error("workload_id", "runs-workload-error")}
            </label>
            <label class="field field--inline">
                <span class="field__label">"Queued from"</span>
                <input type="date" name="since" value=date_value(&params.since)
                    aria-describedby="runs-since-error" aria-invalid=message("since").is_some().to_string() />
                {field_error("since", "runs-since-error")}
            </label>
            <label class="field field--inline">
                <span class="field__label">"Queued until"</span>
                <input type="date" name="until" value=date_value(&params.until)
                    aria-describedby="runs-until-error" aria-invalid=message("until").is_some().to_string() />
                {field_error("until", "runs-until-error")}
            </label>
            <button type="submit" class="btn">"Apply"</button>
        </form>
    }
}

/// A date input holds a real date or nothing: the browser refuses anything
/// else (and a bad one is named next to the field anyway).
fn date_value(raw: &str) -> String {
    crate::run_list::Day::parse(raw).map_or_else(String::new, |d| d.to_string())
}

#[component]
fn RunTable(page: RunListPage, params: RunsParams, live: LiveStates) -> impl IntoView {
    let total = page.total;
    if page.items.is_empty() {
        let (title, text) = if total > 0 {
            (
                format!("Page {} is past the end", thousands(params.page)),
                "There are fewer matching runs than that.",
            )
        } else if params.filtered() {
            ("No run matches".to_string(), "Change or clear the filters.")
        } else {
            (
                "No run yet".to_string(),
                "A workload's first run starts when it is created.",
            )
        };
        return view! {
            <div class="empty-state" data-testid="runs-empty">
                <h3>{title}</h3>
                <p class="muted">{text}" "<a href="/runs">"Show every run"</a></p>
            </div>
        }
        .into_any();
    }
    let pages = total.div_ceil(DEFAULT_RUNS_PAGE).max(1);
    let current = params.page;
    let first = (current - 1) * DEFAULT_RUNS_PAGE + 1;
    let last = first + page.items.len() as u64 - 1;
    let count = if total == 1 {
        "1 run".to_string()
    } else if pages == 1 {
        format!("{} runs", thousands(total))
    } else {
        format!(
            "{}–{} of {} runs",
            thousands(first),
            thousands(last),
            thousands(total)
        )
    };
    view! {
        <p class="muted" data-testid="runs-count">{count}</p>
        <RunsTable runs=page.items columns=RUNS_PAGE_COLUMNS row_testid="runs-row" table_testid="runs-list" live />
        <nav class="pager" aria-label="Pages">
            {(current > 1).then(|| view! { <a rel="prev" href=params.href(current - 1)>"← Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a rel="next" href=params.href(current + 1)>"Next →"</a> })}
        </nav>
    }
    .into_any()
}

/// What the Runs page shows of each run.
const RUNS_PAGE_COLUMNS: &[RunColumn] = &[
    RunColumn::Run,
    RunColumn::Workload,
    RunColumn::Status,
    RunColumn::Queued,
    RunColumn::Waited,
    RunColumn::Started,
    RunColumn::RunTime,
    RunColumn::Words,
    RunColumn::Rate,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_every_filter() {
        let p = RunsParams {
            state: "failed".into(),
            workload_id: "3".into(),
            since: "2026-12-01".into(),
            until: String::new(),
            page: 1,
        };
        assert_eq!(
            p.href(2),
            "/runs?state=failed&workload_id=3&since=2026-12-01&page=2"
        );
        assert!(p.filtered());
        assert!(!RunsParams::default().filtered());
    }
}
