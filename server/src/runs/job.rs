//! A run's job: what it counts and with what, read back from the definition
//! the run stored when it was queued (its workload type, options and executor)
//! and checked before anything is read.
//!
//! Every workload type counts terms of one string column with the same engine;
//! the type decides what a term is through the options it requires (`ngram`
//! needs `n` words per term, `wordcount` refuses `n`), so the dispatcher runs
//! any job the same way: scan, count, store. A further type adds its variant
//! and its rule to `WorkloadType` (app/src/workload/mod.rs), its engine option, its
//! label on the form and its documentation; not a line of the dispatcher.

use tally_app::workload::{Executor, RowFilter, WorkloadType};
use tally_engine::CountOptions;

use crate::store::runs::RunRow;

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub kind: WorkloadType,
    pub options: CountOptions,
    pub executor: Executor,
    /// The rows to count (checked against the table when the scan opens:
    /// the table may have changed since the run was queued).
    pub filter: RowFilter,
    /// The column counted per group of, if any (checked when the scan opens).
    pub group_by: Option<String>,
}

impl Job {
    /// The job `run` stored. A definition that no longer reads or holds
    /// together (written by a newer Tally, or damaged) fails the run with the
    /// reason, never runs with defaults.
    pub fn of(run: &RunRow) -> Result<Self, String> {
        let kind = run.workload_type()?;
        let options = run.options()?;
        let executor = run.executor()?;
        let filter = run.filter()?;
        options
            .validate()
            .map_err(|e| format!("the run's stored options are not valid: {e}"))?;
        kind.check(&options).map_err(|(field, why)| {
            format!("the run's stored definition does not hold together ({field}): {why}")
        })?;
        if executor == Executor::Spark && kind != WorkloadType::Wordcount {
            return Err(format!(
                "the spark executor counts words only, and this run is {}",
                kind.as_str()
            ));
        }
        if executor == Executor::Spark && !filter.is_empty() {
            return Err(
                "the spark executor counts every row, and this run has a row filter".into(),
            );
        }
        if executor == Executor::Spark && run.group_by.is_some() {
            return Err(
                "the spark executor counts every row together, and this run counts per group"
                    .into(),
            );
        }
        Ok(Self {
            kind,
            options,
            executor,
            filter,
            group_by: run.group_by.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use tally_app::workload::{Workload, WorkloadStatus};

    use super::*;

    fn workload(kind: WorkloadType, n: Option<usize>, executor: Executor) -> Workload {
        Workload {
            id: 1,
            workload_type: kind,
            name: "w".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            options: CountOptions {
                n,
                ..CountOptions::default()
            },
            executor,
            filter: RowFilter::default(),
            group_by: None,
            status: WorkloadStatus::Queued,
            created_at: String::new(),
            updated_at: String::new(),
            last_run: None,
        }
    }

    fn run_of(w: &Workload) -> RunRow {
        RunRow::queued(1, w).expect("a run")
    }

    #[test]
    fn a_run_stores_its_whole_job_and_reads_it_back() {
        let bigrams = workload(WorkloadType::Ngram, Some(2), Executor::Native);
        let job = Job::of(&run_of(&bigrams)).expect("job");
        assert_eq!(job.kind, WorkloadType::Ngram);
        assert_eq!(job.options.n, Some(2));
        assert_eq!(job.executor, Executor::Native);
        let words = Job::of(&run_of(&workload(
            WorkloadType::Wordcount,
            None,
            Executor::Spark,
        )))
        .expect("job");
        assert_eq!(
            (words.kind, words.options.n),
            (WorkloadType::Wordcount, None)
        );
    }

    #[test]
    fn a_job_that_does_not_hold_together_is_refused_with_its_reason() {
        let mut run = run_of(&workload(WorkloadType::Ngram, Some(2), Executor::Native));
        run.workload_type = "wordcount".into();
        let err = Job::of(&run).expect_err("n on a word count");
        assert!(err.contains("(n)"), "{err}");
        run.workload_type = "sentiment".into();
        let err = Job::of(&run).expect_err("unknown type");
        assert!(err.contains("'sentiment'"), "{err}");
        let mut run = run_of(&workload(WorkloadType::Ngram, Some(2), Executor::Native));
        run.options = r#"{"n":9}"#.into();
        let err = Job::of(&run).expect_err("n out of range");
        assert!(err.contains("not valid") && err.contains('9'), "{err}");
        let mut run = run_of(&workload(WorkloadType::Ngram, Some(3), Executor::Native));
        run.executor = "spark".into();
        let err = Job::of(&run).expect_err("spark n-grams");
        assert!(err.contains("words only"), "{err}");
    }

    #[test]
    fn a_run_keeps_its_filter_and_a_damaged_one_fails_it() {
        let mut filtered = workload(WorkloadType::Wordcount, None, Executor::Native);
        filtered.filter =
            serde_json::from_value(serde_json::json!({"corpus": "hamlet"})).expect("a filter");
        let mut run = run_of(&filtered);
        assert_eq!(Job::of(&run).expect("job").filter, filtered.filter);
        run.filter = Some(r#"{"corpus": {"like": "ham%"}}"#.into());
        let err = Job::of(&run).expect_err("unknown operator");
        assert!(err.contains("row filter") && err.contains("like"), "{err}");
        run.filter = None;
        assert!(Job::of(&run).expect("job").filter.is_empty());
        let mut run = run_of(&filtered);
        run.executor = "spark".into();
        let err = Job::of(&run).expect_err("spark filters");
        assert!(err.contains("every row"), "{err}");
    }

    #[test]
    fn a_run_keeps_its_grouping_and_spark_refuses_one() {
        let mut grouped = workload(WorkloadType::Ngram, Some(2), Executor::Native);
        grouped.group_by = Some("corpus".into());
        let mut run = run_of(&grouped);
        assert_eq!(
            Job::of(&run).expect("job").group_by.as_deref(),
            Some("corpus")
        );
        run.executor = "spark".into();
        run.workload_type = "wordcount".into();
        run.options = "{}".into();
        let err = Job::of(&run).expect_err("spark groups");
        assert!(err.contains("per group"), "{err}");
    }
}
