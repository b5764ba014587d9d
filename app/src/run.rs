//! Runs (executions of a workload) and their results, as the API and the UI see them.

use serde::{Deserialize, Serialize};
use tally_engine::CountOptions;

use crate::error::FieldError;
use crate::workload::WorkloadStatus;

/// A summary of a workload's latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub id: u64,
    pub state: WorkloadStatus,
    /// Fraction done, from 0 to 1 (when the input size is known).
    pub progress: f64,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Words counted (so far, while running).
    pub total_words: u64,
    pub distinct_words: Option<u64>,
    /// Seconds from queued to finished, once finished (the wait and the run).
    #[serde(default)]
    pub duration_secs: Option<f64>,
    /// Seconds from queued to started, once started.
    #[serde(default)]
    pub queue_secs: Option<f64>,
    /// Seconds from started to finished, once finished: the run without its wait.
    #[serde(default)]
    pub run_secs: Option<f64>,
    pub error: Option<String>,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub const ALL: [RunState; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Queued or running: not finished yet.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// The workload status this run gives its workload.
    pub fn status(self) -> WorkloadStatus {
        match self {
            Self::Queued => WorkloadStatus::Queued,
            Self::Running => WorkloadStatus::Running,
            Self::Succeeded => WorkloadStatus::Succeeded,
            Self::Failed => WorkloadStatus::Failed,
            Self::Cancelled => WorkloadStatus::Cancelled,
        }
    }
}

/// How far a run has got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunProgress {
    pub bytes_done: u64,
    /// Bytes of text in the column (known once the scan has started).
    pub bytes_total: u64,
    pub values_done: u64,
    pub values_total: u64,
    pub words_done: u64,
    /// Fraction done, 0 to 1.
    pub fraction: f64,
    /// Words (or n-grams) counted per second: so far while the run runs;
    /// once it has ended, over its reading and counting time.
    pub words_per_sec: f64,
    /// Seconds left at the current pace, once it can be estimated.
    pub eta_secs: Option<f64>,
}

impl RunProgress {
    /// Fills in the derived figures from the raw counts and the elapsed time.
    pub fn derive(mut self, elapsed_secs: f64) -> Self {
        self.fraction = if self.values_total > 0 {
            (self.values_done as f64 / self.values_total as f64).min(1.0)
        } else {
            0.0
        };
        self.words_per_sec = if elapsed_secs > 0.0 {
            self.words_done as f64 / elapsed_secs
        } else {
            0.0
        };
        self.eta_secs = (self.fraction > 0.01 && self.fraction < 1.0)
            .then(|| elapsed_secs * (1.0 - self.fraction) / self.fraction);
        self
    }
}

/// Where a run's time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunTimings {
    /// From queued to started.
    pub queue_secs: f64,
    /// Reading the column and counting (the two overlap: the engine counts
    /// batches as the scan decodes them).
    pub count_secs: f64,
    /// Writing and committing the results.
    pub store_secs: f64,
    /// From queued to finished: the wait plus the run.
    pub total_secs: f64,
}

impl RunTimings {
    /// From started to finished: what the run itself took, without the wait.
    pub fn run_secs(&self) -> f64 {
        (self.total_secs - self.queue_secs).max(0.0)
    }
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunLogEntry {
    pub at: String,
    pub message: String,
}

/// A run: one execution of a workload, with the definition it ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: u64,
    pub workload_id: u64,
    pub state: RunState,
    /// Attempts started (a run interrupted by a crash is retried up to 3 times).
    pub attempt: u32,
    /// `project.dataset.table.column`, as it was when the run was queued.
    pub source: String,
    pub options: CountOptions,
    /// What counted (or counts) the run.
    #[serde(default)]
    pub executor: crate::workload::Executor,
    /// What the run counts: words, or n-grams of `options.n` words.
    pub workload_type: crate::workload::WorkloadType,
    /// The rows it counts: every row unless set (an empty object).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object, example = json!({"corpus": {"eq": "hamlet"}})))]
    pub filter: crate::workload::RowFilter,
    /// The column the run counts per group of, if any.
    #[serde(default)]
    pub group_by: Option<String>,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Seconds from queued to started, once started (while it runs too).
    #[serde(default)]
    pub waited_secs: Option<f64>,
    pub progress: RunProgress,
    pub total_words: Option<u64>,
    pub distinct_words: Option<u64>,
    /// Once a run that started has ended: a cancelled or failed run spent
    /// `count_secs` until it stopped, and nothing storing.
    pub timings: Option<RunTimings>,
    pub error: Option<String>,
    pub log: Vec<RunLogEntry>,
}

impl Run {
    /// Words counted per second of reading and counting (the server derives
    /// it once, so every page shows the same figure); none before the first.
    pub fn throughput(&self) -> Option<f64> {
        let rate = self.progress.words_per_sec;
        (rate > 0.0).then_some(rate)
    }
}

