//! [`Metrics`]: what `GET /metrics` reports, in the OpenMetrics text format
//! Prometheus scrapes.
//!
//! Most figures are recorded where they happen (a request answered, a run
//! finished, an import done). What the database knows better than this
//! process (runs by state, the queue's depth and oldest run: other processes
//! may share the database) is read when the endpoint is scraped.
//!
//! The registry is the service's, not a process global: tests open several
//! services in one process, and each reports its own.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The `Content-Type` of the scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's template (`/api/v1/runs/:id`), never the path itself:
    /// ids would make a series per request.
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn seconds_histogram() -> Histogram {
    // 1 ms to about 9 minutes.
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// Every metric Tally reports, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    runs_by_state: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
    oldest_queued_seconds: FloatGauge,
    active_runs: Gauge,
    runs_finished: Family<OutcomeLabels, Counter>,
    run_seconds: Histogram,
    run_words_per_second: Histogram,
    imports: Family<OutcomeLabels, Counter>,
    import_bytes: Counter,
    event_streams: Gauge,
}

impl Metrics {
    /// The metrics of one service; `database_calls` is the database's own
    /// histogram of call times (kept by [`crate::store::database::Database`]).
    pub fn new(version: &str, database_calls: Histogram) -> Self {
        let mut registry = Registry::with_prefix("tally");
        let metrics = Self {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(seconds_histogram),
            runs_by_state: Family::default(),
            queue_depth: Gauge::default(),
            oldest_queued_seconds: FloatGauge::default(),
            active_runs: Gauge::default(),
            runs_finished: Family::default(),
            run_seconds: seconds_histogram(),
            // 1 000 to about 500 million words a second.
            run_words_per_second: Histogram::new(exponential_buckets(1_000.0, 2.0, 20)),
            imports: Family::default(),
            import_bytes: Counter::default(),
            event_streams: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "build",
            "Tally's version",
            Info::new(vec![("version".to_string(), version.to_string())]),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to its headers; a download or event stream goes on after)",
            prometheus_client::registry::Unit::Seconds,
            metrics.request_seconds.clone(),
        );
        registry.register(
            "runs",
            "Runs in the database, by state (read at each scrape)",
            metrics.runs_by_state.clone(),
        );
        registry.register(
            "queue_depth",
            "Runs queued and not yet started (read at each scrape)",
            metrics.queue_depth.clone(),
        );
        registry.register_with_unit(
            "queue_oldest_age",
            "How long the oldest queued run has waited; 0 with none queued (read at each scrape)",
            prometheus_client::registry::Unit::Seconds,
            metrics.oldest_queued_seconds.clone(),
        );
        registry.register(
            "runs_active",
            "Runs this process is counting now",
            metrics.active_runs.clone(),
        );
        registry.register(
            "runs_finished",
            "Runs this process finished, by outcome (succeeded, failed, cancelled)",
            metrics.runs_finished.clone(),
        );
        registry.register_with_unit(
            "run_duration",
            "Time from a run's start to its end, for the runs this process finished",
            prometheus_client::registry::Unit::Seconds,
            metrics.run_seconds.clone(),
        );
        registry.register(
            "run_words_per_second",
            "Words counted per second of reading and counting, for each succeeded run",
            metrics.run_words_per_second.clone(),
        );
        registry.register(
            "imports",
            "Table imports this process ended, by outcome (imported, refused)",
            metrics.imports.clone(),
        );
        registry.register_with_unit(
            "import",
            "Bytes of the files of imports this process completed",
            prometheus_client::registry::Unit::Bytes,
            metrics.import_bytes.clone(),
        );
        registry.register(
            "event_streams",
            "Open event streams (GET /api/v1/events)",
            metrics.event_streams.clone(),
        );
        registry.register_with_unit(
            "database_call_duration",
            "Time of each database call, retries included",
            prometheus_client::registry::Unit::Seconds,
            database_calls,
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// One HTTP request answered.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// A run starts counting in this process; it is counted as active until
    /// the returned guard is dropped.
    pub fn run_started(&self) -> ActiveRun {
        self.active_runs.inc();
        ActiveRun(self.active_runs.clone())
    }

    /// A run ended here: `outcome` is its state; `words_per_second` is given
    /// for a success.
    pub fn run_finished(&self, outcome: &str, took: Duration, words_per_second: Option<f64>) {
        self.runs_finished
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
        self.run_seconds.observe(took.as_secs_f64());
        if let Some(rate) = words_per_second {
            self.run_words_per_second.observe(rate);
        }
    }

    /// An import ended: `bytes` of files read when it was `imported`.
    pub fn import_ended(&self, imported: bool, bytes: u64) {
        let outcome = if imported { "imported" } else { "refused" };
        self.imports
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
        if imported {
            self.import_bytes.inc_by(bytes);
        }
    }

    /// The figures read at each scrape.
    pub fn set_queue(&self, by_state: &[(String, u64)], queued: u64, oldest: Option<Duration>) {
        for (state, n) in by_state {
            self.runs_by_state
                .get_or_create(&StateLabels {
                    state: state.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.queue_depth
            .set(i64::try_from(queued).unwrap_or(i64::MAX));
        self.oldest_queued_seconds
            .set(oldest.map_or(0.0, |d| d.as_secs_f64()));
    }

    pub fn set_event_streams(&self, open: usize) {
        self.event_streams
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// A run counted as active while this lives.
pub struct ActiveRun(Gauge);

impl Drop for ActiveRun {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_recorded_is_encoded() {
        let calls = seconds_histogram();
        calls.observe(0.002);
        let metrics = Metrics::new("1.2.3", calls);
        metrics.request("GET", "/api/v1/runs/:id", 200, Duration::from_millis(3));
        metrics.request("GET", "/api/v1/runs/:id", 200, Duration::from_millis(5));
        {
            let _running = metrics.run_started();
            let text = metrics.encode().expect("encode");
            assert!(text.contains("tally_runs_active 1\n"), "{text}");
        }
        metrics.run_finished("succeeded", Duration::from_secs(2), Some(5e6));
        metrics.import_ended(true, 1_000);
        metrics.import_ended(false, 99);
        metrics.set_queue(&[("queued".into(), 3)], 3, Some(Duration::from_secs(7)));
        let text = metrics.encode().expect("encode");
        for line in [
            "tally_build_info{version=\"1.2.3\"} 1",
            "tally_http_requests_total{method=\"GET\",route=\"/api/v1/runs/:id\",status=\"200\"} 2",
            "tally_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/runs/:id\"} 2",
            "tally_runs_active 0",
            "tally_runs_finished_total{outcome=\"succeeded\"} 1",
            "tally_run_duration_seconds_count 1",
            "tally_run_words_per_second_count 1",
            "tally_imports_total{outcome=\"imported\"} 1",
            "tally_imports_total{outcome=\"refused\"} 1",
            "tally_import_bytes_total 1000",
            "tally_runs{state=\"queued\"} 3",
            "tally_queue_depth 3",
            "tally_queue_oldest_age_seconds 7.0",
            "tally_database_call_duration_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
