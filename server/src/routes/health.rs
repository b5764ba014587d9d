//! `GET /healthz`: liveness and database readiness for load balancers and humans.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tally_app::system_status::SystemStatus;
use utoipa::ToSchema;

use super::AppState;

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: String,
    pub uptime_secs: u64,
    pub database: DatabaseHealth,
}

/// The database part of the health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    #[schema(example = "surrealkv")]
    pub engine: String,
    pub ok: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// Reports whether Tally and its database are up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Tally and its database answer", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (code, health) = report(state.service.status().await);
    (code, Json(health))
}

/// Maps a status reading to the HTTP answer: 503 whenever the database is down.
fn report(status: SystemStatus) -> (StatusCode, Health) {
    let db = status.database;
    let code = if db.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let health = Health {
        status: if db.ok { "ok" } else { "unavailable" },
        version: status.version,
        uptime_secs: status.uptime_secs,
        database: DatabaseHealth {
            engine: db.engine,
            ok: db.ok,
            latency_ms: db.latency_ms,
            error: db.error,
        },
    };
    (code, health)
}

#[cfg(test)]
mod tests {
    use tally_app::system_status::DatabaseStatus;

    use super::*;

    fn reading(ok: bool) -> SystemStatus {
        SystemStatus {
            version: "1.2.3".into(),
            uptime_secs: 7,
            checked_at: String::new(),
            database: DatabaseStatus {
                engine: "ws".into(),
                ok,
                latency_ms: 0.0,
                error: (!ok).then(|| "the database did not answer within 2s".to_string()),
            },
            executors: Vec::new(),
        }
    }

    #[test]
    fn a_silent_database_makes_the_server_unavailable() {
        let (code, health) = report(reading(false));
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health.status, "unavailable");
        assert!(health.database.error.is_some());
        let (code, health) = report(reading(true));
        assert_eq!(code, StatusCode::OK);
        assert_eq!(health.status, "ok");
    }
}
