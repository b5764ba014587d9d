//! The command line: subcommands, flags and their environment variables.
//!
//! Every flag has an environment variable (`TALLY_*`), so a service manager can
//! configure Tally without a wrapper script. Values are validated here, at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `tally --version`: the release, the commit and its date.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TALLY_COMMIT"),
    " ",
    env!("TALLY_COMMIT_DATE"),
    ")"
);

/// Tally: a self-hosted workload manager for text analytics.
#[derive(Debug, Parser)]
#[command(name = "tally", version = VERSION, about, long_about = None, propagate_version = true, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Log filter: a level (error, warn, info, debug, trace) or a tracing
    /// directive such as `tally_server=debug,info`.
    #[arg(long, global = true, env = "TALLY_LOG", default_value = "info")]
    pub log_level: String,

    /// How log lines are written: `text` for people, `json` (one object a
    /// line) for a log collector.
    #[arg(long, global = true, env = "TALLY_LOG_FORMAT", value_enum, default_value_t = crate::telemetry::LogFormat::Text)]
    pub log_format: crate::telemetry::LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of `serve`, accepted without the subcommand since it is the default.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server: UI, REST API and run dispatcher (the default).
    Serve(Box<ServeArgs>),
    /// Count the words of files or standard input, most frequent first.
    Count(crate::count_cmd::CountArgs),
    /// Import files as a new table of a running Tally server.
    Import(crate::import_cmd::ImportArgs),
    /// Manage users while the server is stopped.
    #[command(subcommand)]
    Admin(crate::admin_cmd::AdminCommand),
    /// Measure import and scan throughput on this machine.
    #[command(hide = true)]
    BenchImport(crate::bench_cmd::BenchArgs),
    /// Write the benchmarks' synthetic text to a file.
    #[command(hide = true)]
    GenCorpus(crate::bench_cmd::CorpusArgs),
}

