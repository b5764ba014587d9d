//! Runs and results under `/api/v1`, and the live event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tally_app::auth::Principal;
use tally_app::paging;
use tally_app::run::{GroupPick, Run, RunGroupsPage, ServerEvent, WordCountPage, WordCountRow};
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::AppState;
use super::json_body::{QueryParams, RunId, WorkloadId};
use super::{TOTAL_COUNT, ValidationErrorBody};
use crate::auth::guard::PeerAddress;
use crate::error::ServiceError;
use crate::runs::results::{Chunks, ResultSource};
use crate::store::runs::RunRow;
use tally_app::words_query::WordsQuery;

/// Starts a new run of the workload (its current definition).
#[utoipa::path(post, path = "/api/v1/workloads/{workload_id}/runs", tag = "runs",
    params(("workload_id" = u64, Path)),
    responses(
        (status = 202, description = "Queued; `Location` names the run", body = Run),
        (status = 404, description = "No such workload", body = super::ErrorBody),
        (status = 409, description = "A run is already queued or running", body = super::ErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    WorkloadId(id): WorkloadId,
) -> Result<impl IntoResponse, ServiceError> {
    let run = state.service.rerun_workload(&who, id).await?;
    let location = format!("/api/v1/runs/{}", run.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(run),
    ))
}

/// A page's `limit` (1 to `max`, `default` when absent) and `offset` query
/// parameters, each error located at its parameter.
fn page_params(
    limit: Option<&str>,
    offset: Option<&str>,
    default: u64,
    max: u64,
) -> Result<(u64, u64), ServiceError> {
    let limit = limit
        .filter(|v| !v.trim().is_empty())
        .map_or(Ok(default), |v| paging::limit(v, max));
    let offset = offset
        .filter(|v| !v.trim().is_empty())
        .map_or(Ok(0), paging::offset);
    match (limit, offset) {
        (Ok(limit), Ok(offset)) => Ok((limit, offset)),
        (limit, offset) => Err(ServiceError::Invalid(
            [limit.err(), offset.err()].into_iter().flatten().collect(),
        )),
    }
}

/// Runs in one page of a workload's run list, at most.
const MAX_RUNS_PAGE: u64 = 1000;

/// Paging of a workload's runs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunListParams {
    /// Page size, 1 to 1 000 (default 100).
    limit: Option<String>,
    /// Runs to skip (default 0).
    offset: Option<String>,
}

/// A workload's runs, newest first, a page at a time; `X-Total-Count` is how
/// many it has (at most `--keep-runs` finished ones, and any active one).
#[utoipa::path(get, path = "/api/v1/workloads/{workload_id}/runs", tag = "runs",
    params(("workload_id" = u64, Path), RunListParams),
    responses(
        (status = 200, description = "The runs", body = [Run],
            headers(("X-Total-Count" = u64, description = "Runs of the workload"))),
        (status = 404, description = "No such workload", body = super::ErrorBody),
        (status = 422, description = "A bad limit or offset", body = ValidationErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    WorkloadId(id): WorkloadId,
    QueryParams(params): QueryParams<RunListParams>,
) -> Result<Response, ServiceError> {
    let (limit, offset) = page_params(
        params.limit.as_deref(),
        params.offset.as_deref(),
        100,
        MAX_RUNS_PAGE,
    )?;
    let (runs, total) = state.service.runs_page(id, offset, limit).await?;
    Ok(([(TOTAL_COUNT, total.to_string())], Json(runs)).into_response())
}

/// Filters of the runs across workloads (all optional).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the parameters; `RunQuery::parse` reads them.
pub struct RunSearchParams {
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    state: Option<String>,
    /// Only the runs of this workload.
    workload_id: Option<u64>,
    /// Runs queued on this day (UTC, `YYYY-MM-DD`) or later.
    since: Option<String>,
    /// Runs queued on this day (UTC, `YYYY-MM-DD`) or earlier.
    until: Option<String>,
    /// Page size, 1 to 1 000 (default 50).
    limit: Option<u64>,
    /// Runs to skip (default 0).
    offset: Option<u64>,
}

/// Runs of every workload, newest first, filtered by state, workload and the
/// day they were queued; `X-Total-Count` is how many match.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunSearchParams),
    responses(
        (status = 200, description = "One page of runs", body = [Run],
            headers(("X-Total-Count" = u64, description = "Runs matching the filters"))),
        (status = 422, description = "An invalid parameter, named in `loc`", body = ValidationErrorBody),
    ))]
