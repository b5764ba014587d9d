//! [`RunStore`]: run records in SurrealDB, which are also the durable queue.
//!
//! Every state change is one conditional statement (`... WHERE state = ...`), so
//! two dispatchers racing for a run, or a cancel racing a finish, resolve in the
//! database: exactly one of them changes the record. Each change also sets the
//! workload's status when the run is still the workload's latest.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use tally_app::run::RunSummary;
use tally_app::run::WordCountRow;
use tally_app::run::{Run, RunLogEntry, RunProgress, RunState, RunTimings};
use tally_app::workload::{Executor, RowFilter, Workload, WorkloadType};
use tally_engine::{CountOptions, WordCount};

use super::Retention;
use super::results::ResultsAt;
use crate::db::{Database, DbError, last_of_transaction};
use crate::read_cache::WorkloadCache;
use crate::sequence::{IdSequence, RUN_IDS};
use crate::service::rfc3339_millis;

/// Runs interrupted more often than this fail for good.
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(Debug, Clone, Default, SurrealValue)]
pub struct ProgressRow {
    pub bytes_done: i64,
    pub bytes_total: i64,
    pub values_done: i64,
    pub values_total: i64,
    pub words_done: i64,
}

impl ProgressRow {
    pub fn from_engine(p: &tally_engine::Progress, values_total: u64) -> Self {
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            bytes_done: int(p.bytes_done),
            bytes_total: int(p.bytes_total.unwrap_or(0)),
            values_done: int(p.values_done),
            values_total: int(p.values_total.unwrap_or(values_total)),
            words_done: int(p.words_done),
        }
    }

    /// The progress as the API shows it, with rates and an ETA.
    pub fn public(&self, elapsed_secs: f64) -> RunProgress {
        let uint = |v: i64| u64::try_from(v).unwrap_or(0);
        RunProgress {
            bytes_done: uint(self.bytes_done),
            bytes_total: uint(self.bytes_total),
            values_done: uint(self.values_done),
            values_total: uint(self.values_total),
            words_done: uint(self.words_done),
            ..Default::default()
        }
        .derive(elapsed_secs)
    }
}

/// A line of a run's log.
#[derive(Debug, Clone, SurrealValue)]
pub struct LogRow {
    at: DateTime<Utc>,
    message: String,
}

impl LogRow {
    /// A line written now.
    pub fn now(message: String) -> Self {
        Self {
            at: Utc::now(),
            message,
        }
    }
}

#[derive(Debug, Clone, Default, SurrealValue)]
pub struct TimingsRow {
    pub queue_secs: f64,
    pub count_secs: f64,
    pub store_secs: f64,
    pub total_secs: f64,
}

/// A run record.
#[derive(Debug, Clone, SurrealValue)]
pub struct RunRow {
    pub num: i64,
    pub workload: i64,
    pub state: String,
    pub attempt: i64,
    pub src_project: String,
    pub src_dataset: String,
    pub src_table: String,
    pub src_column_name: String,
    /// The options as JSON: a snapshot that later schema changes never reinterpret.
    pub options: String,
    /// `native` or `spark`, as the workload said when the run was queued.
    pub executor: String,
    /// `wordcount` or `ngram`, as the workload was when the run was queued
    /// (migration 10 made every older run `wordcount`).
    pub workload_type: String,
    /// The row filter as JSON, when the workload had one (migration 11).
    pub filter: Option<String>,
    /// The column counted per group of, if any (migration 12).
    pub group_by: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub lease_expires: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub progress: ProgressRow,
    pub total_words: Option<i64>,
    pub distinct_words: Option<i64>,
    pub timings: Option<TimingsRow>,
    pub results_file: Option<String>,
    /// Set when the results are in the run's `run_words` record.
    pub results_inline: Option<bool>,
    pub error: Option<String>,
    log: Vec<LogRow>,
}

impl RunRow {
    /// A new run of `workload`, queued now, with a snapshot of its definition.
    pub fn queued(num: i64, workload: &Workload) -> Result<Self, DbError> {
        let now = Utc::now();
        Ok(RunRow {
            num,
            workload: i64::try_from(workload.id).unwrap_or(i64::MAX),
            state: RunState::Queued.as_str().into(),
            attempt: 0,
            src_project: workload.src_project.clone(),
            src_dataset: workload.src_dataset.clone(),
            src_table: workload.src_table.clone(),
            src_column_name: workload.src_column_name.clone(),
            options: serde_json::to_string(&workload.options)
                .map_err(|e| DbError::Unexpected(e.to_string()))?,
            executor: workload.executor.as_str().into(),
            workload_type: workload.workload_type.as_str().into(),
            filter: (!workload.filter.is_empty())
                .then(|| serde_json::to_string(&workload.filter))
                .transpose()
                .map_err(|e| DbError::Unexpected(e.to_string()))?,
            group_by: workload.group_by.clone(),
            queued_at: now,
            started_at: None,
            finished_at: None,
            lease_owner: None,
            lease_expires: None,
            cancel_requested: false,
            progress: ProgressRow::default(),
            total_words: None,
            distinct_words: None,
            timings: None,
            results_file: None,
            results_inline: None,
            error: None,
            log: vec![LogRow {
                at: now,
                message: "queued".into(),
            }],
        })
    }

    pub fn id(&self) -> u64 {
        u64::try_from(self.num).unwrap_or(0)
    }

    pub fn workload_id(&self) -> u64 {
        u64::try_from(self.workload).unwrap_or(0)
    }

    pub fn state(&self) -> RunState {
        RunState::parse(&self.state).unwrap_or(RunState::Failed)
    }

    /// Where the counts of a succeeded run are (`None` until it succeeds).
    pub fn results(&self) -> Option<ResultsAt> {
        if self.state() != RunState::Succeeded {
            return None;
        }
        if self.results_inline == Some(true) {
            return Some(ResultsAt::Database);
        }
        self.results_file.clone().map(ResultsAt::Files)
    }

