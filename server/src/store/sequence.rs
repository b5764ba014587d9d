//! [`IdSequence`]: integer ids that are never reused.
//!
//! Each sequence is a counter record (`sequence:<name>`) that only grows. Ids are
//! reserved in blocks, each block one transaction that moves the counter; ids
//! are handed out from the block in order, so a lone client gets consecutive
//! ids. Ids reserved but unused when the process stops are skipped, never
//! handed out again; several processes sharing one database reserve disjoint
//! blocks.
//!
//! How far ahead to reserve is the owner's choice ([`IdSequence::reserving_ahead`]):
//! a process that is the database's only user reserves [`AHEAD`] ids at once,
//! so that most creates take their ids without a commit of their own (a restart
//! skips the rest of the block). Processes sharing a database reserve only what
//! their waiting callers need, so that ids follow creation order across them.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::store::database::{Database, DbError};

/// The most ids reserved at once when reserving only for waiting callers.
const MAX_BLOCK: usize = 64;
/// How many ids a process that is the database's only user reserves at once.
pub const AHEAD: usize = 256;

/// The counter of workload ids.
pub const WORKLOAD_IDS: &str = "workload";
/// The counter of run ids.
pub const RUN_IDS: &str = "run";
/// The counter of account (user) ids.
pub const ACCOUNT_IDS: &str = "account";
/// The counter of API token ids.
pub const TOKEN_IDS: &str = "api_token";
/// The counter of audit log entries.
pub const AUDIT_IDS: &str = "audit_event";

pub struct IdSequence {
    db: Database,
    name: &'static str,
    block: Mutex<Range<i64>>,
    waiting: AtomicUsize,
    /// The fewest ids a reservation takes.
    ahead: usize,
}

impl IdSequence {
    pub fn new(db: Database, name: &'static str) -> Self {
        Self {
            db,
            name,
            block: Mutex::new(0..0),
            waiting: AtomicUsize::new(0),
            ahead: 1,
        }
    }

    /// Reserves at least `ahead` ids whenever the block runs out.
    pub fn reserving_ahead(mut self, ahead: usize) -> Self {
        self.ahead = ahead.max(1);
        self
    }

    /// A fresh id, never handed out before by this process or another.
    pub async fn next(&self) -> Result<u64, DbError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut block = self.block.lock().await;
        let waiting = self.waiting.fetch_sub(1, Ordering::SeqCst);
        if block.is_empty() {
            *block = self
                .reserve(waiting.clamp(1, MAX_BLOCK).max(self.ahead))
                .await?;
        }
        let id = block.start;
        block.start += 1;
        u64::try_from(id).map_err(|_| DbError::Unexpected(format!("{} id {id}", self.name)))
    }

    /// `n` fresh ids, in increasing order (consecutive unless the block ran out
    /// and another process reserved the ids that followed it).
    pub async fn take(&self, n: usize) -> Result<Vec<i64>, DbError> {
        let mut block = self.block.lock().await;
        let mut ids = Vec::with_capacity(n);
        while ids.len() < n {
            if block.is_empty() {
                *block = self.reserve((n - ids.len()).max(self.ahead)).await?;
            }
            let wanted = i64::try_from(n - ids.len()).unwrap_or(i64::MAX);
            let end = block.end.min(block.start.saturating_add(wanted));
            ids.extend(block.start..end);
            block.start = end;
        }
        Ok(ids)
    }

    /// Hands back the ids reserved but not handed out, unless another process
    /// moved the counter since (at a clean shutdown: the next start continues
    /// the sequence where this process stopped). This sequence hands out no
    /// more ids from its block.
    pub async fn release(&self) -> Result<(), DbError> {
        let mut block = self.block.lock().await;
        if block.is_empty() {
            return Ok(());
        }
        self.db
            .client()
            .query(
                "UPDATE type::record('sequence', $name) SET next = $last_used \
                 WHERE next = $last_reserved RETURN NONE",
            )
            .bind(("name", self.name))
            .bind(("last_used", block.start - 1))
            .bind(("last_reserved", block.end - 1))
            .await?
            .check()?;
        block.start = block.end;
        Ok(())
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
                .query(
                    "UPSERT type::record('sequence', $name) SET next = (next ?? 0) + $n \
                     RETURN VALUE next",
                )
                .bind(("name", self.name))
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
