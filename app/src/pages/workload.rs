//! `/workloads/:id`: a workload's definition, its actions (run, cancel, edit,
//! delete), its live progress, its runs and its latest result.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{CancelRun, DeleteWorkload, StartRun, get_workload, list_runs};
use crate::components::count_options::{CountOptionFacts, GroupByFact, RowFilterFact};
use crate::components::layout::PageHeader;
use crate::components::run_progress::RunProgressBar;
use crate::components::runs_table::{CompareLinks, RunColumn, RunsTable, of_one_workload};
use crate::components::source_name::SourceName;
use crate::components::status_badge::StatusBadge;
use crate::components::word_chart::WordChart;
use crate::components::word_table::{
    ResultsExplorer, ResultsResource, load_results, use_results_query,
};
use crate::error::AppError;
use crate::format::{duration, or_dash, thousands, timestamp};
use crate::live::use_server_events;
use crate::run::{GroupPick, Run, RunState, RunTimings, ServerEvent};
use crate::workload::Workload;

/// Words in the chart of the latest result.
const CHART_WORDS: u64 = 15;

#[component]
pub fn WorkloadPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<u64>().ok())));
    let start = ServerAction::<StartRun>::new();
    let cancel = ServerAction::<CancelRun>::new();
    let delete = ServerAction::<DeleteWorkload>::new();
    // Bumped by the event stream when a run of this workload changes state.
    let changed = RwSignal::new(0u64);
    let live = RwSignal::new(None::<Run>);

    // The workload and its runs, reloaded together after an action or a change
    // of state pushed by the event stream.
    let page = Resource::new(
        move || {
            (
                id.get(),
                start.version().get(),
                cancel.version().get(),
                changed.get(),
            )
        },
        |(id, ..)| async move {
            let id =
                id.ok_or_else(|| crate::api::address_not_found("Workload ids are whole numbers"))?;
            Ok::<_, AppError>((get_workload(id).await?, list_runs(id).await?))
        },
    );
    // The latest result as the URL's query asks (a search, a page, a group),
    // made here rather than in the view of `page` (see `word_table`).
    let query = use_results_query();
    let results: ResultsResource = Resource::new(
        move || (id.get(), changed.get(), query.get()),
        |(id, _, query)| async move {
            let Some(id) = id else { return Ok(None) };
            let runs = list_runs(id).await?;
            match runs.iter().find(|r| r.state == RunState::Succeeded) {
                Some(run) => load_results(run, query, CHART_WORDS).await.map(Some),
                None => Ok(None),
            }
        },
    );

    use_server_events(
        move |event| {
            if let ServerEvent::Run {
                run_id,
                workload_id,
                state,
                progress,
            } = event
                && Some(workload_id) == id.get_untracked()
            {
                let known = live.with_untracked(|r| r.as_ref().map(|r| (r.id, r.state)));
                live.update(|r| {
                    if let Some(r) = r.as_mut().filter(|r| r.id == run_id) {
                        r.state = state;
                        r.progress = progress;
                    }
                });
                // A new run, or a change of state: reload; progress alone: the
                // bar moves. A run's end always reloads: the page's fetch may
                // have seen it already while the results' fetch, a moment
                // earlier, did not.
                if known != Some((run_id, state)) || !state.is_active() {
                    changed.update(|n| *n += 1);
                }
            }
        },
        // A run in flight may have moved on before the stream opened: if it
        // has, reload as its event would have.
        move || {
            let shown = live.with_untracked(|r| {
                r.as_ref()
                    .filter(|r| r.state.is_active())
                    .map(|r| (r.id, r.state))
            });
            if let Some((run_id, state)) = shown {
                leptos::task::spawn_local(async move {
                    if let Ok(now) = crate::api::get_run(run_id).await
                        && now.run.state != state
                    {
                        let _ = changed.try_update(|n| *n += 1);
                    }
                });
            }
        },
    );

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the workload…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok((w, runs)) => {
                        live.set(runs.first().cloned());
                        view! { <WorkloadView w runs live results start cancel delete /> }.into_any()
                    }
                    Err(e) => view! {
                        <Title text="Workload not found" />
                        <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="/workloads">"Workloads"</a></nav>
                        <PageHeader title="Workload not found" />
                        <p class="alert alert--error" role="alert" data-testid="workload-error">{e.message}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn WorkloadView(
    w: Workload,
    runs: Vec<Run>,
    live: RwSignal<Option<Run>>,
    results: ResultsResource,
    start: ServerAction<StartRun>,
    cancel: ServerAction<CancelRun>,
    delete: ServerAction<DeleteWorkload>,
) -> impl IntoView {
    let latest_success = runs
        .iter()
        .find(|r| r.state == RunState::Succeeded)
        .cloned();
    let action_error = move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.message)
            .or_else(|| {
                cancel
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| e.message)
            })
            .or_else(|| {
                delete
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| e.message)
            })
    };
    let active_run =
        move || live.with(|r| r.as_ref().filter(|r| r.state.is_active()).map(|r| r.id));
    let id = w.id;
    // Hidden from viewers; the server refuses them these actions anyway.
    let editor = crate::session::can(crate::auth::Role::Editor);
    let stored_status = w.status;
    let options = &w.options;

    view! {
        <Title text=w.name.clone() />
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="/workloads">"Workloads"</a>" / "{w.name.clone()}</nav>
        <PageHeader title=w.name.clone() subtitle=format!("Workload {id} · {}", w.source())>
            // The latest run decides the status, and the event stream moves it on.
            {move || {
                let status = live.with(|r| r.as_ref().map_or(stored_status, |r| r.state.status()));
                view! { <StatusBadge status /> }
            }}
            {editor.then(|| view! {
                <ActionForm action=start attr:class="inline-form">
                    <input type="hidden" name="workload_id" value=id />
                    // One run at a time: the server would refuse a second with a 409.
                    <button type="submit" class="btn" data-testid="run-now"
                        disabled=move || start.pending().get() || active_run().is_some()
                        title=move || active_run().map(|run| format!("Run {run} is still in flight"))>"Run now"</button>
                </ActionForm>
            })}
            {move || active_run().filter(|_| editor).map(|run_id| view! {
                <ActionForm action=cancel attr:class="inline-form">
                    <input type="hidden" name="run_id" value=run_id />
                    <button type="submit" class="btn btn--secondary" data-testid="cancel-run">"Cancel run"</button>
                </ActionForm>
            })}
            {editor.then(|| view! {
                <a class="btn btn--secondary" href=format!("/workloads/{id}/edit") data-testid="edit-workload">"Edit"</a>
            })}
        </PageHeader>
        {move || action_error().map(|m| view! { <p class="alert alert--error" role="alert" data-testid="action-error">{m}</p> })}
        <PostedError />
        <div class="grid">
            <section class="card" aria-labelledby="status-title" data-testid="live-status">
                <header class="card__header"><h2 id="status-title">"Latest run"</h2></header>
                {move || match live.get() {
                    None => view! { <p class="muted">"Never run. Use “Run now” to count the words."</p> }.into_any(),
                    Some(run) => view! { <LatestRun run /> }.into_any(),
                }}
            </section>
            <section class="card" aria-labelledby="definition-title">
                <header class="card__header"><h2 id="definition-title">"Definition"</h2></header>
                <dl class="facts" data-testid="definition">
                    <dt>"Type"</dt><dd>{crate::labels::workload_type(w.workload_type)}</dd>
                    <dt>"Source"</dt>
                    <dd><a href=format!("/datasets/{}/{}/{}", w.src_project, w.src_dataset, w.src_table)><SourceName name=w.source() /></a></dd>
                    <dt>"Executor"</dt><dd data-testid="workload-executor">{w.executor.as_str()}</dd>
                    <CountOptionFacts options=options.clone() />
                    <RowFilterFact filter=w.filter.clone() />
                    <GroupByFact group_by=w.group_by.clone() />
                    <dt>"Created"</dt><dd>{timestamp(&w.created_at)}</dd>
                    <dt>"Updated"</dt><dd>{timestamp(&w.updated_at)}</dd>
                </dl>
                {editor.then(|| view! { <DeleteWorkloadForm id delete /> })}
            </section>
        </div>
        <section class="card" aria-labelledby="result-title">
            <header class="card__header"><h2 id="result-title">"Latest result"</h2></header>
            {match latest_success {
                None => view! { <p class="muted" data-testid="no-result">"No successful run yet."</p> }.into_any(),
                Some(run) => {
                    // Counted before an edit of the source or the options: say so.
                    let outdated = run.source != w.source() || run.options != w.options;
                    view! {
                        {outdated.then(|| view! {
                            <p class="alert alert--info" role="status" data-testid="result-outdated">
                                "This result was counted with an earlier definition of the workload. Run it again to count with the current one."
                            </p>
                        })}
                        <LatestResult run base=format!("/workloads/{id}") results />
                    }
                    .into_any()
                }
            }}
        </section>
        <section class="card" aria-labelledby="runs-title">
            <header class="card__header">
                <h2 id="runs-title">"Runs"</h2>
                <a href=format!("/runs?workload_id={id}") data-testid="workload-all-runs">"In the Runs list"</a>
            </header>
            <RunHistory runs />
        </section>
    }
}