pub async fn search(
    State(state): State<AppState>,
    axum::extract::Query(params): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let query =
        tally_app::run_list::RunQuery::parse(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(ServiceError::Invalid)?;
    let (rows, total) = state.service.search_runs(&query).await?;
    let runs: Vec<Run> = rows.iter().map(RunRow::public).collect();
    Ok(([(TOTAL_COUNT, total.to_string())], Json(runs)).into_response())
}

/// A run, with its progress, log and timings.
#[utoipa::path(get, path = "/api/v1/runs/{run_id}", tag = "runs",
    params(("run_id" = u64, Path)),
    responses(
        (status = 200, description = "The run", body = Run),
        (status = 404, description = "No such run", body = super::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    RunId(id): RunId,
) -> Result<Json<Run>, ServiceError> {
    Ok(Json(state.service.run(id).await?))
}

/// Cancels a queued run, or stops a running one (within a second); it ends
/// `cancelled` with no results.
#[utoipa::path(post, path = "/api/v1/runs/{run_id}/cancel", tag = "runs",
    params(("run_id" = u64, Path)),
    responses(
        (status = 202, description = "Cancelled, or stopping", body = Run),
        (status = 404, description = "No such run", body = super::ErrorBody),
        (status = 409, description = "The run has already finished", body = super::ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RunId(id): RunId,
) -> Result<impl IntoResponse, ServiceError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.service.cancel_run(&who, id).await?),
    ))
}

/// Query parameters of the word-count endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WordCountParams {
    /// Page size, 1 to 10 000 (default 100). Ignored for CSV, which is whole.
    limit: Option<String>,
    /// Words to skip (default 0).
    offset: Option<String>,
    /// Only words starting with this.
    q: Option<String>,
    /// Only this exact word.
    word: Option<String>,
    /// `count` (default: most frequent first) or `word`.
    order: Option<String>,
    /// `json` (default) or `csv` (the whole result, streamed, as a download;
    /// of a run counted per group, every group's rows with a `group` column
    /// unless one group is asked for).
    format: Option<String>,
    /// Of a run counted per group: only this group's counts (the group
    /// column's value as text). Without it, all groups together.
    group: Option<String>,
    /// `true`: only the counts of the rows whose group column is null.
    null_group: Option<String>,
}

impl WordCountParams {
    /// The words query (read as the `runs/words` server function reads it)
    /// and whether CSV is asked for.
    fn parse(&self) -> Result<(WordsQuery, bool), ServiceError> {
        let params = [
            ("limit", &self.limit),
            ("offset", &self.offset),
            ("q", &self.q),
            ("word", &self.word),
            ("order", &self.order),
            ("group", &self.group),
            ("null_group", &self.null_group),
        ];
        let query = WordsQuery::parse(
            params
                .into_iter()
                .filter_map(|(key, value)| Some((key, value.as_deref()?))),
        );
        super::with_format(query, self.format.as_deref())
    }
}

/// The counts of a workload's latest successful run (the prototype's TODO).
#[utoipa::path(get, path = "/api/v1/workloads/{workload_id}/wordcount", tag = "runs",
    params(("workload_id" = u64, Path), WordCountParams),
    responses(
        (status = 200, description = "A page of words and counts (or the whole result as CSV)", body = WordCountPage,
            headers(("X-Total-Count" = u64, description = "Words matching")),
            example = json!({"run_id": 3, "workload_id": 1, "total": 23407, "offset": 0, "limit": 2,
                "words": [{"word": "the", "count": 27843}, {"word": "and", "count": 26847}]})),
        (status = 404, description = "No such workload, no successful run yet, or no such group", body = super::ErrorBody),
        (status = 422, description = "An invalid parameter", body = ValidationErrorBody),
    ))]