    /// What runs the count (migration 8 made every older run `native`). A
    /// value this Tally does not know (written by a newer one, or damaged)
    /// is an error for the run, never a quiet fallback to `native`.
    pub fn executor(&self) -> Result<Executor, String> {
        Executor::parse(&self.executor).ok_or_else(|| {
            format!(
                "the run's stored executor '{}' is not one this Tally knows (native, spark)",
                self.executor
            )
        })
    }

    /// What the run counts, as stored when it was queued; an unknown type is
    /// an error for the run, as for the executor.
    pub fn workload_type(&self) -> Result<WorkloadType, String> {
        WorkloadType::parse(&self.workload_type).ok_or_else(|| {
            format!(
                "the run's stored workload type '{}' is not one this Tally knows ({})",
                self.workload_type,
                WorkloadType::supported()
            )
        })
    }

    /// The options the run counts with, as stored when it was queued. If they
    /// no longer read as options (written by a newer Tally, or damaged), the
    /// run fails saying so rather than counting with other options.
    pub fn options(&self) -> Result<CountOptions, String> {
        serde_json::from_str(&self.options)
            .map_err(|e| format!("the run's stored counting options do not read as options: {e}"))
    }

    /// The rows the run counts, as stored when it was queued; a filter that
    /// no longer reads fails the run, never counts every row instead.
    pub fn filter(&self) -> Result<RowFilter, String> {
        self.filter
            .as_deref()
            .map_or(Ok(RowFilter::default()), |json| {
                serde_json::from_str(json)
                    .map_err(|e| format!("the run's stored row filter does not read as one: {e}"))
            })
    }

    fn elapsed_secs(&self) -> f64 {
        let end = self.finished_at.unwrap_or_else(Utc::now);
        self.started_at
            .map_or(0.0, |started| secs_between(started, end))
    }

    /// The time the words were counted in: once the run has ended, its
    /// reading and counting time (what every page divides words by, so that a
    /// run's words/s is one figure everywhere); until then, its time so far.
    fn counting_secs(&self) -> f64 {
        self.timings()
            .map_or_else(|| self.elapsed_secs(), |t| t.count_secs)
    }

    /// Where the run's time went: as a success recorded it, or, for a run
    /// that ended early after it started (failed or cancelled), from its
    /// timestamps, so that every run that did work shows how long it took.
    fn timings(&self) -> Option<RunTimings> {
        if let Some(t) = &self.timings {
            return Some(RunTimings {
                queue_secs: t.queue_secs,
                count_secs: t.count_secs,
                store_secs: t.store_secs,
                total_secs: t.total_secs,
            });
        }
        let (started, finished) = (self.started_at?, self.finished_at?);
        let queue_secs = secs_between(self.queued_at, started);
        let count_secs = secs_between(started, finished);
        Some(RunTimings {
            queue_secs,
            count_secs,
            store_secs: 0.0,
            total_secs: queue_secs + count_secs,
        })
    }

    pub fn public(&self) -> Run {
        Run {
            id: self.id(),
            workload_id: self.workload_id(),
            state: self.state(),
            attempt: u32::try_from(self.attempt).unwrap_or(0),
            source: format!(
                "{}.{}.{}.{}",
                self.src_project, self.src_dataset, self.src_table, self.src_column_name
            ),
            // Shown as far as they read; a run whose definition does not
            // read fails when dispatched, with the reason in its error.
            options: self.options().unwrap_or_default(),
            executor: self.executor().unwrap_or_default(),
            workload_type: self.workload_type().unwrap_or(WorkloadType::Wordcount),
            filter: self.filter().unwrap_or_default(),
            group_by: self.group_by.clone(),
            queued_at: rfc3339_millis(self.queued_at),
            started_at: self.started_at.map(rfc3339_millis),
            finished_at: self.finished_at.map(rfc3339_millis),
            waited_secs: self
                .started_at
                .map(|started| secs_between(self.queued_at, started)),
            progress: self.progress.public(self.counting_secs()),
            total_words: self.total_words.and_then(|n| u64::try_from(n).ok()),
            distinct_words: self.distinct_words.and_then(|n| u64::try_from(n).ok()),
            timings: self.timings(),
            error: self.error.clone(),
            log: self
                .log
                .iter()
                .map(|l| RunLogEntry {
                    at: rfc3339_millis(l.at),
                    message: l.message.clone(),
                })
                .collect(),
        }
    }

    pub fn summary(&self) -> RunSummary {
        let run = self.public();
        RunSummary {
            id: run.id,
            state: run.state.status(),
            progress: run.progress.fraction,
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            total_words: run.total_words.unwrap_or(run.progress.words_done),
            distinct_words: run.distinct_words,
            duration_secs: run.timings.as_ref().map(|t| t.total_secs),
            queue_secs: run.waited_secs,
            run_secs: run.timings.as_ref().map(RunTimings::run_secs),
            error: run.error,
        }
    }
}

/// Seconds from `from` to `to`, to the millisecond (0 if the clock went back).
pub fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

/// What a heartbeat learnt.
#[derive(Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// Carry on.
    Held,
    /// Someone asked to cancel the run.
    CancelRequested,
    /// The lease is gone (expired and taken, or the run deleted): stop.
    Lost,
}

/// A `run_words` record: a small result as two parallel arrays (typed arrays
/// of scalars are checked faster than an array of objects).
#[derive(Debug, Clone, SurrealValue)]
struct WordsRow {
    words: Vec<String>,
    counts: Vec<i64>,
}

impl WordsRow {
    fn from_counts(counts: &[WordCount]) -> Self {
        Self {
            words: counts.iter().map(|w| w.word.clone()).collect(),
            counts: counts
                .iter()
                .map(|w| i64::try_from(w.count).unwrap_or(i64::MAX))
                .collect(),
        }
    }
}

