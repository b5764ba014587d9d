//! The Dashboard's activity: workloads by status, runs in flight with live
//! progress, and the newest finished runs with their duration and throughput.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::get_activity;
use crate::components::run_progress::RunProgressBar;
use crate::components::runs_table::{RunColumn, RunsTable};
use crate::components::status_badge::StatusBadge;
use crate::format::thousands;
use crate::href::with_query;
use crate::live::{throttled_reload, use_server_events};
use crate::run::{Activity, RunListing, RunProgress, RunState, ServerEvent};

type LiveRuns = RwSignal<HashMap<u64, (RunState, RunProgress)>>;

/// The shortest time between two reloads of the panel.
const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

#[component]
pub fn ActivityPanel() -> impl IntoView {
    let changed = RwSignal::new(0u64);
    let live: LiveRuns = RwSignal::new(HashMap::new());
    let activity = Resource::new(move || changed.get(), |_| get_activity());
    let reload = throttled_reload(changed, RELOAD_INTERVAL);
    use_server_events(
        move |event| match event {
            ServerEvent::Run {
                run_id,
                state,
                progress,
                ..
            } => {
                let known = live.with_untracked(|m| m.get(&run_id).map(|(s, _)| *s));
                live.update(|m| {
                    m.insert(run_id, (state, progress));
                });
                if known != Some(state) {
                    reload();
                }
            }
            ServerEvent::Workload { .. } => reload(),
        },
        // The panel's next reload catches up; the pages of one run ask at once.
        || {},
    );

    // What a load says of the runs in flight seeds the live states, so their
    // next progress event is no news (no reload). Seeded after the render, not
    // inside it: a signal set while the view is swapped wakes the old view's
    // effects as it goes.
    Effect::new(move |_| {
        if let Some(Ok(a)) = activity.get() {
            live.update(|m| {
                for r in &a.active {
                    m.entry(r.run.id)
                        .or_insert((r.run.state, r.run.progress.clone()));
                }
            });
        }
    });

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading activity…"</p> }>
            {move || Suspend::new(async move {
                match activity.await {
                    Ok(a) => view! { <ActivityView a live /> }.into_any(),
                    Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ActivityView(a: Activity, live: LiveRuns) -> impl IntoView {
    let total = a.total_workloads();
    if total == 0 {
        return view! { <FirstSteps /> }.into_any();
    }
    view! {
        <div class="grid grid--spaced">
            <section class="card" aria-labelledby="by-status-title" data-testid="workloads-by-status">
                <header class="card__header">
                    <h2 id="by-status-title">"Workloads"</h2>
                    <a href="/workloads">{format!("All {}", thousands(total))}</a>
                </header>
                <ul class="status-counts">
                    {a.by_status.into_iter().map(|(status, n)| view! {
                        <li>
                            <a href=with_query("/workloads", &[("status", status.as_str().to_string())])>
                                <StatusBadge status />
                            </a>
                            <span class="status-counts__n" data-status=status.as_str()>{thousands(n)}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
            <section class="card" aria-labelledby="in-flight-title" data-testid="runs-in-flight">
                <header class="card__header"><h2 id="in-flight-title">"Runs in flight"</h2></header>
                <InFlightRuns runs=a.active live />
            </section>
        </div>
        <section class="card card--spaced" aria-labelledby="recent-title" data-testid="recent-runs">
            <header class="card__header">
                <h2 id="recent-title">"Recent runs"</h2>
                <a href="/runs" data-testid="all-runs">"All runs"</a>
            </header>
            <RecentRuns runs=a.recent />
        </section>
    }
    .into_any()
}

/// The runs the last load found in flight, less those the event stream has
/// since seen end: a finished run leaves the list at once, not at the next
/// reload of the panel (which also brings the runs that started since).
#[component]
fn InFlightRuns(runs: Vec<RunListing>, live: LiveRuns) -> impl IntoView {
    let runs = StoredValue::new(runs);
    let visible = Memo::new(move |_| {
        runs.with_value(|runs| {
            live.with(|m| {
                runs.iter()
                    .map(|r| r.run.id)
                    .filter(|id| m.get(id).is_none_or(|(state, _)| state.is_active()))
                    .collect::<Vec<_>>()
            })
        })
    });
    move || {
        let ids = visible.get();
        if ids.is_empty() {
            return view! { <p class="muted" data-testid="nothing-in-flight">"Nothing is running."</p> }.into_any();
        }
        runs.with_value(|runs| {
            runs.iter()
                .filter(|r| ids.contains(&r.run.id))
                .cloned()
                .map(|r| view! { <InFlight r live /> })
                .collect_view()
        })
        .into_any()
    }
}

#[component]
fn InFlight(r: RunListing, live: LiveRuns) -> impl IntoView {
    let id = r.run.id;
    let initial = (r.run.state, r.run.progress.clone());
    let current =
        Memo::new(move |_| live.with(|m| m.get(&id).cloned().unwrap_or_else(|| initial.clone())));
    view! {
        <div class="in-flight" data-testid="in-flight-run">
            <p class="in-flight__title">
                <a href=format!("/workloads/{}", r.run.workload_id)>{r.workload_name}</a>
                " · "<a href=format!("/runs/{id}")>{format!("run {id}")}</a>
            </p>
            <RunProgressBar state=Signal::derive(move || current.get().0) progress=Signal::derive(move || current.get().1) />
        </div>
    }
}

#[component]
fn RecentRuns(runs: Vec<RunListing>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="muted">"No run has finished yet."</p> }.into_any();
    }
    view! { <RunsTable runs columns=RECENT_RUN_COLUMNS row_testid="recent-run" /> }.into_any()
}

/// What the Dashboard shows of each recent run.
const RECENT_RUN_COLUMNS: &[RunColumn] = &[
    RunColumn::Workload,
    RunColumn::Run,
    RunColumn::Status,
    RunColumn::Finished,
    RunColumn::Waited,
    RunColumn::RunTime,
    RunColumn::Words,
    RunColumn::Rate,
];

/// An installation without workloads: what to do first.
#[component]
fn FirstSteps() -> impl IntoView {
    view! {
        <section class="card card--spaced" aria-labelledby="first-steps-title" data-testid="first-steps">
            <header class="card__header"><h2 id="first-steps-title">"First steps"</h2></header>
            <ol class="steps">
                <li>"Import a CSV, JSON Lines, Parquet or text file on the " <a href="/datasets">"Datasets"</a> " page."</li>
                <li><a href="/workloads/new">"Create a workload"</a>" that counts the words of one text column; its first run starts at once."</li>
                <li>"Watch its run and explore the counts, or download them as CSV."</li>
            </ol>
            <p class="muted">"Scripts can do the same through the " <a href="/docs" rel="external">"REST API"</a> "."</p>
            <a class="btn" href="/workloads/new" data-testid="first-workload">"Create your first workload"</a>
        </section>
    }
}
