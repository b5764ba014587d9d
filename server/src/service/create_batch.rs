//! [`CreateBatcher`]: group commit for new workloads.
//!
//! Every create is a workload and its first run, written in one transaction
//! that also takes their ids. A commit waits for the write-ahead log to reach
//! the disk, so committing each create alone makes concurrent clients queue
//! behind each other's commits. Creates are handed to one task instead, which
//! takes everything waiting (up to [`MAX_BATCH`]) into one transaction: a lone
//! client still gets one commit per create, sixteen concurrent ones share a
//! commit. A create is answered only after its batch is committed, so nothing
//! acknowledged is lost; and it completes even if its client goes away.

use std::sync::Arc;

use tally_app::workload::{Workload, WorkloadSpec};
use tokio::sync::{mpsc, oneshot};

use crate::db::DbError;
use crate::error::ServiceError;
use crate::runs::store::{RunRow, RunStore};
use crate::workloads::WorkloadStore;

/// The most creates committed together.
const MAX_BATCH: usize = 64;

type Reply = oneshot::Sender<Result<(Workload, RunRow), Arc<DbError>>>;

pub struct CreateBatcher {
    tx: mpsc::Sender<(WorkloadSpec, Reply)>,
}

impl CreateBatcher {
    /// Starts the task that commits batches (it ends when the batcher is dropped).
    pub fn start(workloads: Arc<WorkloadStore>, runs: Arc<RunStore>) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_batches(rx, workloads, runs));
        Self { tx }
    }

    /// Stores a validated workload with its first run queued; answers the
    /// workload as saved (status `created`) and the run.
    pub async fn create(&self, spec: WorkloadSpec) -> Result<(Workload, RunRow), ServiceError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ServiceError::internal("the workload writer stopped");
        self.tx.send((spec, reply)).await.map_err(|_| gone())?;
        match answer.await.map_err(|_| gone())? {
            Ok(created) => Ok(created),
            Err(e) => Err(ServiceError::internal(e)),
        }
    }
}

async fn commit_batches(
    mut rx: mpsc::Receiver<(WorkloadSpec, Reply)>,
    workloads: Arc<WorkloadStore>,
    runs: Arc<RunStore>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (specs, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match commit(&specs, &workloads, &runs).await {
            Ok(created) => {
                for (reply, created) in replies.into_iter().zip(created) {
                    // A client that went away still has its workload.
                    let _ = reply.send(Ok(created));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, creates = specs.len(), "a batch of new workloads was not stored");
                let e = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

async fn commit(
    specs: &[WorkloadSpec],
    workloads: &WorkloadStore,
    runs: &RunStore,
) -> Result<Vec<(Workload, RunRow)>, DbError> {
    let created = workloads.insert_queued(specs).await?;
    if let Some(first) = created.iter().map(|(_, run)| run.num).min() {
        runs.queued_from(first);
    }
    Ok(created)
}