/// A succeeded run's counts, as the dispatcher hands them over.
#[derive(Clone)]
pub enum NewResults {
    /// Already written to the files of this stem.
    Files(String),
    /// To be stored with the outcome (most frequent first).
    Inline(Vec<WordCount>),
}

/// How a run ended.
#[derive(Clone)]
pub enum Outcome {
    Succeeded {
        total_words: u64,
        distinct_words: u64,
        results: NewResults,
        timings: TimingsRow,
    },
    Failed(String),
    Cancelled(String),
}

/// A run [`RunStore::prune`] deleted.
#[derive(Debug, SurrealValue)]
struct PrunedRun {
    results_file: Option<String>,
}

#[derive(Debug, SurrealValue)]
struct RunCount {
    n: i64,
}

/// A search of runs in the database's terms: the query's days as the instants
/// that bound them (a day is UTC midnight to midnight).
#[derive(Debug, Clone, PartialEq)]
pub struct RunFilter {
    state: Option<&'static str>,
    workload: Option<i64>,
    queued_from: Option<DateTime<Utc>>,
    queued_before: Option<DateTime<Utc>>,
    limit: i64,
    offset: i64,
}

impl RunFilter {
    pub fn of(query: &tally_app::run_list::RunQuery) -> Self {
        let midnight = |day: tally_app::run_list::Day| {
            chrono::NaiveDate::from_ymd_opt(
                i32::from(day.year),
                u32::from(day.month),
                u32::from(day.day),
            )
        };
        Self {
            state: query.state.map(RunState::as_str),
            // An id past i64 matches no workload (as in `page_for_workload`);
            // dropping the filter would answer every workload's runs.
            workload: query
                .workload_id
                .map(|id| i64::try_from(id).unwrap_or(i64::MAX)),
            queued_from: query
                .since
                .and_then(midnight)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
            // The day after `until`, at midnight; after the last day chrono
            // knows there is no bound to give.
            queued_before: query
                .until
                .and_then(midnight)
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
            limit: i64::try_from(query.limit).unwrap_or(i64::MAX),
            offset: i64::try_from(query.offset).unwrap_or(i64::MAX),
        }
    }

    /// The `WHERE` clause (empty without a filter), over `$state`, `$wid`,
    /// `$from` and `$before`.
    fn condition(&self) -> String {
        let parts: Vec<&str> = [
            self.state.map(|_| "state = $state"),
            self.workload.map(|_| "workload = $wid"),
            self.queued_from.map(|_| "queued_at >= $from"),
            self.queued_before.map(|_| "queued_at < $before"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", parts.join(" AND "))
        }
    }
}

/// What [`RunStore::delete_workload`]'s transaction returns.
#[derive(Debug, SurrealValue)]
struct DeletedWorkload {
    found: bool,
    runs: Vec<RunRow>,
}

/// The states of a run that has ended, as a SurrealQL array.
const FINISHED: &str = "['succeeded', 'failed', 'cancelled']";
const SELECT_RUN_COLUMNS: &str = "SELECT * OMIT id";
const SELECT_RUN: &str = "SELECT * OMIT id FROM run";

/// Deletes the counts kept in the database for `$run` (inside a `FOR $run`
/// of a transaction that deletes the run).
const DELETE_INLINE_COUNTS_OF_RUN: &str =
    "IF $run.results_inline { DELETE type::record('run_words', $run.num); };";

/// Sets the workload's status from the run, when the run is its latest.
const SYNC_WORKLOAD: &str =
    "UPDATE type::record('workload', $wid) SET status = $state WHERE last_run = $num";
/// [`SYNC_WORKLOAD`] for `$run`, inside a transaction that changed it.
const SYNC_WORKLOAD_OF_RUN: &str = "UPDATE type::record('workload', $run.workload) \
     SET status = $run.state WHERE last_run = $run.num RETURN NONE;";

pub struct RunStore {
    db: Database,
    ids: IdSequence,
    cache: Arc<WorkloadCache>,
    /// Claims look for queued runs numbered above this one: every run up to
    /// it was claimed, as far as this process knows. The queue's index keeps
    /// the entries of claimed runs as tombstones until the store compacts, and
    /// a scan from the start of the queue stepped over all of them (a claim
    /// took longer the more runs had been claimed before it).
    claimed_through: AtomicI64,
    /// The lowest run number queued since the last claim looked (`i64::MAX`:
    /// none), so that a run committed late under a lower number is not missed.
    lowest_queued: AtomicI64,
}

/// What a heartbeat's statement answers.
#[derive(Debug, SurrealValue)]
struct HeartbeatRow {
    cancel_requested: bool,
    workload: i64,
}

impl RunStore {
    /// A store that reports its changes to no cache.
    pub fn new(db: Database) -> Self {
        Self {
            ids: IdSequence::new(db.clone(), RUN_IDS),
            db,
            cache: Arc::new(WorkloadCache::new(false)),
            claimed_through: AtomicI64::new(0),
            lowest_queued: AtomicI64::new(i64::MAX),
        }
    }

    /// Runs numbered from `first` on were queued (or queued again): the next
    /// claim looks at them.
    pub fn queued_from(&self, first: i64) {
        self.lowest_queued.fetch_min(first, Ordering::SeqCst);
    }

