//! `/runs/:id`: one run: its state and live progress, the options it ran with,
//! where its time went, its log and its results.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{CancelRun, get_run};
use crate::components::layout::PageHeader;
use crate::components::run_progress::RunProgressBar;
use crate::components::status_badge::StatusBadge;
use crate::components::word_table::ResultsExplorer;
use crate::error::AppError;
use crate::format::{duration, or_dash, thousands, timestamp};
use crate::live::use_server_events;
use crate::pages::workload::PostedError;
use crate::run::{Run, RunProgress, RunState, ServerEvent};

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<u64>().ok())));
    let cancel = ServerAction::<CancelRun>::new();
    let changed = RwSignal::new(0u64);
    let progress = RwSignal::new(None);
    let run = Resource::new(
        move || (id.get(), cancel.version().get(), changed.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => get_run(id).await,
                None => Err(AppError::new(404, "Run ids are whole numbers")),
            }
        },
    );
    use_server_events(move |event| {
        if let ServerEvent::Run {
            run_id,
            state,
            progress: p,
            ..
        } = event
            && Some(run_id) == id.get_untracked()
        {
            let before =
                progress.with_untracked(|x: &Option<(RunState, _)>| x.as_ref().map(|(s, _)| *s));
            progress.set(Some((state, p)));
            if before != Some(state) {
                changed.update(|n| *n += 1);
            }
        }
    });

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
                    Ok(run) => {
                        progress.set(Some((run.state, run.progress.clone())));
                        view! { <RunView run state bar cancel /> }.into_any()
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
    state: Signal<RunState>,
    bar: Signal<RunProgress>,
    cancel: ServerAction<CancelRun>,
) -> impl IntoView {
    let id = run.id;
    let workload_href = format!("/workloads/{}", run.workload_id);
    let options = &run.options;
    let timings = run.timings.clone();
    view! {
        <Title text=format!("Run {id}") />
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/workloads">"Workloads"</a>" / "<a href=workload_href.clone()>{format!("Workload {}", run.workload_id)}</a>" / "{format!("run {id}")}
        </nav>
        <PageHeader title=format!("Run {id}") subtitle=run.source.clone()>
            <StatusBadge status=run.state.status() />
            {(run.state.is_active() && crate::session::can(crate::auth::Role::Editor)).then(|| view! {
                <ActionForm action=cancel attr:class="inline-form">
                    <input type="hidden" name="run_id" value=id />
                    <button type="submit" class="btn btn--secondary" data-testid="cancel-run">"Cancel run"</button>
                </ActionForm>
            })}
        </PageHeader>
        {move || cancel.value().get().and_then(Result::err).map(|e| view! {
            <p class="alert alert--error" role="alert">{e.message}</p>
        })}
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
                    <dt>"Finished"</dt><dd>{or_dash(run.finished_at.as_deref(), timestamp)}</dd>
                    <dt>"Words"</dt><dd>{or_dash(run.total_words, thousands)}</dd>
                    <dt>"Distinct words"</dt><dd>{or_dash(run.distinct_words, thousands)}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="timings-title">
                <header class="card__header"><h2 id="timings-title">"Options and timings"</h2></header>
                <dl class="facts" data-testid="run-options">
                    <dt>"Executor"</dt><dd data-testid="run-executor">{run.executor.as_str()}</dd>
                    <dt>"Tokenizer"</dt><dd>{options.tokenizer.as_str()}</dd>
                    <dt>"Case"</dt><dd>{options.case.as_str()}</dd>
                    <dt>"Minimum length"</dt><dd>{options.min_length}</dd>
                    {timings.map(|t| view! {
                        <dt>"Waiting"</dt><dd>{duration(t.queue_secs)}</dd>
                        <dt>"Reading and counting"</dt><dd>{duration(t.count_secs)}</dd>
                        <dt>"Storing results"</dt><dd>{duration(t.store_secs)}</dd>
                        <dt>"Total"</dt><dd data-testid="run-total-time">{duration(t.total_secs)}</dd>
                    })}
                </dl>
            </section>
        </div>
        <section class="card" aria-labelledby="log-title">
            <header class="card__header"><h2 id="log-title">"Log"</h2></header>
            <ol class="log" data-testid="run-log">
                {run.log.iter().map(|entry| view! {
                    <li><time datetime=entry.at.clone()>{timestamp(&entry.at)}</time>" "{entry.message.clone()}</li>
                }).collect_view()}
            </ol>
        </section>
        {(run.state == RunState::Succeeded).then(|| view! {
            <section class="card" aria-labelledby="words-title">
                <header class="card__header"><h2 id="words-title">"Words"</h2></header>
                <ResultsExplorer run_id=id total_words=run.total_words.unwrap_or(0) base=format!("/runs/{id}") />
            </section>
        })}
    }
}
