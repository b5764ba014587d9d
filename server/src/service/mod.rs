//! The service layer: the one place where Tally's operations are implemented.
//!
//! Both the REST routes and the UI's server functions (through
//! [`tally_app::service::AppService`]) call into [`TallyService`].

mod compare;
mod create_batch;
mod datasets;
mod runs;
pub mod uploads;
mod workloads;

use std::sync::Arc;
use std::time::{Duration, Instant};

use leptos::server_fn::codec::MultipartData;
use tally_app::auth::Principal;
use tally_app::catalog::{ProjectTree, TableDetail, TableInfo};
use tally_app::error::AppError;
use tally_app::names::TableRef;
use tally_app::run::{Activity, Run, RunListing, WordCountPage};
use tally_app::service::AppService;
use tally_app::system_status::{DatabaseStatus, SystemStatus};
use tally_app::words_query::WordsQuery;
use tally_app::workload::Executor;
use tally_app::workload::{Workload, WorkloadForm, WorkloadPage, WorkloadQuery};

use crate::auth::Accounts;
use crate::auth::accounts::AccountSettings;
use crate::data_dir::{DataDir, Ownership};
use crate::error::ServiceError;
use crate::limits::{DiskReserve, Limits};
use crate::runs::context::{ResultFiles, RunContext};
use crate::runs::results::ResultStore;
use crate::runs::{DispatchSettings, EventBus, RunQueue, StreamSlots};
use crate::store::cache::WorkloadCache;
use crate::store::catalog::Catalog;
use crate::store::database::{Database, DbError};
use crate::store::runs::RunStore;
use crate::store::sequence;
use crate::store::workloads::WorkloadStore;
use crate::tables::reader::TableReader;
use crate::tables::{TableLeases, TableStore};
use create_batch::CreateBatcher;

pub use crate::tables::reader::ReadLease;
pub use compare::RunComparison;
pub use datasets::PREVIEW_ROWS;

/// How long a status check waits for the database before calling it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Tally's operations over its database and table files.
pub struct TallyService {
    db: Database,
    /// The catalog, the table files and the leases on them.
    tables: TableReader,
    /// Held for the service's life: the lock on the data directory.
    data_dir: DataDir,
    workloads: Arc<WorkloadStore>,
    runs: Arc<RunStore>,
    creates: CreateBatcher,
    cache: Arc<WorkloadCache>,
    results: Arc<ResultStore>,
    queue: Arc<RunQueue>,
    events: EventBus,
    stream_slots: StreamSlots,
    accounts: Arc<Accounts>,
    limits: Limits,
    /// One permit per import converted at once (`Limits::concurrent_imports`).
    imports: Arc<tokio::sync::Semaphore>,
    started: Instant,
    metrics: Arc<Metrics>,
}

use crate::metrics::Metrics;

impl TallyService {
    /// Opens the table store in `data_dir` (whose `ownership` start-up has
    /// established, on a database already migrated) and, when the directory is
    /// this process's alone, removes what interrupted imports left behind.
    pub async fn open(
        db: Database,
        data_dir: DataDir,
        ownership: Ownership,
        dispatch: DispatchSettings,
    ) -> Result<Self, ServiceError> {
        let dir = data_dir.path().to_path_buf();
        let store = TableStore::open(&dir).map_err(|e| DbError::DataDir {
            path: dir.display().to_string(),
            source: e,
        })?;
        let results = ResultStore::open(&dir).map_err(|e| DbError::DataDir {
            path: dir.join("results").display().to_string(),
            source: e,
        })?;
        // Embedded engines lock their files: this process is the database's only
        // user, so any run still `running` was orphaned by a crash.
        let exclusive = db.is_embedded();
        let queue = Arc::new(RunQueue::new(dispatch, exclusive).map_err(ServiceError::internal)?);
        // Only this process writes an embedded database, so it sees every change.
        let cache = Arc::new(WorkloadCache::new(exclusive));
        // Sharing a database, processes reserve ids as they need them, so that
        // ids across processes follow creation order (and the queue, run ids).
        let ids_ahead = if exclusive { sequence::AHEAD } else { 1 };
        let workloads = Arc::new(
            WorkloadStore::new(db.clone())
                .reporting_to(cache.clone())
                .reserving_ids_ahead(ids_ahead),
        );
        let runs = Arc::new(
            RunStore::new(db.clone())
                .reporting_to(cache.clone())
                .reserving_ids_ahead(ids_ahead),
        );
        let limits = Limits::default();
        let (imports, stream_slots) = admission(&limits);
        let mut service = Self {
            tables: TableReader {
                catalog: Catalog::new(db.clone()).caching(exclusive),
                files: store,
                leases: TableLeases::default(),
                exclusive,
            },
            creates: CreateBatcher::start(workloads.clone(), runs.clone()),
            workloads,
            runs,
            cache,
            results: Arc::new(results),
            queue,
            events: EventBus::default(),
            stream_slots,
            accounts: Arc::new(Accounts::new(db.clone(), AccountSettings::default())),
            data_dir,
            imports,
            limits,
            started: Instant::now(),
            metrics: Arc::new(Metrics::new(crate::cli::VERSION, db.call_histogram())),
            db,
        };
        if exclusive {
            let recovered = service.run_context().recover(true).await?;
            if recovered > 0 {
                tracing::warn!(
                    runs = recovered,
                    "runs interrupted by the last stop were re-queued"
                );
            }
        }
        if ownership.may_sweep() {
            service.sweep_orphans().await?;
        } else {
            tracing::info!(
                ?ownership,
                "left the data directory's unknown files alone on this start"
            );
        }
        // Only now may other servers sharing the directory start importing.
        service.data_dir.share().map_err(ServiceError::internal)?;
        Ok(service)
    }