/// Where Tally listens and where it keeps its data.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Port 0 picks a free port (it is logged).
    #[arg(long, env = "TALLY_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Who must sign in: `auto` (no one on a loopback address, everyone on
    /// any other), `required` (everyone), `off` (no one; refused on a
    /// non-loopback address).
    #[arg(long, env = "TALLY_AUTH", value_enum, default_value = "auto")]
    pub auth: crate::auth::AuthMode,

    /// The URL users reach Tally at, when it is not the address it listens
    /// on: behind a TLS reverse proxy, `https://tally.example.com`. Its origin
    /// is accepted for form posts and its host on loopback; https makes
    /// cookies `Secure` and adds HSTS.
    #[arg(long, env = "TALLY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// A browser session unused this long ends (`30m`, `12h`, `7d`).
    #[arg(long, env = "TALLY_SESSION_IDLE", default_value = "12h", value_parser = parse_duration)]
    pub session_idle: std::time::Duration,

    /// A browser session ends this long after sign-in, however it is used.
    #[arg(long, env = "TALLY_SESSION_LIFETIME", default_value = "7d", value_parser = parse_duration)]
    pub session_lifetime: std::time::Duration,

    /// Failed sign-ins one user name may have within 15 minutes before its
    /// sign-ins are refused until the oldest is 15 minutes old (an address
    /// may have four times as many, across names).
    #[arg(long, env = "TALLY_LOGIN_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub login_attempts: u16,

    /// Audit log entries older than this are deleted (`90d`, `365d`).
    #[arg(long, env = "TALLY_AUDIT_RETENTION", default_value = "365d", value_parser = parse_duration)]
    pub audit_retention: std::time::Duration,

    /// A JSON Lines file to load as `public-data.samples.shakespeare` when that
    /// table is missing (the run script prepares it).
    #[arg(long, env = "TALLY_SAMPLE_DATA", value_name = "FILE")]
    pub sample_data: Option<PathBuf>,

    /// Largest accepted table upload, in bytes.
    #[arg(long, env = "TALLY_MAX_UPLOAD_BYTES", default_value_t = 4 << 30)]
    pub max_upload_bytes: u64,

    /// Runs executed at once. The default, 1, gives one run every core (the
    /// fastest way through a queue of large runs); more let small runs pass a
    /// large one, each with `cores / workers` engine threads.
    #[arg(long, env = "TALLY_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,

    /// A run still counting after this long fails (`90s`, `30m`, `2h`; `0`:
    /// no limit).
    #[arg(long, env = "TALLY_RUN_TIMEOUT", default_value = "0", value_parser = parse_duration)]
    pub run_timeout: std::time::Duration,

    /// The most bytes of text a run reads per second, such as `50MB` (`0`: no
    /// limit). Holds runs back on a machine they share with other work; a
    /// cancel still takes effect at once.
    #[arg(long, env = "TALLY_RUN_READ_RATE", default_value = "0", value_parser = parse_bytes)]
    pub run_read_rate: u64,

    /// The most groups a run counted per group of a column may have: a run
    /// that meets more distinct values fails saying so (each group keeps its
    /// own counts, so a column of unique values would keep one per row).
    #[arg(long, env = "TALLY_MAX_GROUPS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_groups: u32,

    /// Finished runs kept per workload, newest first; older ones are deleted
    /// with their results (`0`: keep every run).
    #[arg(long, env = "TALLY_KEEP_RUNS", default_value_t = 20)]
    pub keep_runs: usize,

    /// Finished runs older than this are deleted with their results (`30d`,
    /// `12h`; `0`: no age limit), except each workload's newest run.
    #[arg(long, env = "TALLY_KEEP_RESULTS_FOR", default_value = "0", value_parser = parse_duration)]
    pub keep_results_for: std::time::Duration,

    /// A run's claim lasts this long without a heartbeat (one a second) before
    /// another slot or server may take the run over (`15s`; at least `3s`).
    #[arg(long, env = "TALLY_RUN_LEASE", default_value = "15s", value_parser = parse_run_lease)]
    pub run_lease: std::time::Duration,

    /// An Apache Spark master for workloads whose executor is `spark`, as
    /// `spark-submit --master` takes it: `local[4]`, `spark://host:7077`,
    /// `yarn`, `k8s://https://host:6443`. Without it, Spark is not offered.
    #[arg(long, env = "TALLY_SPARK_MASTER", value_name = "URL")]
    pub spark_master: Option<String>,

    /// The `spark-submit` to run (default: `$SPARK_HOME/bin/spark-submit`,
    /// else `spark-submit` on the PATH).
    #[arg(
        long,
        env = "TALLY_SPARK_SUBMIT",
        value_name = "PATH",
        requires = "spark_master"
    )]
    pub spark_submit: Option<PathBuf>,

    /// A directory every Spark node sees at the same path (shared storage):
    /// each Spark run's table is copied there and its counts written there.
    /// Not needed for `local[N]` or a cluster on this machine.
    #[arg(
        long,
        env = "TALLY_SPARK_STAGING",
        value_name = "DIR",
        requires = "spark_master"
    )]
    pub spark_staging: Option<PathBuf>,

    /// Largest accepted JSON request body (workload definitions), in bytes.
    #[arg(long, env = "TALLY_MAX_JSON_BYTES", default_value_t = 1 << 20)]
    pub max_json_bytes: usize,

    /// Largest non-file field of an upload form (`64KB`).
    #[arg(long, env = "TALLY_MAX_FORM_FIELD_BYTES", default_value = "64KB", value_parser = parse_bytes)]
    pub max_form_field_bytes: u64,

    /// Most parts (files and fields together) in one upload form.
    #[arg(long, env = "TALLY_MAX_FORM_PARTS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_form_parts: u32,

    /// Most columns an imported table may have.
    #[arg(long, env = "TALLY_MAX_COLUMNS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_columns: u32,

    /// Longest CSV record, JSON line or text line an import accepts (`64MB`).
    #[arg(long, env = "TALLY_MAX_RECORD_BYTES", default_value = "64MB", value_parser = parse_bytes)]
    pub max_record_bytes: u64,

    /// A Parquet upload may decode to this many times its file size (any
    /// file may decode to 256 MB): a small file of repeated values that
    /// decodes to gigabytes is refused.
    #[arg(long, env = "TALLY_MAX_PARQUET_EXPANSION", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_parquet_expansion: u64,

    /// The most bytes of source an import reads per second, such as `50MB`
    /// (for a Parquet upload, its decoded batches' size in memory; `0`: no
    /// limit). Holds imports back on a machine they share with other work.
    #[arg(long, env = "TALLY_IMPORT_READ_RATE", default_value = "0", value_parser = parse_bytes)]
    pub import_read_rate: u64,

    /// Imports converted at once; more wait their turn.
    #[arg(long, env = "TALLY_MAX_CONCURRENT_IMPORTS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_imports: u16,

    /// Free disk space kept in reserve (`256MB`, `10GB`): an import or a
    /// run's results that would leave less fail with 507 and store nothing.
    #[arg(long, env = "TALLY_MIN_FREE_DISK", default_value = "256MB", value_parser = parse_bytes)]
    pub min_free_disk: u64,

    /// Event streams (`/api/v1/events`, one per open page) at once, in all.
    #[arg(long, env = "TALLY_MAX_EVENT_STREAMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_streams: u32,

    /// Event streams one client address may hold open at once.
    #[arg(long, env = "TALLY_MAX_EVENT_STREAMS_PER_CLIENT", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_streams_per_client: u32,

    /// Longest a request may take to be answered (`60s`); uploads, and the
    /// bodies of event streams and downloads, are not cut.
    #[arg(long, env = "TALLY_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
}

