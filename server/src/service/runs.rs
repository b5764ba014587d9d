//! Run operations: start, cancel, inspect, and read results.

use tally_app::run::{Activity, Run, RunGroupsPage, RunListing, RunState, WordCountPage};
use tally_app::run_list::{RunListPage, RunQuery};
use tally_app::workload::{Workload, WorkloadStatus};

use super::TallyService;
use crate::error::ServiceError;
use crate::runs::results::{ResultSource, ResultsAt};
use crate::runs::{EventBus, RunQueue, StreamSlots};
use crate::store::runs::{RunFilter, RunRow, RunStore};
use tally_app::auth::Principal;
use tally_app::words_query::WordsQuery;

/// Runs in flight and recent runs the Dashboard lists, each.
const ACTIVITY_RUNS: u64 = 10;

pub(super) fn run_not_found() -> ServiceError {
    ServiceError::NotFound("Run not found".into())
}

/// The data directory's folder for Spark jobs' inputs and outputs.
pub(super) const SPARK_DIR: &str = "spark";

impl TallyService {
    pub fn queue(&self) -> &RunQueue {
        &self.queue
    }

    pub fn runs(&self) -> &RunStore {
        &self.runs
    }

    /// What `GET /metrics` reports.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The limits on open event streams.
    pub fn stream_slots(&self) -> &StreamSlots {
        &self.stream_slots
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Queues a run of `workload` and wakes the dispatcher; 409 if one is active.
    pub async fn start_run(&self, workload: &Workload) -> Result<Run, ServiceError> {
        match self.runs.enqueue(workload).await? {
            Some(run) => {
                tracing::info!(run = run.id(), workload = workload.id, "run queued");
                self.events.publish_run(&run);
                self.queue.wake.notify_one();
                Ok(run.public())
            }
            None => {
                let current = self.workload(workload.id).await?;
                Err(ServiceError::Conflict(format!(
                    "Workload {} already has a {} run",
                    current.id,
                    current.status.as_str()
                )))
            }
        }
    }

    /// `POST /workloads/{id}/runs`.
    pub async fn rerun_workload(
        &self,
        who: &Principal,
        workload_id: u64,
    ) -> Result<Run, ServiceError> {
        let workload = self.workload(workload_id).await?;
        let run = self.start_run(&workload).await?;
        self.accounts
            .record(
                who,
                "run.start",
                &format!("run {}", run.id),
                &format!("workload {workload_id}"),
            )
            .await;
        Ok(run)
    }

    pub async fn run(&self, id: u64) -> Result<Run, ServiceError> {
        Ok(self.runs.get(id).await?.ok_or_else(run_not_found)?.public())
    }

    /// [`Self::run`] with its workload's name (the Run page).
    pub async fn run_listing(&self, id: u64) -> Result<RunListing, ServiceError> {
        let row = self.runs.get(id).await?.ok_or_else(run_not_found)?;
        let mut listed = self.listings(std::slice::from_ref(&row)).await?;
        listed.pop().ok_or_else(run_not_found)
    }

    pub async fn runs_of(&self, workload_id: u64) -> Result<Vec<Run>, ServiceError> {
        self.workload(workload_id).await?;
        Ok(self
            .runs
            .for_workload(workload_id)
            .await?
            .iter()
            .map(RunRow::public)
            .collect())
    }

    /// Cancels a queued run, or stops a running one (here at once, in another
    /// process at its next heartbeat). Cancelling a finished run is a 409.
    pub async fn cancel_run(&self, who: &Principal, id: u64) -> Result<Run, ServiceError> {
        let run = self.request_cancel(id).await?;
        self.accounts
            .record(
                who,
                "run.cancel",
                &format!("run {id}"),
                &format!("workload {}", run.workload_id),
            )
            .await;
        Ok(run)
    }

    async fn request_cancel(&self, id: u64) -> Result<Run, ServiceError> {
        let run = self
            .runs
            .request_cancel(id)
            .await?
            .ok_or_else(run_not_found)?;
        match run.state() {
            RunState::Cancelled if !run.cancel_requested => {
                self.events.publish_run(&run);
                Ok(run.public())
            }
            RunState::Running => {
                self.queue.cancel_local(id);
                Ok(run.public())
            }
            state => Err(ServiceError::Conflict(format!(
                "Run {id} is {}: only a queued or running run can be cancelled",
                state.as_str()
            ))),
        }
    }

    /// A page of a succeeded run's words.
    pub async fn word_counts(
        &self,
        run_id: u64,
        query: WordsQuery,
    ) -> Result<WordCountPage, ServiceError> {
        let run = self.runs.get(run_id).await?.ok_or_else(run_not_found)?;
        self.word_counts_of(&run, query).await
    }

    /// A page of the words of a workload's latest successful run.
    pub async fn latest_word_counts(
        &self,
        workload_id: u64,
        query: WordsQuery,
    ) -> Result<WordCountPage, ServiceError> {
        let run = self.latest_succeeded_run(workload_id).await?;
        self.word_counts_of(&run, query).await
    }

    /// The results of a succeeded run (for downloads).
    pub async fn results_of(&self, run_id: u64) -> Result<(RunRow, ResultSource), ServiceError> {
        let run = self.runs.get(run_id).await?.ok_or_else(run_not_found)?;
        let source = self.result_source(&run).await?;
        Ok((run, source))
    }

    /// The latest succeeded run of a workload and its results.
    pub async fn latest_results_of(
        &self,
        workload_id: u64,
    ) -> Result<(RunRow, ResultSource), ServiceError> {
        let run = self.latest_succeeded_run(workload_id).await?;
        let source = self.result_source(&run).await?;
        Ok((run, source))
    }

    /// The newest run of a workload that has results (404 if the workload or
    /// such a run does not exist).
    async fn latest_succeeded_run(&self, workload_id: u64) -> Result<RunRow, ServiceError> {
        self.workload(workload_id).await?;
        let runs = self.runs.for_workload(workload_id).await?;
        runs.into_iter()
            .find(|r| r.results().is_some())
            .ok_or_else(|| {
                ServiceError::NotFound(format!("Workload {workload_id} has no successful run yet"))
            })
    }

    /// Where to read a succeeded run's counts from (a small result is read
    /// from the database here).
    pub(super) async fn result_source(&self, run: &RunRow) -> Result<ResultSource, ServiceError> {
        match run.results() {
            Some(ResultsAt::Files(stem)) => Ok(ResultSource::Files {
                store: self.results.clone(),
                stem,
            }),
            Some(ResultsAt::Database) => Ok(ResultSource::Rows(self.runs.words(run.id()).await?)),
            None => Err(ServiceError::Conflict(format!(
                "Run {} is {}: results exist only for a succeeded run",
                run.id(),
                run.state().as_str()
            ))),
        }
    }

    async fn word_counts_of(
        &self,
        run: &RunRow,
        query: WordsQuery,
    ) -> Result<WordCountPage, ServiceError> {
        let source = self.result_source(run).await?;
        let (offset, limit) = (query.offset, query.limit);
        let page = tokio::task::spawn_blocking(move || source.query(&query))
            .await
            .map_err(ServiceError::internal)??;
        Ok(WordCountPage {
            run_id: run.id(),
            workload_id: run.workload_id(),
            total: page.total,
            offset,
            limit,
            words: page.rows,
        })
    }

    /// A page of a run's groups (none for a run counted whole), in the order
    /// of their values, null last.
    pub async fn run_groups(
        &self,
        run_id: u64,
        offset: u64,
        limit: u64,
    ) -> Result<RunGroupsPage, ServiceError> {
        let run = self.runs.get(run_id).await?.ok_or_else(run_not_found)?;
        let Some(group_by) = run.group_by.clone() else {
            return Err(ServiceError::NotFound(format!(
                "Run {run_id} counted its rows together: it has no groups"
            )));
        };
        let source = self.result_source(&run).await?;
        let groups = tokio::task::spawn_blocking(move || source.group_list())
            .await
            .map_err(ServiceError::internal)??;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(RunGroupsPage {
            run_id,
            workload_id: run.workload_id(),
            group_by,
            total: groups.len() as u64,
            offset,
            limit,
            groups: groups.into_iter().skip(skip).take(take).collect(),
        })
    }

    /// Removes results files no run refers to any more.
    pub async fn discard_results(&self, stem: &str) {
        self.result_files().discard(stem).await;
    }

    /// Every workload's finished runs beyond `--keep-runs` or older than
    /// `--keep-results-for` go, with their counts and files (a lowered
    /// `--keep-runs` takes effect, and runs age out, without waiting for each
    /// workload's next run, after which the dispatcher applies it too).
    pub async fn apply_retention_everywhere(&self) -> Result<(), ServiceError> {
        if !self.queue.settings.retention.deletes() {
            return Ok(());
        }
        let runs = self.run_context();
        for id in self.workloads.ids().await? {
            runs.apply_retention(id).await?;
        }
        Ok(())
    }

    /// One page of a workload's runs, newest first, and how many it has.
    pub async fn runs_page(
        &self,
        workload_id: u64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Run>, u64), ServiceError> {
        self.workload(workload_id).await?;
        let (rows, total) = self
            .runs
            .page_for_workload(workload_id, offset, limit)
            .await?;
        Ok((rows.iter().map(RunRow::public).collect(), total))
    }

    /// Runs across workloads, newest first, as the query filters them, and
    /// how many match.
    pub async fn search_runs(&self, query: &RunQuery) -> Result<(Vec<RunRow>, u64), ServiceError> {
        Ok(self.runs.search(&RunFilter::of(query)).await?)
    }

    /// [`Self::search_runs`] with each run's workload name (the Runs page).
    pub async fn run_listings(&self, query: &RunQuery) -> Result<RunListPage, ServiceError> {
        let (rows, total) = self.search_runs(query).await?;
        Ok(RunListPage {
            items: self.listings(&rows).await?,
            total,
        })
    }

    /// Runs with the names of their workloads; a workload deleted meanwhile
    /// is named by its id.
    async fn listings(&self, rows: &[RunRow]) -> Result<Vec<RunListing>, ServiceError> {
        let mut ids: Vec<u64> = rows.iter().map(RunRow::workload_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names = self.workloads.names(&ids).await?;
        Ok(rows
            .iter()
            .map(|r| RunListing {
                run: r.public(),
                workload_name: names
                    .get(&r.workload_id())
                    .cloned()
                    .unwrap_or_else(|| format!("Workload {}", r.workload_id())),
            })
            .collect())
    }

    /// The Dashboard's view of the workloads and their runs.
    pub async fn activity(&self) -> Result<Activity, ServiceError> {
        let counts = self.workloads.count_by_status().await?;
        let by_status = WorkloadStatus::ALL
            .into_iter()
            .map(|status| {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status.as_str())
                    .map_or(0, |(_, n)| *n);
                (status, n)
            })
            .collect();
        let active = self.runs.active(ACTIVITY_RUNS).await?;
        let recent = self.runs.recent_finished(ACTIVITY_RUNS).await?;
        Ok(Activity {
            by_status,
            active: self.listings(&active).await?,
            recent: self.listings(&recent).await?,
        })
    }

    /// Fills in each workload's latest run.
    pub(super) async fn attach_runs(&self, workloads: &mut [Workload]) -> Result<(), ServiceError> {
        let ids: Vec<u64> = workloads.iter().map(|w| w.id).collect();
        let latest = self.runs.latest_for(&ids).await?;
        for w in workloads {
            if let Some(run) = latest.get(&w.id) {
                w.last_run = Some(run.summary());
                w.status = run.state().status();
            }
        }
        Ok(())
    }
}
