//! The Spark executor against a real Spark: a standalone master and one
//! worker on loopback, started from the PySpark install the test command
//! provides (`TALLY_TEST_SPARK_HOME`, with `PYSPARK_PYTHON`), and the real
//! binary. Built only with the `spark-tests` feature, which `./tally.sh test`
//! enables once PySpark is installed.
//!
//! One cluster serves every scenario, in turn: Spark applications on a
//! one-core worker would only queue behind each other if run at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{TestServer, client, create, files_in, finished, log_of, upload_as, wait_run_within};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The PySpark installation: `SPARK_HOME`.
fn spark_home() -> PathBuf {
    let home = std::env::var_os("TALLY_TEST_SPARK_HOME").expect(
        "the spark tests need a PySpark install: run them through ./tally.sh test, \
         or set TALLY_TEST_SPARK_HOME to its SPARK_HOME (and PYSPARK_PYTHON)",
    );
    PathBuf::from(home)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A standalone master and one worker (one core), stopped when dropped.
struct SparkCluster {
    master: Child,
    worker: Child,
    url: String,
    ui: String,
    _dir: tempfile::TempDir,
}

impl SparkCluster {
    fn start() -> Self {
        let home = spark_home();
        let dir = tempfile::tempdir().expect("temp dir");
        let class = home.join("bin").join("spark-class");
        let (port, ui_port, worker_ui) = (free_port(), free_port(), free_port());
        let spawn = |args: &[&str], log: &str| {
            let log = std::fs::File::create(dir.path().join(log)).expect("log file");
            Command::new(&class)
                .args(args)
                .env("SPARK_HOME", &home)
                .env("SPARK_LOCAL_IP", "127.0.0.1")
                .env("SPARK_LOG_DIR", dir.path())
                .env("SPARK_WORKER_DIR", dir.path().join("work"))
                .env("SPARK_LOCAL_DIRS", dir.path().join("local"))
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("start spark-class")
        };
        let master = spawn(
            &[
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--webui-port",
                &ui_port.to_string(),
            ],
            "master.log",
        );
        let url = format!("spark://127.0.0.1:{port}");
        let worker = spawn(
            &[
                "org.apache.spark.deploy.worker.Worker",
                &url,
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1g",
                "--webui-port",
                &worker_ui.to_string(),
            ],
            "worker.log",
        );
        Self {
            master,
            worker,
            url,
            ui: format!("http://127.0.0.1:{ui_port}/json/"),
            _dir: dir,
        }
    }

    /// What the master reports (`/json/`).
    async fn state(&self) -> Option<Value> {
        client().get(&self.ui).send().await.ok()?.json().await.ok()
    }

    async fn wait_for_worker(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let alive = self.state().await.is_some_and(|s| {
                s["workers"]
                    .as_array()
                    .is_some_and(|w| w.iter().any(|w| w["state"] == "ALIVE"))
            });
            if alive {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Spark worker never registered"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until no application runs (a stopped driver takes the master a
    /// moment to notice).
    async fn wait_idle(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let state = self.state().await;
            let active = state
                .as_ref()
                .and_then(|s| s["activeapps"].as_array().map(Vec::len));
            if active == Some(0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "a Spark application outlived its run: {:?}",
                state.map(|s| s["activeapps"].clone())
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for SparkCluster {
    fn drop(&mut self) {
        let _ = self.worker.kill();
        let _ = self.master.kill();
        let _ = self.worker.wait();
        let _ = self.master.wait();
    }
}

/// Tally with Spark at `master`.
fn tally_with_spark(master: &str) -> TestServer {
    let home = spark_home();
    let submit = home.join("bin").join("spark-submit");
    TestServer::start_args(&[
        "--spark-master",
        master,
        "--spark-submit",
        submit.to_str().expect("utf-8 path"),
    ])
}

fn definition(table: &str, column: &str, executor: &str, options: Value) -> Value {
    json!({
        "workload_type": "wordcount", "name": format!("{executor} {table}"),
        "src_project": "p", "src_dataset": "d", "src_table": table,
        "src_column_name": column, "options": options, "executor": executor,
    })
}

/// The run a new workload queued.
async fn run_of(server: &TestServer, workload: u64) -> u64 {
    let (status, runs) = server
        .get_json(&format!("/api/v1/workloads/{workload}/runs"))
        .await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    runs[0]["id"].as_u64().expect("a queued run")
}

/// Runs a workload to its end; returns its run.
async fn run_to_end(server: &TestServer, body: &Value, within: Duration) -> Value {
    let id = create(server, body).await;
    let run = run_of(server, id).await;
    wait_run_within(server, run, within, finished).await
}

/// A run's whole result, as its CSV download.
async fn csv_of(server: &TestServer, run: &Value) -> String {
    let id = run["id"].as_u64().expect("run id");
    let res = client()
        .get(server.url(&format!("/api/v1/runs/{id}/wordcount?format=csv")))
        .send()
        .await
        .expect("download");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("csv")
}

/// Values the two executors could most easily disagree on: every kind of
/// white space, empty strings and runs of spaces, nulls, case mappings that
/// depend on context or change length, stopwords in capitals.
fn hostile_rows() -> String {
    let values: [Value; 14] = [
        json!("  leading and trailing  "),
        json!("tab\tseparated\u{3000}ideographic\u{00A0}no-break\u{2028}line"),
        json!("zero\u{200B}width is not white space"),
        json!(""),
        json!(" "),
        json!("double  space   triple"),
        Value::Null,
        json!("ΟΔΟΣ ΣΑΣ Σ ΌΣΟΣ"),
        json!("İstanbul STRASSE straße ǅemal"),
        json!("The AND the and THE"),
        json!("emoji 🎉🎉 and 👩‍👩‍👧"),
        json!("a\u{1C}b\u{85}c"),
        json!("x"),
        json!("trailing space "),
    ];
    values
        .iter()
        .map(|v| format!("{}\n", json!({ "text": v })))
        .collect()
}

/// The option sets both executors must agree on.
fn option_sets() -> Vec<Value> {
    vec![
        json!({"tokenizer": "spark", "case": "preserve"}),
        json!({"tokenizer": "spark", "case": "lower", "min_length": 2}),
        json!({"tokenizer": "whitespace", "case": "lower"}),
        json!({"tokenizer": "whitespace", "case": "preserve", "stopwords": "english"}),
        json!({"tokenizer": "whitespace", "case": "lower", "min_length": 3,
               "stopwords": {"custom": ["  THE ", "and", "σας"]}}),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn spark_runs_count_like_native_ones_show_progress_cancel_and_fail_cleanly() {
    let cluster = SparkCluster::start();
    cluster.wait_for_worker().await;
    let server = tally_with_spark(&cluster.url);
    let spark_timeout = Duration::from_secs(180);

    // 1. The same counts as the native engine, for hostile values and for
    //    the sample, with every option Spark supports.
    upload_as(&server, "hostile", "jsonl", hostile_rows()).await;
    let sample = std::env::var_os("TALLY_TEST_SAMPLE")
        .expect("TALLY_TEST_SAMPLE: the sample table's JSON Lines (./tally.sh test sets it)");
    let rows = std::fs::read_to_string(&sample).expect("the sample table");
    upload_as(&server, "shakespeare", "jsonl", rows).await;
    // Every option set on the hostile values; the prototype's and a rich one
    // on the sample.
    let sample_sets = [option_sets()[0].clone(), option_sets()[4].clone()];
    let tables = [
        ("hostile", option_sets()),
        ("shakespeare", sample_sets.to_vec()),
    ];
    for (table, sets) in &tables {
        let column = &"text";
        for options in sets.clone() {
            let native = run_to_end(
                &server,
                &definition(table, column, "native", options.clone()),
                Duration::from_secs(60),
            )
            .await;
            let spark = run_to_end(
                &server,
                &definition(table, column, "spark", options.clone()),
                spark_timeout,
            )
            .await;
            assert_eq!(native["state"], "succeeded", "{native}");
            assert_eq!(spark["state"], "succeeded", "{spark}\n{}", log_of(&spark));
            assert_eq!(spark["executor"], "spark");
            assert_eq!(native["executor"], "native");
            assert_eq!(
                spark["total_words"], native["total_words"],
                "{table} {options}"
            );
            assert_eq!(
                spark["distinct_words"], native["distinct_words"],
                "{table} {options}"
            );
            // Its words per second, as every page shows it, like a native run's.
            assert_eq!(
                spark["progress"]["words_done"], spark["total_words"],
                "{spark}"
            );
            if spark["total_words"].as_u64() > Some(0) {
                assert!(
                    spark["progress"]["words_per_sec"].as_f64() > Some(0.0),
                    "{spark}"
                );
            }
            let (native_csv, spark_csv) = (
                csv_of(&server, &native).await,
                csv_of(&server, &spark).await,
            );
            assert!(
                native_csv == spark_csv,
                "{table} with {options}: the counts differ\nnative:\n{}\nspark:\n{}",
                native_csv.lines().take(40).collect::<Vec<_>>().join("\n"),
                spark_csv.lines().take(40).collect::<Vec<_>>().join("\n"),
            );
            assert!(
                log_of(&spark).contains("Spark application app-"),
                "the log names the application: {}",
                log_of(&spark)
            );
        }
    }
    cluster.wait_idle(Duration::from_secs(30)).await;
    assert_no_staging_left(&server);

    // 2. A cancel stops the application within seconds.
    let big: String = (0..1_500_000)
        .map(|i| {
            format!(
                "{}\n",
                json!({ "text": format!("w{} common words here {}", i % 50_000, i) })
            )
        })
        .collect();
    upload_as(&server, "big", "jsonl", big).await;
    let run = start_and_wait_for_app(
        &server,
        &definition("big", "text", "spark", json!({})),
        spark_timeout,
    )
    .await;
    let asked = Instant::now();
    let res = client()
        .post(server.url(&format!("/api/v1/runs/{run}/cancel")))
        .send()
        .await
        .expect("cancel");
    assert!(res.status().is_success(), "{}", res.status());
    let cancelled = wait_run_within(&server, run, Duration::from_secs(30), finished).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "cancel took {:?}",
        asked.elapsed()
    );
    cluster.wait_idle(Duration::from_secs(20)).await;
    assert_no_staging_left(&server);

    // 3. A job Spark cannot run fails the run with Spark's error in its log.
    upload_as(&server, "broken", "jsonl", "{\"text\": \"a b\"}\n").await;
    let (_, table) = server
        .get_json("/api/v1/projects/p/datasets/d/tables/broken")
        .await;
    assert_eq!(table["row_count"], 1, "{table}");
    damage_newest_table_file(&server.data_dir);
    let failed = run_to_end(
        &server,
        &definition("broken", "text", "spark", json!({})),
        spark_timeout,
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Spark job failed") && error.contains("cannot read"),
        "{error}"
    );
    assert!(
        log_of(&failed).contains("Spark job error"),
        "the log has Spark's error: {}",
        log_of(&failed)
    );
    assert_no_staging_left(&server);
    cluster.wait_idle(Duration::from_secs(20)).await;

    // 4. Tally killed during a Spark run takes the application with it; the
    //    run is queued again after the restart, its progress moves, and it
    //    finishes.
    let run = start_and_wait_for_app(
        &server,
        &definition("big", "text", "spark", json!({})),
        spark_timeout,
    )
    .await;
    let server = server.kill_and_restart();
    cluster.wait_idle(Duration::from_secs(30)).await;
    let deadline = Instant::now() + spark_timeout;
    let mut moved = None;
    let rerun = loop {
        let (_, r) = server.get_json(&format!("/api/v1/runs/{run}")).await;
        if finished(&r) {
            break r;
        }
        let done = r["progress"]["values_done"].as_u64().unwrap_or(0);
        assert!(Instant::now() < deadline, "run {run} did not end: {r}");
        if r["state"] == "running" && done > 0 {
            moved.get_or_insert(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rerun["state"], "succeeded", "{rerun}\n{}", log_of(&rerun));
    assert_eq!(rerun["attempt"], 2, "{rerun}");
    let moved = moved.expect("progress moved while Spark counted");
    assert_eq!(moved["progress"]["values_total"], 1_500_000, "{moved}");
    assert!(
        log_of(&rerun).contains("queued again"),
        "{}",
        log_of(&rerun)
    );
}

/// Creates a workload and waits until its run's Spark application has
/// started; returns the run's id.
async fn start_and_wait_for_app(server: &TestServer, body: &Value, within: Duration) -> u64 {
    let id = create(server, body).await;
    let run = run_of(server, id).await;
    let deadline = Instant::now() + within;
    loop {
        let (_, r) = server.get_json(&format!("/api/v1/runs/{run}")).await;
        if log_of(&r).contains("Spark application app-") {
            return run;
        }
        assert!(
            !finished(&r),
            "the run ended before its application was seen: {r}"
        );
        assert!(
            Instant::now() < deadline,
            "the application never started: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Nothing of any Spark job is left under the data directory (each job's
/// directory is removed however it ended).
fn assert_no_staging_left(server: &TestServer) {
    let left: Vec<_> = std::fs::read_dir(server.data_dir.join("spark"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "Spark jobs left {left:?}");
}

/// Overwrites the newest table file with bytes that are not Parquet: the
/// catalog still lists the table, so the run starts, and Spark cannot read it.
fn damage_newest_table_file(data_dir: &Path) {
    let newest = files_in(&data_dir.join("tables"))
        .iter()
        .map(|f| data_dir.join("tables").join(f))
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("a table file");
    std::fs::write(&newest, b"this is not a parquet file").expect("damage the file");
}
