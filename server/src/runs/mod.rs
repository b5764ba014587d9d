//! Runs: the durable queue (its records in [`crate::store::runs`]), the dispatcher that executes it
//! ([`dispatcher`]), result files ([`results`]) and live events ([`EventBus`]).

pub mod compare;
pub mod context;
pub mod dispatcher;
pub mod job;
pub mod results;
pub mod spark;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tally_app::run::ServerEvent;
use tally_engine::CancelToken;
use tokio::sync::{Notify, broadcast};

use crate::store::runs::RunRow;

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Runs executed at once. Each gets `cores / workers` engine threads.
    pub workers: usize,
    /// A run still counting after this long fails.
    pub run_timeout: Option<Duration>,
    /// The most bytes of text a run reads per second (no limit when absent).
    pub read_rate: Option<NonZeroU64>,
    /// The most groups a grouped run may meet (`--max-groups`).
    pub max_groups: u32,
    /// How long a claimed run stays claimed without a heartbeat.
    pub lease: Duration,
    /// Which finished runs are kept.
    pub retention: Retention,
    /// Where `spark` workloads run; without it they are refused.
    pub spark: Option<spark::SparkSettings>,
}

/// Which finished runs are kept: a workload's newest always, and of the
/// others those within both limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Finished runs kept per workload, newest first (`--keep-runs`; 0: all).
    pub keep_runs: usize,
    /// Finished runs older than this go (`--keep-results-for`; none: any age).
    pub keep_for: Option<Duration>,
}

impl Retention {
    /// Whether it deletes anything at all.
    pub fn deletes(&self) -> bool {
        self.keep_runs > 0 || self.keep_for.is_some()
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_runs: 20,
            keep_for: None,
        }
    }
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            workers: 1,
            run_timeout: None,
            read_rate: None,
            max_groups: 10_000,
            lease: Duration::from_secs(15),
            retention: Retention::default(),
            spark: None,
        }
    }
}

/// The dispatcher's shared state: its identity, settings, engine pool, the
/// runs it is executing, and the bell that wakes it.
pub struct RunQueue {
    pub settings: DispatchSettings,
    /// This process's lease owner id (unique per start).
    pub owner: String,
    /// Whether this process is the database's only user (embedded engines lock
    /// their files), so that every `running` run at start-up is orphaned.
    pub exclusive: bool,
    pub pool: Arc<rayon::ThreadPool>,
    pub wake: Notify,
    running: Mutex<HashMap<u64, CancelToken>>,
}

impl RunQueue {
    pub fn new(
        settings: DispatchSettings,
        exclusive: bool,
    ) -> Result<Self, rayon::ThreadPoolBuildError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = (cores / settings.workers.max(1)).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tally-run-{i}"))
            .build()?;
        Ok(Self {
            settings,
            owner: uuid::Uuid::now_v7().to_string(),
            exclusive,
            pool: Arc::new(pool),
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
        })
    }

    pub fn lease_delta(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.settings.lease).unwrap_or(chrono::TimeDelta::seconds(15))
    }

    fn register(&self, run: u64, token: CancelToken) {
        self.lock().insert(run, token);
    }

    fn unregister(&self, run: u64) {
        self.lock().remove(&run);
    }

    /// Stops a run this process is executing, at once; `false` if it is not here.
    pub fn cancel_local(&self, run: u64) -> bool {
        match self.lock().get(&run) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, CancelToken>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Live events for subscribers (the SSE stream). Slow subscribers miss events
/// rather than slowing runs down.
#[derive(Clone)]
pub struct EventBus(broadcast::Sender<ServerEvent>);

impl Default for EventBus {
    fn default() -> Self {
        Self(broadcast::channel(1024).0)
    }
}

impl EventBus {
    pub fn publish(&self, event: ServerEvent) {
        // No subscriber is not an error.
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.0.subscribe()
    }

    /// Announces a run's state and progress as they are stored.
    pub fn publish_run(&self, run: &RunRow) {
        let public = run.public();
        self.publish(ServerEvent::Run {
            run_id: public.id,
            workload_id: public.workload_id,
            state: public.state,
            progress: public.progress,
        });
    }
}

/// Event streams open at once, in all and per client address: each is a
/// connection held open for hours, so a client that opens them in a loop
/// would otherwise hold every socket and task the server has.
pub struct StreamSlots {
    total: usize,
    per_client: usize,
    open: Arc<Mutex<StreamCounts>>,
}

#[derive(Default)]
struct StreamCounts {
    total: usize,
    by_client: HashMap<String, usize>,
}

/// One open stream; its slot is free again when this is dropped.
pub struct StreamSlot {
    client: String,
    open: Arc<Mutex<StreamCounts>>,
}

impl StreamSlots {
    pub fn new(total: usize, per_client: usize) -> Self {
        Self {
            total,
            per_client,
            open: Arc::default(),
        }
    }

    /// How many streams are open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// A slot for `client`, or why there is none.
    pub fn acquire(&self, client: &str) -> Result<StreamSlot, String> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.total {
            return Err(format!(
                "the server has {} event streams open, its limit (--max-event-streams): try again later",
                self.total
            ));
        }
        let mine = open.by_client.entry(client.to_string()).or_default();
        if *mine >= self.per_client {
            return Err(format!(
                "this client has {} event streams open, the limit (--max-event-streams-per-client): close one first",
                self.per_client
            ));
        }
        *mine += 1;
        open.total += 1;
        Ok(StreamSlot {
            client: client.to_string(),
            open: self.open.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_slots_are_counted_per_client_and_in_all_and_given_back() {
        let slots = StreamSlots::new(3, 2);
        let a1 = slots.acquire("a").expect("a 1");
        let _a2 = slots.acquire("a").expect("a 2");
        assert!(slots.acquire("a").is_err(), "a third for one client");
        let _b1 = slots.acquire("b").expect("b 1");
        assert!(slots.acquire("c").is_err(), "past the total");
        drop(a1);
        let _c1 = slots.acquire("c").expect("a slot came back");
    }
}
