//! The Spark executor: counts a run's column with an Apache Spark application
//! and brings the counts back, so that a Spark run is stored, served and
//! downloaded exactly like a native one.
//!
//! Each run is one `spark-submit` of the PySpark job embedded in the binary
//! (`job.py`, written into the run's staging directory), in client mode: the
//! driver is a child process of Tally's, in a process group of its own, so a
//! cancel or a timeout kills the whole application, and it dies with the
//! thread that started it if Tally is killed (`PR_SET_PDEATHSIG`). The job
//! reads the table's Parquet file, counts with Spark SQL built-ins that
//! reproduce the engine's reference semantics (the golden tests hold both to
//! the same output), writes `word, count` Parquet parts and reports on stdout
//! in `TALLY {json}` lines: its application id, task progress, its totals or
//! its error.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use arrow_array::{Array, Int64Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;
use tally_engine::{CancelToken, CountOptions, CountResult, CountStats, Stopwords, WordCount};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The PySpark job, embedded so that it always matches this binary.
const JOB: &str = include_str!("job.py");

/// How Tally reaches Spark (`--spark-master` and the options beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkSettings {
    /// A master URL as `spark-submit --master` takes it: `local[2]`,
    /// `spark://host:7077`, `yarn`, `k8s://...`.
    pub master: String,
    /// The `spark-submit` to run.
    pub submit: PathBuf,
    /// A directory every Spark node reads and writes at the same path: each
    /// run's table is copied there and its counts written there. Without it,
    /// the table is read where Tally stores it and the counts are written
    /// under the data directory, which suits `local[N]` and a cluster on
    /// this machine.
    pub staging: Option<PathBuf>,
}

/// Lines of the driver's stderr kept for a failed run's log.
const STDERR_TAIL: usize = 30;
/// How long a cancelled application gets to stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How often a running job looks for a cancel.
const WATCH: Duration = Duration::from_millis(200);

/// Why a Spark count did not give counts.
#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    #[error("cancelled")]
    Cancelled,
    #[error("cannot start {submit}: {source}")]
    Start {
        submit: String,
        source: std::io::Error,
    },
    #[error("the Spark job failed: {0}")]
    Failed(String),
    #[error(
        "the Spark job ended without its counts ({status}); the end of its output is in the run's log"
    )]
    Crashed { status: String },
    #[error("cannot prepare the Spark job: {0}")]
    Staging(std::io::Error),
    #[error("cannot read the Spark job's counts: {0}")]
    Output(String),
}

/// What the job reports on stdout, one `TALLY {json}` line each.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum JobEvent {
    App {
        id: String,
    },
    Progress {
        done: u64,
        total: u64,
    },
    Done {
        total_words: u64,
        distinct_words: u64,
        rows: u64,
        #[serde(default)]
        null_values: u64,
    },
    Error {
        message: String,
    },
}

/// What a running Spark count tells the dispatcher.
pub enum Update {
    /// A line for the run's log.
    Log(String),
    /// Tasks done of the tasks known so far.
    Tasks { done: u64, total: u64 },
}

/// One run's Spark count.
pub struct SparkCount<'a> {
    pub settings: &'a SparkSettings,
    /// A directory of its own for this attempt, removed when the count ends.
    pub work_dir: PathBuf,
    pub table_file: &'a Path,
    pub column: &'a str,
    pub options: &'a CountOptions,
    pub name: String,
}

