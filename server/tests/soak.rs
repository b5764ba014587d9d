//! The crash soak: start the real binary, drive creates, imports, runs,
//! cancels and deletes at once, `kill -9` it at a random moment, start it
//! again, and check that nothing acknowledged was lost and nothing was left
//! half done. Repeated for `TALLY_SOAK_SECS` (default 60 s), from the seed
//! `TALLY_SOAK_SEED` (default: the clock), which every failure names.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, files_in, tally_bin, upload_text, workload};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A small, seeded generator (xorshift64*): the same seed, the same soak.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the clients were told, and what they asked for.
#[derive(Default, Clone)]
struct Ledger {
    /// Workloads answered 201, by id, with their name and source table.
    created: BTreeMap<u64, (String, String)>,
    /// Names of every create sent (acknowledged or not).
    create_attempts: BTreeSet<String>,
    /// Workloads whose delete was answered 200.
    deleted: BTreeSet<u64>,
    /// Workloads a delete was sent for (a kill may cut its answer off after
    /// the delete committed: such a workload may be gone).
    delete_attempts: BTreeSet<u64>,
    /// Tables answered 201, with their row count.
    imported: BTreeMap<String, u64>,
    import_attempts: BTreeSet<String>,
}

/// Runs on one of the reference tables, counted before any crash: every
/// later succeeded run on that table must give the same totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    total_words: u64,
    distinct_words: u64,
}

const SOURCES: [&str; 2] = ["small", "big"];

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn start(temp: &Path) -> TestServer {
    let data = temp.join("data");
    TestServer::start_with(
        &tally_bin(),
        temp,
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
    )
}

