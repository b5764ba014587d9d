//! Comparing two succeeded runs: checked to count the same kind of term, then
//! merged (on a blocking thread: it reads both results whole).

use tally_app::compare::{ComparePage, CompareQuery, ComparedRun};
use tally_app::run::GroupPick;
use tally_app::workload::WorkloadType;

use super::TallyService;
use super::runs::run_not_found;
use crate::error::ServiceError;
use crate::runs::compare::Comparison;
use crate::store::rfc3339_millis;
use crate::store::runs::RunRow;

/// Two runs and how their terms changed.
pub struct RunComparison {
    pub before: ComparedRun,
    pub after: ComparedRun,
    pub comparison: Comparison,
}

impl RunComparison {
    /// One page of the comparison.
    pub fn page(&self, query: &CompareQuery) -> ComparePage {
        let (total, terms) = self.comparison.page(query);
        ComparePage {
            before: self.before.clone(),
            after: self.after.clone(),
            summary: self.comparison.summary(),
            total,
            offset: query.offset,
            limit: query.limit,
            order: query.order,
            kind: query.kind,
            terms,
        }
    }
}

/// What a run's terms are: its type, and for n-grams their length.
fn term_kind(run: &RunRow) -> Result<(WorkloadType, Option<usize>), ServiceError> {
    let kind = run.workload_type().map_err(ServiceError::Conflict)?;
    let n = run.options().map_err(ServiceError::Conflict)?.n;
    Ok((kind, n))
}

fn describe((kind, n): (WorkloadType, Option<usize>)) -> String {
    match (kind, n) {
        (WorkloadType::Ngram, Some(n)) => format!("{n}-word n-grams"),
        (WorkloadType::Ngram, None) => "n-grams".into(),
        (WorkloadType::Wordcount, _) => "words".into(),
    }
}

impl TallyService {
    /// Compares run `before` with run `after` (of one `group` of each, if
    /// picked): both must have succeeded (409 otherwise), count the same kind
    /// of term, words or n-grams of the same length, and be grouped by the
    /// same column or neither (409 saying what each does). Their options, tables and
    /// workloads may differ: that is what a comparison is for.
    pub async fn compare_runs(
        &self,
        before: u64,
        after: u64,
        group: &GroupPick,
    ) -> Result<RunComparison, ServiceError> {
        let before = self.runs.get(before).await?.ok_or_else(run_not_found)?;
        let after = self.runs.get(after).await?.ok_or_else(run_not_found)?;
        let (before_source, after_source) = (
            self.result_source(&before).await?,
            self.result_source(&after).await?,
        );
        let (before_kind, after_kind) = (term_kind(&before)?, term_kind(&after)?);
        if before_kind != after_kind {
            return Err(ServiceError::Conflict(format!(
                "Run {} counts {} and run {} counts {}: only runs that count the same kind of term compare",
                before.id(),
                describe(before_kind),
                after.id(),
                describe(after_kind)
            )));
        }
        if before.group_by != after.group_by {
            let grouping = |run: &RunRow| match &run.group_by {
                Some(column) => format!("counts per {column}"),
                None => "counts its rows together".into(),
            };
            return Err(ServiceError::Conflict(format!(
                "Run {} {} and run {} {}: only runs grouped alike compare",
                before.id(),
                grouping(&before),
                after.id(),
                grouping(&after)
            )));
        }
        let group = group.clone();
        let comparison = tokio::task::spawn_blocking(move || {
            Ok::<_, crate::runs::results::ResultsError>(Comparison::merge(
                before_source.by_word(&group)?,
                after_source.by_word(&group)?,
            ))
        })
        .await
        .map_err(ServiceError::internal)??;
        Ok(RunComparison {
            before: self.compared_run(&before, before_kind.0).await?,
            after: self.compared_run(&after, after_kind.0).await?,
            comparison,
        })
    }

    /// One side as shown: the run's own type (its workload may have changed
    /// since), its workload's name now.
    async fn compared_run(
        &self,
        run: &RunRow,
        workload_type: WorkloadType,
    ) -> Result<ComparedRun, ServiceError> {
        let workload = self.workload(run.workload_id()).await?;
        let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        Ok(ComparedRun {
            run_id: run.id(),
            workload_id: workload.id,
            workload_name: workload.name,
            workload_type,
            finished_at: run.finished_at.map(rfc3339_millis),
            total_words: count(run.total_words),
            distinct_words: count(run.distinct_words),
        })
    }
}
