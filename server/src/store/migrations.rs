//! Versioned schema migrations, applied at start-up.
//!
//! Each migration is a SurrealQL script of idempotent `DEFINE ... OVERWRITE`
//! statements. It runs in one transaction together with the record of its
//! version in the `migration` table, so a data directory is always at exactly one
//! version, and an older one upgrades in place. Two processes starting at once on
//! one remote database cannot both apply a version: the unique index on
//! `migration.version` fails the second transaction, which then re-reads.

use surrealdb::types::SurrealValue;

use crate::store::database::{Database, DbError};

/// One schema version.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub script: &'static str,
}

/// Every migration, oldest first. Never edit a released one: add the next.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalog",
        script: include_str!("../../migrations/0001_catalog.surql"),
    },
    Migration {
        version: 2,
        name: "workloads",
        script: include_str!("../../migrations/0002_workloads.surql"),
    },
    Migration {
        version: 3,
        name: "runs",
        script: include_str!("../../migrations/0003_runs.surql"),
    },
    Migration {
        version: 4,
        name: "workload count",
        script: include_str!("../../migrations/0004_workload_count.surql"),
    },
    Migration {
        version: 5,
        name: "run words",
        script: include_str!("../../migrations/0005_run_words.surql"),
    },
    Migration {
        version: 6,
        name: "accounts",
        script: include_str!("../../migrations/0006_accounts.surql"),
    },
    Migration {
        version: 7,
        name: "data directory marker",
        script: include_str!("../../migrations/0007_data_dir.surql"),
    },
    Migration {
        version: 8,
        name: "executor",
        script: include_str!("../../migrations/0008_executor.surql"),
    },
    Migration {
        version: 9,
        name: "table readers",
        script: include_str!("../../migrations/0009_table_readers.surql"),
    },
    Migration {
        version: 10,
        name: "ngram",
        script: include_str!("../../migrations/0010_ngram.surql"),
    },
    Migration {
        version: 11,
        name: "row filter",
        script: include_str!("../../migrations/0011_row_filter.surql"),
    },
    Migration {
        version: 12,
        name: "group by",
        script: include_str!("../../migrations/0012_group_by.surql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

const BOOKKEEPING: &str = "
    DEFINE TABLE IF NOT EXISTS migration SCHEMAFULL;
    DEFINE FIELD IF NOT EXISTS version ON migration TYPE int;
    DEFINE FIELD IF NOT EXISTS name ON migration TYPE string;
    DEFINE FIELD IF NOT EXISTS applied_at ON migration TYPE datetime;
    DEFINE INDEX IF NOT EXISTS migration_version ON migration FIELDS version UNIQUE;
";

#[derive(Debug, SurrealValue)]
struct Version {
    version: i64,
}

/// The version a database is at (0 for a new one).
pub async fn current_version(db: &Database) -> Result<i64, DbError> {
    db.client().query(BOOKKEEPING).await?.check()?;
    let mut res = db
        .client()
        .query("SELECT version FROM migration ORDER BY version DESC LIMIT 1")
        .await?
        .check()?;
    let rows: Vec<Version> = res.take(0)?;
    Ok(rows.first().map_or(0, |v| v.version))
}

/// Applies every migration newer than the database, up to `target`; returns the
/// versions applied.
pub async fn migrate_to(db: &Database, target: i64) -> Result<Vec<i64>, DbError> {
    let current = current_version(db).await?;
    if current > latest_version() {
        return Err(DbError::Unexpected(format!(
            "the database is at schema version {current}, newer than this Tally ({}): upgrade Tally",
            latest_version()
        )));
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let script = format!(
            "BEGIN TRANSACTION;\n{}\nCREATE migration CONTENT {{ version: $version, name: $name, applied_at: time::now() }};\nCOMMIT TRANSACTION;",
            m.script
        );
        let outcome = db
            .client()
            .query(script)
            .bind(("version", m.version))
            .bind(("name", m.name))
            .await
            .and_then(|r| r.check());
        match outcome {
            Ok(_) => {
                tracing::info!(
                    version = m.version,
                    name = m.name,
                    "applied schema migration"
                );
                applied.push(m.version);
            }
            // Another process applied it first; it is in place either way.
            Err(_) if current_version(db).await? >= m.version => {}
            Err(e) => {
                return Err(DbError::Migration {
                    version: m.version,
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(applied)
}

/// Brings the database to [`latest_version`].
pub async fn migrate(db: &Database) -> Result<Vec<i64>, DbError> {
    migrate_to(db, latest_version()).await
}

/// A migrated database in a temporary directory, for the stores' unit tests
/// (a file database: `mem://` is slow on large transactions).
#[cfg(test)]
pub(crate) async fn migrated_in_temp_dir() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&crate::store::database::DbSettings::embedded(dir.path()))
        .await
        .expect("opens");
    migrate(&db).await.expect("migrates");
    (dir, db)
}
