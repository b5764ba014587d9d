//! The catalog operations of the service: browse, import, preview, delete.

use std::collections::HashSet;
use std::path::PathBuf;

use tally_app::catalog::{
    DatasetInfo, DatasetTree, ProjectInfo, ProjectTree, TableDetail, TableInfo,
};
use tally_app::names::{DatasetName, ProjectName, TableRef};

use super::TallyService;
use crate::error::ServiceError;
use crate::store::catalog::{CatalogError, NewTable};
use crate::tables::import::{self, ImportOptions, ImportSource};
use crate::tables::preview;
use crate::tables::reader::ReadLease;
use crate::tables::scan::{Grouping, TableScan};
use tally_app::auth::Principal;
use tally_app::workload::RowFilter;
use tally_engine::{CancelToken, Pace};

/// Cancels a token when dropped: ties blocking work to the request awaiting it.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Rows shown in a table's preview.
pub const PREVIEW_ROWS: usize = 20;

impl TallyService {
    pub async fn list_projects(&self) -> Result<Vec<ProjectInfo>, ServiceError> {
        Ok(self.tables.catalog.list_projects().await?)
    }

    pub async fn list_datasets(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<DatasetInfo>, ServiceError> {
        Ok(self.tables.catalog.list_datasets(project).await?)
    }

    pub async fn list_tables(
        &self,
        project: &ProjectName,
        dataset: &DatasetName,
    ) -> Result<Vec<TableInfo>, ServiceError> {
        Ok(self.tables.catalog.list_tables(project, dataset).await?)
    }

    /// Every project with its datasets and their tables.
    pub async fn tree(&self) -> Result<Vec<ProjectTree>, ServiceError> {
        let mut tree = Vec::new();
        for project in self.tables.catalog.list_projects().await? {
            let name = ProjectName::parse(&project.name).map_err(ServiceError::internal)?;
            let mut datasets = Vec::new();
            for dataset in self.tables.catalog.list_datasets(&name).await? {
                let ds = DatasetName::parse(&dataset.name).map_err(ServiceError::internal)?;
                let tables = self.tables.catalog.list_tables(&name, &ds).await?;
                datasets.push(DatasetTree {
                    name: dataset.name,
                    tables,
                });
            }
            tree.push(ProjectTree {
                name: project.name,
                datasets,
            });
        }
        Ok(tree)
    }

    /// A table's schema, statistics and first rows.
    pub async fn table_detail(&self, table: &TableRef) -> Result<TableDetail, ServiceError> {
        let stored = self.tables.catalog.get_table(table).await?;
        let path = self
            .tables
            .files
            .path_of(&stored.file)
            .map_err(ServiceError::internal)?;
        let rows = tokio::task::spawn_blocking(move || preview::first_rows(&path, PREVIEW_ROWS))
            .await
            .map_err(ServiceError::internal)??;
        Ok(TableDetail {
            table: stored.info,
            preview: rows,
        })
    }

    /// Imports `sources` as the new table `table`. All or nothing: on any error no
    /// table is registered and no file is left behind.
    pub async fn import_table(
        &self,
        who: &Principal,
        table: &TableRef,
        sources: Vec<ImportSource>,
        options: ImportOptions,
    ) -> Result<TableInfo, ServiceError> {
        let input_bytes = sources
            .iter()
            .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
            .sum::<u64>();
        let imported = self.import_into(who, table, sources, options).await;
        self.metrics.import_ended(imported.is_ok(), input_bytes);
        imported
    }

    async fn import_into(
        &self,
        who: &Principal,
        table: &TableRef,
        sources: Vec<ImportSource>,
        options: ImportOptions,
    ) -> Result<TableInfo, ServiceError> {
        if self.tables.catalog.table_exists(table).await? {
            return Err(CatalogError::TableExists(table.to_string()).into());
        }
        // Imports beyond the limit wait here, in arrival order.
        let _permit = self
            .imports
            .clone()
            .acquire_owned()
            .await
            .map_err(ServiceError::internal)?;
        let input_bytes = sources
            .iter()
            .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
            .sum::<u64>();
        // A table file is about the size of its source or smaller (Parquet with
        // zstd); a Parquet upload is moved, not copied.
        self.ensure_free_disk(input_bytes)?;
        // Removed however this ends (error, or the request dropped), unless
        // committed first (a rename: the removal then finds nothing).
        let out =
            tempfile::TempPath::try_from_path(self.tables.files.incoming_path(".parquet.tmp"))
                .map_err(ServiceError::internal)?;
        let work_out = out.to_path_buf();
        // The conversion runs on a blocking thread that a dropped request
        // cannot stop by itself: the guard cancels it when this future is
        // dropped (the client went away), and the converter stops at its next read.
        let cancel = CancelToken::new();
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let limits = self.limits.import;
        let name = table.to_string();
        let converted = tokio::task::spawn_blocking(move || {
            let converted = import::convert(&sources, &options, &limits, &cancel, &work_out);
            if matches!(converted, Err(import::ImportError::Cancelled)) {
                tracing::info!(table = %name, "import stopped: its client went away");
            }
            converted
        })
        .await
        .map_err(ServiceError::internal)?;
        let converted = converted?;
        let store = self.tables.files.clone();
        let file = tokio::task::spawn_blocking(move || {
            let committed = store.commit(&out);
            drop(out);
            committed
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)?;
        // Until the catalog holds it, the committed file is removed on any exit.
        let unregistered = self
            .tables
            .files
            .path_of(&file)
            .and_then(tempfile::TempPath::try_from_path)
            .map_err(ServiceError::internal)?;
        let stored_bytes = self
            .tables
            .files
            .size_of(&file)
            .map_err(ServiceError::internal)?;
        let registered = self
            .tables
            .catalog
            .create_table(NewTable {
                reference: table.clone(),
                columns: converted.columns,
                row_count: converted.rows,
                stored_bytes,
                source_format: converted.format,
                file: file.clone(),
            })
            .await;
        match registered {
            Ok(stored) => {
                // Registered: the file is the table's now.
                let _ = unregistered.keep();
                tracing::info!(table = %table, rows = converted.rows, bytes = stored_bytes, "table imported");
                let detail = format!("{} rows, {stored_bytes} bytes", converted.rows);
                self.accounts
                    .record(who, "table.import", &table.to_string(), &detail)
                    .await;
                Ok(stored.info)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the table exists.
    pub async fn has_table(&self, table: &TableRef) -> Result<bool, ServiceError> {
        Ok(self.tables.catalog.table_exists(table).await?)
    }

    /// Deletes a table and its data; 409 while a run reads it.
    pub async fn delete_table(
        &self,
        who: &Principal,
        table: &TableRef,
    ) -> Result<TableInfo, ServiceError> {
        let key = table.to_string();
        // Held until the file is gone: a run starting meanwhile is refused.
        let _deleting = self
            .tables
            .leases
            .delete(&key)
            .map_err(|busy| ServiceError::Conflict(format!("table '{key}' {busy}")))?;
        let stored = self.tables.catalog.delete_table(table).await?;
        if let Err(e) = self.tables.files.remove(&stored.file) {
            // The record is gone, so the file is an orphan the next start sweeps.
            tracing::warn!(file = %stored.file, error = %e, "could not remove a deleted table's file");
        }
        self.accounts.record(who, "table.delete", &key, "").await;
        Ok(stored.info)
    }

    /// The file of a table and its description, with a read lease on it for
    /// run `run` (see [`TableReader::lease`]).
    pub async fn lease_table(
        &self,
        table: &TableRef,
        run: u64,
    ) -> Result<(PathBuf, TableInfo, ReadLease), ServiceError> {
        self.tables.lease(table, run).await
    }

    /// Opens a scan of a string column (see [`TableReader::open_scan`]).
    pub async fn open_scan(
        &self,
        table: &TableRef,
        run: u64,
        column: &str,
        filter: &RowFilter,
        grouping: Option<Grouping>,
        pace: Option<Pace>,
    ) -> Result<(TableScan, ReadLease), ServiceError> {
        self.tables
            .open_scan(table, run, column, filter, grouping, pace)
            .await
    }

    /// Removes files left by interrupted imports or deletes.
    pub(super) async fn sweep_table_files(&self) -> Result<usize, ServiceError> {
        let known: HashSet<String> = self
            .tables
            .catalog
            .table_files()
            .await?
            .into_iter()
            .collect();
        let store = self.tables.files.clone();
        tokio::task::spawn_blocking(move || store.sweep(&known))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)
    }
}
