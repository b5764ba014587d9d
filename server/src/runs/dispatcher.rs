//! The dispatcher: claims queued runs, counts them on their executor, stores
//! results.
//!
//! Each of `--workers` slots is a tokio task that claims the oldest queued run
//! (with a lease renewed by a heartbeat every second) and counts it: a native
//! run scans the source column and counts it on the runs' own rayon pool from
//! a blocking thread, so tokio's workers never count; a Spark run submits an
//! application ([`super::spark`]) and waits for its counts. Either way the
//! counts are stored the same way. The heartbeat also persists progress (once
//! a second), notices cancel requests made through another process, and
//! enforces the run timeout.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use tally_app::format::thousands;
use tally_app::names::TableRef;
use tally_app::run::{RunState, ServerEvent};
use tally_app::workload::Executor;
use tally_engine::{CancelToken, Control, CountError, CountResult, Engine, Pace};
use tokio::task::JoinHandle;

use super::EventBus;
use super::context::RunContext;
use super::job::Job;
use super::results::{GroupWords, INLINE_WORDS};
use super::spark::{SparkCount, SparkError, Update};
use crate::store::catalog;
use crate::store::runs::{
    Heartbeat, LogRow, NewResults, Outcome, ProgressRow, RunRow, TimingsRow, secs_between,
};
use crate::tables::reader::ReadLease;
use crate::tables::scan::{Grouping, check_column};

/// How often a running run's lease is renewed and its progress saved.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often an idle slot looks for work it was not woken for (runs queued by
/// another process, expired leases).
const POLL: Duration = Duration::from_secs(2);

/// How often recording a run's end is tried before the run is failed with
/// the reason (and, if even that cannot be written, left to lease recovery).
const FINISH_TRIES: u32 = 5;

/// Starts the dispatcher's tasks: its slots and the recovery of runs whose
/// lease expired.
pub fn start(ctx: RunContext) {
    for slot in 0..ctx.queue.settings.workers {
        tokio::spawn(supervise(slot, ctx.clone()));
    }
    // Runs whose lease expired are re-queued in every mode: another process
    // died (a shared database), or a slot of this one crashed with a run.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(ctx.queue.settings.lease).await;
            match ctx.recover(false).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(runs = n, "re-queued runs whose lease expired"),
                Err(e) => tracing::error!(error = %e, "lease recovery failed"),
            }
        }
    });
}

/// Runs a slot, and starts it again if it panics: a bug met by one run must
/// not leave the queue with one worker fewer for the rest of the server's
/// life. The run it held stops renewing its lease and is re-queued by lease
/// recovery (failed after its last attempt).
async fn supervise(slot: usize, ctx: RunContext) {
    loop {
        tracing::debug!(slot, "dispatcher slot started");
        match tokio::spawn(slot_loop(ctx.clone())).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                tracing::error!(slot, "a dispatcher slot crashed; starting it again");
                tokio::time::sleep(POLL).await;
            }
            Err(_) => return,
        }
    }
}

