//! Logging: `tracing` to standard error, filtered by `--log-level`, as text
//! for people or as one JSON object per line for a log collector
//! (`--log-format`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-12-07T01:02:03Z  INFO target: message key=value`, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `fields`
    /// (`message` and the event's values) and the current `span`.
    Json,
}

/// Installs the global subscriber. A bad filter is reported, not fatal: logging
/// falls back to `info`. Colours only on a terminal (and never with
/// `NO_COLOR`): a log file or journald should get plain text.
pub fn init(filter: &str, format: LogFormat) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            )
            .try_init(),
        // A collector parses every line: no colour codes, whatever the terminal.
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter: {e}");
    }
}