impl ServeArgs {
    /// The Spark these flags name, if any.
    pub fn spark(&self) -> Option<crate::runs::spark::SparkSettings> {
        let master = self.spark_master.as_ref()?.trim().to_string();
        let submit = self.spark_submit.clone().unwrap_or_else(|| {
            std::env::var_os("SPARK_HOME").map_or_else(
                || PathBuf::from("spark-submit"),
                |home| PathBuf::from(home).join("bin").join("spark-submit"),
            )
        });
        Some(crate::runs::spark::SparkSettings {
            master,
            submit,
            staging: self.spark_staging.clone(),
        })
    }

    /// The limits these flags set.
    pub fn limits(&self) -> crate::limits::Limits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        crate::limits::Limits {
            upload_bytes: self.max_upload_bytes,
            json_bytes: self.max_json_bytes,
            form_field_bytes: size(self.max_form_field_bytes),
            form_parts: self.max_form_parts as usize,
            import: crate::tables::import::ImportLimits {
                max_columns: self.max_columns as usize,
                max_record_bytes: self.max_record_bytes,
                max_parquet_expansion: self.max_parquet_expansion,
                read_rate: std::num::NonZeroU64::new(self.import_read_rate),
            },
            concurrent_imports: usize::from(self.max_concurrent_imports),
            min_free_disk: self.min_free_disk,
            event_streams: self.max_event_streams as usize,
            event_streams_per_client: self.max_event_streams_per_client as usize,
            // A zero limit would refuse every request; it means none.
            request_timeout: if self.request_timeout.is_zero() {
                std::time::Duration::MAX
            } else {
                self.request_timeout
            },
        }
    }
}

/// Where Tally keeps its data: shared by `serve` and `admin`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for Tally's data: the embedded database and imported tables.
    /// Created if missing.
    #[arg(long, env = "TALLY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database to use instead of the embedded one: `surrealkv://PATH`,
    /// `rocksdb://PATH`, `mem://` or a remote `ws://HOST:PORT` / `wss://...`.
    /// Default: `surrealkv://<data-dir>/db`.
    #[arg(long, env = "TALLY_DB")]
    pub db: Option<String>,

    /// User for a remote database (root credentials).
    #[arg(long, env = "TALLY_DB_USER", requires = "db_pass")]
    pub db_user: Option<String>,

    /// Password for a remote database.
    #[arg(
        long,
        env = "TALLY_DB_PASS",
        hide_env_values = true,
        requires = "db_user"
    )]
    pub db_pass: Option<String>,

    /// SurrealDB namespace and database that hold Tally's tables.
    #[arg(long, env = "TALLY_DB_NAMESPACE", default_value = "tally")]
    pub db_namespace: String,

    /// SurrealDB database name inside the namespace.
    #[arg(long, env = "TALLY_DB_DATABASE", default_value = "tally")]
    pub db_database: String,
}

