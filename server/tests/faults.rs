//! Black-box tests of the paths that handle faults nothing outside the
//! process can cause on demand: a database that refuses to record a run's end,
//! a dispatcher slot that crashes, a scan cut short, a delete that meets a
//! starting run. The binary is the real one, built with `fault-injection`;
//! `FAILPOINTS` arms the fail points (the `fail` crate's syntax:
//! `name=[count*]action`).

mod common;

use std::time::{Duration, Instant};

use common::{
    TestServer, client, create, files_in, finished, log_of, rerun, upload_text, wait_run,
    wait_run_within, workload,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// More distinct words than a run keeps in the database: its results go to
/// files, which every failure path must remove.
fn many_words() -> String {
    (0..3_000).map(|i| format!("w{i}\n")).collect()
}

#[tokio::test]
async fn a_run_end_the_database_refuses_twice_is_recorded_on_the_third_try() {
    let server = TestServer::start_faulty("run-finish=2*return", &[]);
    upload_text(&server, "t", many_words()).await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["total_words"], 3_000);
    let (status, counts) = server.get_json("/api/v1/runs/1/wordcount?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["total"], 3_000, "the results files are the run's");
    let retries = server
        .log_lines()
        .iter()
        .filter(|l| l.contains("cannot record the end of a run; trying again"))
        .count();
    assert_eq!(retries, 2, "each refused write is logged");
}

#[tokio::test]
async fn a_run_whose_success_can_never_be_written_fails_with_the_reason_and_keeps_no_files() {
    // Five refusals: every try at the success; the sixth write, the failure, passes.
    let server = TestServer::start_faulty("run-finish=5*return", &[]);
    upload_text(&server, "t", many_words()).await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run_within(&server, 1, Duration::from_secs(60), finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot record the run's result") && error.contains("injected fault"),
        "{error}"
    );
    // Removed just after the failure is recorded.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !files_in(&server.data_dir.join("results")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the files of the unrecorded success stay: {:?}",
            files_in(&server.data_dir.join("results"))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server goes on: the next run succeeds.
    rerun(&server, 1).await;
    let rerun = wait_run(&server, 2, finished).await;
    assert_eq!(rerun["state"], "succeeded", "{rerun}");
}

#[tokio::test]
async fn a_run_whose_end_can_never_be_written_is_failed_by_lease_recovery() {
    // Nothing about the run can be written: it must still end, through its
    // lease running out, and never stay `running`.
    let server = TestServer::start_faulty("run-finish=return", &["--run-lease", "3s"]);
    upload_text(&server, "t", many_words()).await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run_within(&server, 1, Duration::from_secs(150), finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["attempt"], 3, "every attempt was made: {run}");
    let log = log_of(&run);
    assert!(log.contains("its lease ran out"), "{log}");
    assert!(log.contains("interrupted too often"), "{log}");
    // Recovery can fail the run while its last attempt still retries the
    // write; that attempt removes its files when it gives up.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = files_in(&server.data_dir.join("results"));
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "files outlive every attempt: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_crashed_dispatcher_slot_is_started_again_and_its_run_finishes() {
    // One slot; it crashes on the first run it claims.
    let server = TestServer::start_faulty("dispatcher-slot=1*panic", &["--run-lease", "3s"]);
    upload_text(&server, "t", "a b a\nc\n").await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run_within(&server, 1, Duration::from_secs(60), finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["attempt"], 2, "the crashed attempt was retried: {run}");
    assert_eq!(run["total_words"], 4);
    assert!(
        log_of(&run).contains("its lease ran out"),
        "{}",
        log_of(&run)
    );
    let lines = server.log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("a dispatcher slot crashed")),
        "the crash is logged: {lines:?}"
    );
    // The queue still has its one worker.
    rerun(&server, 1).await;
    let rerun = wait_run(&server, 2, finished).await;
    assert_eq!(rerun["state"], "succeeded", "{rerun}");
    assert_eq!(rerun["attempt"], 1);
}

/// 20 000 rows: three batches of the scan, so a decoder that stops after its
/// first has rows left.
fn rows() -> String {
    (0..20_000).map(|i| format!("row {i}\n")).collect()
}

#[tokio::test]
async fn a_scan_cut_short_fails_the_run_instead_of_counting_part_of_the_table() {
    let server = TestServer::start_faulty("scan-decode=1*return", &[]);
    upload_text(&server, "t", rows()).await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the scan ended after 8192 of the table's 20000 rows"),
        "{error}"
    );
    assert_eq!(run["total_words"], Value::Null, "no partial counts: {run}");
    // Once the fault is spent, the same table counts in full.
    rerun(&server, 1).await;
    let rerun = wait_run(&server, 2, finished).await;
    assert_eq!(rerun["state"], "succeeded", "{rerun}");
    assert_eq!(rerun["total_words"], 40_000);
}

#[tokio::test]
async fn a_scan_whose_decoder_crashes_fails_the_run_with_the_reason() {
    let server = TestServer::start_faulty("scan-decode=1*panic", &[]);
    upload_text(&server, "t", rows()).await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("of the table's 20000 rows: the decoder crashed"),
        "{error}"
    );
    let (status, health) = server.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK, "the server goes on: {health}");
}

#[tokio::test]
async fn a_table_cannot_be_deleted_under_a_run_that_is_opening_it() {
    // The run holds in its scan's opening, its table lease taken, for 4 s.
    let server = TestServer::start_faulty("scan-open=1*sleep(4000)", &[]);
    upload_text(&server, "t", "a b a\nc\n").await;
    create(&server, &workload("t", "line", json!({}))).await;
    wait_run(&server, 1, |r| r["state"] == "running").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let table = server.url("/api/v1/projects/p/datasets/d/tables/t");
    let res = client().delete(&table).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let answer: Value = res.json().await.expect("json");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("is being read by a run"),
        "{answer}"
    );
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(
        run["state"], "succeeded",
        "the run read its whole table: {run}"
    );
    assert_eq!(run["total_words"], 4);
    // Once the run is over the delete goes through, and a new run of the
    // table fails cleanly.
    let res = client().delete(&table).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::OK);
    rerun(&server, 1).await;
    let rerun = wait_run(&server, 2, finished).await;
    assert_eq!(rerun["state"], "failed", "{rerun}");
    let error = rerun["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("Source table"), "{error}");
}
