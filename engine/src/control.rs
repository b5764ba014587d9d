//! How a caller steers a count: a [`CancelToken`], a progress callback and,
//! for whoever feeds it, a read [`Pace`].

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// A read rate: bytes per second, averaged from the start. It lets runs and
/// imports share a machine with other work: the reader calls
/// [`Pace::hold_after`] with what it has just read. A held reader also watches
/// the cancel token, so a cancel cuts the wait short instead of waiting out a
/// batch's share of time (seconds for a batch of long values at a low rate).
#[derive(Debug)]
pub struct Pace {
    bytes_per_sec: NonZeroU64,
    cancel: CancelToken,
    started: Instant,
    bytes: u64,
}

impl Pace {
    /// How often a held reader looks at the cancel token.
    const WATCH: Duration = Duration::from_millis(50);

    pub fn new(bytes_per_sec: NonZeroU64, cancel: CancelToken) -> Self {
        Self {
            bytes_per_sec,
            cancel,
            started: Instant::now(),
            bytes: 0,
        }
    }

    /// Waits until `bytes` more are due at the rate (or the work is cancelled).
    pub fn hold_after(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        let share = self.bytes as f64 / self.bytes_per_sec.get() as f64;
        // Beyond what an `Instant` can hold (exabytes at a byte a second) there
        // is nothing sensible to wait for.
        let Some(due) = Duration::try_from_secs_f64(share)
            .ok()
            .and_then(|share| self.started.checked_add(share))
        else {
            return;
        };
        while !self.cancel.is_cancelled() {
            let Some(left) = due.checked_duration_since(Instant::now()) else {
                return;
            };
            std::thread::sleep(left.min(Self::WATCH));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_holds_reads_to_its_rate_and_a_cancel_ends_the_wait() {
        let cancel = CancelToken::new();
        let rate = NonZeroU64::new(1000).expect("non-zero");
        let mut pace = Pace::new(rate, cancel.clone());
        let started = Instant::now();
        pace.hold_after(200);
        assert!(started.elapsed() >= Duration::from_millis(200));
        // An hour's share: only the cancel, from another thread, ends it.
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.cancel();
        });
        pace.hold_after(3_600_000);
        assert!(started.elapsed() < Duration::from_secs(5));
        canceller.join().expect("canceller");
    }
}
