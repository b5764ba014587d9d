//! Black-box test harness: starts the real `tally` binary the way a user does and
//! talks HTTP to it.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `tally serve` on a free loopback port, stopped when dropped.
pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub data_dir: PathBuf,
    log: mpsc::Receiver<String>,
    /// What the server logged before it listened (the setup link, warnings).
    pub startup_log: Vec<String>,
    _temp: Option<tempfile::TempDir>,
    /// The flags and environment after the data directory, for a restart.
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

/// The text a gzip body holds.
pub fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body), &mut text)
        .expect("valid gzip");
    text
}

/// The binary under test, as cargo built it for these tests.
pub fn tally_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tally"))
}

impl TestServer {
    /// Starts the server with a fresh temporary data directory.
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"))
    }

    /// Starts the server with a fresh temporary data directory and `extra` flags.
    pub fn start_args(extra: &[&str]) -> Self {
        Self::start_in_with(tempfile::tempdir().expect("temp dir"), extra)
    }

    /// Starts the server on `temp/data` (kept when the server is dropped).
    fn start_in(temp: tempfile::TempDir) -> Self {
        Self::start_in_with(temp, &[])
    }

    /// Starts the server with a fresh temporary data directory, `extra` flags
    /// and the fail points `faults` arms (the `FAILPOINTS` syntax; only a
    /// binary built with `fault-injection` has them).
    pub fn start_faulty(faults: &str, extra: &[&str]) -> Self {
        Self::start_in_env(
            tempfile::tempdir().expect("temp dir"),
            extra,
            &[("FAILPOINTS", faults)],
        )
    }

    fn start_in_with(temp: tempfile::TempDir, extra: &[&str]) -> Self {
        Self::start_in_env(temp, extra, &[])
    }

    fn start_in_env(temp: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let data_dir = temp.path().join("data");
        let mut args = vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let mut server = Self::start_with_env(&tally_bin(), temp.path(), &args, env);
        server.data_dir = data_dir;
        server._temp = Some(temp);
        server.extra = extra.iter().map(|a| a.to_string()).collect();
        server.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        server
    }

    /// Starts `bin` in `cwd` with `args`, and waits until it logs the address it
    /// listens on.
    pub fn start_with(bin: &Path, cwd: &Path, args: &[&str]) -> Self {
        Self::start_with_env(bin, cwd, args, &[])
    }

    /// [`Self::start_with`] with `env` set for the server.
    pub fn start_with_env(bin: &Path, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(cwd)
            .env("TALLY_LOG", "info")
            .env_remove("TALLY_ADDR")
            .env_remove("TALLY_DATA_DIR")
            .env_remove("TALLY_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tally");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let base_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("listening on http://") {
                        // The address ends the text line, or the JSON string.
                        let rest = &line[at + "listening on ".len()..];
                        let end = rest.find(['"', ' ']).unwrap_or(rest.len());
                        break rest[..end].trim().to_string();
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "tally did not start listening; its log:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };
        Self {
            child,
            base_url,
            data_dir: cwd.join("data"),
            log: rx,
            startup_log: seen,
            _temp: None,
            extra: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// GETs `path`; returns the status and the JSON body (`null` when not JSON).
    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let res = client().get(self.url(path)).send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// GETs `path` (expecting 200) with `Accept-Encoding: encoding`; returns the
    /// `Content-Encoding` it came with ("" for none) and the body as sent.
    pub async fn get_encoded(&self, path: &str, encoding: &str) -> (String, Vec<u8>) {
        let res = client()
            .get(self.url(path))
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "{path}");
        let coding = res
            .headers()
            .get("content-encoding")
            .map_or("", |v| v.to_str().unwrap_or("?"))
            .to_string();
        (coding, res.bytes().await.expect("whole body").to_vec())
    }

    /// Stops the server (SIGTERM) and starts it again on the same data directory.
    pub fn restart(self) -> Self {
        self.relaunch(false)
    }

    /// Kills the server (`kill -9`) and starts it again on the same data
    /// directory, flags and environment.
    pub fn kill_and_restart(self) -> Self {
        self.relaunch(true)
    }

    fn relaunch(mut self, kill: bool) -> Self {
        let temp = self
            ._temp
            .take()
            .expect("restart needs a server from TestServer::start");
        let extra = std::mem::take(&mut self.extra);
        let env = std::mem::take(&mut self.env);
        if kill {
            self.kill();
        } else {
            assert!(self.stop().success(), "clean shutdown before the restart");
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::start_in_env(temp, &extra, &env)
    }

    /// GETs `path`; returns the status, the `X-Total-Count` header and the JSON body.
    pub async fn get_with_total(
        &self,
        path: &str,
    ) -> (reqwest::StatusCode, Option<u64>, serde_json::Value) {
        let res = client().get(self.url(path)).send().await.expect("request");
        let status = res.status();
        let total = res
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        (
            status,
            total,
            res.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Sends `method` with a JSON body; returns the status, headers and JSON answer.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> (
        reqwest::StatusCode,
        reqwest::header::HeaderMap,
        serde_json::Value,
    ) {
        let res = client()
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        (
            status,
            headers,
            res.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// POSTs `body` as table `p.d.t` (`reference`) with `query` (`format=csv`...);
    /// returns the status and the JSON answer.
    pub async fn post_table(
        &self,
        reference: &str,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut parts = reference.splitn(3, '.');
        let (p, d, t) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let res = client()
            .post(self.url(&format!(
                "/api/v1/projects/{p}/datasets/{d}/tables/{t}?{query}"
            )))
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = res.status();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Uploads a CSV as table `p.d.t` (a source for workloads).
    pub async fn upload_csv(&self, reference: &str, csv: &str) {
        let (status, answer) = self
            .post_table(reference, "format=csv", csv.to_string())
            .await;
        assert_eq!(
            status,
            reqwest::StatusCode::CREATED,
            "upload {reference}: {answer}"
        );
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tally did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL (no shutdown at all) and waits for it.
    pub fn kill(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        let _ = self.child.wait();
    }

    /// Log lines printed since start-up (drains what has arrived).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The names of the files (not directories) in `dir`; none if it is missing.
pub fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A client that does not follow redirects, to see them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

// --- workloads and runs -------------------------------------------------------

/// A `wordcount` workload of `p.d.<table>`.<column>.
pub fn workload(table: &str, column: &str, options: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "workload_type": "wordcount", "name": format!("count {table}"),
        "src_project": "p", "src_dataset": "d", "src_table": table,
        "src_column_name": column, "options": options,
    })
}

pub async fn upload_text(server: &TestServer, table: &str, text: impl Into<reqwest::Body>) {
    upload_as(server, table, "text", text).await;
}

/// Uploads `body` as table `p.d.<table>` in `format`; it must be created.
pub async fn upload_as(
    server: &TestServer,
    table: &str,
    format: &str,
    body: impl Into<reqwest::Body>,
) {
    let res = client()
        .post(server.url(&format!(
            "/api/v1/projects/p/datasets/d/tables/{table}?format={format}"
        )))
        .body(body)
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "upload {table}");
}

pub async fn create(server: &TestServer, body: &serde_json::Value) -> u64 {
    let (status, _, created) = server
        .send_json(reqwest::Method::POST, "/api/v1/workloads", body)
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    created["id"].as_u64().expect("id")
}

/// Polls a run until `done` says so (60 s at most); returns the run.
pub async fn wait_run(
    server: &TestServer,
    run: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait_run_within(server, run, Duration::from_secs(60), done).await
}

/// [`wait_run`] for up to `within`: lease recovery and Spark take longer.
pub async fn wait_run_within(
    server: &TestServer,
    run: u64,
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, r) = server.get_json(&format!("/api/v1/runs/{run}")).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{r}");
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "run {run} stuck: {r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn state_is(state: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |r| r["state"] == state
}

/// Queues a new run of workload `id` (`POST /workloads/{id}/runs`).
pub async fn rerun(server: &TestServer, id: u64) {
    let res = client()
        .post(server.url(&format!("/api/v1/workloads/{id}/runs")))
        .send()
        .await
        .expect("rerun");
    assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED, "rerun {id}");
}

/// A run's log messages, one per line.
pub fn log_of(run: &serde_json::Value) -> String {
    run["log"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

pub fn finished(r: &serde_json::Value) -> bool {
    !["queued", "running"].contains(&r["state"].as_str().unwrap_or(""))
}
