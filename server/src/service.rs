//! The service layer: the one place where Tally's operations are implemented.
//!
//! Both the REST routes and the UI's server functions (through
//! [`tally_app::service::AppService`]) call into [`TallyService`].

use std::time::{Duration, Instant};

use tally_app::domain::{DatabaseStatus, SystemStatus};
use tally_app::service::AppService;

use crate::db::Database;

/// How long a status check waits for the database before calling it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Tally's operations over its database.
pub struct TallyService {
    db: Database,
    started: Instant,
}

impl TallyService {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            started: Instant::now(),
        }
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
