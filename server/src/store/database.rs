//! The SurrealDB handle: opening it from `--db`, and checking that it answers.
//!
//! One [`Database`] is opened at start-up and shared; SurrealDB's client is cheap to
//! clone and safe to use from many tasks. The same code serves the embedded engines
//! and a remote server, through SurrealDB's `any` engine.

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use std::path::Path;
use std::time::{Duration, Instant};

use surrealdb::engine::any::{self, Any};
use surrealdb::opt::auth::Root;
use surrealdb::{IndexedResults, Surreal};

/// Failures of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database at {url}: {source}")]
    Open {
        url: String,
        source: Box<surrealdb::Error>,
    },
    #[error("the database rejected the credentials: {0}")]
    SignIn(Box<surrealdb::Error>),
    #[error("database query failed: {0}")]
    Query(Box<surrealdb::Error>),
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the database answered unexpectedly: {0}")]
    Unexpected(String),
    #[error("schema migration {version} failed: {source}")]
    Migration {
        version: i64,
        source: Box<surrealdb::Error>,
    },
}

/// How many times a conflicting statement is tried before its error is returned.
const CONFLICT_ATTEMPTS: u64 = 10;

/// A write conflict with a concurrent transaction, which may be retried.
pub fn is_conflict(e: &surrealdb::Error) -> bool {
    e.query_details() == Some(&surrealdb::types::QueryError::TransactionConflict)
        || e.to_string().contains("can be retried")
}

/// A write a unique index refused: another transaction created the same key
/// first (SurrealDB says the index "already contains" it).
pub fn is_index_collision(e: &surrealdb::Error) -> bool {
    e.to_string().contains("already contains")
}

/// Whether `e` only says that its statement was skipped, or its `COMMIT`
/// refused, because something else failed in its transaction. Told by text:
/// SurrealDB gives these the kind `NotExecuted` or `Cancelled`, but also
/// gives `NotExecuted` to a commit that failed for a cause of its own.
fn is_consequence(e: &surrealdb::Error) -> bool {
    let text = e.to_string();
    text.contains("not executed due to a") || text.contains("aborted due to a prior error")
}

/// [`IndexedResults::check`] that finds the cause of a failed `BEGIN ...
/// COMMIT` block wherever it is: when the commit conflicts or fails, only the
/// `COMMIT`'s answer says so, and when a statement throws, only that
/// statement's; the statements around it (the first error `check` returns)
/// say they were not executed. Answers the conflict if any statement met
/// one, else the first error that is a cause, else the last error (the
/// `COMMIT`'s).
pub fn checked(mut res: IndexedResults) -> Result<IndexedResults, surrealdb::Error> {
    let mut errors: Vec<_> = res.take_errors().into_iter().collect();
    errors.sort_by_key(|(statement, _)| *statement);
    let cause = errors
        .iter()
        .position(|(_, e)| is_conflict(e))
        .or_else(|| errors.iter().position(|(_, e)| !is_consequence(e)));
    match cause {
        Some(cause) => Err(errors.swap_remove(cause).1),
        None => errors.pop().map_or(Ok(res), |(_, e)| Err(e)),
    }
}

impl From<surrealdb::Error> for DbError {
    fn from(e: surrealdb::Error) -> Self {
        Self::Query(Box::new(e))
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// A SurrealDB endpoint URL (`surrealkv://…`, `mem://`, `ws://…`).
    pub url: String,
    pub credentials: Option<(String, String)>,
    pub namespace: String,
    pub database: String,
}

impl DbSettings {
    /// The default: the embedded SurrealKV engine in `<data_dir>/db`, with
    /// every commit fsynced before it returns. `sync=every` is SurrealKV's
    /// default today; it is pinned so that an acknowledged write stays
    /// durable whatever a later release picks.
    pub fn embedded(data_dir: &Path) -> Self {
        Self {
            url: format!("surrealkv://{}?sync=every", data_dir.join("db").display()),
            credentials: None,
            namespace: "tally".into(),
            database: "tally".into(),
        }
    }

    /// The engine part of the URL (`surrealkv`, `mem`, `ws`…), safe to show: it
    /// never contains a path, host or credentials.
    pub fn engine(&self) -> String {
        self.url
            .split("://")
            .next()
            .unwrap_or("unknown")
            .to_string()
    }

