//! `GET /metrics` over real HTTP, read with a Prometheus text parser: its
//! counters move as requests, imports and runs happen. (That it needs a
//! viewer when sign-in is on is in `security.rs`, with every route.)

mod common;

use common::{TestServer, client, create, state_is, upload_text, wait_run, workload};
use prometheus_parse::{Scrape, Value};
use serde_json::json;

async fn scrape(server: &TestServer) -> Scrape {
    let res = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/openmetrics-text"),
        "{:?}",
        res.headers()
    );
    let text = res.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("a Prometheus scrape")
}

/// The value of the sample `metric` whose labels include `labels`; 0 when
/// there is none (a counter not yet incremented has no series).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map_or(0.0, |s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(_) | Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test]
async fn metrics_move_with_requests_imports_and_runs() {
    let server = TestServer::start();
    let before = scrape(&server).await;
    assert_eq!(
        value(
            &before,
            "tally_build_info",
            &[("version", tally_server::cli::VERSION)]
        ),
        1.0
    );
    assert_eq!(value(&before, "tally_runs", &[("state", "succeeded")]), 0.0);

    upload_text(&server, "m", "a b c\n").await;
    create(&server, &workload("m", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    for _ in 0..3 {
        server.get_json("/api/v1/runs/1").await;
    }
    server.get_json("/api/v1/runs/999").await;
    let after = scrape(&server).await;

    let run = [("method", "GET"), ("route", "/api/v1/runs/:id")];
    let ok = [run[0], run[1], ("status", "200")];
    let missing = [run[0], run[1], ("status", "404")];
    // `wait_run` polled the run too: at least the three reads, never fewer.
    assert!(value(&after, "tally_http_requests_total", &ok) >= 3.0);
    assert_eq!(value(&after, "tally_http_requests_total", &missing), 1.0);
    assert!(value(&after, "tally_http_request_duration_seconds_count", &run) >= 4.0);
    assert_eq!(value(&after, "tally_runs", &[("state", "succeeded")]), 1.0);
    assert_eq!(value(&after, "tally_queue_depth", &[]), 0.0);
    assert_eq!(value(&after, "tally_queue_oldest_age_seconds", &[]), 0.0);
    assert_eq!(value(&after, "tally_runs_active", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "tally_runs_finished_total",
            &[("outcome", "succeeded")]
        ),
        1.0
    );
    assert_eq!(value(&after, "tally_run_duration_seconds_count", &[]), 1.0);
    assert_eq!(value(&after, "tally_run_words_per_second_count", &[]), 1.0);
    assert_eq!(
        value(&after, "tally_imports_total", &[("outcome", "imported")]),
        1.0
    );
    assert_eq!(value(&after, "tally_import_bytes_total", &[]), 6.0);
    assert!(
        value(&after, "tally_database_call_duration_seconds_count", &[])
            > value(&before, "tally_database_call_duration_seconds_count", &[])
    );
    // A path no route matches is one series, whatever the path.
    client()
        .get(server.url("/no/such/page/1"))
        .send()
        .await
        .expect("get");
    client()
        .get(server.url("/no/such/page/2"))
        .send()
        .await
        .expect("get");
    let last = scrape(&server).await;
    let unmatched: Vec<_> = last
        .samples
        .iter()
        .filter(|s| s.metric == "tally_http_requests_total")
        .filter(|s| s.labels.get("route").is_some_and(|r| r.contains("such")))
        .collect();
    assert!(unmatched.is_empty(), "a series per path: {unmatched:?}");
}