    /// Removes what interrupted imports, deletes and runs left behind: files no
    /// record refers to. Only safe when the directory is this process's alone
    /// and belongs to this database (see [`crate::data_dir`]).
    async fn sweep_orphans(&self) -> Result<(), ServiceError> {
        let swept = self.sweep_table_files().await?;
        if swept > 0 {
            tracing::info!(files = swept, "removed files left by interrupted imports");
        }
        let known = self.runs.results_files().await?.into_iter().collect();
        let store = self.results.clone();
        let swept = tokio::task::spawn_blocking(move || store.sweep(&known))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        if swept > 0 {
            tracing::info!(
                files = swept,
                "removed results files of runs that never committed"
            );
        }
        // No run is running yet: what Spark jobs left here belongs to none.
        // (A shared `--spark-staging` is not swept: other servers use it.)
        let spark = self.data_dir.path().join(runs::SPARK_DIR);
        match tokio::fs::remove_dir_all(&spark).await {
            Ok(()) => tracing::debug!(dir = %spark.display(), "removed what Spark jobs left"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %spark.display(), error = %e, "cannot remove what Spark jobs left")
            }
        }
        Ok(())
    }

    /// Sets how long sessions last, the sign-in limits and the audit retention.
    pub fn with_account_settings(mut self, settings: AccountSettings) -> Self {
        self.accounts = Arc::new(Accounts::new(self.db.clone(), settings));
        self
    }

    /// Users, sessions, tokens and the audit log.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// Sets what requests and imports may cost.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        (self.imports, self.stream_slots) = admission(&limits);
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Refuses work that would leave less free disk than the reserve
    /// (`Limits::min_free_disk`), counting `more` bytes about to be written.
    pub fn ensure_free_disk(&self, more: u64) -> Result<(), ServiceError> {
        self.disk_reserve().check(more)
    }

    fn disk_reserve(&self) -> DiskReserve {
        DiskReserve {
            dir: self.data_dir.path().to_path_buf(),
            bytes: self.limits.min_free_disk,
        }
    }

    /// The parts of the server the dispatcher works with (and nothing else).
    pub fn run_context(&self) -> RunContext {
        RunContext {
            queue: self.queue.clone(),
            runs: self.runs.clone(),
            results: self.result_files(),
            events: self.events.clone(),
            tables: self.tables.clone(),
            metrics: self.metrics.clone(),
            spark_dir: self.data_dir.path().join(runs::SPARK_DIR),
        }
    }

    fn result_files(&self) -> ResultFiles {
        ResultFiles {
            store: self.results.clone(),
            reserve: self.disk_reserve(),
        }
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.limits.upload_bytes
    }

    pub fn max_json_bytes(&self) -> usize {
        self.limits.json_bytes
    }

    pub fn leases(&self) -> &TableLeases {
        &self.tables.leases
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A fresh reading of the server's and database's state.
    /// The executors runs can use on this server.
    pub fn executors(&self) -> Vec<Executor> {
        let mut executors = vec![Executor::Native];
        if self.queue.settings.spark.is_some() {
            executors.push(Executor::Spark);
        }
        executors
    }

    pub async fn status(&self) -> SystemStatus {
        let database = match self.db.ping(PING_TIMEOUT).await {
            Ok(rtt) => DatabaseStatus {
                engine: self.db.engine().to_string(),
                ok: true,
                latency_ms: rtt.as_secs_f64() * 1000.0,
                error: None,
            },
            Err(e) => {
                tracing::warn!(error = %e, "database health check failed");
                DatabaseStatus {
                    engine: self.db.engine().to_string(),
                    ok: false,
                    latency_ms: 0.0,
                    error: Some(e.to_string()),
                }
            }
        };
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            checked_at: crate::store::rfc3339_millis(chrono::Utc::now()),
            database,
            executors: self.executors(),
        }
    }
}

