//! The durable queue: a run's life from queued to its end, each step one
//! conditional statement, so that two dispatchers racing for a run, or a
//! cancel racing a finish, resolve in the database.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use tally_app::run::RunState;
use tally_app::workload::Workload;
use tally_engine::WordCount;

use super::rows::{LogRow, ProgressRow, RunRow, TimingsRow, WordsRow};
use super::{RunStore, SYNC_WORKLOAD_OF_RUN};
use crate::store::database::{DbError, last_of_transaction};

/// Runs interrupted more often than this fail for good.
pub const MAX_ATTEMPTS: i64 = 3;

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

/// What a heartbeat's statement answers.
#[derive(Debug, SurrealValue)]
struct HeartbeatRow {
    cancel_requested: bool,
    workload: i64,
}

impl RunStore {
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
                .and_then(crate::store::database::checked);
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
                Err(e) if crate::store::database::is_conflict(&e) && attempt < 10 => {
                    self.queued_from(num);
                }
                Err(e) => return Err(e.into()),
            }
        }
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
}
