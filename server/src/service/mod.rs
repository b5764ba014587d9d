//! The service layer: the one place where Tally's operations are implemented.
//!
//! Both the REST routes and the UI's server functions (through
//! [`tally_app::service::AppService`]) call into [`TallyService`].

mod datasets;

use std::path::Path;
use std::time::{Duration, Instant};

use tally_app::domain::{DatabaseStatus, SystemStatus};
use tally_app::service::AppService;

use crate::catalog::Catalog;
use crate::db::{Database, DbError};
use crate::error::ServiceError;
use crate::migrations;
use crate::tables::{TableLeases, TableStore};

pub use datasets::PREVIEW_ROWS;

/// How long a status check waits for the database before calling it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Tally's operations over its database and table files.
pub struct TallyService {
    db: Database,
    catalog: Catalog,
    store: TableStore,
    leases: TableLeases,
    started: Instant,
}

impl TallyService {
    /// Brings the database schema up to date, opens the table store under
    /// `data_dir` and removes what interrupted imports left behind.
    pub async fn open(db: Database, data_dir: &Path) -> Result<Self, ServiceError> {
        let applied = migrations::migrate(&db).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database schema upgraded");
        }
        let store = TableStore::open(data_dir).map_err(|e| DbError::DataDir {
            path: data_dir.display().to_string(),
            source: e,
        })?;
        let service = Self {
            catalog: Catalog::new(db.clone()),
            db,
            store,
            leases: TableLeases::default(),
            started: Instant::now(),
        };
        let swept = service.sweep_table_files().await?;
        if swept > 0 {
            tracing::info!(files = swept, "removed files left by interrupted imports");
        }
        Ok(service)
    }

    /// A fresh path in the table store's spool for an upload being received.
    pub fn incoming_path(&self) -> std::path::PathBuf {
        self.store.incoming_path(".upload")
    }

    pub fn leases(&self) -> &TableLeases {
        &self.leases
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A fresh reading of the server's and database's state.
    pub async fn status(&self) -> SystemStatus {
        let database = match self.db.ping(PING_TIMEOUT).await {
            Ok(rtt) => DatabaseStatus {
                engine: self.db.engine().to_string(),
                ok: true,
                latency_ms: rtt.as_secs_f64() * 1000.0,
                error: None,
            },
            Err(e) => {
                tracing::warn!(error = %e, "database health check failed");
                DatabaseStatus {
                    engine: self.db.engine().to_string(),
                    ok: false,
                    latency_ms: 0.0,
                    error: Some(e.to_string()),
                }
            }
        };
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            checked_at: rfc3339_millis(chrono::Utc::now()),
            database,
        }
    }
}

#[async_trait::async_trait]
impl AppService for TallyService {
    async fn system_status(&self) -> SystemStatus {
        self.status().await
    }
}

/// Formats a time as RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T10:15:30.123Z`.
pub fn rfc3339_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
