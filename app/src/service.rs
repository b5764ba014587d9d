//! The port the server implements for the UI's server functions.
//!
//! Server functions are thin adapters: they take the [`AppService`] the server put
//! into Leptos' context once at start-up, call one method, and return its result.
//! The same service backs the REST API, so no rule is written twice.

use std::sync::Arc;

use leptos::server_fn::codec::MultipartData;

use crate::auth::{AuditPage, NewToken, Principal, Role, TokenInfo, UserInfo};
use crate::catalog::{ProjectTree, TableDetail, TableInfo};
use crate::error::AppError;
use crate::run::{Activity, Run, WordCountPage};
use crate::system_status::SystemStatus;
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
    async fn import_upload(
        &self,
        who: &Principal,
        form: MultipartData,
    ) -> Result<TableInfo, AppError>;

    /// Deletes a table and its data.
    async fn delete_table(&self, who: &Principal, table: &str) -> Result<TableInfo, AppError>;

    /// One page of workloads.
    async fn list_workloads(&self, query: WorkloadQuery) -> Result<WorkloadPage, AppError>;

    async fn workload(&self, id: u64) -> Result<Workload, AppError>;

    /// Validates the form as the REST API validates a body, and creates the workload.
    async fn create_workload(
        &self,
        who: &Principal,
        form: WorkloadForm,
    ) -> Result<Workload, AppError>;

    /// Replaces a workload's definition with the form's.
    async fn update_workload(
        &self,
        who: &Principal,
        id: u64,
        form: WorkloadForm,
    ) -> Result<Workload, AppError>;

    async fn delete_workload(&self, who: &Principal, id: u64) -> Result<Workload, AppError>;

    /// Workloads by status, runs in flight and recent runs (the Dashboard).
    async fn activity(&self) -> Result<Activity, AppError>;

    /// Queues a new run of a workload.
    async fn start_run(&self, who: &Principal, workload_id: u64) -> Result<Run, AppError>;

    /// Cancels a queued or running run.
    async fn cancel_run(&self, who: &Principal, run_id: u64) -> Result<Run, AppError>;

    /// Runs across workloads, newest first, filtered and a page at a time.
    async fn search_runs(
        &self,
        query: crate::run_list::RunQuery,
    ) -> Result<crate::run_list::RunListPage, AppError>;

    /// A workload's runs, newest first.
    async fn runs_of(&self, workload_id: u64) -> Result<Vec<Run>, AppError>;

    /// A run, with its workload's name.
    async fn run(&self, run_id: u64) -> Result<crate::run::RunListing, AppError>;

    /// A page of a succeeded run's words.
    async fn run_words(
        &self,
        run_id: u64,
        query: crate::words_query::WordsQuery,
    ) -> Result<WordCountPage, AppError>;

    /// A page of a grouped run's groups.
    async fn run_groups(
        &self,
        run_id: u64,
        offset: u64,
        limit: u64,
    ) -> Result<crate::run::RunGroupsPage, AppError>;

    /// A page of how run `before`'s terms changed in run `after`.
    async fn compare_runs(
        &self,
        before: u64,
        after: u64,
        query: crate::compare::CompareQuery,
    ) -> Result<crate::compare::ComparePage, AppError>;
}

/// Users, tokens and the audit log: what the account pages ask of the server.
/// The roles are checked before these are called (the server's policy table);
/// the rules about whose token is whose live behind them.
#[async_trait::async_trait]
pub trait AccountService: Send + Sync + 'static {
    async fn users(&self) -> Result<Vec<UserInfo>, AppError>;

    async fn create_user(
        &self,
        who: &Principal,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<UserInfo, AppError>;

    async fn set_user_role(
        &self,
        who: &Principal,
        id: u64,
        role: Role,
    ) -> Result<UserInfo, AppError>;

    /// An admin's for anyone, or one's own; ends the user's sessions.
    async fn set_user_password(
        &self,
        who: &Principal,
        id: u64,
        password: &str,
    ) -> Result<UserInfo, AppError>;

    async fn delete_user(&self, who: &Principal, id: u64) -> Result<UserInfo, AppError>;

    /// The tokens `who` may see (an admin sees everyone's).
    async fn tokens(&self, who: &Principal) -> Result<Vec<TokenInfo>, AppError>;

    async fn create_token(
        &self,
        who: &Principal,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
    ) -> Result<NewToken, AppError>;

    async fn revoke_token(&self, who: &Principal, id: u64) -> Result<TokenInfo, AppError>;

    /// A page of the audit log, newest first, optionally of one action prefix.
    async fn audit(
        &self,
        action: Option<String>,
        actor: Option<String>,
        offset: u64,
        limit: u64,
    ) -> Result<AuditPage, AppError>;
}

/// How the account service travels in Leptos' context.
pub type SharedAccounts = Arc<dyn AccountService>;

/// How the service travels in Leptos' context.
pub type SharedService = Arc<dyn AppService>;
