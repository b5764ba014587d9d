//! How a caller steers a count: a [`CancelToken`] and a progress callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A cheap, cloneable cancellation flag. Cancelling makes the running count stop
/// at its next chunk boundary with [`crate::CountError::Cancelled`].
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A snapshot of a running count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub bytes_done: u64,
    /// Known for files and for column scans that report their size.
    pub bytes_total: Option<u64>,
    pub values_done: u64,
    pub values_total: Option<u64>,
    /// Words counted so far (after filtering).
    pub words_done: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Fraction done in `[0, 1]`, from bytes or values, when a total is known.
    pub fn fraction(&self) -> Option<f64> {
        let ratio = |done: u64, total: u64| {
            if total == 0 {
                1.0
            } else {
                (done as f64 / total as f64).min(1.0)
            }
        };
        match (self.bytes_total, self.values_total) {
            (Some(total), _) => Some(ratio(self.bytes_done, total)),
            (None, Some(total)) => Some(ratio(self.values_done, total)),
            (None, None) => None,
        }
    }
}

type ProgressFn = dyn Fn(&Progress) + Send + Sync;

/// Cancellation and progress reporting for one count.
pub struct Control {
    pub(crate) cancel: CancelToken,
    pub(crate) progress: Option<Box<ProgressFn>>,
    pub(crate) interval: Duration,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            cancel: CancelToken::new(),
            progress: None,
            interval: Duration::from_millis(100),
        }
    }
}

impl Control {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the count when `token` is cancelled.
    pub fn with_cancel(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Calls `f` at most once per interval (default 100 ms) while counting, and once
    /// at the end. It runs on a worker thread: keep it short.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Changes the minimum time between two progress calls.
    pub fn progress_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
}