pub async fn workload_wordcount(
    State(state): State<AppState>,
    WorkloadId(id): WorkloadId,
    QueryParams(params): QueryParams<WordCountParams>,
) -> Result<Response, ServiceError> {
    let (query, csv) = params.parse()?;
    if csv {
        let (run, source) = state.service.latest_results_of(id).await?;
        return csv_download(&run, source, query.group).await;
    }
    Ok(page_response(
        state.service.latest_word_counts(id, query).await?,
    ))
}

/// The counts of one run.
#[utoipa::path(get, path = "/api/v1/runs/{run_id}/wordcount", tag = "runs",
    params(("run_id" = u64, Path), WordCountParams),
    responses(
        (status = 200, description = "A page of words and counts (or the whole result as CSV)", body = WordCountPage,
            headers(("X-Total-Count" = u64, description = "Words matching"))),
        (status = 404, description = "No such run, or no such group", body = super::ErrorBody),
        (status = 409, description = "The run has not succeeded", body = super::ErrorBody),
        (status = 422, description = "An invalid parameter", body = ValidationErrorBody),
    ))]
pub async fn run_wordcount(
    State(state): State<AppState>,
    RunId(id): RunId,
    QueryParams(params): QueryParams<WordCountParams>,
) -> Result<Response, ServiceError> {
    let (query, csv) = params.parse()?;
    if csv {
        let (run, source) = state.service.results_of(id).await?;
        return csv_download(&run, source, query.group).await;
    }
    Ok(page_response(state.service.word_counts(id, query).await?))
}

/// Groups in one page of a run's groups, at most.
const MAX_GROUPS_PAGE: u64 = 10_000;

/// Paging of a run's groups.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    /// Page size, 1 to 10 000 (default 1 000).
    limit: Option<String>,
    /// Groups to skip (default 0).
    offset: Option<String>,
}

/// The groups of a run counted per group of a column, in the order of their
/// values (null last), each with the words it counted.
#[utoipa::path(get, path = "/api/v1/runs/{run_id}/groups", tag = "runs",
    params(("run_id" = u64, Path), GroupListParams),
    responses(
        (status = 200, description = "A page of the run's groups", body = RunGroupsPage,
            headers(("X-Total-Count" = u64, description = "Groups of the run")),
            example = json!({"run_id": 7, "workload_id": 2, "group_by": "corpus", "total": 42, "offset": 0, "limit": 2,
                "groups": [{"group": "1kinghenryiv", "total_words": 24160, "distinct_words": 3871},
                           {"group": "1kinghenryvi", "total_words": 21337, "distinct_words": 3629}]})),
        (status = 404, description = "No such run, or a run counted whole", body = super::ErrorBody),
        (status = 409, description = "The run has not succeeded", body = super::ErrorBody),
        (status = 422, description = "A bad limit or offset", body = ValidationErrorBody),
    ))]
pub async fn run_groups(
    State(state): State<AppState>,
    RunId(id): RunId,
    QueryParams(params): QueryParams<GroupListParams>,
) -> Result<Response, ServiceError> {
    let (limit, offset) = page_params(
        params.limit.as_deref(),
        params.offset.as_deref(),
        1000,
        MAX_GROUPS_PAGE,
    )?;
    let page = state.service.run_groups(id, offset, limit).await?;
    Ok(([(TOTAL_COUNT, page.total.to_string())], Json(page)).into_response())
}

fn page_response(page: WordCountPage) -> Response {
    ([(TOTAL_COUNT, page.total.to_string())], Json(page)).into_response()
}

