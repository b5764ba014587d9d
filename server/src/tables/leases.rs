//! [`TableLeases`]: which tables are being read right now, so that a table is not
//! deleted under a running scan (the delete answers 409 instead).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Shared registry of tables in use, keyed by `project.dataset.table`.
#[derive(Debug, Clone, Default)]
pub struct TableLeases {
    readers: Arc<Mutex<HashMap<String, usize>>>,
}

/// Held while a table is read; released on drop.
#[derive(Debug)]
pub struct TableLease {
    leases: TableLeases,
    table: String,
}

impl TableLeases {
    /// Marks `table` as being read until the lease is dropped.
    pub fn acquire(&self, table: &str) -> TableLease {
        *self.lock().entry(table.to_string()).or_default() += 1;
        TableLease {
            leases: self.clone(),
            table: table.to_string(),
        }
    }

    pub fn in_use(&self, table: &str) -> bool {
        self.lock().get(table).is_some_and(|&n| n > 0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.readers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TableLease {
    fn drop(&mut self) {
        let mut readers = self.leases.lock();
        if let Some(n) = readers.get_mut(&self.table) {
            *n -= 1;
            if *n == 0 {
                readers.remove(&self.table);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_and_release() {
        let leases = TableLeases::default();
        let a = leases.acquire("p.d.t");
        let b = leases.acquire("p.d.t");
        assert!(leases.in_use("p.d.t"));
        drop(a);
        assert!(leases.in_use("p.d.t"));
        drop(b);
        assert!(!leases.in_use("p.d.t"));
    }
}