/// One of the clients: until `stop`, sends its kind of request at random
/// moments and writes down what was acknowledged.
async fn drive(kind: u64, base: String, mut rng: Rng, ledger: Arc<Mutex<Ledger>>, stop: Instant) {
    let http = client();
    let mut n = 0_u64;
    while Instant::now() < stop {
        n += 1;
        match kind {
            0 => {
                let name = format!("w-{}-{n}", rng.next() % 1_000_000);
                // Mostly the small table: the queue stays short.
                let table = SOURCES[usize::from(rng.below(10) == 0)];
                let mut body = workload(table, "line", json!({}));
                body["name"] = json!(name);
                ledger
                    .lock()
                    .expect("ledger")
                    .create_attempts
                    .insert(name.clone());
                if let Ok(res) = http
                    .post(format!("{base}/api/v1/workloads"))
                    .json(&body)
                    .send()
                    .await
                    && res.status() == StatusCode::CREATED
                    && let Ok(created) = res.json::<Value>().await
                    && let Some(id) = created["id"].as_u64()
                {
                    ledger
                        .lock()
                        .expect("ledger")
                        .created
                        .insert(id, (name, table.to_string()));
                }
            }
            1 => {
                let name = format!("t{}x{n}", rng.next() % 1_000_000);
                let rows = 1 + rng.below(200);
                let text: String = (0..rows).map(|i| format!("row {i} of {name}\n")).collect();
                ledger
                    .lock()
                    .expect("ledger")
                    .import_attempts
                    .insert(name.clone());
                let url = format!("{base}/api/v1/projects/p/datasets/d/tables/{name}?format=text");
                if let Ok(res) = http.post(url).body(text).send().await
                    && res.status() == StatusCode::CREATED
                {
                    ledger.lock().expect("ledger").imported.insert(name, rows);
                }
            }
            2 => {
                // Cancel, re-run or delete one of the acknowledged workloads.
                let target = {
                    let ledger = ledger.lock().expect("ledger");
                    let ids: Vec<u64> = ledger.created.keys().copied().collect();
                    (!ids.is_empty()).then(|| ids[rng.below(ids.len() as u64) as usize])
                };
                if let Some(id) = target {
                    match rng.below(4) {
                        0 => {
                            ledger.lock().expect("ledger").delete_attempts.insert(id);
                            if let Ok(res) = http
                                .delete(format!("{base}/api/v1/workloads/{id}"))
                                .send()
                                .await
                                && res.status() == StatusCode::OK
                            {
                                ledger.lock().expect("ledger").deleted.insert(id);
                            }
                        }
                        1 => {
                            let _ = http
                                .post(format!("{base}/api/v1/workloads/{id}/runs"))
                                .send()
                                .await;
                        }
                        _ => {
                            if let Ok(res) = http
                                .get(format!("{base}/api/v1/workloads/{id}"))
                                .send()
                                .await
                                && let Ok(w) = res.json::<Value>().await
                                && let Some(run) = w["last_run"]["id"].as_u64()
                            {
                                let _ = http
                                    .post(format!("{base}/api/v1/runs/{run}/cancel"))
                                    .send()
                                    .await;
                            }
                        }
                    }
                }
            }
            _ => unreachable!("three kinds of client"),
        }
        tokio::time::sleep(Duration::from_millis(20 + rng.below(150))).await;
    }
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let res = client()
        .get(server.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Every workload the server has, with its runs; waits until no run is
/// queued or running (recovery and the queue have done their work).
async fn settled_runs(server: &TestServer, seed: u64) -> BTreeMap<u64, Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut all = BTreeMap::new();
        let mut offset = 0;
        loop {
            let (status, page) = get(
                server,
                &format!("/api/v1/workloads?limit=1000&offset={offset}"),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "seed {seed}: {page}");
            let items = page.as_array().cloned().unwrap_or_default();
            for w in &items {
                let id = w["id"].as_u64().expect("id");
                let (status, runs) = get(server, &format!("/api/v1/workloads/{id}/runs")).await;
                if status == StatusCode::OK {
                    all.insert(id, runs.as_array().cloned().unwrap_or_default());
                }
            }
            if items.len() < 1000 {
                break;
            }
            offset += 1000;
        }
        let active = all
            .values()
            .flatten()
            .filter(|r| ["queued", "running"].contains(&r["state"].as_str().unwrap_or("")))
            .count();
        if active == 0 {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: {active} runs still active 180 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_at_random_moments_tally_loses_nothing_acknowledged() {
    let seed = std::env::var("TALLY_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let budget = Duration::from_secs(
        std::env::var("TALLY_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    eprintln!("soak: seed {seed} (TALLY_SOAK_SEED={seed} repeats this soak), {budget:?}");
    let mut rng = Rng(seed);
    let temp = tempfile::tempdir().expect("temp dir");
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    // The reference tables and their totals, before any crash.
    let mut server = start(temp.path());
    upload_text(&server, "small", "one two two three three three\nfour\n").await;
    let corpus = temp.path().join("big.txt");
    tally_engine::corpus::write_text(&corpus, 2 << 20).expect("corpus");
    upload_text(&server, "big", std::fs::read(&corpus).expect("read")).await;
    let mut reference = BTreeMap::new();
    for table in SOURCES {
        let id = common::create(&server, &workload(table, "line", json!({}))).await;
        let run = common::wait_run(&server, id, common::state_is("succeeded")).await;
        reference.insert(
            table.to_string(),
            Totals {
                total_words: run["total_words"].as_u64().expect("total"),
                distinct_words: run["distinct_words"].as_u64().expect("distinct"),
            },
        );
        ledger
            .lock()
            .expect("ledger")
            .created
            .insert(id, (format!("count {table}"), table.to_string()));
    }

    let started = Instant::now();
    let mut cycles = 0;
    let mut checked_runs = 0;
    while cycles == 0 || started.elapsed() < budget {
        cycles += 1;
        // Chaos: three clients, then a kill at a random moment.
        let stop = Instant::now() + Duration::from_millis(300 + rng.below(2500));
        let clients: Vec<_> = (0..3_u64)
            .map(|kind| {
                let mut own = rng.clone();
                own.0 ^= (kind + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                tokio::spawn(drive(
                    kind,
                    server.base_url.clone(),
                    own,
                    ledger.clone(),
                    stop,
                ))
            })
            .collect();
        tokio::time::sleep_until(stop.into()).await;
        server.kill();
        for c in clients {
            let _ = c.await;
        }

        server = start(temp.path());
        let runs = settled_runs(&server, seed).await;
        let seen = ledger.lock().expect("ledger").clone();
        let context = format!("seed {seed}, cycle {cycles}");

        // Stored workloads: every acknowledged one (not deleted), and only
        // ones somebody asked for.
        for (id, (name, _)) in &seen.created {
            if seen.deleted.contains(id) {
                assert!(
                    !runs.contains_key(id),
                    "{context}: deleted workload {id} is back"
                );
            } else if !seen.delete_attempts.contains(id) {
                assert!(
                    runs.contains_key(id),
                    "{context}: acknowledged workload {id} ({name}) lost"
                );
            }
        }
        let (_, all) = get(&server, "/api/v1/workloads?limit=1000").await;
        for w in all.as_array().cloned().unwrap_or_default() {
            let name = w["name"].as_str().unwrap_or_default();
            assert!(
                seen.create_attempts.contains(name) || name.starts_with("count "),
                "{context}: workload {name} was never asked for"
            );
        }
        // Tables: every acknowledged import, whole.
        for (table, rows) in &seen.imported {
            let (status, info) = get(
                &server,
                &format!("/api/v1/projects/p/datasets/d/tables/{table}"),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{context}: acknowledged table {table} lost"
            );
            assert_eq!(
                info["row_count"].as_u64(),
                Some(*rows),
                "{context}: {table}"
            );
        }
        let (_, tables) = get(&server, "/api/v1/projects/p/datasets/d/tables").await;
        let tables = tables.as_array().cloned().unwrap_or_default();
        for t in &tables {
            let name = t["name"].as_str().unwrap_or_default();
            assert!(
                SOURCES.contains(&name) || seen.import_attempts.contains(name),
                "{context}: table {name} was never asked for"
            );
        }

        // Files: no orphan, no temporary left.
        let data = temp.path().join("data");
        assert!(
            files_in(&data.join("tables/.incoming")).is_empty(),
            "{context}: files left in tables/.incoming"
        );
        let table_files = files_in(&data.join("tables"));
        assert_eq!(
            table_files.len(),
            tables.len(),
            "{context}: table files {table_files:?}"
        );
        let succeeded: BTreeMap<u64, &Value> = runs
            .values()
            .flatten()
            .filter(|r| r["state"] == "succeeded")
            .map(|r| (r["id"].as_u64().expect("run id"), r))
            .collect();
        for file in files_in(&data.join("results")) {
            assert!(!file.ends_with(".tmp"), "{context}: {file} left behind");
            let run: u64 = file
                .strip_prefix("run-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("{context}: stray results file {file}"));
            assert!(
                succeeded.contains_key(&run),
                "{context}: results file {file} of a run that did not succeed"
            );
        }

        // Every succeeded run: complete (the reference totals) and readable.
        for (id, run) in &succeeded {
            let table = run["source"]
                .as_str()
                .unwrap_or_default()
                .split('.')
                .nth(2)
                .unwrap_or_default();
            let expected = reference[table];
            let got = Totals {
                total_words: run["total_words"].as_u64().unwrap_or(0),
                distinct_words: run["distinct_words"].as_u64().unwrap_or(0),
            };
            assert_eq!(
                got, expected,
                "{context}: run {id} on {table} is incomplete"
            );
            let last = expected.distinct_words.saturating_sub(1);
            let (status, page) = get(
                &server,
                &format!("/api/v1/runs/{id}/wordcount?offset={last}&limit=1"),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{context}: run {id} unreadable: {page}"
            );
            assert_eq!(
                page["total"].as_u64(),
                Some(expected.distinct_words),
                "{context}: run {id}"
            );
            assert_eq!(
                page["words"].as_array().map(Vec::len),
                Some(1),
                "{context}: run {id}"
            );
            checked_runs += 1;
        }
    }
    let ledger = ledger.lock().expect("ledger").clone();
    eprintln!(
        "soak: seed {seed}: {cycles} kill cycles in {:.0?}; {} workloads and {} tables acknowledged, \
         {} deletes, {checked_runs} succeeded runs checked complete and readable",
        started.elapsed(),
        ledger.created.len(),
        ledger.imported.len(),
        ledger.deleted.len()
    );
}
