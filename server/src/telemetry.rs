//! Logging: `tracing` to standard error, filtered by `--log-level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A bad filter is reported, not fatal: logging
/// falls back to `info`. Colours only on a terminal (and never with
/// `NO_COLOR`): a log file or journald should get plain text.
pub fn init(filter: &str) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter: {e}");
    }
}
