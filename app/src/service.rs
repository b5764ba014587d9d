//! The port the server implements for the UI's server functions.
//!
//! Server functions are thin adapters: they take the [`AppService`] the server put
//! into Leptos' context once at start-up, call one method, and return its result.
//! The same service backs the REST API, so no rule is written twice.

use std::sync::Arc;

use leptos::server_fn::codec::MultipartData;

use crate::catalog::{ProjectTree, TableDetail, TableInfo};
use crate::domain::SystemStatus;
use crate::error::AppError;
use crate::run::{Activity, Run, WordCountPage, WordsRequest};
use crate::workload::{Workload, WorkloadForm, WorkloadPage, WorkloadQuery};

/// Everything the UI asks of the server.
#[async_trait::async_trait]
pub trait AppService: Send + Sync + 'static {
    /// A live reading of the server's and database's health.
    async fn system_status(&self) -> SystemStatus;

    /// Every project, dataset and table.
    async fn catalog_tree(&self) -> Result<Vec<ProjectTree>, AppError>;

    /// One table (`project.dataset.table`) with its first rows.
    async fn table_detail(&self, table: &str) -> Result<TableDetail, AppError>;

    /// Imports the files of an upload form (fields `table`, `file`..., and the
    /// optional `format`, `delimiter`, `quote`, `replace_invalid_utf8`).
    async fn import_upload(&self, form: MultipartData) -> Result<TableInfo, AppError>;

    /// Deletes a table and its data.
    async fn delete_table(&self, table: &str) -> Result<TableInfo, AppError>;

    /// One page of workloads.
    async fn list_workloads(&self, query: WorkloadQuery) -> Result<WorkloadPage, AppError>;

    async fn workload(&self, id: u64) -> Result<Workload, AppError>;

    /// Validates the form as the REST API validates a body, and creates the workload.
    async fn create_workload(&self, form: WorkloadForm) -> Result<Workload, AppError>;

    /// Replaces a workload's definition with the form's.
    async fn update_workload(&self, id: u64, form: WorkloadForm) -> Result<Workload, AppError>;

    async fn delete_workload(&self, id: u64) -> Result<Workload, AppError>;

    /// Workloads by status, runs in flight and recent runs (the Dashboard).
    async fn activity(&self) -> Result<Activity, AppError>;

    /// Queues a new run of a workload.
    async fn start_run(&self, workload_id: u64) -> Result<Run, AppError>;

    /// Cancels a queued or running run.
    async fn cancel_run(&self, run_id: u64) -> Result<Run, AppError>;

    /// A workload's runs, newest first.
    async fn runs_of(&self, workload_id: u64) -> Result<Vec<Run>, AppError>;

    async fn run(&self, run_id: u64) -> Result<Run, AppError>;

    /// A page of a succeeded run's words.
    async fn run_words(
        &self,
        run_id: u64,
        request: WordsRequest,
    ) -> Result<WordCountPage, AppError>;
}

/// How the service travels in Leptos' context.
pub type SharedService = Arc<dyn AppService>;