impl SparkCount<'_> {
    /// Runs the job to its end (or until `cancel`), reporting through
    /// `update`; the counts come back sorted as the engine sorts them.
    pub async fn run(
        self,
        cancel: &CancelToken,
        mut update: impl FnMut(Update),
    ) -> Result<CountResult, SparkError> {
        let outcome = self.run_in_work_dir(cancel, &mut update).await;
        if let Err(e) = tokio::fs::remove_dir_all(&self.work_dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.work_dir.display(), error = %e, "cannot remove a Spark job's staging directory");
        }
        outcome
    }

    async fn run_in_work_dir(
        &self,
        cancel: &CancelToken,
        update: &mut impl FnMut(Update),
    ) -> Result<CountResult, SparkError> {
        tokio::fs::create_dir_all(&self.work_dir)
            .await
            .map_err(SparkError::Staging)?;
        let script = self.work_dir.join("job.py");
        tokio::fs::write(&script, JOB)
            .await
            .map_err(SparkError::Staging)?;
        let input = match &self.settings.staging {
            // Copied: the nodes cannot be assumed to see the data directory.
            Some(_) => {
                let copy = self.work_dir.join("input.parquet");
                tokio::fs::copy(self.table_file, &copy)
                    .await
                    .map_err(SparkError::Staging)?;
                copy
            }
            None => self.table_file.to_path_buf(),
        };
        let output = self.work_dir.join("counts");
        // Spark's scratch files go into the work directory, which is removed
        // however the job ends (a killed JVM leaves its own behind).
        let (scratch, tmp) = (self.work_dir.join("local"), self.work_dir.join("tmp"));
        for dir in [&scratch, &tmp] {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(SparkError::Staging)?;
        }
        let options = job_options(self.options);
        let mut command = Command::new(&self.settings.submit);
        command
            .env("SPARK_LOCAL_DIRS", &scratch)
            .env("SPARK_LAUNCHER_OPTS", "-XX:-UsePerfData")
            .arg("--master")
            .arg(&self.settings.master)
            .arg("--name")
            .arg(&self.name)
            .arg("--driver-java-options")
            .arg(format!(
                "-Djava.io.tmpdir={} -XX:-UsePerfData",
                tmp.display()
            ))
            .arg("--conf")
            .arg("spark.executor.extraJavaOptions=-XX:-UsePerfData")
            .arg("--conf")
            .arg("spark.ui.showConsoleProgress=false")
            .arg(&script)
            .arg("--input")
            .arg(&input)
            .arg("--column")
            .arg(self.column)
            .arg("--output")
            .arg(&output)
            .arg("--options")
            .arg(options.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        own_process_group(&mut command);
        let mut child = command.spawn().map_err(|source| SparkError::Start {
            submit: self.settings.submit.display().to_string(),
            source,
        })?;
        let report = watch(&mut child, cancel, update).await?;
        let totals = match report {
            Report::Done(totals) => totals,
            Report::Failed {
                error,
                status,
                tail,
            } => {
                for line in tail {
                    update(Update::Log(format!("spark: {line}")));
                }
                if let Some(message) = &error {
                    update(Update::Log(format!("Spark job error: {message}")));
                }
                return Err(match error {
                    Some(message) => SparkError::Failed(message),
                    None => SparkError::Crashed { status },
                });
            }
        };
        let words = tokio::task::spawn_blocking(move || read_counts(&output))
            .await
            .map_err(|e| SparkError::Output(e.to_string()))??;
        let total: u64 = words.iter().map(|w| w.count).sum();
        if total != totals.total_words || words.len() as u64 != totals.distinct_words {
            return Err(SparkError::Output(format!(
                "the job reported {} words ({} distinct) but wrote {total} ({})",
                totals.total_words,
                totals.distinct_words,
                words.len()
            )));
        }
        Ok(CountResult {
            stats: CountStats {
                values_read: totals.rows,
                null_values: totals.null_values,
                total_words: total,
                distinct_words: words.len() as u64,
                ..CountStats::default()
            },
            words,
        })
    }
}

/// The options as the job takes them: stopwords resolved to the list the
/// engine compares with (trimmed and lowercased).
fn job_options(options: &CountOptions) -> serde_json::Value {
    let stopwords: Vec<String> = match &options.stopwords {
        Stopwords::None => Vec::new(),
        Stopwords::English => tally_engine::stopwords::ENGLISH
            .iter()
            .map(|w| w.to_string())
            .collect(),
        Stopwords::Custom(list) => list.iter().map(|w| w.trim().to_lowercase()).collect(),
    };
    serde_json::json!({
        "tokenizer": options.tokenizer.as_str(),
        "case": options.case.as_str(),
        "min_length": options.min_length,
        "stopwords": stopwords,
    })
}

struct Totals {
    total_words: u64,
    distinct_words: u64,
    rows: u64,
    null_values: u64,
}

/// How the job ended, as far as its output says.
enum Report {
    Done(Totals),
    Failed {
        /// The job's own account of the error, when it gave one.
        error: Option<String>,
        status: String,
        /// The last lines of its output.
        tail: Vec<String>,
    },
}

/// Follows the job's output until it exits; kills its process group on a
/// cancel.
async fn watch(
    child: &mut Child,
    cancel: &CancelToken,
    update: &mut impl FnMut(Update),
) -> Result<Report, SparkError> {
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SparkError::Output("the job's output is not piped".into()));
    };
    let mut stdout = BufReader::new(stdout).lines();
    let mut stderr = BufReader::new(stderr).lines();
    let mut tail: VecDeque<String> = VecDeque::with_capacity(STDERR_TAIL);
    let mut done = None;
    let mut error = None;
    let (mut stdout_open, mut stderr_open) = (true, true);
    let mut tick = tokio::time::interval(WATCH);
    loop {
        let cancelled = tokio::select! {
            line = stdout.next_line(), if stdout_open => {
                match line {
                    Ok(Some(line)) => match parse_event(&line) {
                        Some(JobEvent::App { id }) => update(Update::Log(format!("Spark application {id}"))),
                        Some(JobEvent::Progress { done, total }) => update(Update::Tasks { done, total }),
                        Some(JobEvent::Done { total_words, distinct_words, rows, null_values }) => {
                            done = Some(Totals { total_words, distinct_words, rows, null_values });
                        }
                        Some(JobEvent::Error { message }) => error = Some(message),
                        None => push_tail(&mut tail, line),
                    },
                    Ok(None) | Err(_) => stdout_open = false,
                }
                false
            }
            line = stderr.next_line(), if stderr_open => {
                match line {
                    Ok(Some(line)) => push_tail(&mut tail, line),
                    Ok(None) | Err(_) => stderr_open = false,
                }
                false
            }
            status = child.wait(), if !stdout_open && !stderr_open => {
                let status = status.map_err(|e| SparkError::Output(e.to_string()))?;
                return Ok(match (done, error) {
                    (Some(totals), None) if status.success() => Report::Done(totals),
                    (_, error) => Report::Failed { error, status: status.to_string(), tail: tail.into() },
                });
            }
            _ = tick.tick() => cancel.is_cancelled(),
        };
        if cancelled {
            stop(child).await;
            return Err(SparkError::Cancelled);
        }
    }
}

