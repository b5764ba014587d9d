//! The service layer: the one place where Tally's operations are implemented.
//!
//! Both the REST routes and the UI's server functions (through
//! [`tally_app::service::AppService`]) call into [`TallyService`].

mod create_batch;
mod datasets;
mod runs;
pub mod uploads;
mod workloads;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leptos::server_fn::codec::MultipartData;
use tally_app::auth::Principal;
use tally_app::catalog::{ProjectTree, TableDetail, TableInfo};
use tally_app::domain::{DatabaseStatus, SystemStatus};
use tally_app::error::AppError;
use tally_app::names::TableRef;
use tally_app::run::{Activity, MAX_WORDS_PAGE, Run, WordCountPage, WordsRequest};
use tally_app::service::AppService;
use tally_app::workload::{Workload, WorkloadForm, WorkloadPage, WorkloadQuery};

use crate::auth::Accounts;
use crate::auth::accounts::AccountSettings;
use crate::catalog::Catalog;
use crate::db::{Database, DbError};
use crate::error::ServiceError;
use crate::migrations;
use crate::read_cache::WorkloadCache;
use crate::runs::results::{ResultQuery, ResultStore};
use crate::runs::store::RunStore;
use crate::runs::{DispatchSettings, EventBus, RunQueue};
use crate::sequence;
use crate::tables::{TableLeases, TableStore};
use crate::workloads::WorkloadStore;
use create_batch::CreateBatcher;

pub use datasets::PREVIEW_ROWS;

/// How long a status check waits for the database before calling it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Tally's operations over its database and table files.
pub struct TallyService {
    db: Database,
    catalog: Catalog,
    store: TableStore,
    leases: TableLeases,
    workloads: Arc<WorkloadStore>,
    runs: Arc<RunStore>,
    creates: CreateBatcher,
    cache: Arc<WorkloadCache>,
    results: Arc<ResultStore>,
    queue: RunQueue,
    events: EventBus,
    accounts: Arc<Accounts>,
    max_upload_bytes: u64,
    max_json_bytes: usize,
    started: Instant,
}

impl TallyService {
    /// Brings the database schema up to date, opens the table store under
    /// `data_dir` and removes what interrupted imports left behind.
    pub async fn open(
        db: Database,
        data_dir: &Path,
        dispatch: DispatchSettings,
    ) -> Result<Self, ServiceError> {
        let applied = migrations::migrate(&db).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database schema upgraded");
        }
        let store = TableStore::open(data_dir).map_err(|e| DbError::DataDir {
            path: data_dir.display().to_string(),
            source: e,
        })?;
        let results = ResultStore::open(data_dir).map_err(|e| DbError::DataDir {
            path: data_dir.join("results").display().to_string(),
            source: e,
        })?;
        // Embedded engines lock their files: this process is the database's only
        // user, so any run still `running` was orphaned by a crash.
        let exclusive = matches!(db.engine(), "surrealkv" | "rocksdb" | "mem");
        let queue = RunQueue::new(dispatch, exclusive).map_err(ServiceError::internal)?;
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
        let service = Self {
            catalog: Catalog::new(db.clone()).caching(exclusive),
            creates: CreateBatcher::start(workloads.clone(), runs.clone()),
            workloads,
            runs,
            cache,
            results: Arc::new(results),
            queue,
            events: EventBus::default(),
            accounts: Arc::new(Accounts::new(db.clone(), AccountSettings::default())),
            db,
            store,
            leases: TableLeases::default(),
            max_upload_bytes: 4 << 30,
            max_json_bytes: 1 << 20,
            started: Instant::now(),
        };
        let swept = service.sweep_table_files().await?;
        if swept > 0 {
            tracing::info!(files = swept, "removed files left by interrupted imports");
        }
        if exclusive {
            let recovered = service.recover_runs(true).await?;
            if recovered > 0 {
                tracing::warn!(
                    runs = recovered,
                    "runs interrupted by the last stop were re-queued"
                );
            }
        }
        let known = service.runs.results_files().await?.into_iter().collect();
        let store = service.results.clone();
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
        Ok(service)
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

    /// Sets the largest accepted upload, in bytes.
    pub fn with_upload_limit(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// Sets the largest accepted JSON request body, in bytes.
    pub fn with_json_limit(mut self, bytes: usize) -> Self {
        self.max_json_bytes = bytes;
        self
    }

    pub fn max_json_bytes(&self) -> usize {
        self.max_json_bytes
    }

    pub fn leases(&self) -> &TableLeases {
        &self.leases
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A fresh reading of the server's and database's state.
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
            checked_at: rfc3339_millis(chrono::Utc::now()),
            database,
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

    async fn start_run(&self, who: &Principal, workload_id: u64) -> Result<Run, AppError> {
        Ok(self.rerun_workload(who, workload_id).await?)
    }

    async fn cancel_run(&self, who: &Principal, run_id: u64) -> Result<Run, AppError> {
        Ok(TallyService::cancel_run(self, who, run_id).await?)
    }

    async fn runs_of(&self, workload_id: u64) -> Result<Vec<Run>, AppError> {
        Ok(TallyService::runs_of(self, workload_id).await?)
    }

    async fn run(&self, run_id: u64) -> Result<Run, AppError> {
        Ok(TallyService::run(self, run_id).await?)
    }

    async fn run_words(
        &self,
        run_id: u64,
        request: WordsRequest,
    ) -> Result<WordCountPage, AppError> {
        let query = ResultQuery {
            order: request.order,
            prefix: Some(request.q).filter(|q| !q.is_empty()),
            word: None,
            offset: request.offset,
            limit: request.limit.clamp(1, MAX_WORDS_PAGE),
        };
        Ok(self.word_counts(run_id, query).await?)
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

/// Formats a time as RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T10:15:30.123Z`.
pub fn rfc3339_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