/// A run with the name of its workload, for lists across workloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunListing {
    pub run: Run,
    pub workload_name: String,
}

/// What the Dashboard shows of the workloads and their runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Workloads per status, every status listed (zeros too).
    pub by_status: Vec<(WorkloadStatus, u64)>,
    /// Runs queued or running, oldest first.
    pub active: Vec<RunListing>,
    /// The newest finished runs, newest first.
    pub recent: Vec<RunListing>,
}

impl Activity {
    pub fn total_workloads(&self) -> u64 {
        self.by_status.iter().map(|(_, n)| n).sum()
    }
}

/// How a result page is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WordOrder {
    /// Most frequent first, ties by word.
    #[default]
    Count,
    /// By word (code-point order).
    Word,
}

impl WordOrder {
    /// As a query names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Word => "word",
        }
    }
}

/// The largest page of words one request may ask for.
pub const MAX_WORDS_PAGE: u64 = 10_000;

/// Which counts of a run a query reads: of every group together (the
/// default, and all an ungrouped run has) or of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupPick {
    #[default]
    All,
    /// The rows whose group column holds this value as text (`None`: null).
    One(Option<String>),
}

impl GroupPick {
    /// The pick of a query's `group` (any text, even empty) and `null_group`
    /// (`true` or `false`; empty is absent) parameters, as they arrive; an
    /// error is located at `null_group`.
    pub fn parse(group: Option<&str>, null_group: Option<&str>) -> Result<Self, FieldError> {
        let null_group = match null_group.map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(FieldError::query(
                    "null_group",
                    "Input should be true or false".into(),
                    "bool_parsing",
                ));
            }
        };
        if null_group && group.is_some() {
            return Err(FieldError::query(
                "null_group",
                "Ask for one group: either group or null_group".into(),
                "value_error",
            ));
        }
        Ok(Self::of_query(group, null_group))
    }

    /// The pick of `group=TEXT` or `null_group=true` query parameters.
    pub fn of_query(group: Option<&str>, null_group: bool) -> Self {
        match (group, null_group) {
            (_, true) => Self::One(None),
            (Some(text), false) => Self::One(Some(text.to_string())),
            (None, false) => Self::All,
        }
    }

    /// The pick of a page's URL query (`group`, `null_group=true`).
    pub fn of_url(get: impl Fn(&str) -> Option<String>) -> Self {
        Self::of_query(
            get("group").as_deref(),
            get("null_group").as_deref() == Some("true"),
        )
    }

    /// The query parameters that ask for this pick (none for all groups).
    pub fn query_params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::All => Vec::new(),
            Self::One(Some(value)) => vec![("group", value.clone())],
            Self::One(None) => vec![("null_group", "true".into())],
        }
    }

    /// The pick as the server functions take it: `group`, `null_group`.
    pub fn as_args(&self) -> (Option<String>, bool) {
        match self {
            Self::All => (None, false),
            Self::One(Some(value)) => (Some(value.clone()), false),
            Self::One(None) => (None, true),
        }
    }

    /// How a page names the group: its value, `(null)`, or nothing for all.
    pub fn label(&self) -> Option<String> {
        match self {
            Self::All => None,
            Self::One(group) => Some(group_label(group.as_deref())),
        }
    }
}

/// How pages show a group's value: as it is, or `(null)` for the group of nulls.
pub fn group_label(group: Option<&str>) -> String {
    group.map_or_else(|| "(null)".to_string(), str::to_string)
}

/// One group of a run counted per group of a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunGroup {
    /// The group column's value, as text; null for the rows where it is null.
    #[cfg_attr(feature = "ssr", schema(example = "hamlet"))]
    pub group: Option<String>,
    /// Words (or n-grams) counted in the group.
    pub total_words: u64,
    pub distinct_words: u64,
}

/// A page of a run's groups, in the order of their values (null last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunGroupsPage {
    pub run_id: u64,
    pub workload_id: u64,
    /// The column the run counted per group of.
    pub group_by: String,
    /// Groups in all.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub groups: Vec<RunGroup>,
}

/// One word of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WordCountRow {
    pub word: String,
    pub count: u64,
}

/// A page of a run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WordCountPage {
    pub run_id: u64,
    pub workload_id: u64,
    /// Words matching the query (all distinct words without `q`).
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub words: Vec<WordCountRow>,
}

/// What `GET /api/v1/events` streams: one JSON object per event, its `type`
/// also the SSE event name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerEvent {
    /// A run changed state or made progress.
    Run {
        run_id: u64,
        workload_id: u64,
        state: RunState,
        progress: RunProgress,
    },
    /// A workload was created, updated or deleted.
    Workload {
        workload_id: u64,
        change: String,
        status: Option<WorkloadStatus>,
    },
}

impl ServerEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Run { .. } => "run",
            Self::Workload { .. } => "workload",
        }
    }
}
