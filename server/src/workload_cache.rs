//! [`WorkloadCache`]: workloads as `GET /workloads/{id}` answers them, kept in
//! memory so that a read costs a map lookup instead of two database queries.
//!
//! It is only switched on when this process is the database's only user (an
//! embedded engine locks its files): then every write goes through
//! [`WorkloadStore`](crate::workloads::WorkloadStore) or
//! [`RunStore`](crate::runs::store::RunStore), and both report what they
//! changed here once it is committed. With a shared remote database another
//! process could change a workload unseen, so the cache stays off.
//!
//! A reader that misses takes a [`Ticket`] *before* it queries the database and
//! may store what it read only if no change to that workload was reported in
//! the meantime; otherwise a read that started before a write could put the old
//! value back after the write's invalidation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tally_app::workload::Workload;

/// Workloads remembered at most (each slot is a few hundred bytes). Past it the
/// cache starts over, which is always safe.
const MAX_SLOTS: usize = 100_000;

pub struct WorkloadCache {
    enabled: bool,
    inner: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_id: HashMap<u64, Slot>,
    /// Moves on whenever the map is cleared, voiding every ticket.
    epoch: u64,
}

/// A workload's entry: how many changes were reported for it (kept after an
/// invalidation, so a ticket taken before the change can tell), and its value
/// when one is known to be current.
#[derive(Default)]
struct Slot {
    changes: u64,
    workload: Option<Arc<Workload>>,
}

/// Permission to store a workload read from the database, valid while nothing
/// changed it.
#[must_use]
pub struct Ticket {
    id: u64,
    epoch: u64,
    changes: u64,
}

impl WorkloadCache {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::new(Slots::default()),
        }
    }

    /// The cached workload, or a ticket to store it once read.
    pub fn get(&self, id: u64) -> Result<Workload, Option<Ticket>> {
        if !self.enabled {
            return Err(None);
        }
        let slots = self.lock();
        let slot = slots.by_id.get(&id);
        match slot.and_then(|s| s.workload.as_deref()) {
            Some(workload) => Ok(workload.clone()),
            None => Err(Some(Ticket {
                id,
                epoch: slots.epoch,
                changes: slot.map_or(0, |s| s.changes),
            })),
        }
    }

    /// Stores `workload` unless a change was reported since `ticket` was taken.
    pub fn fill(&self, ticket: Option<Ticket>, workload: &Workload) {
        let Some(ticket) = ticket else { return };
        let mut slots = self.lock();
        if slots.epoch != ticket.epoch {
            return;
        }
        if !slots.by_id.contains_key(&ticket.id) && slots.by_id.len() >= MAX_SLOTS {
            slots.by_id.clear();
            slots.epoch += 1;
            return;
        }
        let slot = slots.by_id.entry(ticket.id).or_default();
        if slot.changes == ticket.changes {
            slot.workload = Some(Arc::new(workload.clone()));
        }
    }

    /// Forgets workload `id`: it was changed, or is about to be deleted. Call it
    /// after the change is committed (and also when a write failed in a way
    /// that may have committed).
    pub fn invalidate(&self, id: u64) {
        if !self.enabled {
            return;
        }
        let mut slots = self.lock();
        if !slots.by_id.contains_key(&id) && slots.by_id.len() >= MAX_SLOTS {
            // Clearing voids every ticket, this workload's included.
            slots.by_id.clear();
            slots.epoch += 1;
            return;
        }
        let slot = slots.by_id.entry(id).or_default();
        slot.changes += 1;
        slot.workload = None;
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_app::workload::{WorkloadStatus, WorkloadType};

    fn workload(id: u64, name: &str) -> Workload {
        Workload {
            id,
            workload_type: WorkloadType::Wordcount,
            name: name.into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            options: Default::default(),
            status: WorkloadStatus::Created,
            created_at: String::new(),
            updated_at: String::new(),
            last_run: None,
        }
    }

    #[test]
    fn a_filled_workload_is_served_until_invalidated() {
        let cache = WorkloadCache::new(true);
        let ticket = cache.get(1).expect_err("empty at first");
        cache.fill(ticket, &workload(1, "a"));
        assert_eq!(cache.get(1).ok().map(|w| w.name), Some("a".into()));
        cache.invalidate(1);
        assert!(cache.get(1).is_err());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_stored() {
        let cache = WorkloadCache::new(true);
        let ticket = cache.get(7).expect_err("empty");
        // A write commits and reports itself while the reader is querying.
        cache.invalidate(7);
        cache.fill(ticket, &workload(7, "stale"));
        assert!(cache.get(7).is_err(), "the stale read was stored");
        // A read that started after the write may be stored.
        let ticket = cache.get(7).expect_err("still empty");
        cache.fill(ticket, &workload(7, "fresh"));
        assert_eq!(cache.get(7).ok().map(|w| w.name), Some("fresh".into()));
    }

    #[test]
    fn a_disabled_cache_never_answers() {
        let cache = WorkloadCache::new(false);
        let ticket = cache.get(1).expect_err("disabled");
        assert!(ticket.is_none());
        cache.fill(ticket, &workload(1, "a"));
        assert!(cache.get(1).is_err());
    }

    #[test]
    fn clearing_when_full_voids_older_tickets() {
        let cache = WorkloadCache::new(true);
        let early = cache.get(0).expect_err("empty");
        for id in 1..=MAX_SLOTS as u64 + 1 {
            cache.invalidate(id);
        }
        cache.fill(early, &workload(0, "old"));
        assert!(
            cache.get(0).is_err(),
            "a ticket from before the clear was honoured"
        );
    }
}
