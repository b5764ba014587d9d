//! One table of runs for the Dashboard's recent runs, the Runs page and a
//! workload's history: each picks its columns, and each cell is written once
//! here, so a run reads the same wherever it is listed.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use crate::components::status_badge::StatusBadge;
use crate::format::{duration, or_dash, rate, thousands, timestamp};
use crate::run::{Run, RunListing, RunState, RunTimings};

/// The states the event stream has announced, by run id, for a table whose
/// status cells follow them.
pub type LiveStates = RwSignal<HashMap<u64, RunState>>;

/// A column of [`RunsTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunColumn {
    /// `#id`, a link to the Run page.
    Run,
    /// The workload's name, a link to its page.
    Workload,
    Status,
    Queued,
    /// How long the run waited in the queue.
    Waited,
    Started,
    Finished,
    /// How long the run ran (its counting and storing).
    RunTime,
    Words,
    Distinct,
    /// Words per second.
    Rate,
    /// A link comparing the run with the previous succeeded one.
    Compare,
}

impl RunColumn {
    fn header(self) -> &'static str {
        match self {
            Self::Run => "Run",
            Self::Workload => "Workload",
            Self::Status => "Status",
            Self::Queued => "Queued",
            Self::Waited => "Waited",
            Self::Started => "Started",
            Self::Finished => "Finished",
            Self::RunTime => "Run time",
            Self::Words => "Words",
            Self::Distinct => "Distinct",
            Self::Rate => "Words/s",
            Self::Compare => "Compare",
        }
    }

    /// Numbers, aligned right.
    fn numeric(self) -> bool {
        matches!(
            self,
            Self::Waited | Self::RunTime | Self::Words | Self::Distinct | Self::Rate
        )
    }
}

/// The links of the Compare column: each succeeded run's previous succeeded
/// run, and the address of a comparison (which may follow the page's URL).
pub struct CompareLinks {
    pub previous: HashMap<u64, u64>,
    pub href: Arc<dyn Fn(u64, u64) -> String + Send + Sync>,
}

/// Runs of one workload as a table of runs lists them (the workload's name is
/// the page's, not repeated in a column).
pub fn of_one_workload(runs: Vec<Run>) -> Vec<RunListing> {
    runs.into_iter()
        .map(|run| RunListing {
            run,
            workload_name: String::new(),
        })
        .collect()
}

/// A table of runs in the columns given; its rows carry `row_testid`, their
/// status cells `{row_testid}-status`.
#[component]
pub fn RunsTable(
    runs: Vec<RunListing>,
    columns: &'static [RunColumn],
    row_testid: &'static str,
    #[prop(optional)] table_testid: Option<&'static str>,
    /// Status cells follow these states when given (the Runs page).
    #[prop(optional)]
    live: Option<LiveStates>,
    /// Required by the Compare column.
    #[prop(optional)]
    compare: Option<CompareLinks>,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data" data-testid=table_testid>
                <thead>
                    <tr>
                        {columns.iter().map(|c| view! { <th scope="col" class=c.numeric().then_some("num")>{c.header()}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {runs.into_iter().map(|listing| {
                        let id = listing.run.id;
                        view! {
                            <tr data-testid=row_testid data-run=id>
                                {columns.iter().map(|&column| cell(column, &listing, row_testid, live, compare.as_ref())).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// One cell of a run's row.
fn cell(
    column: RunColumn,
    listing: &RunListing,
    row_testid: &'static str,
    live: Option<LiveStates>,
    compare: Option<&CompareLinks>,
) -> AnyView {
    let run = &listing.run;
    let id = run.id;
    match column {
        RunColumn::Run => view! { <td><a href=format!("/runs/{id}")>{format!("#{id}")}</a></td> }.into_any(),
        RunColumn::Workload => view! {
            <td class="text"><a href=format!("/workloads/{}", run.workload_id)>{listing.workload_name.clone()}</a></td>
        }
        .into_any(),
        RunColumn::Status => {
            let loaded = run.state;
            let state = move || {
                live.and_then(|live| live.with(|m| m.get(&id).copied()))
                    .unwrap_or(loaded)
            };
            view! {
                <td data-testid=format!("{row_testid}-status")>
                    {move || view! { <StatusBadge status=state().status() /> }}
                </td>
            }
            .into_any()
        }
        RunColumn::Queued => {
            view! { <td><time datetime=run.queued_at.clone()>{timestamp(&run.queued_at)}</time></td> }
                .into_any()
        }
        RunColumn::Started => view! { <td>{or_dash(run.started_at.as_deref(), timestamp)}</td> }.into_any(),
        RunColumn::Finished => view! { <td>{or_dash(run.finished_at.as_deref(), timestamp)}</td> }.into_any(),
        RunColumn::Waited => {
            view! { <td class="num" data-testid="run-waited">{or_dash(run.waited_secs, duration)}</td> }
                .into_any()
        }
        RunColumn::RunTime => view! {
            <td class="num" data-testid="run-time">{or_dash(run.timings.as_ref().map(RunTimings::run_secs), duration)}</td>
        }
        .into_any(),
        RunColumn::Words => view! { <td class="num">{or_dash(run.total_words, thousands)}</td> }.into_any(),
        RunColumn::Distinct => view! { <td class="num">{or_dash(run.distinct_words, thousands)}</td> }.into_any(),
        RunColumn::Rate => {
            view! { <td class="num" data-testid="run-rate">{or_dash(run.throughput(), rate)}</td> }.into_any()
        }
        RunColumn::Compare => {
            let link = compare.and_then(|links| {
                let before = *links.previous.get(&id)?;
                let href = links.href.clone();
                Some(view! {
                    <a href=move || href(before, id) data-testid="compare-link"
                        title=format!("How run {id} differs from run {before}")>{format!("vs #{before}")}</a>
                })
            });
            view! { <td>{link}</td> }.into_any()
        }
    }
}