#[async_trait::async_trait]
impl AppService for TallyService {
    async fn system_status(&self) -> SystemStatus {
        self.status().await
    }

    async fn catalog_tree(&self) -> Result<Vec<ProjectTree>, AppError> {
        Ok(self.tree().await?)
    }

    async fn table_detail(&self, table: &str) -> Result<TableDetail, AppError> {
        let reference =
            TableRef::parse(table).map_err(|e| AppError::new(404, format!("table: {e}")))?;
        Ok(TallyService::table_detail(self, &reference).await?)
    }

    async fn import_upload(
        &self,
        who: &Principal,
        form: MultipartData,
    ) -> Result<TableInfo, AppError> {
        let form = form
            .into_inner()
            .ok_or_else(|| AppError::new(400, "file: the upload form has no data"))?;
        let upload = self.read_upload_form(form).await?;
        let table = upload.table.as_deref().unwrap_or("");
        let reference =
            TableRef::parse(table).map_err(|e| AppError::new(422, format!("table: {e}")))?;
        let options = upload.params.options(None)?;
        let sources = upload.files.iter().map(uploads::Spooled::source).collect();
        Ok(self.import_table(who, &reference, sources, options).await?)
    }

    async fn delete_table(&self, who: &Principal, table: &str) -> Result<TableInfo, AppError> {
        let reference =
            TableRef::parse(table).map_err(|e| AppError::new(404, format!("table: {e}")))?;
        Ok(TallyService::delete_table(self, who, &reference).await?)
    }

    async fn list_workloads(&self, query: WorkloadQuery) -> Result<WorkloadPage, AppError> {
        Ok(TallyService::list_workloads(self, query).await?)
    }

    async fn workload(&self, id: u64) -> Result<Workload, AppError> {
        Ok(TallyService::workload(self, id).await?)
    }

    async fn create_workload(
        &self,
        who: &Principal,
        form: WorkloadForm,
    ) -> Result<Workload, AppError> {
        Ok(TallyService::create_workload(self, who, &form.to_body()).await?)
    }

    async fn update_workload(
        &self,
        who: &Principal,
        id: u64,
        form: WorkloadForm,
    ) -> Result<Workload, AppError> {
        Ok(TallyService::update_workload(self, who, id, &form.to_body(), false).await?)
    }

    async fn delete_workload(&self, who: &Principal, id: u64) -> Result<Workload, AppError> {
        Ok(TallyService::delete_workload(self, who, id).await?)
    }

    async fn activity(&self) -> Result<Activity, AppError> {
        Ok(TallyService::activity(self).await?)
    }

    async fn search_runs(
        &self,
        query: tally_app::run_list::RunQuery,
    ) -> Result<tally_app::run_list::RunListPage, AppError> {
        Ok(TallyService::run_listings(self, &query).await?)
    }

    async fn start_run(&self, who: &Principal, workload_id: u64) -> Result<Run, AppError> {
        Ok(self.rerun_workload(who, workload_id).await?)
    }

    async fn cancel_run(&self, who: &Principal, run_id: u64) -> Result<Run, AppError> {
        Ok(TallyService::cancel_run(self, who, run_id).await?)
    }

    async fn runs_of(&self, workload_id: u64) -> Result<Vec<Run>, AppError> {
        Ok(TallyService::runs_of(self, workload_id).await?)
    }

    async fn run(&self, run_id: u64) -> Result<RunListing, AppError> {
        Ok(TallyService::run_listing(self, run_id).await?)
    }

    async fn run_words(&self, run_id: u64, query: WordsQuery) -> Result<WordCountPage, AppError> {
        Ok(self.word_counts(run_id, query).await?)
    }

    async fn compare_runs(
        &self,
        before: u64,
        after: u64,
        query: tally_app::compare::CompareQuery,
    ) -> Result<tally_app::compare::ComparePage, AppError> {
        Ok(
            TallyService::compare_runs(self, before, after, &query.group)
                .await?
                .page(&query),
        )
    }

    async fn run_groups(
        &self,
        run_id: u64,
        offset: u64,
        limit: u64,
    ) -> Result<tally_app::run::RunGroupsPage, AppError> {
        Ok(TallyService::run_groups(self, run_id, offset, limit).await?)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errors) => AppError::invalid(errors),
            ServiceError::Internal(message) => {
                tracing::error!(%message, "server function failed");
                AppError::new(500, ServiceError::Internal(message).detail())
            }
            other => AppError::new(other.status().as_u16(), other.detail()),
        }
    }
}

/// The import permits and event-stream slots that `limits` allow.
fn admission(limits: &Limits) -> (Arc<tokio::sync::Semaphore>, StreamSlots) {
    (
        Arc::new(tokio::sync::Semaphore::new(
            limits.concurrent_imports.max(1),
        )),
        StreamSlots::new(limits.event_streams, limits.event_streams_per_client),
    )
}
