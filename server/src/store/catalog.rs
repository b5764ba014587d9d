//! The catalog: projects → datasets → tables, in SurrealDB.
//!
//! The catalog holds names, schemas and statistics; the rows themselves are
//! Parquet files managed by [`crate::tables::TableStore`]. A table's record is
//! written only after its file is in place, and removed before its file is.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use tally_app::catalog::{Column, ColumnType, DatasetInfo, ProjectInfo, SourceFormat, TableInfo};
use tally_app::names::{DatasetName, ProjectName, TableName, TableRef};

use crate::store::cache::TableCache;
use crate::store::database::{Database, DbError, last_of_transaction};
use crate::store::rfc3339_millis;

/// Which part of a reference does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Project {
        project: String,
    },
    Dataset {
        project: String,
        dataset: String,
    },
    Table {
        project: String,
        dataset: String,
        table: String,
    },
    Column {
        table: String,
        column: String,
    },
}

impl Missing {
    /// The message with a leading word, in the prototype's style:
    /// `Source dataset 'x' does not exist in project 'p'`.
    pub fn message(&self, lead: &str) -> String {
        let lower = lead.is_empty();
        let kind = |k: &str| {
            if lower {
                let mut c = k.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            } else {
                format!("{lead} {k}")
            }
        };
        match self {
            Self::Project { project } => format!("{} '{project}' does not exist", kind("project")),
            Self::Dataset { project, dataset } => {
                format!(
                    "{} '{dataset}' does not exist in project '{project}'",
                    kind("dataset")
                )
            }
            Self::Table {
                project,
                dataset,
                table,
            } => {
                format!(
                    "{} '{table}' does not exist in dataset '{project}.{dataset}'",
                    kind("table")
                )
            }
            Self::Column { table, column } => {
                format!(
                    "{} '{column}' does not exist in table '{table}'",
                    kind("column")
                )
            }
        }
    }
}

/// A project name as a client spelled it: one that breaks the naming rule cannot
/// exist, so it is missing like any other.
pub fn project_name(raw: &str) -> Result<ProjectName, Missing> {
    ProjectName::parse(raw).map_err(|_| Missing::Project {
        project: raw.into(),
    })
}

/// A dataset name of `project`, as [`project_name`] treats projects.
pub fn dataset_name(project: &str, raw: &str) -> Result<DatasetName, Missing> {
    DatasetName::parse(raw).map_err(|_| Missing::Dataset {
        project: project.into(),
        dataset: raw.into(),
    })
}

/// `project.dataset.table` from its parts, or the first part that cannot exist.
pub fn table_ref(project: &str, dataset: &str, table: &str) -> Result<TableRef, Missing> {
    Ok(TableRef {
        project: project_name(project)?,
        dataset: dataset_name(project, dataset)?,
        table: TableName::parse(table).map_err(|_| Missing::Table {
            project: project.into(),
            dataset: dataset.into(),
            table: table.into(),
        })?,
    })
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(""))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    NotFound(Missing),
    #[error("table '{0}' already exists")]
    TableExists(String),
    #[error("table '{0}' is being read by a run; try again when it ends")]
    InUse(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<surrealdb::Error> for CatalogError {
    fn from(e: surrealdb::Error) -> Self {
        Self::Db(e.into())
    }
}

#[derive(Debug, Clone, SurrealValue)]
struct ColumnRow {
    name: String,
    #[surreal(rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, SurrealValue)]
struct TableRow {
    project: String,
    dataset: String,
    name: String,
    columns: Vec<ColumnRow>,
    row_count: i64,
    stored_bytes: i64,
    source_format: String,
    file: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, SurrealValue)]
struct NameRow {
    name: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, SurrealValue)]
struct CountRow {
    key: String,
    n: i64,
}

#[derive(Debug, SurrealValue)]
struct FileRow {
    file: String,
}

/// A table as the catalog stores it: its public description and its file.
#[derive(Debug, Clone)]
pub struct StoredTable {
    pub info: TableInfo,
    /// The Parquet file's name inside the table store.
    pub file: String,
}

impl TableRow {
    fn into_stored(self) -> StoredTable {
        let columns = self
            .columns
            .into_iter()
            .map(|c| Column {
                name: c.name,
                kind: ColumnType::parse(&c.kind).unwrap_or(ColumnType::String),
            })
            .collect();
        StoredTable {
            info: TableInfo {
                project: self.project,
                dataset: self.dataset,
                name: self.name,
                columns,
                row_count: u64::try_from(self.row_count).unwrap_or(0),
                stored_bytes: u64::try_from(self.stored_bytes).unwrap_or(0),
                source_format: SourceFormat::parse(&self.source_format)
                    .unwrap_or(SourceFormat::Parquet),
                created_at: rfc3339_millis(self.created_at),
            },
            file: self.file,
        }
    }
}