/// The message of a plain form post that failed (no JavaScript), from `?error=`.
#[component]
pub fn PostedError() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query.with(|q| q.get("error")).map(|m| {
            view! {
                <p class="alert alert--error" role="alert" data-testid="posted-error">{m}</p>
            }
        })
    }
}

#[component]
fn LatestRun(run: Run) -> impl IntoView {
    let state = run.state;
    let waited = or_dash(run.waited_secs, duration);
    let summary = match state {
        RunState::Succeeded => format!(
            "{} words, {} distinct, in {} (waited {waited} to start)",
            thousands(run.total_words.unwrap_or(0)),
            thousands(run.distinct_words.unwrap_or(0)),
            or_dash(run.timings.as_ref().map(RunTimings::run_secs), duration),
        ),
        RunState::Failed => run.error.clone().unwrap_or_else(|| "Failed".into()),
        RunState::Cancelled => "Cancelled before it finished.".into(),
        RunState::Running => format!(
            "Started {} after waiting {waited}",
            or_dash(run.started_at.as_deref(), timestamp),
        ),
        RunState::Queued => format!("Queued {}, waiting to start", timestamp(&run.queued_at)),
    };
    view! {
        <RunProgressBar state=state progress=run.progress.clone() />
        <p class="muted" data-testid="run-summary">
            <a href=format!("/runs/{}", run.id)>{format!("Run {}", run.id)}</a>" · "{summary}
        </p>
    }
}

