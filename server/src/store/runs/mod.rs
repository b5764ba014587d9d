//! [`RunStore`]: run records in SurrealDB, which are also the durable queue.
//!
//! The records ([`rows`]), the queue's steps from queued to ended ([`queue`]),
//! and here the reads, searches, retention and deletes. Every state change is
//! one conditional statement (`... WHERE state = ...`), so two dispatchers
//! racing for a run, or a cancel racing a finish, resolve in the database:
//! exactly one of them changes the record. Each change also sets the
//! workload's status when the run is still the workload's latest.

mod queue;
mod rows;

pub use queue::{Heartbeat, MAX_ATTEMPTS, NewResults, Outcome};
use rows::WordsRow;
pub use rows::{LogRow, ProgressRow, RunRow, TimingsRow, secs_between};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use tally_app::run::RunState;
use tally_app::run::WordCountRow;

use crate::runs::Retention;
use crate::store::cache::WorkloadCache;
use crate::store::database::{Database, DbError, last_of_transaction, record_ids};
use crate::store::sequence::{IdSequence, RUN_IDS};

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
        let workload_ids = record_ids("workload", workloads.iter().copied());
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
        let run_ids = record_ids("run", last_runs.into_iter().flat_map(u64::try_from));
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

    use tally_engine::{CountOptions, WordCount};

    use super::*;
    use crate::runs::results::ResultsAt;
    use crate::store::workloads::WorkloadStore;

    /// A migrated database in a temporary directory and the stores on it.
    async fn stores() -> (tempfile::TempDir, Database, WorkloadStore, RunStore) {
        let (dir, db) = crate::store::migrations::migrated_in_temp_dir().await;
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
