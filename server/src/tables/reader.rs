//! Reads of the tables for runs: a table's file under a read lease, and scans
//! of its columns. The dispatcher reaches the tables only through this.

use std::path::PathBuf;

use tally_app::catalog::TableInfo;
use tally_app::names::TableRef;
use tally_app::workload::RowFilter;
use tally_engine::Pace;

use super::filter::resolve;
use super::scan::{Grouping, TableScan};
use super::{TableLease, TableLeases, TableStore};
use crate::error::ServiceError;
use crate::store::catalog::{Catalog, ReaderLease};

/// What a run holds while it reads a table: this process's mark (see
/// [`TableLeases`](crate::tables::TableLeases)) and, on a database other
/// processes share, its entry in the table's readers there, which they see.
pub struct ReadLease {
    _local: TableLease,
    _shared: Option<ReaderLease>,
}

/// The catalog, the table files and this process's leases on them.
#[derive(Clone)]
pub struct TableReader {
    pub catalog: Catalog,
    pub files: TableStore,
    pub leases: TableLeases,
    /// Whether this process is the database's only user (an embedded one):
    /// then its own leases are every lease there is.
    pub exclusive: bool,
}

impl TableReader {
    /// The file of a table and its description, with a read lease on it for
    /// run `run`: the table cannot be deleted, through this process or any
    /// other on the database, until the lease is dropped (or, if this
    /// process dies, the run's lease runs out).
    pub async fn lease(
        &self,
        table: &TableRef,
        run: u64,
    ) -> Result<(PathBuf, TableInfo, ReadLease), ServiceError> {
        let key = table.to_string();
        // This process's own mark first: it refuses at once, without a
        // database round trip, a run starting while this process deletes.
        let local = self
            .leases
            .read(&key)
            .map_err(|busy| ServiceError::Conflict(format!("table '{key}' {busy}")))?;
        // An embedded database has no other user, so the mark above is
        // enough, and the runs of a table need not contend for its row.
        let shared = if self.exclusive {
            None
        } else {
            Some(self.catalog.lease_reader(table, run).await?)
        };
        let stored = self.catalog.get_table(table).await?;
        let path = self
            .files
            .path_of(&stored.file)
            .map_err(ServiceError::internal)?;
        let lease = ReadLease {
            _local: local,
            _shared: shared,
        };
        Ok((path, stored.info, lease))
    }

    /// Opens a scan of a string column, keeping the rows `filter` keeps (held
    /// to `pace` when given), holding a lease on the table. The filter is
    /// checked against the table as it is now: it may have been replaced, with
    /// other columns, since the workload was saved.
    pub async fn open_scan(
        &self,
        table: &TableRef,
        run: u64,
        column: &str,
        filter: &RowFilter,
        grouping: Option<Grouping>,
        pace: Option<Pace>,
    ) -> Result<(TableScan, ReadLease), ServiceError> {
        let (path, info, lease) = self.lease(table, run).await?;
        let filter = resolve(filter, &info).map_err(ServiceError::Invalid)?;
        let column = column.to_string();
        let scan = tokio::task::spawn_blocking(move || {
            TableScan::open(&path, &info, &column, &filter, grouping.as_ref(), pace)
        })
        .await
        .map_err(ServiceError::internal)??;
        Ok((scan, lease))
    }
}
