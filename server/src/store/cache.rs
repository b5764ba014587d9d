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

use crate::store::catalog::StoredTable;

/// Workloads by id.
pub type WorkloadCache = ReadCache<u64, Workload>;
/// Catalog tables by reference.
pub type TableCache = ReadCache<TableRef, StoredTable>;

/// Keys remembered at most. Past it the cache starts over, which is always safe.
const MAX_SLOTS: usize = 100_000;

/// Bytes of cached values at most, by their [`Weigh`]t: a workload may carry a
/// stopword list of up to a JSON body's size, so a count of slots alone does
/// not bound memory. Past it the cache starts over too.
const MAX_BYTES: usize = 64 << 20;

/// About how many bytes a value holds in memory, for [`MAX_BYTES`].
pub trait Weigh {
    fn weight(&self) -> usize;
}

/// What a value's fixed fields and the map entry cost, roughly.
const BASE_WEIGHT: usize = 256;

impl Weigh for Workload {
    fn weight(&self) -> usize {
        let stopwords = match &self.options.stopwords {
            tally_engine::Stopwords::Custom(words) => words.iter().map(|w| w.len() + 24).sum(),
            _ => 0,
        };
        BASE_WEIGHT
            + self.name.len()
            + self.src_project.len()
            + self.src_dataset.len()
            + self.src_table.len()
            + self.src_column_name.len()
            + stopwords
    }
}

impl Weigh for StoredTable {
    fn weight(&self) -> usize {
        BASE_WEIGHT
            + self.file.len()
            + self
                .info
                .columns
                .iter()
                .map(|c| c.name.len() + 32)
                .sum::<usize>()
    }
}

pub struct ReadCache<K, V> {
    enabled: bool,
    inner: Mutex<Slots<K, V>>,
}

struct Slots<K, V> {
    by_key: HashMap<K, Slot<V>>,
    /// The weight of every value held.
    bytes: usize,
    /// Moves on whenever the map is cleared, voiding every ticket.
    epoch: u64,
}

/// A key's entry: how many changes were reported for it (kept after an
/// invalidation, so a ticket taken before the change can tell), and its value
/// when one is known to be current.
struct Slot<V> {
    changes: u64,
    value: Option<Arc<V>>,
    /// The value's weight (0 without one).
    weight: usize,
}

/// Permission to store a value read from the database, valid while nothing
/// changed it.
#[must_use]
pub struct Ticket<K> {
    key: K,
    epoch: u64,
    changes: u64,
}

impl<K: Hash + Eq + Clone, V: Clone + Weigh> ReadCache<K, V> {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::new(Slots {
                by_key: HashMap::new(),
                bytes: 0,
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
        let weight = value.weight();
        let mut slots = self.lock();
        if slots.epoch != ticket.epoch || slots.make_room(&ticket.key, weight) {
            return;
        }
        let slot = slots.slot(ticket.key);
        if slot.changes == ticket.changes {
            let before = std::mem::replace(&mut slot.weight, weight);
            slot.value = Some(Arc::new(value.clone()));
            slots.bytes = slots.bytes.saturating_sub(before) + weight;
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
        if slots.make_room(key, 0) {
            return;
        }
        let slot = slots.slot(key.clone());
        slot.changes += 1;
        slot.value = None;
        let freed = std::mem::take(&mut slot.weight);
        slots.bytes = slots.bytes.saturating_sub(freed);
    }

    /// Forgets everything (a change whose extent is not known key by key).
    pub fn clear(&self) {
        self.lock().start_over();
    }

    fn lock(&self) -> MutexGuard<'_, Slots<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq, V> Slots<K, V> {
    /// Clears the map when `key`, or `weight` more bytes, would be too
    /// many; `true` if it did.
    fn make_room(&mut self, key: &K, weight: usize) -> bool {
        let slots_full = self.by_key.len() >= MAX_SLOTS && !self.by_key.contains_key(key);
        if !slots_full && self.bytes.saturating_add(weight) <= MAX_BYTES {
            return false;
        }
        self.start_over();
        true
    }

    /// Forgets everything; moving the epoch on voids every ticket.
    fn start_over(&mut self) {
        self.by_key.clear();
        self.bytes = 0;
        self.epoch += 1;
    }

    fn slot(&mut self, key: K) -> &mut Slot<V> {
        self.by_key.entry(key).or_insert(Slot {
            changes: 0,
            value: None,
            weight: 0,
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
            executor: Default::default(),
            filter: Default::default(),
            group_by: None,
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

    #[test]
    fn big_values_are_held_within_the_byte_budget() {
        let cache = WorkloadCache::new(true);
        let mut big = workload(0, "big");
        big.options.stopwords = tally_engine::Stopwords::Custom(vec!["x".repeat(1 << 10); 1 << 10]);
        assert!(big.weight() > 1 << 20);
        for id in 0..200 {
            big.id = id;
            let ticket = cache.get(&id).expect_err("not yet cached");
            cache.fill(ticket, &big);
            let bytes = cache.lock().bytes;
            assert!(bytes <= MAX_BYTES, "{bytes} bytes held after {id}");
        }
        assert!(cache.get(&199).is_ok(), "the newest is still served");
        cache.invalidate(&199);
        assert!(cache.get(&199).is_err());
    }
}
