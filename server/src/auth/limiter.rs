//! Failed sign-ins, counted per user name and per address over a sliding
//! window. Past either limit, sign-ins from that name or address are refused
//! (429, with the wait) until the oldest failure leaves the window, whether or
//! not the password is right, so a guesser learns nothing more.
//!
//! Kept in memory: a restart forgets it, which only gives a guesser one more
//! window, and the limits hold across many processes only per process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits, from `--login-attempts` and the fixed window.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures one user name may have within the window.
    pub per_user: usize,
    /// Failures one address may have within the window (many names).
    pub per_address: usize,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_user: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// How many names or addresses are tracked at most; the oldest are forgotten
/// first, so a flood of made-up names cannot exhaust memory.
const MAX_KEYS: usize = 100_000;

pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long `user` from `address` must wait before another try, if at all.
    pub fn wait(&self, user: &str, address: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let checks = [
            (format!("u:{user}"), self.limits.per_user),
            (format!("a:{address}"), self.limits.per_address),
        ];
        checks
            .into_iter()
            .filter_map(|(key, limit)| {
                let times = failures.get_mut(&key)?;
                prune(times, now, self.limits.window);
                (times.len() >= limit)
                    .then(|| {
                        times
                            .front()
                            .map(|oldest| self.limits.window.saturating_sub(now - *oldest))
                    })
                    .flatten()
            })
            .max()
    }

    /// Counts a failed sign-in of `user` from `address`.
    pub fn failed(&self, user: &str, address: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            let window = self.limits.window;
            failures.retain(|_, times| {
                prune(times, now, window);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for key in [format!("u:{user}"), format!("a:{address}")] {
            let times = failures.entry(key).or_default();
            prune(times, now, self.limits.window);
            times.push_back(now);
        }
    }

    /// Forgets the user name's failures after a successful sign-in.
    pub fn succeeded(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("u:{user}"));
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_held_back_after_its_failures_until_the_window_passes() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_user: 3,
            per_address: 10,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.wait("ann", "1.2.3.4", t0), None, "try {i}");
            limiter.failed("ann", "1.2.3.4", t0);
        }
        let wait = limiter.wait("ann", "5.6.7.8", t0 + Duration::from_secs(10));
        assert_eq!(wait, Some(Duration::from_secs(50)), "held from any address");
        assert_eq!(
            limiter.wait("bo", "5.6.7.8", t0),
            None,
            "other names are not"
        );
        assert_eq!(
            limiter.wait("ann", "1.2.3.4", t0 + Duration::from_secs(60)),
            None
        );
        limiter.succeeded("ann");
    }

    #[test]
    fn an_address_is_held_back_across_names() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_user: 100,
            per_address: 4,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for name in ["a", "b", "c", "d"] {
            limiter.failed(name, "9.9.9.9", t0);
        }
        assert!(limiter.wait("e", "9.9.9.9", t0).is_some());
        assert!(limiter.wait("e", "8.8.8.8", t0).is_none());
    }
}
