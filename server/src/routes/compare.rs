//! `GET /api/v1/runs/{run_id}/compare/{other_run_id}`: how one run's terms
//! changed in another, as a page of JSON or the whole comparison as CSV.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_app::compare::{ComparePage, CompareQuery, TermChange};
use utoipa::IntoParams;

use super::AppState;
use super::json_body::{QueryParams, RunPair};
use super::runs::spreadsheet_safe;
use super::{TOTAL_COUNT, ValidationErrorBody};
use crate::error::ServiceError;

/// Query parameters of a comparison.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// Only terms starting with this.
    q: Option<String>,
    /// Of two runs counted per group of the same column: compare this
    /// group's counts (the column's value as text).
    group: Option<String>,
    /// `true`: compare the counts of the rows whose group column is null.
    null_group: Option<String>,
    /// `all` (default), `new` (only in the second run), `vanished` (only in
    /// the first), `changed` (in both, another count) or `unchanged`.
    kind: Option<String>,
    /// `change` (default: the largest rise first), `-change` (the largest
    /// fall first), `relative` (the largest rise relative to the first run's
    /// count; new terms first), `-relative`, or `word`.
    order: Option<String>,
    /// Terms to skip (default 0).
    offset: Option<String>,
    /// Page size, 1 to 10 000 (default 100). Ignored for CSV, which is whole.
    limit: Option<String>,
    /// `json` (default) or `csv` (every matching term, in the order asked, as
    /// a download).
    format: Option<String>,
}

impl CompareParams {
    fn parse(&self) -> Result<(CompareQuery, bool), ServiceError> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let (q, kind, order, offset, limit) = (
            text(&self.q),
            text(&self.kind),
            text(&self.order),
            text(&self.offset),
            text(&self.limit),
        );
        let null_group = text(&self.null_group);
        let group = self.group.as_deref().map(|g| ("group", g));
        let parsed = CompareQuery::parse(group.into_iter().chain([
            ("null_group", null_group.as_str()),
            ("q", q.as_str()),
            ("kind", kind.as_str()),
            ("order", order.as_str()),
            ("offset", offset.as_str()),
            ("limit", limit.as_str()),
        ]));
        super::with_format(parsed, self.format.as_deref())
    }
}

/// How the terms of run `run_id` (before) changed in run `other_run_id`
/// (after): each term with both counts, its change and its relative change,
/// the totals of both runs and how many terms are new, vanished, changed or
/// unchanged. Any two succeeded runs that count the same kind of term
/// compare, from one workload or two.
#[utoipa::path(get, path = "/api/v1/runs/{run_id}/compare/{other_run_id}", tag = "runs",
    params(("run_id" = u64, Path, description = "The run before"),
        ("other_run_id" = u64, Path, description = "The run after"), CompareParams),
    responses(
        (status = 200, description = "A page of changed terms (or every matching term as CSV)", body = ComparePage,
            headers(("X-Total-Count" = u64, description = "Terms matching q and kind"))),
        (status = 404, description = "No such run, or no such group in a run", body = super::ErrorBody),
        (status = 409, description = "A run has not succeeded, or the runs count different kinds of term or group by different columns", body = super::ErrorBody),
        (status = 422, description = "An invalid parameter", body = ValidationErrorBody),
    ))]
pub async fn compare(
    State(state): State<AppState>,
    RunPair(before, after): RunPair,
    QueryParams(params): QueryParams<CompareParams>,
) -> Result<Response, ServiceError> {
    let (query, csv) = params.parse()?;
    let compared = state
        .service
        .compare_runs(before, after, &query.group)
        .await?;
    if !csv {
        let page = compared.page(&query);
        return Ok(([(TOTAL_COUNT, page.total.to_string())], Json(page)).into_response());
    }
    let body = tokio::task::spawn_blocking(move || csv_of(&compared.comparison.all(&query)))
        .await
        .map_err(ServiceError::internal)?;
    let name = format!("run-{before}-vs-run-{after}.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `word,before,after,change,relative` (relative empty for a new term), with
/// the same guard against spreadsheet formulas as the results download.
fn csv_of(terms: &[&TermChange]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(terms.len() * 24 + 40));
    let _ = out.write_record(["word", "before", "after", "change", "relative"]);
    for t in terms {
        let relative = t.relative.map(|r| format!("{r:.6}")).unwrap_or_default();
        let _ = out.write_record([
            spreadsheet_safe(&t.word).as_ref(),
            &t.before.to_string(),
            &t.after.to_string(),
            &t.change.to_string(),
            &relative,
        ]);
    }
    out.into_inner().unwrap_or_default()
}
