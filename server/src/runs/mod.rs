//! Runs: the durable queue ([`store`]), the dispatcher that executes it
//! ([`dispatcher`]), result files ([`results`]) and live events ([`EventBus`]).

pub mod dispatcher;
pub mod results;
pub mod store;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tally_app::run::ServerEvent;
use tally_engine::CancelToken;
use tokio::sync::{Notify, broadcast};

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Runs executed at once. Each gets `cores / workers` engine threads.
    pub workers: usize,
    /// A run still counting after this long fails.
    pub run_timeout: Option<Duration>,
    /// The most bytes of text a run reads per second (no limit when absent).
    pub read_rate: Option<NonZeroU64>,
    /// How long a claimed run stays claimed without a heartbeat.
    pub lease: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            workers: 1,
            run_timeout: None,
            read_rate: None,
            lease: Duration::from_secs(15),
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
}
