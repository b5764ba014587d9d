//! `/runs/:id`: one run: its state and live progress, the options it ran with,
//! where its time went, its log and its results.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{CancelRun, StartRun, get_run};
use crate::components::count_options::{CountOptionFacts, GroupByFact, RowFilterFact};
use crate::components::layout::PageHeader;
use crate::components::run_progress::RunProgressBar;
use crate::components::status_badge::StatusBadge;
use crate::components::word_table::{
    ResultsExplorer, ResultsResource, load_results, use_results_query,
};
use crate::format::{duration, or_dash, thousands, timestamp, timestamp_millis};
use crate::live::{throttled_reload, use_server_events};
use crate::pages::workload::PostedError;
use crate::run::{Run, RunListing, RunLogEntry, RunProgress, RunState, ServerEvent};

/// The shortest time between two reloads of a running run's log.
const LOG_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1000);

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<u64>().ok())));
    let cancel = ServerAction::<CancelRun>::new();
    let again = ServerAction::<StartRun>::new();
    let changed = RwSignal::new(0u64);
    let progress = RwSignal::new(None);
    // The log of a running run, reloaded as its heartbeats save lines; owned by
    // the page like `progress`, and loaded whole with each fetch of the run.
    let log: RwSignal<Vec<RunLogEntry>> = RwSignal::new(Vec::new());
    let log_changed = RwSignal::new(0u64);
    let reload_log = throttled_reload(log_changed, LOG_INTERVAL);
    Effect::new(move |seen: Option<u64>| {
        let n = log_changed.get();
        if seen.is_some()
            && let Some(run_id) = id.get_untracked()
        {
            leptos::task::spawn_local(async move {
                // The page may be gone, or showing another run (after Run
                // again), by the time the answer comes.
                if let Ok(listed) = get_run(run_id).await
                    && id.try_get_untracked() == Some(Some(run_id))
                {
                    let _ = log.try_set(listed.run.log);
                }
            });
        }
        n
    });
    let run = Resource::new(
        move || (id.get(), cancel.version().get(), changed.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => get_run(id).await,
                None => Err(crate::api::address_not_found("Run ids are whole numbers")),
            }
        },
    );
    // The results as the URL's query asks, made here rather than in the view
    // of `run` (see `word_table`); none until the run has succeeded.
    let query = use_results_query();
    let results: ResultsResource = Resource::new(
        move || (id.get(), changed.get(), query.get()),
        |(id, _, query)| async move {
            let Some(id) = id else { return Ok(None) };
            let run = get_run(id).await?.run;
            if run.state != RunState::Succeeded {
                return Ok(None);
            }
            load_results(&run, query, 0).await.map(Some)
        },
    );
    use_server_events(
        move |event| {
            if let ServerEvent::Run {
                run_id,
                state,
                progress: p,
                ..
            } = event
                && Some(run_id) == id.get_untracked()
            {
                let before = progress
                    .with_untracked(|x: &Option<(RunState, _)>| x.as_ref().map(|(s, _)| *s));
                progress.set(Some((state, p)));
                // A run's end always reloads: the run's fetch may have seen it
                // already while the results' fetch, a moment earlier, did not.
                if before != Some(state) || !state.is_active() {
                    changed.update(|n| *n += 1);
                } else {
                    reload_log();
                }
            }
        },
        // The run, if in flight, may have moved on before the stream opened:
        // if it has, reload as its event would have.
        move || {
            let shown = progress.with_untracked(|p: &Option<(RunState, RunProgress)>| {
                p.as_ref().map(|(s, _)| *s).filter(|s| s.is_active())
            });
            if let (Some(state), Some(run_id)) = (shown, id.get_untracked()) {
                leptos::task::spawn_local(async move {
                    if let Ok(now) = get_run(run_id).await
                        && now.run.state != state
                    {
                        let _ = changed.try_update(|n| *n += 1);
                    }
                });
            }
        },
    );

    // Owned by the page, not by the view of one fetch of the run: when the
    // run changes state the view is rebuilt, and the old view's effects still
    // answer the `progress.set` below before they go; signals of its own
    // would be gone by then (a panic in the WASM, the page frozen).
    let state =
        Signal::derive(move || progress.with(|p| p.as_ref().map_or(RunState::Queued, |(s, _)| *s)));
    let bar = Signal::derive(move || {
        progress.with(|p: &Option<(RunState, RunProgress)>| {
            p.as_ref().map(|(_, p)| p.clone()).unwrap_or_default()
        })
    });

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the run…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Ok(RunListing { run, workload_name }) => {
                        progress.set(Some((run.state, run.progress.clone())));
                        log.set(run.log.clone());
                        view! { <RunView run workload_name state bar log results cancel again /> }.into_any()
                    }
                    Err(e) => view! {
                        <Title text="Run not found" />
                        <PageHeader title="Run not found" />
                        <p class="alert alert--error" role="alert" data-testid="run-error">{e.message}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RunView(
    run: Run,
    workload_name: String,
    state: Signal<RunState>,
    bar: Signal<RunProgress>,
    log: RwSignal<Vec<RunLogEntry>>,
    results: ResultsResource,
    cancel: ServerAction<CancelRun>,
    again: ServerAction<StartRun>,
) -> impl IntoView {
    let editor = crate::session::can(crate::auth::Role::Editor);
    let id = run.id;
    let workload_href = format!("/workloads/{}", run.workload_id);
    let options = &run.options;
    let timings = run.timings.clone();
    view! {
        <Title text=format!("Run {id}") />
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/workloads">"Workloads"</a>" / "<a href=workload_href.clone() data-testid="run-workload">{workload_name}</a>" / "{format!("Run {id}")}
        </nav>
        <PageHeader title=format!("Run {id}") subtitle=run.source.clone()>
            <StatusBadge status=run.state.status() />
            {(run.state.is_active() && editor).then(|| view! {
                <ActionForm action=cancel attr:class="inline-form">
                    <input type="hidden" name="run_id" value=id />
                    <button type="submit" class="btn btn--secondary" data-testid="cancel-run">"Cancel run"</button>
                </ActionForm>
            })}
            // A new run of the workload, with its current definition; the
            // browser follows it to its page.
            {(!run.state.is_active() && editor).then(|| view! {
                <ActionForm action=again attr:class="inline-form">
                    <input type="hidden" name="workload_id" value=run.workload_id />
                    <input type="hidden" name="follow" value="true" />
                    <button type="submit" class="btn" data-testid="run-again" disabled=move || again.pending().get()>"Run again"</button>
                </ActionForm>
            })}
        </PageHeader>
        {move || {
            cancel.value().get().and_then(Result::err)
                .or_else(|| again.value().get().and_then(Result::err))
                .map(|e| view! { <p class="alert alert--error" role="alert" data-testid="run-action-error">{e.message}</p> })
        }}
        <PostedError />
        {run.error.clone().map(|e| view! { <p class="alert alert--error" role="alert" data-testid="run-failure">{e}</p> })}
        <div class="grid">
            <section class="card" aria-labelledby="progress-title">
                <header class="card__header"><h2 id="progress-title">"Progress"</h2></header>
                <RunProgressBar state progress=bar />
                <dl class="facts" data-testid="run-facts">
                    <dt>"Attempt"</dt><dd>{run.attempt}</dd>
                    <dt>"Queued"</dt><dd>{timestamp(&run.queued_at)}</dd>
                    <dt>"Started"</dt><dd>{or_dash(run.started_at.as_deref(), timestamp)}</dd>
                    <dt>"Waited"</dt><dd>{or_dash(run.waited_secs, duration)}</dd>
                    <dt>"Finished"</dt><dd>{or_dash(run.finished_at.as_deref(), timestamp)}</dd>
                    <dt>"Words"</dt><dd>{or_dash(run.total_words, thousands)}</dd>
                    <dt>"Distinct words"</dt><dd>{or_dash(run.distinct_words, thousands)}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="timings-title">
                <header class="card__header"><h2 id="timings-title">"Options and timings"</h2></header>
                <dl class="facts" data-testid="run-options">
                    <dt>"Executor"</dt><dd data-testid="run-executor">{run.executor.as_str()}</dd>
                    <CountOptionFacts options=options.clone() />
                    <RowFilterFact filter=run.filter.clone() />
                    <GroupByFact group_by=run.group_by.clone() />
                    {timings.map(|t| view! {
                        <dt>"Waited to start"</dt><dd data-testid="run-waited">{duration(t.queue_secs)}</dd>
                        <dt>"Reading and counting"</dt><dd>{duration(t.count_secs)}</dd>
                        <dt>"Storing results"</dt><dd>{duration(t.store_secs)}</dd>
                        <dt>"Run time"</dt><dd data-testid="run-time">{duration(t.run_secs())}</dd>
                        <dt>"Queued to finished"</dt><dd data-testid="run-total-time">{duration(t.total_secs)}</dd>
                    })}
                </dl>
            </section>
        </div>
        <section class="card" aria-labelledby="log-title">
            <header class="card__header"><h2 id="log-title">"Log"</h2></header>
            <ol class="log" data-testid="run-log" aria-live="polite">
                {move || log.get().into_iter().map(|entry| view! {
                    <li><time datetime=entry.at.clone()>{timestamp_millis(&entry.at)}</time>" "{entry.message}</li>
                }).collect_view()}
            </ol>
        </section>
        {(run.state == RunState::Succeeded).then(|| view! {
            <section class="card" aria-labelledby="words-title">
                <header class="card__header"><h2 id="words-title">"Words"</h2></header>
                <ResultsExplorer run_id=id total_words=run.total_words.unwrap_or(0) base=format!("/runs/{id}")
                    group_by=run.group_by.clone() results />
            </section>
        })}
    }
}