/// The whole result as CSV (`word,count`, most frequent first; of a run
/// counted per group, `group,word,count` group by group), streamed a row
/// group at a time. Each is read on a blocking thread only when the client
/// has taken the one before: a slow client holds no thread. The file is
/// opened (and a group that does not exist refused) before the answer starts.
async fn csv_download(
    run: &RunRow,
    source: ResultSource,
    pick: GroupPick,
) -> Result<Response, ServiceError> {
    enum State {
        Start(Chunks),
        Reading(Chunks),
        Done,
    }
    let chunks = tokio::task::spawn_blocking(move || source.chunks(&pick))
        .await
        .map_err(ServiceError::internal)??;
    let stream = futures_util::stream::unfold(State::Start(chunks), |state| async move {
        let next = tokio::task::spawn_blocking(move || {
            let (mut chunks, header) = match state {
                State::Start(chunks) => (chunks, true),
                State::Reading(chunks) => (chunks, false),
                State::Done => return Ok(None),
            };
            let grouped = chunks.grouped();
            let Some(chunk) = chunks.next_chunk()? else {
                return Ok(header.then(|| (csv_rows(true, grouped, None, &[]), State::Done)));
            };
            let group = chunk.group.as_ref().map(|g| g.as_deref().unwrap_or(""));
            let bytes = csv_rows(header, grouped, group, &chunk.rows);
            Ok(Some((bytes, State::Reading(chunks))))
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|read: Result<_, crate::runs::results::ResultsError>| {
            read.map_err(|e| std::io::Error::other(e.to_string()))
        });
        match next {
            Ok(Some((bytes, state))) => Some((Ok(bytes), state)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "CSV download failed");
                Some((Err(e), State::Done))
            }
        }
    })
    // The compression layer polls again after the end; a bare `unfold`
    // panics then, a fused one answers `None`.
    .fuse();
    let name = format!(
        "workload-{}-run-{}-wordcount.csv",
        run.workload_id(),
        run.id()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Rows as CSV, after the header when `header`; with a `group` column when
/// `grouped` (the rows' `group`, empty for the group of nulls). Cells that
/// a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// tab or CR, OWASP's list) get a `'` before them: a word such as
/// `=HYPERLINK(...)` is shown as text.
fn csv_rows(header: bool, grouped: bool, group: Option<&str>, rows: &[WordCountRow]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 16 + 18));
    if header && grouped {
        let _ = out.write_record(["group", "word", "count"]);
    } else if header {
        let _ = out.write_record(["word", "count"]);
    }
    let group = spreadsheet_safe(group.unwrap_or(""));
    for row in rows {
        let word = spreadsheet_safe(&row.word);
        let count = row.count.to_string();
        let _ = if grouped {
            out.write_record([group.as_ref(), word.as_ref(), &count])
        } else {
            out.write_record([word.as_ref(), &count])
        };
    }
    out.into_inner().unwrap_or_default()
}

pub(super) fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Live run and workload changes as Server-Sent Events: `event: run` with
/// `{"type": "run", "run_id", "workload_id", "state", "progress"}` and
/// `event: workload` with `{"type": "workload", "workload_id", "change", "status"}`.
#[utoipa::path(get, path = "/api/v1/events", tag = "runs",
    responses((status = 200, description = "A text/event-stream of ServerEvent objects", body = ServerEvent,
        content_type = "text/event-stream")))]
pub async fn events(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerAddress>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ServiceError> {
    let slot = state
        .service
        .stream_slots()
        .acquire(&peer.0)
        .map_err(|message| ServiceError::TooManyRequests {
            message,
            retry_after: 30,
        })?;
    let rx = state.service.events().subscribe();
    // The slot lives in the stream's state: it is given back when the client
    // goes away and the stream is dropped.
    let stream = futures_util::stream::unfold((rx, slot), |(mut rx, slot)| async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    let sse = Event::default()
                        .event(event.name())
                        .json_data(&event)
                        .unwrap_or_else(|_| Event::default().comment("unencodable event"));
                    return Some((Ok(sse), (rx, slot)));
                }
                // A slow client skips what it missed and carries on.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    })
    .fuse();
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
