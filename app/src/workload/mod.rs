//! Workloads as the REST API and the UI see them: what a stored workload is
//! ([`Workload`]), the one validation of its definition ([`spec`]), the partial
//! update ([`patch`]), the UI's form ([`form`]) and the list query ([`query`]).
//!
//! A definition arrives as a JSON object (the prototype's request body, or the UI's
//! form turned into the same shape by [`WorkloadForm::to_body`]) and becomes a
//! [`WorkloadSpec`] only through [`WorkloadSpec::from_body`], which reports every
//! problem at once, FastAPI-style, with the location of each.

mod filter;
mod form;
mod patch;
mod query;
mod spec;

pub use filter::{
    Condition, FilterOp, Literal, MAX_FILTER_CHARS, MAX_FILTER_COLUMNS, MAX_IN_VALUES, RowFilter,
};
pub use form::{PostedForm, WorkloadForm};
pub use patch::merge_patch;
pub use query::{DEFAULT_PAGE, MAX_PAGE, WorkloadPage, WorkloadQuery, WorkloadSort};
pub use spec::{NAME_MAX_CHARS, WorkloadSpec};

use serde::{Deserialize, Serialize};
use tally_engine::{CountOptions, MAX_NGRAM, TokenizerKind};

use crate::run::RunSummary;

/// What a workload computes. Both types count terms of one string column with
/// the same options; the type decides what a term is, and which options it
/// needs (`ngram` needs `options.n`, `wordcount` refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkloadType {
    /// Count the words of one string column.
    Wordcount,
    /// Count the n-grams (`options.n` consecutive words, 2 to 5) within each
    /// value of one string column, keyed by the words joined by a space.
    Ngram,
}

impl WorkloadType {
    pub const ALL: [WorkloadType; 2] = [Self::Wordcount, Self::Ngram];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wordcount => "wordcount",
            Self::Ngram => "ngram",
        }
    }

    /// Whether `options` fit this type: the field at fault and why, if not.
    pub fn check(self, options: &CountOptions) -> Result<(), (&'static str, String)> {
        match (self, options.n) {
            (Self::Wordcount, Some(_)) => Err((
                "n",
                "Only ngram workloads take n: remove it, or make the workload an ngram".into(),
            )),
            (Self::Ngram, None) => Err((
                "n",
                format!("An ngram workload needs n, the words per n-gram (2 to {MAX_NGRAM})"),
            )),
            _ => Ok(()),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The supported types, for error messages: `wordcount`.
    pub fn supported() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// What counts a workload's runs: Tally's own engine, or an Apache Spark
/// cluster the server is configured with (`--spark-master`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// The built-in parallel engine, in the server's process.
    #[default]
    Native,
    /// A Spark application submitted for each run.
    Spark,
}

impl Executor {
    pub const ALL: [Executor; 2] = [Self::Native, Self::Spark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Spark => "spark",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The tokenizers Spark reproduces exactly (built-in Spark SQL splits);
    /// `words` (UAX #29 segmentation) has no Spark equivalent.
    pub fn supports(self, tokenizer: TokenizerKind) -> bool {
        match self {
            Self::Native => true,
            Self::Spark => matches!(tokenizer, TokenizerKind::Whitespace | TokenizerKind::Spark),
        }
    }
}

/// Where a workload stands: its latest run's state, or `created` before any run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkloadStatus {
    Created,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl WorkloadStatus {
    pub const ALL: [WorkloadStatus; 6] = [
        Self::Created,
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A run is waiting or working: the definition cannot change under it.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// The word shown to people (status badges), capitalised.
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// A stored workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Workload {
    /// Assigned by the server; never reused, even after a delete.
    #[cfg_attr(feature = "ssr", schema(example = 1))]
    pub id: u64,
    pub workload_type: WorkloadType,
    #[cfg_attr(feature = "ssr", schema(example = "Shakespeare word count"))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(example = "public-data"))]
    pub src_project: String,
    #[cfg_attr(feature = "ssr", schema(example = "samples"))]
    pub src_dataset: String,
    #[cfg_attr(feature = "ssr", schema(example = "shakespeare"))]
    pub src_table: String,
    #[cfg_attr(feature = "ssr", schema(example = "word"))]
    pub src_column_name: String,
    pub options: CountOptions,
    /// What counts the runs; `native` unless set.
    #[serde(default)]
    pub executor: Executor,
    /// Which rows of the table are counted: every row unless set (an empty
    /// object). Keyed by column, each with its conditions.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object, example = json!({"corpus": {"eq": "hamlet"}})))]
    pub filter: RowFilter,
    /// The column whose values split the counts into groups (any type, as
    /// text; null is a group of its own); none counts the rows together.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "corpus"))]
    pub group_by: Option<String>,
    pub status: WorkloadStatus,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-24T10:15:30.123Z"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-24T10:15:30.123Z"))]
    pub updated_at: String,
    /// The latest run, once there is one.
    pub last_run: Option<RunSummary>,
}

impl Workload {
    /// `project.dataset.table.column`.
    pub fn source(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.src_project, self.src_dataset, self.src_table, self.src_column_name
        )
    }

    /// `project.dataset.table`.
    pub fn source_table(&self) -> String {
        format!(
            "{}.{}.{}",
            self.src_project, self.src_dataset, self.src_table
        )
    }
}
