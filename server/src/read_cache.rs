//! [`ReadCache`]: records kept in memory so that a read costs a map lookup
//! instead of database queries: workloads as `GET /workloads/{id}` answers
//! them ([`WorkloadCache`]), catalog tables as a create checks its source.
//!
//! A cache is only switched on when this process is the database's only user
//! (an embedded engine locks its files): then every write goes through Tally's
//! stores, and each reports what it changed once it is committed. With a
//! shared remote database another process could change a record unseen, so
//! caches stay off.
//!
//! A reader that misses takes a [`Ticket`] *before* it queries the database and
//! may store what it read only if no change to that key was reported in the
//! meantime; otherwise a read that started before a write could put the old
//! value back after the write's invalidation.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tally_app::names::TableRef;
use tally_app::workload::Workload;

use crate::catalog::StoredTable;

/// Workloads by id.
pub type WorkloadCache = ReadCache<u64, Workload>;
/// Catalog tables by reference.
pub type TableCache = ReadCache<TableRef, StoredTable>;

/// Keys remembered at most (each slot is a few hundred bytes). Past it the
/// cache starts over, which is always safe.
const MAX_SLOTS: usize = 100_000;

pub struct ReadCache<K, V> {
    enabled: bool,
    inner: Mutex<Slots<K, V>>,
}

struct Slots<K, V> {
    by_key: HashMap<K, Slot<V>>,
    /// Moves on whenever the map is cleared, voiding every ticket.
    epoch: u64,
}

/// A key's entry: how many changes were reported for it (kept after an
/// invalidation, so a ticket taken before the change can tell), and its value
/// when one is known to be current.
struct Slot<V> {
    changes: u64,
    value: Option<Arc<V>>,
}

/// Permission to store a value read from the database, valid while nothing
/// changed it.
#[must_use]
pub struct Ticket<K> {
    key: K,
    epoch: u64,
    changes: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> ReadCache<K, V> {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::new(Slots {
                by_key: HashMap::new(),
                epoch: 0,
            }),
        }
    }

    /// The cached value, or a ticket to store it once read.
    pub fn get(&self, key: &K) -> Result<V, Option<Ticket<K>>> {
        if !self.enabled {
            return Err(None);
        }
        let slots = self.lock();
        let slot = slots.by_key.get(key);
        match slot.and_then(|s| s.value.as_deref()) {
            Some(value) => Ok(value.clone()),
            None => Err(Some(Ticket {
                key: key.clone(),
                epoch: slots.epoch,
                changes: slot.map_or(0, |s| s.changes),
            })),
        }
    }

    /// Stores `value` unless a change was reported since `ticket` was taken.
    pub fn fill(&self, ticket: Option<Ticket<K>>, value: &V) {
        let Some(ticket) = ticket else { return };
        let mut slots = self.lock();
        if slots.epoch != ticket.epoch || slots.make_room(&ticket.key) {
            return;
        }
        let slot = slots.slot(ticket.key);
        if slot.changes == ticket.changes {
            slot.value = Some(Arc::new(value.clone()));
        }
    }

    /// Forgets `key`: it was changed, or deleted. Call it after the change is
    /// committed (and also when a write failed in a way that may have
    /// committed).
    pub fn invalidate(&self, key: &K) {
        if !self.enabled {
            return;
        }
        let mut slots = self.lock();
        // Clearing voids every ticket, this key's included.
        if slots.make_room(key) {
            return;
        }
        let slot = slots.slot(key.clone());
        slot.changes += 1;
        slot.value = None;
    }

    /// Forgets everything (a change whose extent is not known key by key).
    pub fn clear(&self) {
        let mut slots = self.lock();
        slots.by_key.clear();
        slots.epoch += 1;
    }

    fn lock(&self) -> MutexGuard<'_, Slots<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq, V> Slots<K, V> {
    /// Clears the map when `key` would be one too many; `true` if it did.
    fn make_room(&mut self, key: &K) -> bool {
        if self.by_key.len() < MAX_SLOTS || self.by_key.contains_key(key) {
            return false;
        }
        self.by_key.clear();
        self.epoch += 1;
        true
    }

    fn slot(&mut self, key: K) -> &mut Slot<V> {
        self.by_key.entry(key).or_insert(Slot {
            changes: 0,
            value: None,
        })
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
    fn clearing_forgets_everything() {
        let cache = WorkloadCache::new(true);
        let ticket = cache.get(&3).expect_err("empty");
        cache.fill(ticket, &workload(3, "a"));
        let late = cache.get(&4).expect_err("empty");
        cache.clear();
        assert!(cache.get(&3).is_err());
        cache.fill(late, &workload(4, "b"));
        assert!(
            cache.get(&4).is_err(),
            "a ticket from before the clear was honoured"
        );
    }

    #[test]
    fn a_filled_workload_is_served_until_invalidated() {
        let cache = WorkloadCache::new(true);
        let ticket = cache.get(&1).expect_err("empty at first");
        cache.fill(ticket, &workload(1, "a"));
        assert_eq!(cache.get(&1).ok().map(|w| w.name), Some("a".into()));
        cache.invalidate(&1);
        assert!(cache.get(&1).is_err());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_stored() {
        let cache = WorkloadCache::new(true);
        let ticket = cache.get(&7).expect_err("empty");
        // A write commits and reports itself while the reader is querying.
        cache.invalidate(&7);
        cache.fill(ticket, &workload(7, "stale"));
        assert!(cache.get(&7).is_err(), "the stale read was stored");
        // A read that started after the write may be stored.
        let ticket = cache.get(&7).expect_err("still empty");
        cache.fill(ticket, &workload(7, "fresh"));
        assert_eq!(cache.get(&7).ok().map(|w| w.name), Some("fresh".into()));
    }

    #[test]
    fn a_disabled_cache_never_answers() {
        let cache = WorkloadCache::new(false);
        let ticket = cache.get(&1).expect_err("disabled");
        assert!(ticket.is_none());
        cache.fill(ticket, &workload(1, "a"));
        assert!(cache.get(&1).is_err());
    }

    #[test]
    fn clearing_when_full_voids_older_tickets() {
        let cache = WorkloadCache::new(true);
        let early = cache.get(&0).expect_err("empty");
        for id in 1..=MAX_SLOTS as u64 + 1 {
            cache.invalidate(&id);
        }
        cache.fill(early, &workload(0, "old"));
        assert!(
            cache.get(&0).is_err(),
            "a ticket from before the clear was honoured"
        );
    }
}