/// A table about to be registered.
pub struct NewTable {
    pub reference: TableRef,
    pub columns: Vec<Column>,
    pub row_count: u64,
    pub stored_bytes: u64,
    pub source_format: SourceFormat,
    pub file: String,
}

/// How many times a table's creation is tried when another creates its
/// project or dataset at the same moment.
const CREATE_ATTEMPTS: u32 = 3;

/// The error text a transaction throws when the table exists; matched to
/// tell a conflict from any other failure.
const EXISTS_MARK: &str = "tally: table exists";
/// Thrown when the table of a reader or delete is gone.
const MISSING_MARK: &str = "tally: no such table";
/// Thrown when a delete meets a live reader.
const IN_USE_MARK: &str = "tally: table in use";

/// The runs among a table row's (`$row`) readers that still run under a
/// lease that has not run out: the process behind any other entry stopped.
const LIVE_READERS: &str = "(SELECT VALUE id FROM $row.readers.run
    WHERE state = 'running' AND lease_expires > time::now())";

/// Statements that bind `$row` to the table `$p.$d.$t` (its id and
/// readers), or throw [`MISSING_MARK`].
fn table_row() -> String {
    format!(
        "LET $row = (SELECT id, readers FROM catalog_table
             WHERE project = $p AND dataset = $d AND name = $t)[0];
         IF $row IS NONE {{ THROW '{MISSING_MARK}' }};"
    )
}

/// A run's entry in a table's readers ([`Catalog::lease_reader`]), taken off
/// when this is dropped. The entry names this read alone (`lease`, fresh for
/// each), so a late removal never takes off the entry of a later attempt of
/// the same run. Dropping cannot wait for the database, so the removal runs
/// as a task of its own; if it fails, or the process stops first, the entry
/// goes stale once its run leaves `running` or its run lease runs out.
pub struct ReaderLease {
    catalog: Catalog,
    table: TableRef,
    lease: String,
}

impl Drop for ReaderLease {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!(table = %self.table, "no runtime to take a read off a table's readers; it lapses with its run");
            return;
        };
        let (catalog, table) = (self.catalog.clone(), self.table.clone());
        let lease = std::mem::take(&mut self.lease);
        runtime.spawn(async move {
            if let Err(e) = catalog.remove_reader(&table, &lease).await {
                tracing::warn!(table = %table, error = %e, "cannot take a read off a table's readers; it lapses with its run");
            }
        });
    }
}

/// Access to the catalog records.
#[derive(Clone)]
pub struct Catalog {
    db: Database,
    /// Tables found, for the lookup every workload create and run makes.
    tables: Arc<TableCache>,
}

