//! [`IdSequence`]: integer ids that are never reused.
//!
//! Each sequence is a counter record (`sequence:<name>`) that only grows. Ids are
//! reserved in blocks sized by how many callers are waiting, so a lone client
//! gets consecutive ids and a burst of concurrent callers does not queue on the
//! counter. Ids reserved but unused when the process stops are skipped, never
//! handed out again; several processes sharing one database reserve disjoint
//! blocks (the counter moves in a transaction). A batch of new workloads moves
//! the same counters inside its own transaction instead, with [`advance`] (see
//! `WorkloadStore::insert_queued`).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::db::{Database, DbError};

/// The most ids reserved at once.
const MAX_BLOCK: usize = 64;

/// The counter of workload ids.
pub const WORKLOAD_IDS: &str = "workload";
/// The counter of run ids.
pub const RUN_IDS: &str = "run";

/// The SurrealQL statement that moves the counter `sequence` on by `n` (a
/// SurrealQL expression) and answers the last id it passes, for the callers that
/// move a counter inside a transaction of their own.
pub fn advance(sequence: &'static str, n: &str) -> String {
    format!(
        "UPSERT type::record('sequence', '{sequence}') SET next = (next ?? 0) + {n} RETURN VALUE next"
    )
}

pub struct IdSequence {
    db: Database,
    name: &'static str,
    block: Mutex<Range<i64>>,
    waiting: AtomicUsize,
}

impl IdSequence {
    pub fn new(db: Database, name: &'static str) -> Self {
        Self {
            db,
            name,
            block: Mutex::new(0..0),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A fresh id, never handed out before by this process or another.
    pub async fn next(&self) -> Result<u64, DbError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut block = self.block.lock().await;
        let waiting = self.waiting.fetch_sub(1, Ordering::SeqCst);
        if block.is_empty() {
            *block = self.reserve(waiting.clamp(1, MAX_BLOCK)).await?;
        }
        let id = block.start;
        block.start += 1;
        u64::try_from(id).map_err(|_| DbError::Unexpected(format!("{} id {id}", self.name)))
    }

    /// Moves the counter on by `n`; returns the ids passed.
    async fn reserve(&self, n: usize) -> Result<Range<i64>, DbError> {
        let n = i64::try_from(n).unwrap_or(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Another process sharing the database may move the counter at the
            // same moment: one transaction fails, and is retried.
            let outcome = self
                .db
                .client()
                .query(advance(self.name, "$n"))
                .bind(("n", n))
                .await
                .and_then(|r| r.check());
            match outcome {
                Ok(mut res) => {
                    let end: Option<i64> = res.take(0)?;
                    let end = end.ok_or_else(|| {
                        DbError::Unexpected(format!("the {} counter returned nothing", self.name))
                    })?;
                    return Ok(end - n + 1..end + 1);
                }
                Err(e) if attempt < 10 => {
                    tracing::debug!(error = %e, attempt, sequence = self.name, "id reservation retried");
                    tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