/// `4096`, `64KB`, `50MB`, `2GB` (binary multiples: 1 KB = 1 024 bytes).
pub fn parse_bytes(raw: &str) -> Result<u64, String> {
    let upper = raw.trim().to_ascii_uppercase();
    let (number, multiple) = [
        ("GB", 1_u64 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
        ("B", 1),
    ]
    .iter()
    .find_map(|&(suffix, m)| upper.strip_suffix(suffix).map(|n| (n.trim(), m)))
    .unwrap_or((upper.as_str(), 1));
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiple))
        .ok_or_else(|| format!("'{raw}' is not a size such as 4096, 64KB, 50MB or 2GB"))
}

/// `90`, `90s`, `30m`, `2h`, `7d`.
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => raw.split_at(at),
        None => (raw, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration such as 90s, 30m or 2h"))?;
    let multiple = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{raw}': the unit must be s, m, h or d")),
    };
    let secs = n
        .checked_mul(multiple)
        .ok_or_else(|| format!("'{raw}' is too long a duration"))?;
    Ok(std::time::Duration::from_secs(secs))
}

/// [`parse_duration`], at least three heartbeats long: a shorter lease could
/// run out between two heartbeats of a healthy run.
fn parse_run_lease(raw: &str) -> Result<std::time::Duration, String> {
    let lease = parse_duration(raw)?;
    if lease < std::time::Duration::from_secs(3) {
        return Err(format!(
            "'{raw}' is too short: a run lease lasts at least 3s"
        ));
    }
    Ok(lease)
}

impl Cli {
    /// The serve options in force: those after `serve`, or the top-level ones.
    pub fn serve_args(&self) -> ServeArgs {
        match &self.command {
            Some(Command::Serve(args)) => (**args).clone(),
            _ => self.serve.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_subcommand() {
        let bare = Cli::try_parse_from(["tally", "--addr", "127.0.0.1:0"]).expect("parses");
        assert_eq!(bare.serve_args().addr.port(), 0);
        let explicit =
            Cli::try_parse_from(["tally", "serve", "--data-dir", "/tmp/x"]).expect("parses");
        assert_eq!(
            explicit.serve_args().store.data_dir,
            PathBuf::from("/tmp/x")
        );
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(
            parse_duration("30m"),
            Ok(std::time::Duration::from_secs(1800))
        );
        assert_eq!(
            parse_duration("2h"),
            Ok(std::time::Duration::from_secs(7200))
        );
        assert_eq!(
            parse_duration("7d"),
            Ok(std::time::Duration::from_secs(7 * 86_400))
        );
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn sizes_take_an_optional_binary_unit() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64kb"), Ok(64 << 10));
        assert_eq!(parse_bytes(" 50 MB "), Ok(50 << 20));
        assert_eq!(parse_bytes("2GB"), Ok(2 << 30));
        assert_eq!(parse_bytes("0"), Ok(0));
        for bad in ["", "MB", "1.5MB", "-1", "ten", "99999999999999999999GB"] {
            let err = parse_bytes(bad).expect_err(bad);
            assert!(err.contains("is not a size"), "{bad}: {err}");
        }
        let cli = Cli::try_parse_from(["tally", "--run-read-rate", "1MB"]).expect("parses");
        assert_eq!(cli.serve_args().run_read_rate, 1 << 20);
        let err = Cli::try_parse_from(["tally", "--run-read-rate", "fast"]).expect_err("invalid");
        assert!(err.to_string().contains("--run-read-rate"), "{err}");
        let cli = Cli::try_parse_from(["tally", "--import-read-rate", "6MB"]).expect("parses");
        let limits = cli.serve_args().limits();
        assert_eq!(limits.import.read_rate.map(|r| r.get()), Some(6 << 20));
        let cli = Cli::try_parse_from(["tally"]).expect("parses");
        assert_eq!(cli.serve_args().limits().import.read_rate, None);
    }

    #[test]
    fn a_bad_address_is_rejected_with_its_flag_named() {
        let err = Cli::try_parse_from(["tally", "--addr", "localhost"]).expect_err("invalid");
        assert!(err.to_string().contains("--addr"), "{err}");
    }
}
