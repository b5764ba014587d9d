//! Two `tally` processes on one real SurrealDB server (`tally-surrealdb`, a
//! build of SurrealDB's own server), sharing one data directory as servers on
//! shared storage would: creates through both, one queue drained by both,
//! a `kill -9` of one mid-run, no stale reads, deletes seen at once.
//!
//! One shared data directory, not one each: a table uploaded through one
//! process is a Parquet file the other's runs must read, and results files are
//! written by whichever process ran the run. Servers on a remote database lock
//! the directory shared (see `data_dir.rs`).

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `tally-surrealdb start` on a free loopback port with SurrealKV storage in a
/// temporary directory; killed when dropped.
struct SurrealServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl SurrealServer {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = format!("surrealkv://{}", dir.path().join("db").display());
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("surreal.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tally-surrealdb"))
            .args(["start", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--user", "root", "--pass", "root", "--log", "warn", &store])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tally-surrealdb");
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("http://127.0.0.1:{}/health", self.port);
        while Instant::now() < deadline {
            let answer = client().get(&url).send().await.map(|r| r.status());
            if matches!(answer, Ok(StatusCode::OK)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self._dir.path().join("surreal.log")).unwrap_or_default();
        panic!("tally-surrealdb did not answer {url} within 60 s; its log:\n{log}");
    }

    /// Starts a `tally serve` on this database and `data` (shared), with `extra`.
    fn tally(&self, cwd: &Path, data: &Path, extra: &[&str]) -> TestServer {
        let db = format!("ws://127.0.0.1:{}", self.port);
        let mut args = vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("utf-8 path"),
            "--db",
            &db,
            "--db-user",
            "root",
            "--db-pass",
            "root",
        ];
        args.extend_from_slice(extra);
        TestServer::start_with(&tally_bin(), cwd, &args)
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A database server and two Tally processes on it, sharing one directory.
struct Pair {
    a: TestServer,
    b: TestServer,
    _db: SurrealServer,
    _temp: tempfile::TempDir,
}

impl Pair {
    async fn start(extra: &[&str]) -> Self {
        let db = SurrealServer::start().await;
        let temp = tempfile::tempdir().expect("temp dir");
        let data = temp.path().join("data");
        let a = db.tally(temp.path(), &data, extra);
        let b = db.tally(temp.path(), &data, extra);
        Self {
            a,
            b,
            _db: db,
            _temp: temp,
        }
    }
}

/// The ids of the runs a server's log says it started.
fn runs_started(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter(|l| l.contains("run started"))
        .filter_map(|l| {
            let at = l.find(" run=")? + " run=".len();
            l[at..].split_whitespace().next()?.parse().ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_servers_create_read_update_and_delete_the_same_workloads() {
    let Pair { a, b, .. } = &Pair::start(&[]).await;
    upload_text(a, "lines", "to be or not to be\n").await;

    // Creates through both at once: ids unique, and each readable through both.
    let body = workload("lines", "line", json!({}));
    let creates = (0..16).map(|i| {
        let server = if i % 2 == 0 { a } else { b };
        create(server, &body)
    });
    let ids: Vec<u64> = futures_util::future::join_all(creates).await;
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "ids handed out twice: {ids:?}");
    for id in &ids {
        let (status, through_a) = a.get_json(&format!("/api/v1/workloads/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, through_b) = b.get_json(&format!("/api/v1/workloads/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(through_a["name"], through_b["name"]);
    }

    // A read through B after a write through A sees the write (no stale cache).
    let first = ids[0];
    let (status, _, renamed) = a
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{first}"),
            &json!({"name": "renamed through A"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (_, seen) = b.get_json(&format!("/api/v1/workloads/{first}")).await;
    assert_eq!(seen["name"], "renamed through A");

    // A delete through A is a 404 through B at once: API, page and list.
    let (status, _, _) = a
        .send_json(
            Method::DELETE,
            &format!("/api/v1/workloads/{first}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b.get_json(&format!("/api/v1/workloads/{first}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = client()
        .get(b.url(&format!("/workloads/{first}")))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let (_, total, _) = b.get_with_total("/api/v1/workloads").await;
    assert_eq!(total, Some(ids.len() as u64 - 1));

    // Never reused: the next id, through either, is above every one given.
    let next = create(b, &body).await;
    assert!(next > *unique.last().expect("ids"), "{next} reuses an id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_queue_is_drained_by_both_servers_and_no_run_runs_twice() {
    // Slowed runs, so that both servers have runs to take.
    let Pair { a, b, .. } = &Pair::start(&["--run-read-rate", "200KB"]).await;
    let text = "the quick brown fox jumps over the lazy dog\n".repeat(5_000);
    upload_text(a, "fox", text).await;
    let body = workload("fox", "line", json!({}));
    let mut runs = Vec::new();
    for i in 0..8 {
        let id = create(if i % 2 == 0 { a } else { b }, &body).await;
        let (_, workload) = a.get_json(&format!("/api/v1/workloads/{id}")).await;
        runs.push(workload["last_run"]["id"].as_u64().expect("queued run"));
    }
    for run in &runs {
        let done = wait_run_within(a, *run, Duration::from_secs(120), finished).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["attempt"], 1, "{done}");
        let log = log_of(&done);
        assert_eq!(log.matches("started").count(), 1, "{log}");
        assert_eq!(done["total_words"], 45_000);
    }
    let (by_a, by_b) = (runs_started(&a.log_lines()), runs_started(&b.log_lines()));
    let (set_a, set_b): (BTreeSet<u64>, BTreeSet<u64>) = (
        by_a.iter().copied().collect(),
        by_b.iter().copied().collect(),
    );
    assert_eq!(set_a.len(), by_a.len(), "A started a run twice: {by_a:?}");
    assert!(
        set_a.is_disjoint(&set_b),
        "both started {:?}",
        set_a.intersection(&set_b)
    );
    assert_eq!(
        set_a.union(&set_b).copied().collect::<Vec<_>>(),
        runs.iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert!(
        !set_a.is_empty() && !set_b.is_empty(),
        "A ran {by_a:?}, B ran {by_b:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_of_a_killed_server_is_finished_by_the_other_after_its_lease() {
    // A lease long enough that A's own heartbeat, slowed by the other tests
    // on two cores, never lets it lapse before the kill.
    let flags = ["--run-lease", "5s", "--run-read-rate", "1MB"];
    let db = SurrealServer::start().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let a = db.tally(temp.path(), &data, &flags);
    upload_text(
        &a,
        "long",
        "one two three four five six seven\n".repeat(400_000),
    )
    .await;
    let id = create(&a, &workload("long", "line", json!({}))).await;
    let (_, workload) = a.get_json(&format!("/api/v1/workloads/{id}")).await;
    let run = workload["last_run"]["id"].as_u64().expect("a run");
    wait_run(&a, run, state_is("running")).await;
    // B starts once A holds the run, so the run is A's; then A dies.
    let b = db.tally(temp.path(), &data, &flags);
    a.kill();
    let done = wait_run_within(&b, run, Duration::from_secs(120), finished).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["attempt"], 2, "{done}");
    let log = log_of(&done);
    assert!(log.contains("its lease ran out"), "{log}");
    assert_eq!(log.matches("succeeded").count(), 1, "{log}");
    assert_eq!(done["total_words"], 2_800_000);
    assert_eq!(runs_started(&b.log_lines()), vec![run], "B ran it, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_table_read_by_a_run_on_one_server_cannot_be_deleted_through_the_other() {
    let flags = ["--run-read-rate", "200KB"];
    let db = SurrealServer::start().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let a = db.tally(temp.path(), &data, &flags);
    upload_text(&a, "busy", "a b c d e f g h\n".repeat(100_000)).await;
    let id = create(&a, &workload("busy", "line", json!({}))).await;
    let (_, workload) = a.get_json(&format!("/api/v1/workloads/{id}")).await;
    let run = workload["last_run"]["id"].as_u64().expect("a run");
    // Reading: values counted means the scan is open, so the run is on the
    // table's readers. B starts only now, so the run is A's, and B's refusal
    // can only come from the database, not from a mark of its own.
    wait_run(&a, run, |r| {
        r["progress"]["values_done"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let b = db.tally(temp.path(), &data, &flags);
    let path = "/api/v1/projects/p/datasets/d/tables/busy";
    let (status, _, refused) = b.send_json(Method::DELETE, path, &Value::Null).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or("")
            .contains("read by a run"),
        "{refused}"
    );
    assert!(runs_started(&b.log_lines()).is_empty(), "B took the run");
    // Cancelled, the run lets the table go; the delete goes through B.
    let cancel = client()
        .post(a.url(&format!("/api/v1/runs/{run}/cancel")))
        .send()
        .await
        .expect("cancel");
    assert!(cancel.status().is_success());
    wait_run(&b, run, finished).await;
    let (status, _, deleted) = b.send_json(Method::DELETE, path, &Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["row_count"], 100_000, "{deleted}");
    let (status, _) = a.get_json(path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
