//! Logging: `tracing` to standard error, filtered by `--log-level`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A bad filter is reported, not fatal: logging
/// falls back to `info`.
pub fn init(filter: &str) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter: {e}");
    }
}
