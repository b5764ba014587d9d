//! Persistence: everything Tally keeps in its database.
//!
//! The [`database`] connection (embedded or a SurrealDB server) and its
//! [`migrations`], the id [`sequence`]s, and one store per kind of record: the
//! [`catalog`] of tables, [`workloads`] and [`runs`] (their rows, and the
//! durable queue the dispatcher claims from), with the read [`cache`] that
//! the workload and run stores keep current. Table and results *files* live
//! with their owners (`tables`, `runs::results`); accounts with `auth`.

pub mod cache;
pub mod catalog;
pub mod database;
pub mod migrations;
pub mod runs;
pub mod sequence;
pub mod workloads;

/// Formats a time as RFC 3339 in UTC with milliseconds, e.g.
/// `2026-11-23T10:15:30.123Z`: how every stored time is shown.
pub fn rfc3339_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
