//! What the dispatcher works with, and nothing more: the queue and its run
//! records, the results files, the live events, reads of the tables and the
//! run metrics. Workloads, accounts and imports are out of a run's reach; the
//! service hands this over when the dispatcher starts
//! ([`crate::service::TallyService::run_context`]).

use std::path::PathBuf;
use std::sync::Arc;

use tally_engine::WordCount;

use super::results::{GroupWords, ResultStore};
use super::{EventBus, RunQueue};
use crate::error::ServiceError;
use crate::limits::DiskReserve;
use crate::metrics::Metrics;
use crate::store::database::DbError;
use crate::store::runs::RunStore;
use crate::tables::reader::TableReader;

/// The parts of the server a run touches.
#[derive(Clone)]
pub struct RunContext {
    pub queue: Arc<RunQueue>,
    pub runs: Arc<RunStore>,
    pub results: ResultFiles,
    pub events: EventBus,
    pub tables: TableReader,
    pub metrics: Arc<Metrics>,
    /// Where Spark attempts keep their inputs and outputs without
    /// `--spark-staging`: the data directory's `spark/`.
    pub spark_dir: PathBuf,
}

impl RunContext {
    /// A fresh directory for one Spark attempt of run `id`, under
    /// `--spark-staging` or else the data directory's `spark/`.
    pub fn spark_work_dir(&self, id: u64) -> PathBuf {
        let root = self
            .queue
            .settings
            .spark
            .as_ref()
            .and_then(|spark| spark.staging.clone())
            .unwrap_or_else(|| self.spark_dir.clone());
        root.join(format!("run-{id}-{}", uuid::Uuid::now_v7().simple()))
    }

    /// Re-queues (or fails) runs whose dispatcher is gone; returns how many.
    pub async fn recover(&self, all_running: bool) -> Result<usize, DbError> {
        let changed = self.runs.recover(all_running).await?;
        for run in &changed {
            self.events.publish_run(run);
        }
        if !changed.is_empty() {
            self.queue.wake.notify_waiters();
        }
        Ok(changed.len())
    }

    /// Deletes `workload`'s finished runs beyond `--keep-runs` or older than
    /// `--keep-results-for`, their counts and their results files; returns
    /// how many results files went (runs kept in the database have none).
    pub async fn apply_retention(&self, workload: u64) -> Result<usize, DbError> {
        let retention = self.queue.settings.retention;
        if !retention.deletes() {
            return Ok(0);
        }
        let stems = self.runs.prune(workload, retention).await?;
        for stem in &stems {
            self.results.discard(stem).await;
        }
        Ok(stems.len())
    }
}

/// Writing and removing results files, within the disk reserve.
#[derive(Clone)]
pub struct ResultFiles {
    pub store: Arc<ResultStore>,
    pub reserve: DiskReserve,
}

impl ResultFiles {
    /// Writes a run's results files (on a blocking thread): its words and,
    /// when grouped, each group's; returns the bytes written.
    pub async fn write(
        &self,
        stem: &str,
        words: Vec<WordCount>,
        groups: Option<Vec<GroupWords>>,
    ) -> Result<u64, ServiceError> {
        // Two files of words and counts: about twice the text plus the counts
        // before compression, an upper bound for the reserve check.
        let estimate = std::iter::once(&words)
            .chain(groups.iter().flatten().map(|g| &g.words))
            .flatten()
            .map(|w| w.word.len() as u64 + 8)
            .sum::<u64>()
            .saturating_mul(2);
        self.reserve.check(estimate)?;
        let store = self.store.clone();
        let stem = stem.to_string();
        tokio::task::spawn_blocking(move || store.write(&stem, &words, groups.as_deref()))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)
    }

    /// Removes results files that were never committed (or whose run went).
    pub async fn discard(&self, stem: &str) {
        let store = self.store.clone();
        let stem = stem.to_string();
        let outcome = tokio::task::spawn_blocking(move || store.remove(&stem)).await;
        if let Ok(Err(e)) = outcome {
            tracing::warn!(error = %e, "cannot remove uncommitted results");
        }
    }
}
