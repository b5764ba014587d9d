//! [`TableLeases`]: which tables are being read or deleted right now, so that
//! a table is never deleted under a running scan, nor a scan started on a table
//! being deleted. Both checks and marks happen under one lock, so no
//! interleaving of a delete and a run's start can break them within one
//! process. Processes sharing a database see each other's runs through the
//! table's readers in the database (`Catalog::add_reader`); these marks
//! answer this process's own conflicts without a round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What is happening to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// This many scans read it.
    Read(usize),
    /// A delete is removing it.
    Deleting,
}

/// Shared registry of tables in use, keyed by `project.dataset.table`.
#[derive(Debug, Clone, Default)]
pub struct TableLeases {
    tables: Arc<Mutex<HashMap<String, Use>>>,
}

/// Why a lease was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    #[error("is being read by a run; try again when it ends")]
    Read,
    #[error("is being deleted")]
    Deleting,
}

/// Held while a table is read or deleted; released on drop.
#[derive(Debug)]
pub struct TableLease {
    leases: TableLeases,
    table: String,
}

impl TableLeases {
    /// Marks `table` as being read until the lease is dropped; refused while
    /// it is being deleted.
    pub fn read(&self, table: &str) -> Result<TableLease, Busy> {
        let mut tables = self.lock();
        match tables.entry(table.to_string()).or_insert(Use::Read(0)) {
            Use::Deleting => return Err(Busy::Deleting),
            Use::Read(n) => *n += 1,
        }
        Ok(self.lease(table))
    }

    /// Marks `table` as being deleted until the lease is dropped; refused
    /// while a run reads it (or another delete is at work).
    pub fn delete(&self, table: &str) -> Result<TableLease, Busy> {
        let mut tables = self.lock();
        match tables.get(table) {
            Some(Use::Read(n)) if *n > 0 => return Err(Busy::Read),
            Some(Use::Deleting) => return Err(Busy::Deleting),
            _ => {}
        }
        tables.insert(table.to_string(), Use::Deleting);
        Ok(self.lease(table))
    }

    fn lease(&self, table: &str) -> TableLease {
        TableLease {
            leases: self.clone(),
            table: table.to_string(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Use>> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TableLease {
    fn drop(&mut self) {
        let mut tables = self.leases.lock();
        let done = match tables.get_mut(&self.table) {
            Some(Use::Read(n)) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            Some(Use::Deleting) => true,
            None => false,
        };
        if done {
            tables.remove(&self.table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_deletes_exclude_each_other() {
        let leases = TableLeases::default();
        let a = leases.read("p.d.t").expect("read");
        let b = leases.read("p.d.t").expect("a second read");
        assert_eq!(leases.delete("p.d.t").err(), Some(Busy::Read));
        drop(a);
        assert_eq!(leases.delete("p.d.t").err(), Some(Busy::Read));
        drop(b);
        let deleting = leases.delete("p.d.t").expect("delete once unread");
        assert_eq!(leases.read("p.d.t").err(), Some(Busy::Deleting));
        assert_eq!(leases.delete("p.d.t").err(), Some(Busy::Deleting));
        assert!(leases.read("p.d.other").is_ok(), "other tables are free");
        drop(deleting);
        assert!(leases.read("p.d.t").is_ok(), "free again");
    }
}