impl Catalog {
    /// A catalog that caches nothing.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            tables: Arc::new(TableCache::new(false)),
        }
    }

    /// Keeps the tables it finds in memory (only when this process is the
    /// database's only user: see [`crate::store::cache`]).
    pub fn caching(mut self, enabled: bool) -> Self {
        self.tables = Arc::new(TableCache::new(enabled));
        self
    }

    pub async fn list_projects(&self) -> Result<Vec<ProjectInfo>, CatalogError> {
        let mut res = self
            .db
            .client()
            .query("SELECT name, created_at FROM project ORDER BY name")
            .query("SELECT project AS key, count() AS n FROM dataset GROUP BY key")
            .await?
            .check()?;
        let projects: Vec<NameRow> = res.take(0)?;
        let counts = counts(res.take(1)?);
        Ok(projects
            .into_iter()
            .map(|p| ProjectInfo {
                dataset_count: counts.get(&p.name).copied().unwrap_or(0),
                name: p.name,
                created_at: rfc3339_millis(p.created_at),
            })
            .collect())
    }

    pub async fn list_datasets(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<DatasetInfo>, CatalogError> {
        self.require_project(project.as_str()).await?;
        let mut res = self
            .db
            .client()
            .query("SELECT name, created_at FROM dataset WHERE project = $p ORDER BY name")
            .query("SELECT dataset AS key, count() AS n FROM catalog_table WHERE project = $p GROUP BY key")
            .bind(("p", project.as_str().to_string()))
            .await?
            .check()?;
        let datasets: Vec<NameRow> = res.take(0)?;
        let counts = counts(res.take(1)?);
        Ok(datasets
            .into_iter()
            .map(|d| DatasetInfo {
                project: project.to_string(),
                table_count: counts.get(&d.name).copied().unwrap_or(0),
                name: d.name,
                created_at: rfc3339_millis(d.created_at),
            })
            .collect())
    }

    pub async fn list_tables(
        &self,
        project: &ProjectName,
        dataset: &DatasetName,
    ) -> Result<Vec<TableInfo>, CatalogError> {
        self.require_dataset(project.as_str(), dataset.as_str())
            .await?;
        let mut res = self
            .db
            .client()
            .query("SELECT * OMIT id, readers FROM catalog_table WHERE project = $p AND dataset = $d ORDER BY name")
            .bind(("p", project.as_str().to_string()))
            .bind(("d", dataset.as_str().to_string()))
            .await?
            .check()?;
        let rows: Vec<TableRow> = res.take(0)?;
        Ok(rows.into_iter().map(|r| r.into_stored().info).collect())
    }

    /// The table, or which part of the reference is missing.
    pub async fn get_table(&self, r: &TableRef) -> Result<StoredTable, CatalogError> {
        match self.find_table(r).await? {
            Some(t) => Ok(t),
            None => {
                self.require_dataset(r.project.as_str(), r.dataset.as_str())
                    .await?;
                Err(CatalogError::NotFound(Missing::Table {
                    project: r.project.to_string(),
                    dataset: r.dataset.to_string(),
                    table: r.table.to_string(),
                }))
            }
        }
    }

    async fn find_table(&self, r: &TableRef) -> Result<Option<StoredTable>, CatalogError> {
        let ticket = match self.tables.get(r) {
            Ok(table) => return Ok(Some(table)),
            Err(ticket) => ticket,
        };
        let mut res = self
            .by_reference("SELECT * OMIT id, readers FROM catalog_table WHERE project = $p AND dataset = $d AND name = $t", r)
            .await?
            .check()?;
        let rows: Vec<TableRow> = res.take(0)?;
        let table = rows.into_iter().next().map(TableRow::into_stored);
        if let Some(table) = &table {
            self.tables.fill(ticket, table);
        }
        Ok(table)
    }

    /// `sql` with `$p`, `$d` and `$t` bound to the parts of `r`.
    fn by_reference<'a>(
        &'a self,
        sql: &'a str,
        r: &TableRef,
    ) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any> {
        self.bind_reference(self.db.client().query(sql), r)
    }

    /// `query` with `$p`, `$d` and `$t` bound to the parts of `r`.
    fn bind_reference<'a>(
        &self,
        query: surrealdb::method::Query<'a, surrealdb::engine::any::Any>,
        r: &TableRef,
    ) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any> {
        query
            .bind(("p", r.project.to_string()))
            .bind(("d", r.dataset.to_string()))
            .bind(("t", r.table.to_string()))
    }

    /// Whether `r` names an existing table (for early 409s before an import).
    pub async fn table_exists(&self, r: &TableRef) -> Result<bool, CatalogError> {
        Ok(self.find_table(r).await?.is_some())
    }

    /// Registers a table whose file is already in the store, creating its project
    /// and dataset when they are new; all or nothing.
    pub async fn create_table(&self, new: NewTable) -> Result<StoredTable, CatalogError> {
        let r = &new.reference;
        let row = TableRow {
            project: r.project.to_string(),
            dataset: r.dataset.to_string(),
            name: r.table.to_string(),
            columns: new
                .columns
                .iter()
                .map(|c| ColumnRow {
                    name: c.name.clone(),
                    kind: c.kind.as_str().into(),
                })
                .collect(),
            row_count: i64::try_from(new.row_count).unwrap_or(i64::MAX),
            stored_bytes: i64::try_from(new.stored_bytes).unwrap_or(i64::MAX),
            source_format: new.source_format.as_str().into(),
            file: new.file.clone(),
            created_at: Utc::now(),
        };
        let script = format!(
            "BEGIN TRANSACTION;
             IF array::len(SELECT id FROM project WHERE name = $p) == 0 {{
                 CREATE project CONTENT {{ name: $p, created_at: time::now() }};
             }};
             IF array::len(SELECT id FROM dataset WHERE project = $p AND name = $d) == 0 {{
                 CREATE dataset CONTENT {{ project: $p, name: $d, created_at: time::now() }};
             }};
             IF array::len(SELECT id FROM catalog_table WHERE project = $p AND dataset = $d AND name = $t) > 0 {{
                 THROW '{EXISTS_MARK}';
             }};
             CREATE catalog_table CONTENT $row;
             COMMIT TRANSACTION;"
        );
        // Two imports into a new project at once conflict as transactions
        // (retried by `execute`, with a backoff) or race on its unique index:
        // the loser's transaction fails as a whole, and running it again
        // finds the project created. Any other error is answered as it is.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .db
                .execute(|client| {
                    client
                        .query(script.as_str())
                        .bind(("p", row.project.clone()))
                        .bind(("d", row.dataset.clone()))
                        .bind(("t", row.name.clone()))
                        .bind(("row", row.clone()))
                })
                .await;
            self.tables.invalidate(r);
            match outcome {
                Ok(_) => break,
                Err(DbError::Query(e)) if e.to_string().contains(EXISTS_MARK) => {
                    return Err(CatalogError::TableExists(r.to_string()));
                }
                Err(DbError::Query(e)) if crate::store::database::is_index_collision(&e) => {
                    // The same table, created by the winner.
                    if self.table_exists(r).await? {
                        return Err(CatalogError::TableExists(r.to_string()));
                    }
                    if attempt >= CREATE_ATTEMPTS {
                        return Err(DbError::Query(e).into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.find_table(r).await?.ok_or_else(|| {
            CatalogError::Db(DbError::Unexpected(format!(
                "table {r} vanished after its creation"
            )))
        })
    }

    /// Removes a table's record and returns it (its file is the caller's to
    /// delete); refused while a run on any process sharing the database
    /// reads it. The check, the read of what is removed and the delete are
    /// one transaction, and a run registering as a reader writes the same
    /// row, so the two never both succeed, and what is answered is the row
    /// deleted even if another process re-created the table meanwhile.
    pub async fn delete_table(&self, r: &TableRef) -> Result<StoredTable, CatalogError> {
        let script = format!(
            "BEGIN TRANSACTION;
             {}
             IF array::len({LIVE_READERS}) > 0 {{ THROW '{IN_USE_MARK}' }};
             LET $gone = (SELECT * OMIT id, readers FROM $row.id);
             DELETE $row.id;
             RETURN $gone;
             COMMIT TRANSACTION;",
            table_row()
        );
        let outcome = self
            .db
            .execute(|client| self.bind_reference(client.query(script.as_str()), r))
            .await;
        self.tables.invalidate(r);
        let mut res = match outcome {
            Ok(res) => res,
            Err(e) => return Err(self.explain(r, e).await),
        };
        let gone: Vec<TableRow> = res.take(last_of_transaction(&res))?;
        gone.into_iter()
            .next()
            .map(TableRow::into_stored)
            .ok_or_else(|| {
                CatalogError::Db(DbError::Unexpected(format!(
                    "deleting table {r} answered no row"
                )))
            })
    }

    /// Adds a read of the table by run `run` to its readers, dropping the
    /// entries of readers that stopped, and answers the guard that takes it
    /// off: from then on no process can delete the table until the guard is
    /// dropped, the run ends or its run lease runs out.
    pub async fn lease_reader(&self, r: &TableRef, run: u64) -> Result<ReaderLease, CatalogError> {
        let lease = uuid::Uuid::new_v4().to_string();
        let script = format!(
            "BEGIN TRANSACTION;
             {}
             LET $live = {LIVE_READERS};
             UPDATE $row.id SET readers = array::append(
                 $row.readers[WHERE run IN $live],
                 {{ run: type::record('run', $run), lease: $lease }});
             COMMIT TRANSACTION;",
            table_row()
        );
        // Run numbers come from a counter far below i64::MAX.
        let run = i64::try_from(run).unwrap_or(i64::MAX);
        let outcome = self
            .db
            .execute(|client| {
                self.bind_reference(client.query(script.as_str()), r)
                    .bind(("run", run))
                    .bind(("lease", lease.clone()))
            })
            .await;
        match outcome {
            Ok(_) => Ok(ReaderLease {
                catalog: self.clone(),
                table: r.clone(),
                lease,
            }),
            Err(e) => Err(self.explain(r, e).await),
        }
    }

    /// Takes the read `lease` off the table's readers (a table deleted
    /// meanwhile is no error: it had no reader left to protect).
    async fn remove_reader(&self, r: &TableRef, lease: &str) -> Result<(), CatalogError> {
        self.db
            .execute(|client| {
                self.bind_reference(
                    client.query(
                        "UPDATE catalog_table SET readers = readers[WHERE lease != $lease]
                         WHERE project = $p AND dataset = $d AND name = $t",
                    ),
                    r,
                )
                .bind(("lease", lease.to_string()))
            })
            .await?;
        Ok(())
    }

    /// The error a reader or delete transaction of `r` ended with, told
    /// apart by the mark it threw.
    async fn explain(&self, r: &TableRef, e: DbError) -> CatalogError {
        let text = e.to_string();
        if text.contains(IN_USE_MARK) {
            CatalogError::InUse(r.to_string())
        } else if text.contains(MISSING_MARK) {
            match self.get_table(r).await {
                Err(missing) => missing,
                Ok(_) => CatalogError::Db(e),
            }
        } else {
            CatalogError::Db(e)
        }
    }

    /// The file names of every registered table.
    pub async fn table_files(&self) -> Result<Vec<String>, CatalogError> {
        let mut res = self
            .db
            .client()
            .query("SELECT file FROM catalog_table")
            .await?
            .check()?;
        let rows: Vec<FileRow> = res.take(0)?;
        Ok(rows.into_iter().map(|r| r.file).collect())
    }

    async fn require_project(&self, project: &str) -> Result<(), CatalogError> {
        let mut res = self
            .db
            .client()
            .query("SELECT name, created_at FROM project WHERE name = $p")
            .bind(("p", project.to_string()))
            .await?
            .check()?;
        let rows: Vec<NameRow> = res.take(0)?;
        if rows.is_empty() {
            return Err(CatalogError::NotFound(Missing::Project {
                project: project.into(),
            }));
        }
        Ok(())
    }

    async fn require_dataset(&self, project: &str, dataset: &str) -> Result<(), CatalogError> {
        self.require_project(project).await?;
        let mut res = self
            .db
            .client()
            .query("SELECT name, created_at FROM dataset WHERE project = $p AND name = $d")
            .bind(("p", project.to_string()))
            .bind(("d", dataset.to_string()))
            .await?
            .check()?;
        let rows: Vec<NameRow> = res.take(0)?;
        if rows.is_empty() {
            return Err(CatalogError::NotFound(Missing::Dataset {
                project: project.into(),
                dataset: dataset.into(),
            }));
        }
        Ok(())
    }
}

fn counts(rows: Vec<CountRow>) -> HashMap<String, u64> {
    rows.into_iter()
        .map(|r| (r.key, u64::try_from(r.n).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_table(project: &str, table: &str) -> NewTable {
        NewTable {
            reference: TableRef::parse(&format!("{project}.d.{table}")).expect("reference"),
            columns: Vec::new(),
            row_count: 1,
            stored_bytes: 1,
            source_format: SourceFormat::Csv,
            file: format!("{table}.parquet"),
        }
    }

    #[tokio::test]
    async fn imports_racing_into_a_new_project_all_register_and_one_name_once() {
        let (_dir, db) = crate::store::migrations::migrated_in_temp_dir().await;
        let catalog = Catalog::new(db);
        let tables = (0..8).map(|i| catalog.create_table(new_table("fresh", &format!("t{i}"))));
        for created in futures_util::future::join_all(tables).await {
            created.expect("every table of the new project registers");
        }
        let same = (0..4).map(|_| catalog.create_table(new_table("again", "one")));
        let outcomes = futures_util::future::join_all(same).await;
        let created = outcomes.iter().filter(|o| o.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(CatalogError::TableExists(_))))
            .count();
        assert_eq!((created, refused), (1, 3), "{outcomes:?}");
    }

    #[test]
    fn missing_parts_read_like_the_prototype() {
        let d = Missing::Dataset {
            project: "p".into(),
            dataset: "x".into(),
        };
        assert_eq!(
            d.message("Source"),
            "Source dataset 'x' does not exist in project 'p'"
        );
        assert_eq!(d.to_string(), "Dataset 'x' does not exist in project 'p'");
        let t = Missing::Table {
            project: "p".into(),
            dataset: "d".into(),
            table: "x".into(),
        };
        assert_eq!(
            t.message("Source"),
            "Source table 'x' does not exist in dataset 'p.d'"
        );
        assert_eq!(
            Missing::Project {
                project: "p".into()
            }
            .to_string(),
            "Project 'p' does not exist"
        );
    }
}
