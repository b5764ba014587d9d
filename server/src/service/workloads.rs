//! Workload operations: validate, check the source against the catalog, store.

use serde_json::{Map, Value};
use tally_app::catalog::ColumnType;
use tally_app::error::FieldError;
use tally_app::workload::{
    Executor, Workload, WorkloadPage, WorkloadQuery, WorkloadSpec, merge_patch,
};

use super::TallyService;
use crate::error::ServiceError;
use crate::store::catalog::{self, CatalogError, Missing};
use crate::store::sequence;
use crate::store::workloads::UpdateOutcome;
use crate::tables::filter;
use tally_app::auth::Principal;

/// The answer for an id that does not exist, in the prototype's words.
fn not_found() -> ServiceError {
    ServiceError::NotFound("Workload not found".into())
}

impl TallyService {
    /// Hands back the workload and run ids reserved but not used, at a clean
    /// shutdown (after a crash they are skipped: never reused, only unused).
    pub async fn release_reserved_ids(&self) {
        for (sequence, released) in [
            (sequence::WORKLOAD_IDS, self.workloads.release_ids().await),
            (sequence::RUN_IDS, self.runs.release_ids().await),
        ] {
            if let Err(e) = released {
                tracing::warn!(sequence, error = %e, "reserved ids not handed back; the next ids skip them");
            }
        }
    }

    /// Validates and stores a new workload (status `created`).
    pub async fn create_workload(
        &self,
        who: &Principal,
        body: &Map<String, Value>,
    ) -> Result<Workload, ServiceError> {
        let spec = WorkloadSpec::from_body(body).map_err(ServiceError::Invalid)?;
        self.check_executor(&spec)?;
        let spec = self.check_source(spec).await?;
        // Saved, then dispatched, as the prototype planned; the workload and its
        // first run are committed together, so neither exists without the other.
        let (workload, run) = self.creates.create(spec).await?;
        tracing::info!(id = workload.id, run = run.id(), name = %workload.name, source = %workload.source(), "workload created and queued");
        self.publish_workload(&workload, "created");
        self.events.publish_run(&run);
        self.queue().wake.notify_one();
        self.accounts
            .record(
                who,
                "workload.create",
                &format!("workload {}", workload.id),
                &workload.name,
            )
            .await;
        Ok(workload)
    }

    pub async fn workload(&self, id: u64) -> Result<Workload, ServiceError> {
        let ticket = match self.cache.get(&id) {
            Ok(workload) => return Ok(workload),
            Err(ticket) => ticket,
        };
        let mut workload = self.workloads.get(id).await?.ok_or_else(not_found)?;
        self.attach_runs(std::slice::from_mut(&mut workload))
            .await?;
        self.cache.fill(ticket, &workload);
        Ok(workload)
    }

    pub async fn list_workloads(&self, query: WorkloadQuery) -> Result<WorkloadPage, ServiceError> {
        let (mut items, total) = self.workloads.list(&query).await?;
        self.attach_runs(&mut items).await?;
        Ok(WorkloadPage {
            items,
            total,
            query,
        })
    }

    /// `PUT`: a whole new definition. `PATCH` (`partial`): a JSON merge patch
    /// over the current one. Either way the result is validated as a create is.
    pub async fn update_workload(
        &self,
        who: &Principal,
        id: u64,
        body: &Map<String, Value>,
        partial: bool,
    ) -> Result<Workload, ServiceError> {
        let current = self.workload(id).await?;
        if current.status.is_active() {
            return Err(busy(&current));
        }
        let spec = if partial {
            let mut merged = WorkloadSpec::from(&current).to_body();
            merge_patch(&mut merged, body);
            WorkloadSpec::from_body(&merged)
        } else {
            WorkloadSpec::from_body(body)
        }
        .map_err(ServiceError::Invalid)?;
        self.check_executor(&spec)?;
        let spec = self.check_source(spec).await?;
        match self.workloads.update(id, &spec).await? {
            UpdateOutcome::Updated(_) => {
                tracing::info!(id, "workload updated");
                let updated = self.workload(id).await?;
                self.publish_workload(&updated, "updated");
                self.accounts
                    .record(
                        who,
                        "workload.update",
                        &format!("workload {id}"),
                        &updated.name,
                    )
                    .await;
                Ok(updated)
            }
            UpdateOutcome::Busy(w) => Err(busy(&w)),
            UpdateOutcome::Missing => Err(not_found()),
        }
    }