fn push_tail(tail: &mut VecDeque<String>, line: String) {
    if tail.len() == STDERR_TAIL {
        tail.pop_front();
    }
    tail.push_back(line);
}

fn parse_event(line: &str) -> Option<JobEvent> {
    serde_json::from_str(line.strip_prefix("TALLY ")?).ok()
}

/// Stops the application: SIGTERM to its process group (the driver and the
/// Python process it runs), then SIGKILL after [`STOP_GRACE`].
async fn stop(child: &mut Child) {
    let group = child
        .id()
        .and_then(|pid| rustix::process::Pid::from_raw(pid as i32));
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = child.kill().await;
    }
}

/// Puts the job in a process group of its own (so that a stop reaches every
/// process of it) that is killed if the thread that started it ends, as when
/// Tally itself is killed: a Spark application must not outlive its run.
fn own_process_group(command: &mut Command) {
    command.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec, and only
    // makes one system call (prctl), which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
}

/// Reads the job's `word, count` Parquet parts, sorted as the engine sorts:
/// most frequent first, then by word.
fn read_counts(dir: &Path) -> Result<Vec<WordCount>, SparkError> {
    let output = |e: &dyn std::fmt::Display| SparkError::Output(e.to_string());
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| output(&e))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "parquet"))
        .collect();
    parts.sort();
    let mut words = Vec::new();
    for part in parts {
        let file = File::open(&part).map_err(|e| output(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| output(&e))?
            .build()
            .map_err(|e| output(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| output(&e))?;
            let column = |name: &str| {
                batch.column_by_name(name).ok_or_else(|| {
                    SparkError::Output(format!("no column '{name}' in {}", part.display()))
                })
            };
            let word = column("word")?;
            let count = column("count")?;
            let (Some(word), Some(count)) = (
                word.as_any().downcast_ref::<StringArray>(),
                count.as_any().downcast_ref::<Int64Array>(),
            ) else {
                return Err(SparkError::Output(
                    "word must be a string and count a long".into(),
                ));
            };
            for i in 0..batch.num_rows() {
                if word.is_null(i) || count.is_null(i) || count.value(i) < 1 {
                    return Err(SparkError::Output(format!(
                        "a bad row in {}",
                        part.display()
                    )));
                }
                words.push(WordCount {
                    word: word.value(i).to_string(),
                    count: count.value(i) as u64,
                });
            }
        }
    }
    words.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.word.cmp(&b.word)));
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines_are_read_and_other_lines_are_not() {
        assert!(matches!(
            parse_event(r#"TALLY {"event":"progress","done":3,"total":8}"#),
            Some(JobEvent::Progress { done: 3, total: 8 })
        ));
        assert!(matches!(
            parse_event(r#"TALLY {"event":"error","message":"no such column"}"#),
            Some(JobEvent::Error { .. })
        ));
        assert!(parse_event("TALLY not json").is_none());
        assert!(parse_event(r#"{"event":"progress","done":3,"total":8}"#).is_none());
    }

    #[test]
    fn stopwords_reach_the_job_as_the_engine_compares_them() {
        let options = CountOptions {
            stopwords: Stopwords::Custom(vec!["  The ".into(), "AND".into()]),
            ..CountOptions::default()
        };
        let job = job_options(&options);
        assert_eq!(job["stopwords"], serde_json::json!(["the", "and"]));
        assert_eq!(job["tokenizer"], "whitespace");
        assert_eq!(job["case"], "lower");
        let english = job_options(&CountOptions {
            stopwords: Stopwords::English,
            ..CountOptions::default()
        });
        assert_eq!(
            english["stopwords"].as_array().map(Vec::len),
            Some(tally_engine::stopwords::ENGLISH.len())
        );
    }
}