async fn slot_loop(ctx: RunContext) {
    let queue = &ctx.queue;
    loop {
        let lease_until = Utc::now() + queue.lease_delta();
        match ctx.runs.claim(&queue.owner, lease_until).await {
            Ok(Some(run)) => {
                // Tests crash a slot holding a claimed run here.
                fail::fail_point!("dispatcher-slot");
                execute(&ctx, run).await
            }
            Ok(None) => {
                tokio::select! {
                    () = queue.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim a run");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// Why a run was stopped before its count finished.
#[derive(Debug, Clone)]
enum StopReason {
    Cancelled,
    TimedOut(Duration),
    LeaseLost,
}

async fn execute(ctx: &RunContext, run: RunRow) {
    let id = run.id();
    let queue = &ctx.queue;
    let started = Instant::now();
    let _active = ctx.metrics.run_started();
    tracing::info!(run = id, workload = run.workload, "run started");
    ctx.events.publish_run(&run);
    let token = CancelToken::new();
    queue.register(id, token.clone());
    let mut log = Vec::new();
    let outcome = count_and_store(ctx, &run, &token, started, &mut log).await;
    queue.unregister(id);
    let (outcome, progress, stem) = outcome;
    let owner = &queue.owner;
    match finish(ctx, id, outcome, progress.clone(), log).await {
        Ok(Some(done)) => {
            // Recorded as failed after all (its success could not be written):
            // the files written for the success belong to no run.
            if let Some(stem) = stem
                && done.results_file.as_deref() != Some(stem.as_str())
            {
                ctx.results.discard(&stem).await;
            }
            tracing::info!(run = id, state = %done.state, secs = started.elapsed().as_secs_f64(), "run finished");
            ctx.metrics
                .run_finished(&done.state, started.elapsed(), done.public().throughput());
            ctx.events.publish_run(&done);
            match ctx.apply_retention(run.workload_id()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(workload = run.workload, files = n, "old runs deleted"),
                Err(e) => {
                    tracing::warn!(workload = run.workload, error = %e, "cannot delete old runs")
                }
            }
        }
        Ok(None) => {
            // Cancelled at the last moment, deleted, or taken over: this outcome
            // was not recorded. Record a cancel if one was asked for.
            if let Some(stem) = stem {
                discard_unless_recorded(ctx, id, &stem).await;
            }
            let asked = matches!(ctx.runs.get(id).await, Ok(Some(r)) if r.cancel_requested && r.state() == RunState::Running);
            if asked {
                let cancelled = Outcome::Cancelled("cancelled while running".into());
                if let Ok(Some(done)) = ctx
                    .runs
                    .finish(id, owner, cancelled, progress, Vec::new())
                    .await
                {
                    ctx.events.publish_run(&done);
                }
            }
        }
        Err(e) => {
            // Not even the failure could be written: the lease runs out and
            // recovery takes the run; its files must not outlive it.
            tracing::error!(run = id, error = %e, "cannot record the end of a run");
            if let Some(stem) = stem {
                discard_unless_recorded(ctx, id, &stem).await;
            }
        }
    }
}

/// Removes an attempt's results files unless the run refers to them after
/// all (a try whose answer was lost may have committed). When the database
/// cannot tell, the files stay for the next start's sweep to judge.
async fn discard_unless_recorded(ctx: &RunContext, id: u64, stem: &str) {
    match ctx.runs.get(id).await {
        Ok(Some(run)) if run.results_file.as_deref() == Some(stem) => {}
        Ok(_) => ctx.results.discard(stem).await,
        Err(e) => {
            tracing::warn!(run = id, error = %e, "left results files for the next start's sweep")
        }
    }
}

/// Records a run's end, trying again on errors (a database restarting, a
/// full disk being cleared). If the outcome still cannot be written, the run
/// is failed with the reason, so it never stays `running`.
async fn finish(
    ctx: &RunContext,
    id: u64,
    outcome: Outcome,
    progress: ProgressRow,
    log: Vec<LogRow>,
) -> Result<Option<RunRow>, crate::store::database::DbError> {
    let owner = &&ctx.queue.owner;
    let mut pause = Duration::from_millis(200);
    let mut last_error = None;
    for attempt in 1..=FINISH_TRIES {
        match record_end(
            ctx,
            id,
            owner,
            outcome.clone(),
            progress.clone(),
            log.clone(),
        )
        .await
        {
            Ok(done) => return Ok(done),
            Err(e) => {
                tracing::warn!(run = id, attempt, error = %e, "cannot record the end of a run; trying again");
                last_error = Some(e);
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
        }
    }
    let reason = last_error.map_or_else(String::new, |e| e.to_string());
    let failed = Outcome::Failed(format!("cannot record the run's result: {reason}"));
    record_end(ctx, id, owner, failed, progress, log).await
}

/// One try at writing a run's end.
async fn record_end(
    ctx: &RunContext,
    id: u64,
    owner: &str,
    outcome: Outcome,
    progress: ProgressRow,
    log: Vec<LogRow>,
) -> Result<Option<RunRow>, crate::store::database::DbError> {
    // Tests make the database refuse the write here.
    fail::fail_point!("run-finish", |_| Err(
        crate::store::database::DbError::Unexpected("injected fault: run-finish".into())
    ));
    ctx.runs.finish(id, owner, outcome, progress, log).await
}

/// What an attempt at a run ended with: the outcome to record, the last
/// progress and, on success, the stem of the results files written (a small
/// result has none).
type Attempt = (Outcome, ProgressRow, Option<String>);

/// Runs the count: starts it on its executor, watches it to its end and
/// stores what it found. Log lines go to `log`, which each heartbeat saves
/// and empties (the rest is saved with the outcome).
async fn count_and_store(
    ctx: &RunContext,
    run: &RunRow,
    token: &CancelToken,
    started: Instant,
    log: &mut Vec<LogRow>,
) -> Attempt {
    let latest = Arc::new(Mutex::new(ProgressRow::default()));
    // Log lines written while counting (on another thread, or elsewhere),
    // saved with each heartbeat.
    let remote_log: Arc<Mutex<Vec<LogRow>>> = Arc::default();
    let progress = ProgressSink {
        latest: latest.clone(),
        events: ctx.events.clone(),
        run_id: run.id(),
        workload_id: run.workload_id(),
    };
    let (counting, table_lease) =
        match start_count(ctx, run, token, progress, remote_log.clone()).await {
            Ok(started) => started,
            Err(message) => return (Outcome::Failed(message), snapshot(&latest), None),
        };
    let count_started = Instant::now();
    let watched = watch(ctx, run.id(), counting, token, &latest, &remote_log, log).await;
    drop(table_lease);
    log.append(&mut remote_log.lock().unwrap_or_else(PoisonError::into_inner));
    let count_secs = count_started.elapsed().as_secs_f64();
    let progress = snapshot(&latest);
    match watched {
        Ok(counted) => store_results(ctx, run, counted, progress, started, count_secs, log).await,
        Err(outcome) => (outcome, progress, None),
    }
}

/// The latest progress reported.
fn snapshot(latest: &Mutex<ProgressRow>) -> ProgressRow {
    latest
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Reads the run's job back and starts counting it on its executor.
async fn start_count(
    ctx: &RunContext,
    run: &RunRow,
    token: &CancelToken,
    progress: ProgressSink,
    remote_log: Arc<Mutex<Vec<LogRow>>>,
) -> Result<Started, String> {
    let reference = catalog::table_ref(&run.src_project, &run.src_dataset, &run.src_table)
        .map_err(|missing| missing.message("Source"))?;
    let job = Job::of(run)?;
    match job.executor {
        Executor::Native => {
            start_native(ctx, run, &job, &reference, token, progress, remote_log).await
        }
        Executor::Spark => {
            start_spark(ctx, run, &job, &reference, token, progress, remote_log).await
        }
    }
}

/// Waits for a count to end, renewing the run's lease and saving its progress
/// and log every [`HEARTBEAT`]; cancels it when someone asks to, when the lease
/// is lost or when `--run-timeout` passes. Answers the counts, or the outcome
/// of a count that gave none.
async fn watch(
    ctx: &RunContext,
    id: u64,
    counting: JoinHandle<Result<Counted, CountFailure>>,
    token: &CancelToken,
    latest: &Mutex<ProgressRow>,
    remote_log: &Mutex<Vec<LogRow>>,
    log: &mut Vec<LogRow>,
) -> Result<Counted, Outcome> {
    let queue = &ctx.queue;
    tokio::pin!(counting);
    // A timeout too far ahead for an `Instant` (`--run-timeout 10000000000d`) is none.
    let deadline = queue
        .settings
        .run_timeout
        .and_then(|t| Instant::now().checked_add(t).map(|at| (at, t)));
    let mut stop: Option<StopReason> = None;
    let mut ticker = tokio::time::interval(HEARTBEAT);
    ticker.tick().await;
    let result = loop {
        tokio::select! {
            joined = &mut counting => break joined,
            _ = ticker.tick() => {
                let progress = snapshot(latest);
                let lease_until = Utc::now() + queue.lease_delta();
                log.append(&mut remote_log.lock().unwrap_or_else(PoisonError::into_inner));
                match ctx.runs.heartbeat(id, &queue.owner, lease_until, progress, std::mem::take(log)).await {
                    Ok(Heartbeat::Held) => {}
                    Ok(Heartbeat::CancelRequested) => {
                        stop.get_or_insert(StopReason::Cancelled);
                        token.cancel();
                    }
                    Ok(Heartbeat::Lost) => {
                        stop.get_or_insert(StopReason::LeaseLost);
                        token.cancel();
                    }
                    Err(e) => tracing::warn!(run = id, error = %e, "heartbeat failed"),
                }
                if let Some((at, limit)) = deadline && Instant::now() >= at {
                    stop.get_or_insert(StopReason::TimedOut(limit));
                    token.cancel();
                }
            }
        }
    };
    match result {
        Ok(Ok(counted)) => Ok(counted),
        Ok(Err(_)) if token.is_cancelled() => Err(match stop {
            Some(StopReason::TimedOut(limit)) => {
                Outcome::Failed(format!("timed out after {} s", limit.as_secs()))
            }
            Some(StopReason::LeaseLost) => Outcome::Cancelled("stopped: lease lost".into()),
            _ => Outcome::Cancelled("cancelled while running".into()),
        }),
        Ok(Err(e)) => Err(Outcome::Failed(e.to_string())),
        Err(e) => Err(Outcome::Failed(format!("the count crashed: {e}"))),
    }
}

/// Stores a count's results (a small one with the outcome, in the database;
/// a larger or grouped one in files) and makes the success to record.
async fn store_results(
    ctx: &RunContext,
    run: &RunRow,
    counted: Counted,
    mut progress: ProgressRow,
    started: Instant,
    count_secs: f64,
    log: &mut Vec<LogRow>,
) -> Attempt {
    let id = run.id();
    let store_started = Instant::now();
    let Counted { result, groups } = counted;
    let words = result.words;
    let stats = result.stats;
    // The final progress holds every word counted, whatever the executor
    // reported on the way (Spark reports tasks, not words): a run's words/s is
    // derived from it.
    progress.words_done = i64::try_from(stats.total_words).unwrap_or(i64::MAX);
    log.push(LogRow::now(format!(
        "counted {} words ({} distinct) in {count_secs:.2} s; storing results",
        thousands(stats.total_words),
        thousands(stats.distinct_words)
    )));
    if let Some(groups) = &groups {
        log.push(LogRow::now(format!(
            "{} groups by {}",
            thousands(groups.len() as u64),
            run.group_by.as_deref().unwrap_or_default()
        )));
    }
    // A small result is stored with the outcome, in the database; a grouped
    // one always in files (which know its groups).
    let (results, stem) = if words.len() <= INLINE_WORDS && groups.is_none() {
        (NewResults::Inline(words), None)
    } else {
        // Named per attempt: an attempt that lost its lease (and is still
        // writing) can never overwrite, or delete, the files of the one that won.
        let stem = format!("run-{id}-{}", uuid::Uuid::now_v7().simple());
        if let Err(e) = ctx.results.write(&stem, words, groups).await {
            return (
                Outcome::Failed(format!("cannot store the results: {e}")),
                progress,
                None,
            );
        }
        (NewResults::Files(stem.clone()), Some(stem))
    };
    let queue_secs = run
        .started_at
        .map_or(0.0, |started| secs_between(run.queued_at, started));
    let store_secs = store_started.elapsed().as_secs_f64();
    let outcome = Outcome::Succeeded {
        total_words: stats.total_words,
        distinct_words: stats.distinct_words,
        results,
        timings: TimingsRow {
            queue_secs,
            count_secs,
            store_secs,
            total_secs: queue_secs + started.elapsed().as_secs_f64(),
        },
    };
    (outcome, progress, stem)
}

/// Why a count gave no counts.
#[derive(Debug, thiserror::Error)]
enum CountFailure {
    #[error(transparent)]
    Engine(#[from] CountError),
    #[error(transparent)]
    Spark(#[from] SparkError),
}

/// What a count found: the counts of every row together and, for a run
/// counted per group, each group's.
struct Counted {
    result: CountResult,
    groups: Option<Vec<GroupWords>>,
}

/// A count under way on one executor, and the lease on the table it reads.
type Started = (JoinHandle<Result<Counted, CountFailure>>, ReadLease);

/// Where a count's progress goes: the run's latest (saved by the heartbeat)
/// and the live events.
#[derive(Clone)]
struct ProgressSink {
    latest: Arc<Mutex<ProgressRow>>,
    events: EventBus,
    run_id: u64,
    workload_id: u64,
}

impl ProgressSink {
    fn report(&self, row: ProgressRow, elapsed_secs: f64) {
        let public = row.public(elapsed_secs);
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = row;
        self.events.publish(ServerEvent::Run {
            run_id: self.run_id,
            workload_id: self.workload_id,
            state: RunState::Running,
            progress: public,
        });
    }
}

/// How a failure to start reads in a run: "Table 'x' does not exist..."
/// becomes "Source table 'x' ...".
fn start_failure(e: &crate::error::ServiceError) -> String {
    let detail = e.detail();
    match (e.status().as_u16(), detail.chars().next()) {
        (404, Some(first)) => format!(
            "Source {}{}",
            first.to_lowercase(),
            &detail[first.len_utf8()..]
        ),
        _ => detail,
    }
}

/// Starts counting on the engine, in this process, from a scan of the column.
/// Its log lines go to `counting_log`, which the heartbeats save.
async fn start_native(
    ctx: &RunContext,
    run: &RunRow,
    job: &Job,
    reference: &TableRef,
    token: &CancelToken,
    progress: ProgressSink,
    counting_log: Arc<Mutex<Vec<LogRow>>>,
) -> Result<Started, String> {
    let push = move |log: &Mutex<Vec<LogRow>>, message: String| {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LogRow::now(message));
    };
    let queue = &ctx.queue;
    let pace = queue
        .settings
        .read_rate
        .map(|rate| Pace::new(rate, token.clone()));
    let grouping = job.group_by.as_ref().map(|column| Grouping {
        column: column.clone(),
        max_groups: queue.settings.max_groups,
    });
    let (scan, table_lease) = ctx
        .tables
        .open_scan(
            reference,
            run.id(),
            &run.src_column_name,
            &job.filter,
            grouping,
            pace,
        )
        .await
        .map_err(|e| start_failure(&e))?;
    let rows = scan.rows();
    push(
        &counting_log,
        format!(
            "reading {reference}.{}: {} rows",
            run.src_column_name,
            thousands(rows)
        ),
    );
    let kept = (!job.filter.is_empty()).then(|| {
        let conditions = job.filter.to_text().trim_end().replace('\n', "; ");
        push(
            &counting_log,
            format!("counting the rows where {conditions}"),
        );
        scan.kept_rows()
    });
    let engine = Engine::new(job.options.clone())
        .map_err(|e| e.to_string())?
        .with_pool(queue.pool.clone());
    let control = Control::new()
        .with_cancel(token.clone())
        .on_progress(move |p| {
            progress.report(ProgressRow::from_engine(p, rows), p.elapsed.as_secs_f64());
        });
    let counting = tokio::task::spawn_blocking(move || {
        let mut session = engine.session(&control);
        session.expect_values(Some(rows));
        let labels = scan.group_labels();
        session.add_batches(scan)?;
        let counted = match labels {
            None => Counted {
                result: session.finish()?,
                groups: None,
            },
            Some(labels) => {
                let grouped = session.finish_grouped()?;
                let labels =
                    std::mem::take(&mut *labels.lock().unwrap_or_else(PoisonError::into_inner));
                Counted {
                    result: grouped.all,
                    groups: Some(GroupWords::labelled(grouped.groups, labels.into_labels())),
                }
            }
        };
        if let Some(kept) = kept {
            let kept = kept.load(std::sync::atomic::Ordering::Relaxed);
            push(
                &counting_log,
                format!(
                    "the filter kept {} of {} rows",
                    thousands(kept),
                    thousands(rows)
                ),
            );
        }
        Ok(counted)
    });
    Ok((counting, table_lease))
}

/// Starts counting on Spark: one application that reads the table's file.
async fn start_spark(
    ctx: &RunContext,
    run: &RunRow,
    job: &Job,
    reference: &TableRef,
    token: &CancelToken,
    progress: ProgressSink,
    remote_log: Arc<Mutex<Vec<LogRow>>>,
) -> Result<Started, String> {
    let Some(settings) = ctx.queue.settings.spark.clone() else {
        return Err("this server has no Spark: start it with --spark-master".into());
    };
    let (table_file, info, table_lease) = ctx
        .tables
        .lease(reference, run.id())
        .await
        .map_err(|e| start_failure(&e))?;
    check_column(&info, &run.src_column_name).map_err(|e| e.to_string())?;
    let rows = info.row_count;
    let push = move |message: String| {
        remote_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LogRow::now(message));
    };
    push(format!(
        "reading {reference}.{}: {} rows, on Spark at {}",
        run.src_column_name,
        thousands(rows),
        settings.master
    ));
    let work_dir = ctx.spark_work_dir(run.id());
    let (column, options, token) = (
        run.src_column_name.clone(),
        job.options.clone(),
        token.clone(),
    );
    let name = format!("tally run {}", run.id());
    let counting = tokio::spawn(async move {
        let started = Instant::now();
        // Spark learns of a stage's tasks only when the stage starts, so the
        // fraction done can fall as stages start: shown, it never goes back.
        let mut shown = 0u64;
        let job = SparkCount {
            settings: &settings,
            work_dir,
            table_file: &table_file,
            column: &column,
            options: &options,
            name,
        };
        let counted = job
            .run(&token, |update| match update {
                Update::Log(line) => push(line),
                Update::Tasks { done, total } => {
                    // Tasks stand for the rows they read, as far as progress goes.
                    let fraction = rows.saturating_mul(done).checked_div(total).unwrap_or(0);
                    shown = shown.max(fraction.min(rows));
                    let values_done = shown;
                    let row = ProgressRow {
                        values_done: i64::try_from(values_done).unwrap_or(i64::MAX),
                        values_total: i64::try_from(rows).unwrap_or(i64::MAX),
                        ..ProgressRow::default()
                    };
                    progress.report(row, started.elapsed().as_secs_f64());
                }
            })
            .await?;
        Ok(Counted {
            result: counted,
            groups: None,
        })
    });
    Ok((counting, table_lease))
}
