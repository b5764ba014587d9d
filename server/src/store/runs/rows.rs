//! A run as it is stored: its record, progress, log and timings, and how each
//! reads as the API's [`Run`].

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use tally_app::run::{Run, RunLogEntry, RunProgress, RunState, RunSummary, RunTimings};
use tally_app::workload::{Executor, RowFilter, Workload, WorkloadType};
use tally_engine::{CountOptions, WordCount};

use crate::runs::results::ResultsAt;
use crate::store::database::DbError;
use crate::store::rfc3339_millis;

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
    pub(super) log: Vec<LogRow>,
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

/// A `run_words` record: a small result as two parallel arrays (typed arrays
/// of scalars are checked faster than an array of objects).
#[derive(Debug, Clone, SurrealValue)]
pub(super) struct WordsRow {
    pub words: Vec<String>,
    pub counts: Vec<i64>,
}

impl WordsRow {
    pub fn from_counts(counts: &[WordCount]) -> Self {
        Self {
            words: counts.iter().map(|w| w.word.clone()).collect(),
            counts: counts
                .iter()
                .map(|w| i64::try_from(w.count).unwrap_or(i64::MAX))
                .collect(),
        }
    }
}