    /// Reports each change to a run (which shows in its workload's summary) to
    /// `cache`.
    pub fn reporting_to(mut self, cache: Arc<WorkloadCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Reserves ids `ahead` at a time (see [`IdSequence::reserving_ahead`]).
    pub fn reserving_ids_ahead(mut self, ahead: usize) -> Self {
        self.ids = self.ids.reserving_ahead(ahead);
        self
    }

    /// `n` fresh run ids, in increasing order, from the sequence every new run
    /// takes its id from (so runs queued by this process are numbered, and so
    /// claimed, in the order they were queued).
    pub async fn take_ids(&self, n: usize) -> Result<Vec<i64>, DbError> {
        self.ids.take(n).await
    }

    /// Hands back the run ids reserved but not used (see [`IdSequence::release`]).
    pub async fn release_ids(&self) -> Result<(), DbError> {
        self.ids.release().await
    }

    fn changed(&self, workload: i64) {
        if let Ok(id) = u64::try_from(workload) {
            self.cache.invalidate(&id);
        }
    }

    /// Queues a run of `workload` with a snapshot of its definition and makes it
    /// the workload's latest run; `None` when the workload is gone or already has
    /// a run queued or running.
    pub async fn enqueue(&self, workload: &Workload) -> Result<Option<RunRow>, DbError> {
        let num = i64::try_from(self.ids.next().await?).unwrap_or(i64::MAX);
        let row = RunRow::queued(num, workload)?;
        let res = self
            .db
            .client()
            .query(
                "BEGIN TRANSACTION;
                 LET $w = (SELECT status FROM ONLY type::record('workload', $wid));
                 IF $w == NONE OR $w.status IN ['queued', 'running'] {
                     THROW 'tally: not enqueued';
                 };
                 CREATE type::record('run', $num) CONTENT $row RETURN NONE;
                 UPDATE type::record('workload', $wid) SET status = 'queued', last_run = $num RETURN NONE;
                 COMMIT TRANSACTION;",
            )
            .bind(("wid", row.workload))
            .bind(("num", num))
            .bind(("row", row.clone()))
            .await;
        self.changed(row.workload);
        let mut res = res?;
        let errors: Vec<surrealdb::Error> = res.take_errors().into_values().collect();
        if errors
            .iter()
            .any(|e| e.to_string().contains("not enqueued"))
        {
            return Ok(None);
        }
        match errors.into_iter().next() {
            Some(e) => Err(e.into()),
            None => {
                self.queued_from(row.num);
                Ok(Some(row))
            }
        }
    }

    pub async fn get(&self, id: u64) -> Result<Option<RunRow>, DbError> {
        let Ok(num) = i64::try_from(id) else {
            return Ok(None);
        };
        let mut res = self
            .db
            .client()
            .query(format!(
                "{SELECT_RUN_COLUMNS} FROM type::record('run', $num)"
            ))
            .bind(("num", num))
            .await?
            .check()?;
        let rows: Vec<RunRow> = res.take(0)?;
        Ok(rows.into_iter().next())
    }

    /// A workload's runs, newest first.
    pub async fn for_workload(&self, workload: u64) -> Result<Vec<RunRow>, DbError> {
        let mut res = self
            .db
            .client()
            .query(format!(
                "{SELECT_RUN} WHERE workload = $wid ORDER BY num DESC"
            ))
            .bind(("wid", i64::try_from(workload).unwrap_or(i64::MAX)))
            .await?
            .check()?;
        Ok(res.take(0)?)
    }

    /// Runs queued or running, oldest first (at most `limit`).
    pub async fn active(&self, limit: u64) -> Result<Vec<RunRow>, DbError> {
        let mut res = self
            .db
            .client()
            .query(format!(
                "{SELECT_RUN} WHERE state IN ['running', 'queued'] ORDER BY num LIMIT $limit"
            ))
            .bind(("limit", i64::try_from(limit).unwrap_or(i64::MAX)))
            .await?
            .check()?;
        Ok(res.take(0)?)
    }

    /// The newest runs that have finished, newest first (at most `limit`).
    pub async fn recent_finished(&self, limit: u64) -> Result<Vec<RunRow>, DbError> {
        let mut res = self
            .db
            .client()
            .query(format!(
                "{SELECT_RUN} WHERE state IN {FINISHED} ORDER BY num DESC LIMIT $limit"
            ))
            .bind(("limit", i64::try_from(limit).unwrap_or(i64::MAX)))
            .await?
            .check()?;
        Ok(res.take(0)?)
    }

    /// The latest run of each of these workloads, by workload id.
    pub async fn latest_for(&self, workloads: &[u64]) -> Result<HashMap<u64, RunRow>, DbError> {
        // Record ids are key lookups; a `WHERE num IN (subquery)` would scan every
        // run (measured: a GET of one workload fell to 7 req/s with 17 000 runs).
        let workload_ids: Vec<RecordId> = workloads
            .iter()
            .filter_map(|&i| i64::try_from(i).ok())
            .map(|i| RecordId::new("workload", i))
            .collect();
        if workload_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut res = self
            .db
            .client()
            .query("SELECT VALUE last_run FROM $ids WHERE last_run != NONE")
            .bind(("ids", workload_ids))
            .await?
            .check()?;
        let last_runs: Vec<i64> = res.take(0)?;
        let run_ids: Vec<RecordId> = last_runs
            .into_iter()
            .map(|n| RecordId::new("run", n))
            .collect();
        if run_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut res = self
            .db
            .client()
            .query(format!("{SELECT_RUN_COLUMNS} FROM $ids"))
            .bind(("ids", run_ids))
            .await?
            .check()?;
        let rows: Vec<RunRow> = res.take(0)?;
        Ok(rows.into_iter().map(|r| (r.workload_id(), r)).collect())
    }

    /// Claims the oldest queued run for `owner` until `lease_until`, and marks
    /// its workload running (one transaction).
    pub async fn claim(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<RunRow>, DbError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // A statement of its own: the planner seeks into the (state, num)
            // index and stops at the first entry; as a subquery of the UPDATE
            // below it read every queued run (200 ms a claim with 11 000 queued).
            let fresh = self.lowest_queued.swap(i64::MAX, Ordering::SeqCst);
            let after = self
                .claimed_through
                .load(Ordering::SeqCst)
                .min(fresh.saturating_sub(1));
            let mut res = self
                .db
                .client()
                .query("SELECT VALUE num FROM run WHERE state = 'queued' AND num > $after ORDER BY num LIMIT 1")
                .bind(("after", after))
                .await?
                .check()?;
            let next: Vec<i64> = res.take(0)?;
            let Some(num) = next.first().copied() else {
                if after > 0 {
                    // Look once from the start: a run queued by another
                    // process, or requeued, may sit below the mark.
                    self.claimed_through.store(0, Ordering::SeqCst);
                    continue;
                }
                return Ok(None);
            };
            let outcome = self
                .db
                .client()
                .query(format!(
                    "BEGIN TRANSACTION;
                     LET $claimed = (UPDATE type::record('run', $num)
                         SET state = 'running', attempt += 1, started_at = time::now(),
                             lease_owner = $owner, lease_expires = $until,
                             log += {{ at: time::now(), message: 'started (attempt ' + <string> (attempt + 1) + ')' }}
                         WHERE state = 'queued' RETURN AFTER);
                     FOR $run IN $claimed {{ {SYNC_WORKLOAD_OF_RUN} }};
                     RETURN $claimed;
                     COMMIT TRANSACTION;"
                ))
                .bind(("num", num))
                .bind(("owner", owner.to_string()))
                .bind(("until", lease_until))
                .await
                .and_then(crate::db::checked);
            match outcome {
                Ok(mut res) => {
                    let rows: Vec<RunRow> = res.take(last_of_transaction(&res))?;
                    // Claimed now, here or (when nothing came back) elsewhere.
                    self.claimed_through.store(num, Ordering::SeqCst);
                    if let Some(run) = rows.into_iter().next() {
                        self.changed(run.workload);
                        return Ok(Some(run));
                    }
                    // Taken by another dispatcher between the two statements.
                }
                // Another dispatcher claimed the same run at the same moment.
                Err(e) if crate::db::is_conflict(&e) && attempt < 10 => {
                    self.queued_from(num);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// How many runs are in each state, and when the oldest queued run was
    /// queued (for `GET /metrics`).
    pub async fn state_counts(
        &self,
    ) -> Result<(HashMap<String, u64>, Option<DateTime<Utc>>), DbError> {
        #[derive(SurrealValue)]
        struct StateCount {
            state: String,
            n: i64,
        }
        #[derive(SurrealValue)]
        struct Queued {
            queued_at: DateTime<Utc>,
        }
        let mut res = self
            .db
            .execute(|client| {
                client.query(
                    "SELECT state, count() AS n FROM run GROUP BY state;
                     SELECT queued_at FROM run WHERE state = 'queued' ORDER BY queued_at LIMIT 1;",
                )
            })
            .await?;
        let counts: Vec<StateCount> = res.take(0)?;
        let oldest: Vec<Queued> = res.take(1)?;
        let counts = counts
            .into_iter()
            .map(|c| (c.state, u64::try_from(c.n).unwrap_or(0)))
            .collect();
        Ok((counts, oldest.into_iter().next().map(|q| q.queued_at)))
    }

    /// Renews the lease, saves the progress and appends `log` (lines the
    /// dispatcher wrote since the last heartbeat: saved with it rather than
    /// each in a transaction of its own).
    pub async fn heartbeat(
        &self,
        id: u64,
        owner: &str,
        lease_until: DateTime<Utc>,
        progress: ProgressRow,
        log: Vec<LogRow>,
    ) -> Result<Heartbeat, DbError> {
        let mut res = self
            .db
            .execute(|client| {
                client
                    .query(
                        "UPDATE type::record('run', $num)
                         SET lease_expires = $until, progress = $progress, log += $log
                         WHERE state = 'running' AND lease_owner = $owner
                         RETURN cancel_requested, workload",
                    )
                    .bind(("num", i64::try_from(id).unwrap_or(i64::MAX)))
                    .bind(("owner", owner.to_string()))
                    .bind(("until", lease_until))
                    .bind(("progress", progress.clone()))
                    .bind(("log", log.clone()))
            })
            .await?;
        let answer: Vec<HeartbeatRow> = res.take(0)?;
        Ok(match answer.first() {
            None => Heartbeat::Lost,
            Some(row) => {
                self.changed(row.workload);
                if row.cancel_requested {
                    Heartbeat::CancelRequested
                } else {
                    Heartbeat::Held
                }
            }
        })
    }

    /// Ends a running run held by `owner` and sets its workload's status, in
    /// one transaction; `log` is what the dispatcher wrote since the last
    /// heartbeat. `None` when the run is no longer held (then the outcome was
    /// not recorded, and its results must be discarded).
    pub async fn finish(
        &self,
        id: u64,
        owner: &str,
        outcome: Outcome,
        progress: ProgressRow,
        mut log: Vec<LogRow>,
    ) -> Result<Option<RunRow>, DbError> {
        let num = i64::try_from(id).unwrap_or(i64::MAX);
        let (state, message, error, totals, results, timings) = match outcome {
            Outcome::Succeeded {
                total_words,
                distinct_words,
                results,
                timings,
            } => (
                RunState::Succeeded,
                format!(
                    "succeeded: {} words, {} distinct",
                    tally_app::format::thousands(total_words),
                    tally_app::format::thousands(distinct_words)
                ),
                None,
                Some((
                    i64::try_from(total_words).unwrap_or(i64::MAX),
                    i64::try_from(distinct_words).unwrap_or(i64::MAX),
                )),
                Some(results),
                Some(timings),
            ),
            Outcome::Failed(reason) => (
                RunState::Failed,
                format!("failed: {reason}"),
                Some(reason),
                None,
                None,
                None,
            ),
            Outcome::Cancelled(reason) => {
                (RunState::Cancelled, reason.clone(), None, None, None, None)
            }
        };
        let (file, words) = match results {
            Some(NewResults::Files(stem)) => (Some(stem), None),
            Some(NewResults::Inline(words)) => (None, Some(WordsRow::from_counts(&words))),
            None => (None, None),
        };
        let inline = words.is_some().then_some(true);
        log.push(LogRow::now(message));
        // A success is recorded only if nobody asked to cancel in the meantime.
        let guard = if state == RunState::Succeeded {
            "AND cancel_requested = false"
        } else {
            ""
        };
        // Small results are stored here, so that they are committed exactly
        // when the run becomes `succeeded`, as a file's name is.
        let sql = format!(
            "BEGIN TRANSACTION;
             LET $done = (UPDATE type::record('run', $num) SET state = $state, finished_at = time::now(),
                     lease_owner = NONE, lease_expires = NONE, error = $error, total_words = $total,
                     distinct_words = $distinct, results_file = $file, results_inline = $inline,
                     timings = $timings, progress = $progress, log += $log
                 WHERE state = 'running' AND lease_owner = $owner {guard}
                 RETURN AFTER);
             FOR $run IN $done {{
                 {SYNC_WORKLOAD_OF_RUN}
                 IF $words != NONE {{
                     UPSERT type::record('run_words', $run.num) CONTENT $words RETURN NONE;
                 }};
             }};
             RETURN $done;
             COMMIT TRANSACTION;"
        );
        let mut res = self
            .db
            .execute(|client| {
                client
                    .query(sql.as_str())
                    .bind(("num", num))
                    .bind(("owner", owner.to_string()))
                    .bind(("state", state.as_str().to_string()))
                    .bind(("error", error.clone()))
                    .bind(("total", totals.map(|t| t.0)))
                    .bind(("distinct", totals.map(|t| t.1)))
                    .bind(("file", file.clone()))
                    .bind(("inline", inline))
                    .bind(("words", words.clone()))
                    .bind(("timings", timings.clone()))
                    .bind(("progress", progress.clone()))
                    .bind(("log", log.clone()))
            })
            .await?;
        let rows: Vec<RunRow> = res.take(last_of_transaction(&res))?;
        let run = rows.into_iter().next();
        if let Some(run) = &run {
            self.changed(run.workload);
        }
        Ok(run)
    }

    /// Cancels a queued run at once, or asks the dispatcher running it to stop.
    /// Returns the run as it now is (`None` if it does not exist).
    pub async fn request_cancel(&self, id: u64) -> Result<Option<RunRow>, DbError> {
        let num = i64::try_from(id).unwrap_or(i64::MAX);
        let mut res = self
            .db
            .execute(|client| {
                client
                    .query(
                        "UPDATE run SET state = 'cancelled', finished_at = time::now(),
                     log += { at: time::now(), message: 'cancelled while queued' }
                 WHERE num = $num AND state = 'queued' RETURN AFTER;
                 UPDATE run SET cancel_requested = true,
                     log += { at: time::now(), message: 'cancel requested' }
                 WHERE num = $num AND state = 'running' AND cancel_requested = false RETURN AFTER;",
                    )
                    .bind(("num", num))
            })
            .await?;
        let queued: Vec<RunRow> = res.take(0)?;
        if let Some(run) = queued.into_iter().next() {
            self.sync_workload(&run).await?;
            return Ok(Some(run));
        }
        let running: Vec<RunRow> = res.take(1)?;
        if let Some(run) = running.into_iter().next() {
            self.changed(run.workload);
            return Ok(Some(run));
        }
        self.get(id).await
    }

    /// Puts runs whose dispatcher died back in the queue, or fails them after
    /// [`MAX_ATTEMPTS`]. With `all_running`, every running run is taken as
    /// orphaned (an embedded database has one process); otherwise only those
    /// whose lease expired. Returns the runs changed.
    pub async fn recover(&self, all_running: bool) -> Result<Vec<RunRow>, DbError> {
        let (expired, why) = if all_running {
            ("", "the server stopped")
        } else {
            (
                "AND lease_expires < time::now()",
                "its lease ran out: the server or dispatcher slot running it stopped",
            )
        };
        let mut res = self
            .db
            .client()
            .query(format!(
                "UPDATE run SET state = 'queued', lease_owner = NONE, lease_expires = NONE,
                     started_at = NONE,
                     log += {{ at: time::now(), message: 'interrupted ({why}); queued again' }}
                 WHERE state = 'running' {expired} AND attempt < $max RETURN AFTER;
                 UPDATE run SET state = 'failed', finished_at = time::now(), lease_owner = NONE,
                     lease_expires = NONE, error = 'interrupted',
                     log += {{ at: time::now(), message: 'interrupted too often: failed' }}
                 WHERE state = 'running' {expired} RETURN AFTER;"
            ))
            .bind(("max", MAX_ATTEMPTS))
            .await?
            .check()?;
        let mut changed: Vec<RunRow> = res.take(0)?;
        if let Some(first) = changed.iter().map(|r| r.num).min() {
            self.queued_from(first);
        }
        changed.extend(res.take::<Vec<RunRow>>(1)?);
        for run in &changed {
            self.sync_workload(run).await?;
        }
        Ok(changed)
    }

    /// Deletes the finished runs of `workload` that `retention` does not keep,
    /// with the counts kept in the database for them, in one transaction;
    /// returns their results files. Queued and running runs are never
    /// touched, and the newest finished run (the workload's latest result) is
    /// always kept, however old.
    pub async fn prune(&self, workload: u64, retention: Retention) -> Result<Vec<String>, DbError> {
        // "Every run" as a LIMIT SurrealDB takes in all its executors.
        let keep = match retention.keep_runs {
            0 => i64::from(u32::MAX),
            n => i64::try_from(n).unwrap_or(i64::MAX),
        };
        let cutoff = retention
            .keep_for
            .and_then(|age| chrono::TimeDelta::from_std(age).ok())
            .and_then(|age| Utc::now().checked_sub_signed(age));
        let too_old = if cutoff.is_some() {
            "OR finished_at < $cutoff"
        } else {
            ""
        };
        let res = self
            .db
            .execute(|client| {
                let query = client
                    .query(format!(
                        "BEGIN TRANSACTION;
                         LET $newest = (SELECT VALUE num FROM run
                             WHERE workload = $wid AND state IN {FINISHED}
                             ORDER BY num DESC LIMIT $keep);
                         LET $old = (SELECT num, results_file, results_inline FROM run
                             WHERE workload = $wid AND state IN {FINISHED}
                                 AND num < $newest[0] AND (num NOT IN $newest {too_old}));
                         FOR $run IN $old {{
                             DELETE type::record('run', $run.num);
                             {DELETE_INLINE_COUNTS_OF_RUN}
                         }};
                         RETURN $old;
                         COMMIT TRANSACTION;"
                    ))
                    .bind(("wid", i64::try_from(workload).unwrap_or(i64::MAX)))
                    .bind(("keep", keep));
                match cutoff {
                    Some(cutoff) => query.bind(("cutoff", cutoff)),
                    None => query,
                }
            })
            .await;
        self.cache.invalidate(&workload);
        let mut res = res?;
        let pruned: Vec<PrunedRun> = res.take(last_of_transaction(&res))?;
        Ok(pruned.into_iter().filter_map(|r| r.results_file).collect())
    }

    /// One page of a workload's runs, newest first, and how many it has.
    pub async fn page_for_workload(
        &self,
        workload: u64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<RunRow>, u64), DbError> {
        self.search(&RunFilter {
            state: None,
            workload: Some(i64::try_from(workload).unwrap_or(i64::MAX)),
            queued_from: None,
            queued_before: None,
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
        })
        .await
    }

    /// Runs the filter keeps, newest first, a page at a time, and how many
    /// it keeps in all.
    pub async fn search(&self, filter: &RunFilter) -> Result<(Vec<RunRow>, u64), DbError> {
        let condition = filter.condition();
        let mut res = self
            .db
            .client()
            .query(format!(
                "{SELECT_RUN} {condition} ORDER BY num DESC LIMIT $limit START $offset;
                 SELECT count() AS n FROM run {condition} GROUP ALL;"
            ))
            .bind(("state", filter.state.unwrap_or_default().to_string()))
            .bind(("wid", filter.workload.unwrap_or_default()))
            .bind(("from", filter.queued_from.unwrap_or_default()))
            .bind(("before", filter.queued_before.unwrap_or_default()))
            .bind(("limit", filter.limit))
            .bind(("offset", filter.offset))
            .await?
            .check()?;
        let rows: Vec<RunRow> = res.take(0)?;
        let total: Vec<RunCount> = res.take(1)?;
        let total = total.first().map_or(0, |c| u64::try_from(c.n).unwrap_or(0));
        Ok((rows, total))
    }

    /// Deletes a workload, its runs and the results kept with them, in one
    /// transaction (no interleaving leaves a workload without its runs, or
    /// runs without their workload); returns the runs' results files, or
    /// `None` when there is no such workload.
    pub async fn delete_workload(&self, workload: u64) -> Result<Option<Vec<String>>, DbError> {
        let res = self
            .db
            .execute(|client| {
                client
                    .query(format!(
                        "BEGIN TRANSACTION;
                         LET $workload = (DELETE type::record('workload', $wid) RETURN BEFORE);
                         LET $gone = IF array::len($workload) > 0 {{
                             DELETE run WHERE workload = $wid RETURN BEFORE
                         }} ELSE {{ [] }};
                         FOR $run IN $gone {{ {DELETE_INLINE_COUNTS_OF_RUN} }};
                         RETURN {{ found: array::len($workload) > 0, runs: $gone }};
                         COMMIT TRANSACTION;"
                    ))
                    .bind(("wid", i64::try_from(workload).unwrap_or(i64::MAX)))
            })
            .await;
        self.cache.invalidate(&workload);
        let mut res = res?;
        let deleted: Option<DeletedWorkload> = res.take(last_of_transaction(&res))?;
        Ok(deleted
            .filter(|d| d.found)
            .map(|d| d.runs.into_iter().filter_map(|r| r.results_file).collect()))
    }

    /// The counts kept in the database for run `id`, most frequent first.
    pub async fn words(&self, id: u64) -> Result<Vec<WordCountRow>, DbError> {
        let mut res = self
            .db
            .client()
            .query("SELECT words, counts FROM type::record('run_words', $num)")
            .bind(("num", i64::try_from(id).unwrap_or(i64::MAX)))
            .await?
            .check()?;
        let rows: Vec<WordsRow> = res.take(0)?;
        let stored = rows
            .into_iter()
            .next()
            .ok_or_else(|| DbError::Unexpected(format!("run {id} succeeded without its counts")))?;
        if stored.words.len() != stored.counts.len() {
            return Err(DbError::Unexpected(format!(
                "run {id} has {} words and {} counts",
                stored.words.len(),
                stored.counts.len()
            )));
        }
        Ok(stored
            .words
            .into_iter()
            .zip(stored.counts)
            .map(|(word, count)| WordCountRow {
                word,
                count: u64::try_from(count).unwrap_or(0),
            })
            .collect())
    }

    /// The results files of every succeeded run (to sweep strays).
    pub async fn results_files(&self) -> Result<Vec<String>, DbError> {
        let mut res = self
            .db
            .client()
            .query("SELECT VALUE results_file FROM run WHERE results_file != NONE")
            .await?
            .check()?;
        Ok(res.take(0)?)
    }

    async fn sync_workload(&self, run: &RunRow) -> Result<(), DbError> {
        let outcome = self
            .db
            .execute(|client| {
                client
                    .query(SYNC_WORKLOAD)
                    .bind(("wid", run.workload))
                    .bind(("num", run.num))
                    .bind(("state", run.state.clone()))
            })
            .await;
        // The run itself changed too, whether or not the workload did.
        self.changed(run.workload);
        outcome?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use tally_app::workload::{WorkloadSpec, WorkloadType};

    use super::*;
    use crate::workloads::WorkloadStore;

    /// A migrated database in a temporary directory and the stores on it.
    async fn stores() -> (tempfile::TempDir, Database, WorkloadStore, RunStore) {
        let (dir, db) = crate::migrations::migrated_in_temp_dir().await;
        let (workloads, runs) = (WorkloadStore::new(db.clone()), RunStore::new(db.clone()));
        (dir, db, workloads, runs)
    }

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            workload_type: WorkloadType::Wordcount,
            name: "w".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            options: CountOptions::default(),
            executor: tally_app::workload::Executor::Native,
            filter: Default::default(),
            group_by: None,
        }
    }

    #[tokio::test]
    async fn a_stored_definition_that_no_longer_reads_is_an_error_not_the_defaults() {
        let (_dir, db, workloads, runs) = stores().await;
        let id = workloads.next_id().await.expect("id");
        let w = workloads.insert(id, &spec()).await.expect("insert");
        let run = runs.enqueue(&w).await.expect("enqueue").expect("queued");
        assert!(run.options().is_ok() && run.executor().is_ok());
        // As a newer Tally (or damage) could leave them. (The schema itself
        // refuses an executor it does not list.)
        db.client()
            .query("UPDATE type::record('run', $num) SET options = $options")
            .bind(("num", i64::try_from(run.id()).expect("id")))
            .bind(("options", r#"{"tokenizer":"shouty"}"#.to_string()))
            .await
            .expect("update")
            .check()
            .expect("updated");
        let stored = runs.get(run.id()).await.expect("get").expect("run");
        let options = stored.options().expect_err("options do not read");
        assert!(
            options.contains("do not read") && options.contains("shouty"),
            "{options}"
        );
        let unknown = RunRow {
            executor: "gpu".into(),
            ..stored.clone()
        };
        let executor = unknown.executor().expect_err("unknown executor");
        assert!(executor.contains("'gpu'"), "{executor}");
        // The run is still shown (as far as it reads).
        assert_eq!(stored.public().id, run.id());
    }

    #[tokio::test]
    async fn two_dispatchers_never_claim_the_same_run() {
        let (_dir, db, workloads, runs) = stores().await;
        let spec = spec();
        let mut queued = HashSet::new();
        for _ in 0..30 {
            let id = workloads.next_id().await.expect("id");
            let w = workloads.insert(id, &spec).await.expect("insert");
            let run = runs.enqueue(&w).await.expect("enqueue").expect("queued");
            queued.insert(run.id());
            assert!(
                runs.enqueue(&w).await.expect("enqueue").is_none(),
                "one active run per workload"
            );
        }
        // Two dispatchers (separate stores, as two processes would have) race.
        let claimers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|owner| {
                let store = Arc::new(RunStore::new(db.clone()));
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let until = Utc::now() + chrono::TimeDelta::seconds(60);
                    while let Some(run) = store.claim(owner, until).await.expect("claim") {
                        assert_eq!(run.lease_owner.as_deref(), Some(owner));
                        mine.push(run.id());
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for c in claimers {
            claimed.extend(c.await.expect("claimer"));
        }
        let distinct: HashSet<u64> = claimed.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            claimed.len(),
            "a run claimed twice: {claimed:?}"
        );
        assert_eq!(distinct, queued);
        // Oldest first: each dispatcher saw increasing ids.
        let recovered = runs.recover(true).await.expect("recover");
        assert_eq!(recovered.len(), 30);
        assert!(recovered.iter().all(|r| r.state() == RunState::Queued));
    }

    #[tokio::test]
    async fn small_results_are_committed_with_the_outcome_and_deleted_with_the_run() {
        let (_dir, _db, workloads, runs) = stores().await;
        let spec = spec();
        let counts = vec![
            WordCount {
                word: "the".into(),
                count: 7,
            },
            WordCount {
                word: "Über".into(),
                count: 2,
            },
        ];
        let succeeded = || Outcome::Succeeded {
            total_words: 9,
            distinct_words: 2,
            results: NewResults::Inline(counts.clone()),
            timings: TimingsRow::default(),
        };
        let until = Utc::now() + chrono::TimeDelta::seconds(60);
        let mut run_ids = Vec::new();
        for _ in 0..2 {
            let w = workloads
                .insert(workloads.next_id().await.expect("id"), &spec)
                .await
                .expect("insert");
            runs.enqueue(&w).await.expect("enqueue").expect("queued");
            let run = runs.claim("a", until).await.expect("claim").expect("run");
            run_ids.push(run.id());
        }
        let (kept, refused) = (run_ids[0], run_ids[1]);

        let done = runs
            .finish(kept, "a", succeeded(), ProgressRow::default(), Vec::new())
            .await
            .expect("finish")
            .expect("held");
        assert_eq!(done.results(), Some(ResultsAt::Database));
        let stored = runs.words(kept).await.expect("words");
        let expected: Vec<(String, u64)> =
            counts.iter().map(|w| (w.word.clone(), w.count)).collect();
        let got: Vec<(String, u64)> = stored.into_iter().map(|r| (r.word, r.count)).collect();
        assert_eq!(got, expected);

        // An outcome from a dispatcher that no longer holds the run stores nothing.
        let outcome = runs
            .finish(
                refused,
                "b",
                succeeded(),
                ProgressRow::default(),
                Vec::new(),
            )
            .await
            .expect("finish");
        assert!(outcome.is_none());
        assert!(runs.words(refused).await.is_err());

        let workload = runs
            .get(kept)
            .await
            .expect("get")
            .expect("run")
            .workload_id();
        let files = runs.delete_workload(workload).await.expect("delete");
        assert_eq!(files, Some(Vec::new()));
        assert!(
            runs.words(kept).await.is_err(),
            "the counts outlived their run"
        );
    }
}