    /// Whether the database runs inside this process (and so has no other user).
    pub fn is_embedded(&self) -> bool {
        is_embedded_engine(&self.engine())
    }
}

fn is_embedded_engine(engine: &str) -> bool {
    matches!(engine, "surrealkv" | "rocksdb" | "mem")
}

/// The shared database handle.
#[derive(Clone)]
pub struct Database {
    client: Surreal<Any>,
    engine: String,
    /// The time of each [`Database::execute`], for `GET /metrics`.
    calls: Histogram,
}

impl Database {
    /// Connects, signs in when credentials are given, and selects Tally's namespace
    /// and database.
    pub async fn open(settings: &DbSettings) -> Result<Self, DbError> {
        let client = any::connect(settings.url.as_str())
            .await
            .map_err(|source| DbError::Open {
                url: redact(&settings.url),
                source: Box::new(source),
            })?;
        if let Some((username, password)) = &settings.credentials {
            client
                .signin(Root {
                    username: username.clone(),
                    password: password.clone(),
                })
                .await
                .map_err(|e| DbError::SignIn(Box::new(e)))?;
        }
        client
            .use_ns(&settings.namespace)
            .use_db(&settings.database)
            .await?;
        Ok(Self {
            client,
            engine: settings.engine(),
            // 100 µs to about 3 minutes.
            calls: Histogram::new(exponential_buckets(0.0001, 2.0, 21)),
        })
    }

    /// The histogram of call times, to be registered with the metrics.
    pub fn call_histogram(&self) -> Histogram {
        self.calls.clone()
    }

    /// Whether the database runs inside this process: embedded engines lock
    /// their files, so this process is its only user.
    pub fn is_embedded(&self) -> bool {
        is_embedded_engine(&self.engine)
    }

    /// The engine name, for status pages.
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The SurrealDB client, for the stores built on it.
    pub fn client(&self) -> &Surreal<Any> {
        &self.client
    }

    /// Runs the statements `query` builds and checks them, again when the store
    /// reports a write conflict with a concurrent transaction (SurrealKV's
    /// transactions are optimistic: a run's heartbeat and a delete of its
    /// workload may touch the same records at once). A conflicting transaction
    /// is rolled back whole, so running it again is safe.
    pub async fn execute<'a>(
        &'a self,
        query: impl Fn(&'a Surreal<Any>) -> surrealdb::method::Query<'a, Any>,
    ) -> Result<IndexedResults, DbError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match query(&self.client).await.and_then(checked) {
                Err(e) if is_conflict(&e) && attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "transaction conflict, retried");
                    tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                }
                outcome => {
                    self.calls.observe(started.elapsed().as_secs_f64());
                    return Ok(outcome?);
                }
            }
        }
    }

    /// Runs a trivial query and returns how long the round trip took.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, DbError> {
        let started = Instant::now();
        let answer = tokio::time::timeout(timeout, async {
            let mut response = self.client.query("RETURN 1").await?.check()?;
            let one: Option<i64> = response.take(0)?;
            Ok::<_, surrealdb::Error>(one)
        })
        .await
        .map_err(|_| DbError::Timeout(timeout))??;
        match answer {
            Some(1) => Ok(started.elapsed()),
            other => Err(DbError::Unexpected(format!("RETURN 1 answered {other:?}"))),
        }
    }
}

/// The index of the `RETURN` that ends a `BEGIN ... COMMIT` block's answers
/// (each of the two counts as a statement).
pub fn last_of_transaction(res: &IndexedResults) -> usize {
    res.num_statements().saturating_sub(2)
}

/// The record ids of `nums` in `table`, to bind as `$ids` in `SELECT ... FROM
/// $ids`: key lookups, where a `WHERE num IN [...]` would scan the table.
/// Numbers past `i64` name no record and are left out.
pub fn record_ids(
    table: &str,
    nums: impl IntoIterator<Item = u64>,
) -> Vec<surrealdb::types::RecordId> {
    nums.into_iter()
        .filter_map(|n| i64::try_from(n).ok())
        .map(|n| surrealdb::types::RecordId::new(table, n))
        .collect()
}

/// Drops anything between `://` and `@` (user and password) from a URL for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_hide_paths_and_hosts() {
        let settings = DbSettings::embedded(Path::new("/srv/tally"));
        assert_eq!(settings.url, "surrealkv:///srv/tally/db?sync=every");
        assert_eq!(settings.engine(), "surrealkv");
    }

    #[test]
    fn credentials_are_redacted_from_urls() {
        assert_eq!(redact("ws://root:secret@db:8000"), "ws://***@db:8000");
        assert_eq!(redact("surrealkv:///data/db"), "surrealkv:///data/db");
    }

    #[tokio::test]
    async fn an_embedded_database_answers_a_ping() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&DbSettings::embedded(dir.path()))
            .await
            .expect("opens");
        let rtt = db.ping(Duration::from_secs(5)).await.expect("answers");
        assert!(rtt < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_failed_transaction_answers_what_failed_not_what_was_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&DbSettings::embedded(dir.path()))
            .await
            .expect("opens");
        let answer = db
            .client()
            .query(
                "BEGIN TRANSACTION;
                 LET $x = 1;
                 CREATE thing:one;
                 IF $x = 1 { THROW 'the cause' };
                 CREATE thing:two;
                 COMMIT TRANSACTION;",
            )
            .await
            .expect("sent");
        let error = checked(answer).expect_err("thrown").to_string();
        assert!(error.contains("the cause"), "{error}");
        let clean = db.client().query("RETURN 1").await.expect("sent");
        assert!(checked(clean).is_ok());
    }
}