    /// Cancels the workload's active run, deletes its runs, their results and
    /// the workload; returns the workload as it was.
    pub async fn delete_workload(
        &self,
        who: &Principal,
        id: u64,
    ) -> Result<Workload, ServiceError> {
        let workload = self.workload(id).await?;
        if let Some(run) = &workload.last_run
            && run.state.is_active()
        {
            // Stops it here at once; a dispatcher elsewhere stops when its
            // heartbeat finds the run gone.
            let _ = self.runs().request_cancel(run.id).await;
            self.queue().cancel_local(run.id);
        }
        let files = self
            .runs()
            .delete_workload(id)
            .await?
            .ok_or_else(not_found)?;
        for stem in files {
            self.discard_results(&stem).await;
        }
        tracing::info!(id, "workload deleted");
        self.publish_workload(&workload, "deleted");
        self.accounts
            .record(
                who,
                "workload.delete",
                &format!("workload {id}"),
                &workload.name,
            )
            .await;
        Ok(workload)
    }

    fn publish_workload(&self, w: &Workload, change: &str) {
        self.events()
            .publish(tally_app::run::ServerEvent::Workload {
                workload_id: w.id,
                change: change.into(),
                status: (change != "deleted").then_some(w.status),
            });
    }

    /// A Spark workload needs a server with Spark.
    fn check_executor(&self, spec: &WorkloadSpec) -> Result<(), ServiceError> {
        if spec.executor == Executor::Spark && self.queue.settings.spark.is_none() {
            return Err(ServiceError::Invalid(vec![FieldError::body(
                &["executor"],
                "This server has no Spark: start it with --spark-master to run spark workloads"
                    .into(),
                "value_error",
            )]));
        }
        Ok(())
    }

    /// The source table and column must exist, the column must hold text,
    /// and the row filter must fit the table's schema. Returns the spec with
    /// its filter's values in their columns' types, as it is stored.
    async fn check_source(&self, mut spec: WorkloadSpec) -> Result<WorkloadSpec, ServiceError> {
        let source = |missing: Missing| ServiceError::NotFound(missing.message("Source"));
        let reference = catalog::table_ref(&spec.src_project, &spec.src_dataset, &spec.src_table)
            .map_err(source)?;
        let table = match self.tables.catalog.get_table(&reference).await {
            Ok(table) => table,
            Err(CatalogError::NotFound(missing)) => return Err(source(missing)),
            Err(e) => return Err(e.into()),
        };
        let Some(column) = table.info.column(&spec.src_column_name) else {
            return Err(source(Missing::Column {
                table: reference.to_string(),
                column: spec.src_column_name.clone(),
            }));
        };
        if column.kind != ColumnType::String {
            return Err(ServiceError::Invalid(vec![FieldError::body(
                &["src_column_name"],
                format!(
                    "Column '{}' of table '{reference}' holds {} values: a {} workload needs a string column",
                    column.name,
                    column.kind.as_str(),
                    spec.workload_type.as_str(),
                ),
                "value_error",
            )]));
        }
        spec.filter = filter::resolve(&spec.filter, &table.info)
            .map_err(ServiceError::Invalid)?
            .normalized;
        if let Some(group_by) = &spec.group_by
            && table.info.column(group_by).is_none()
        {
            let names: Vec<&str> = table.info.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(ServiceError::Invalid(vec![FieldError::body(
                &["group_by"],
                format!(
                    "Column '{group_by}' does not exist in table '{reference}': its columns are {}",
                    names.join(", ")
                ),
                "value_error",
            )]));
        }
        Ok(spec)
    }
}

fn busy(w: &Workload) -> ServiceError {
    ServiceError::Conflict(format!(
        "Workload {} has a {} run: cancel it or wait for it to finish before changing the workload",
        w.id,
        w.status.as_str()
    ))
}