#[component]
fn LatestResult(run: Run, base: String, results: ResultsResource) -> impl IntoView {
    let run_id = run.id;
    view! {
        <p class="muted">
            {format!(
                "Run {run_id}: {} words, {} distinct.",
                thousands(run.total_words.unwrap_or(0)),
                thousands(run.distinct_words.unwrap_or(0))
            )}
        </p>
        // The chart follows the group the results show; an error is the
        // results' to tell.
        <Transition fallback=|| view! { <p class="muted">"Loading the chart…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(Some(r)) if !r.chart.is_empty() => view! { <WordChart words=r.chart /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <ResultsExplorer run_id total_words=run.total_words.unwrap_or(0) base group_by=run.group_by.clone() results />
    }
}

/// Runs, newest first, each linking to its page, and each succeeded run to
/// its comparison with the succeeded run before it.
#[component]
pub fn RunHistory(runs: Vec<Run>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="muted">"No run yet."</p> }.into_any();
    }
    // Newest first: the run before a succeeded one is the next succeeded in the list.
    let succeeded: Vec<u64> = runs
        .iter()
        .filter(|r| r.state == RunState::Succeeded)
        .map(|r| r.id)
        .collect();
    let previous = succeeded.windows(2).map(|w| (w[0], w[1])).collect();
    // A comparison keeps to the group the page shows, between two runs
    // grouped by the same column (a group's link keeps this component, so
    // the links follow the URL).
    let query = use_query_map();
    let group = Memo::new(move |_| query.with(|q| GroupPick::of_url(|key| q.get(key))));
    let grouping: std::collections::HashMap<u64, Option<String>> =
        runs.iter().map(|r| (r.id, r.group_by.clone())).collect();
    let href = move |before: u64, after: u64| {
        let alike = grouping.get(&before).is_some_and(Option::is_some)
            && grouping.get(&before) == grouping.get(&after);
        let params = if alike {
            group.with(GroupPick::query_params)
        } else {
            Vec::new()
        };
        crate::href::with_query(&format!("/runs/{before}/compare/{after}"), &params)
    };
    let compare = CompareLinks {
        previous,
        href: std::sync::Arc::new(href),
    };
    view! {
        <RunsTable runs=of_one_workload(runs) columns=HISTORY_COLUMNS row_testid="run-row" table_testid="runs-table" compare />
    }
    .into_any()
}

/// What a workload's history shows of each run.
const HISTORY_COLUMNS: &[RunColumn] = &[
    RunColumn::Run,
    RunColumn::Status,
    RunColumn::Queued,
    RunColumn::Waited,
    RunColumn::RunTime,
    RunColumn::Words,
    RunColumn::Distinct,
    RunColumn::Compare,
];

/// Delete behind a disclosure: the first click only reveals the real button, so
/// the confirmation works without JavaScript too.
#[component]
fn DeleteWorkloadForm(id: u64, delete: ServerAction<DeleteWorkload>) -> impl IntoView {
    view! {
        <details class="danger-zone" data-testid="delete-workload">
            <summary>"Delete this workload…"</summary>
            <p>"Its runs and results are deleted too. This cannot be undone."</p>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=id />
                <button type="submit" class="btn btn--danger" data-testid="confirm-delete">"Delete permanently"</button>
            </ActionForm>
        </details>
    }
}
