//! The server's health as the Dashboard shows it ([`SystemStatus`]), shared by the server and the UI.
//!
//! They travel through server functions (serde) and are rendered on both sides, so
//! they carry only plain data: timestamps are RFC 3339 strings formatted by the server.

use serde::{Deserialize, Serialize};

/// What the Dashboard's status card shows: is the server up, and does its database answer?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// Tally's version (the server crate's).
    pub version: String,
    /// How long this server process has been running, in whole seconds.
    pub uptime_secs: u64,
    /// When the server took this reading (RFC 3339, UTC, milliseconds).
    pub checked_at: String,
    pub database: DatabaseStatus,
    /// What can count runs here: `native` always, `spark` with `--spark-master`.
    #[serde(default)]
    pub executors: Vec<crate::workload::Executor>,
}

/// The result of one round trip to the database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseStatus {
    /// The kind of store: `surrealkv`, `mem`, `ws`, ... (never credentials).
    pub engine: String,
    /// Whether a trivial query came back in time.
    pub ok: bool,
    /// Round-trip time of that query, in milliseconds.
    pub latency_ms: f64,
    /// Why the check failed, when it did.
    pub error: Option<String>,
}

impl SystemStatus {
    /// A short human reading of the uptime, such as `3 d 4 h` or `12 min 5 s`.
    pub fn uptime_text(&self) -> String {
        let s = self.uptime_secs;
        let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
        match (d, h, m) {
            (0, 0, 0) => format!("{sec} s"),
            (0, 0, _) => format!("{m} min {sec} s"),
            (0, _, _) => format!("{h} h {m} min"),
            _ => format!("{d} d {h} h"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uptime_secs: u64) -> SystemStatus {
        SystemStatus {
            version: "0".into(),
            uptime_secs,
            checked_at: String::new(),
            database: DatabaseStatus {
                engine: "mem".into(),
                ok: true,
                latency_ms: 0.0,
                error: None,
            },
            executors: Vec::new(),
        }
    }

    #[test]
    fn uptime_text_picks_the_two_largest_units() {
        assert_eq!(status(5).uptime_text(), "5 s");
        assert_eq!(status(725).uptime_text(), "12 min 5 s");
        assert_eq!(status(3 * 3600 + 120).uptime_text(), "3 h 2 min");
        assert_eq!(status(2 * 86_400 + 3 * 3600).uptime_text(), "2 d 3 h");
    }
}
