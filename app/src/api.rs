//! Server functions: the UI's calls to the server, each at a stable endpoint under
//! `/api/fn/` so that they can also be called with curl (see docs/api.md).

// A server function takes each field of its request as an argument, so that
// curl can send them as a plain form: a search with its paging and group has
// more than clippy's seven (the `server` macro's own items need the allowance
// too, which an attribute on the function does not reach).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

use crate::auth::{AuditPage, CurrentUser, NewToken, Role, TokenInfo, UserInfo};
use crate::catalog::{ProjectTree, TableDetail, TableInfo};
use crate::error::AppError;
use crate::run::{Activity, Run, WordCountPage};
use crate::system_status::SystemStatus;
use crate::workload::{Workload, WorkloadForm, WorkloadPage};

/// `POST /api/fn/system/status`: the Dashboard's status card.
#[server(prefix = "/api/fn", endpoint = "system/status")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    Ok(service()?.system_status().await)
}

/// `POST /api/fn/datasets/tree`: every project, dataset and table.
#[server(prefix = "/api/fn", endpoint = "datasets/tree")]
pub async fn get_catalog_tree() -> Result<Vec<ProjectTree>, AppError> {
    answer(service()?.catalog_tree().await)
}

/// `POST /api/fn/datasets/table` (`table=project.dataset.table`): schema, stats, first rows.
#[server(prefix = "/api/fn", endpoint = "datasets/table")]
pub async fn get_table(table: String) -> Result<TableDetail, AppError> {
    answer(service()?.table_detail(&table).await)
}

/// `POST /api/fn/datasets/upload` (multipart): imports the form's files as a new table.
#[server(prefix = "/api/fn", endpoint = "datasets/upload", input = MultipartFormData)]
pub async fn upload_table(form: MultipartData) -> Result<TableInfo, AppError> {
    let who = principal()?;
    answer(service()?.import_upload(&who, form).await)
}

/// `POST /api/fn/datasets/delete` (`table=project.dataset.table`): deletes a table.
#[server(prefix = "/api/fn", endpoint = "datasets/delete")]
pub async fn delete_table(table: String) -> Result<TableInfo, AppError> {
    let who = principal()?;
    answer(service()?.delete_table(&who, &table).await)
}

/// `POST /api/fn/workloads/list` (`status`, `q`, `sort`, `limit`, `offset`, all
/// optional text as in the REST query): one page of workloads and the total.
#[server(prefix = "/api/fn", endpoint = "workloads/list")]
pub async fn list_workloads(
    #[server(default)] status: String,
    #[server(default)] q: String,
    #[server(default)] sort: String,
    #[server(default)] limit: String,
    #[server(default)] offset: String,
) -> Result<WorkloadPage, AppError> {
    let params = [
        ("status", status.as_str()),
        ("q", q.as_str()),
        ("sort", sort.as_str()),
        ("limit", limit.as_str()),
        ("offset", offset.as_str()),
    ];
    let query =
        crate::workload::WorkloadQuery::parse(params.into_iter().filter(|(_, v)| !v.is_empty()))
            .map_err(AppError::invalid);
    match query {
        Ok(query) => answer(service()?.list_workloads(query).await),
        Err(e) => answer(Err(e)),
    }
}

/// `POST /api/fn/workloads/get` (`id`): one workload.
#[server(prefix = "/api/fn", endpoint = "workloads/get")]
pub async fn get_workload(id: u64) -> Result<Workload, AppError> {
    answer(service()?.workload(id).await)
}

/// `POST /api/fn/workloads/create` (`form[name]=...`, see [`WorkloadForm`]):
/// validates like `POST /api/v1/workloads` and creates the workload.
#[server(prefix = "/api/fn", endpoint = "workloads/create")]
pub async fn create_workload(form: WorkloadForm) -> Result<Workload, AppError> {
    let posted = form.clone();
    let who = principal()?;
    let result = service()?.create_workload(&who, form).await;
    answer_form(
        result,
        |w| Some(format!("/workloads/{}", w.id)),
        Some(posted),
    )
}

/// `POST /api/fn/workloads/update` (`id`, `form[...]`): replaces the definition.
#[server(prefix = "/api/fn", endpoint = "workloads/update")]
pub async fn update_workload(id: u64, form: WorkloadForm) -> Result<Workload, AppError> {
    let posted = form.clone();
    let who = principal()?;
    let result = service()?.update_workload(&who, id, form).await;
    answer_form(
        result,
        |w| Some(format!("/workloads/{}", w.id)),
        Some(posted),
    )
}

/// `POST /api/fn/workloads/delete` (`id`): deletes a workload, its runs and results.
#[server(prefix = "/api/fn", endpoint = "workloads/delete")]
pub async fn delete_workload(id: u64) -> Result<Workload, AppError> {
    let who = principal()?;
    let result = service()?.delete_workload(&who, id).await;
    answer_form(result, |_| Some("/workloads".into()), None)
}

/// `POST /api/fn/dashboard/activity`: workloads by status, runs in flight, recent runs.
#[server(prefix = "/api/fn", endpoint = "dashboard/activity")]
pub async fn get_activity() -> Result<Activity, AppError> {
    answer(service()?.activity().await)
}

/// `POST /api/fn/runs/start` (`workload_id`, optional `follow`): queues a new
/// run of a workload; with `follow`, the browser goes on to the new run's page.
#[server(prefix = "/api/fn", endpoint = "runs/start")]
pub async fn start_run(workload_id: u64, #[server(default)] follow: bool) -> Result<Run, AppError> {
    let who = principal()?;
    answer_form(
        service()?.start_run(&who, workload_id).await,
        |run| follow.then(|| format!("/runs/{}", run.id)),
        None,
    )
}

/// `POST /api/fn/runs/cancel` (`run_id`): cancels a queued or running run.
#[server(prefix = "/api/fn", endpoint = "runs/cancel")]
pub async fn cancel_run(run_id: u64) -> Result<Run, AppError> {
    let who = principal()?;
    answer_form(service()?.cancel_run(&who, run_id).await, |_| None, None)
}

/// `POST /api/fn/runs/list` (`workload_id`): a workload's runs, newest first.
#[server(prefix = "/api/fn", endpoint = "runs/list")]
pub async fn list_runs(workload_id: u64) -> Result<Vec<Run>, AppError> {
    answer(service()?.runs_of(workload_id).await)
}

/// `POST /api/fn/runs/search` (`state`, `workload_id`, `since`, `until`,
/// `limit`, `offset`, all optional text as in `GET /api/v1/runs`): a page of
/// runs across workloads, newest first, with their workloads' names.
#[server(prefix = "/api/fn", endpoint = "runs/search")]
pub async fn search_runs(
    #[server(default)] state: String,
    #[server(default)] workload_id: String,
    #[server(default)] since: String,
    #[server(default)] until: String,
    #[server(default)] limit: String,
    #[server(default)] offset: String,
) -> Result<crate::run_list::RunListPage, AppError> {
    let params = [
        ("state", state.as_str()),
        ("workload_id", workload_id.as_str()),
        ("since", since.as_str()),
        ("until", until.as_str()),
        ("limit", limit.as_str()),
        ("offset", offset.as_str()),
    ];
    match crate::run_list::RunQuery::parse(params).map_err(AppError::invalid) {
        Ok(query) => answer(service()?.search_runs(query).await),
        Err(e) => answer(Err(e)),
    }
}

/// `POST /api/fn/runs/get` (`run_id`): one run with its log and timings, and
/// its workload's name.
#[server(prefix = "/api/fn", endpoint = "runs/get")]
pub async fn get_run(run_id: u64) -> Result<crate::run::RunListing, AppError> {
    answer(service()?.run(run_id).await)
}

/// `POST /api/fn/runs/words` (`run_id`, optional `q` prefix, `order` count|word,
/// `offset`, `limit` up to 10 000 (default 100); of a run counted per group, `group` for
/// one group's words, or `null_group` for the group of nulls): a page of a
/// succeeded run's words.
#[server(prefix = "/api/fn", endpoint = "runs/words")]
pub async fn get_run_words(
    run_id: u64,
    #[server(default)] q: String,
    #[server(default)] order: String,
    #[server(default)] offset: String,
    #[server(default)] limit: String,
    #[server(default)] group: Option<String>,
    #[server(default)] null_group: String,
) -> Result<WordCountPage, AppError> {
    let group = group.as_deref().map(|g| ("group", g));
    let params = group.into_iter().chain([
        ("null_group", null_group.as_str()),
        ("q", q.as_str()),
        ("order", order.as_str()),
        ("offset", offset.as_str()),
        ("limit", limit.as_str()),
    ]);
    match crate::words_query::WordsQuery::parse(params).map_err(AppError::invalid) {
        Ok(query) => answer(service()?.run_words(run_id, query).await),
        Err(e) => answer(Err(e)),
    }
}

/// `POST /api/fn/runs/groups` (`run_id`, `offset`, `limit` up to 10 000): a
/// page of the groups of a run counted per group, with each one's totals.
#[server(prefix = "/api/fn", endpoint = "runs/groups")]
pub async fn get_run_groups(
    run_id: u64,
    #[server(default)] offset: u64,
    #[server(default)] limit: u64,
) -> Result<crate::run::RunGroupsPage, AppError> {
    let limit = if limit == 0 { 1_000 } else { limit.min(10_000) };
    answer(service()?.run_groups(run_id, offset, limit).await)
}

/// `POST /api/fn/runs/compare` (`before`, `after` run ids; optional `q`
/// prefix, `group` or `null_group` of runs counted per group, `kind` all|new|vanished|changed|unchanged, `order`
/// change|-change|relative|-relative|word, `offset`, `limit` up to 10 000): a
/// page of how the terms of run `before` changed in run `after`.
#[server(prefix = "/api/fn", endpoint = "runs/compare")]
pub async fn compare_runs(
    before: u64,
    after: u64,
    #[server(default)] q: String,
    #[server(default)] kind: String,
    #[server(default)] order: String,
    #[server(default)] offset: String,
    #[server(default)] limit: String,
    #[server(default)] group: Option<String>,
    #[server(default)] null_group: String,
) -> Result<crate::compare::ComparePage, AppError> {
    let group = group.as_deref().map(|g| ("group", g));
    let params = group.into_iter().chain([
        ("null_group", null_group.as_str()),
        ("q", q.as_str()),
        ("kind", kind.as_str()),
        ("order", order.as_str()),
        ("offset", offset.as_str()),
        ("limit", limit.as_str()),
    ]);
    match crate::compare::CompareQuery::parse(params).map_err(AppError::invalid) {
        Ok(query) => answer(service()?.compare_runs(before, after, query).await),
        Err(e) => answer(Err(e)),
    }
}

/// `POST /api/fn/auth/me`: who the page is for (no name on a server without sign-in).
#[server(prefix = "/api/fn", endpoint = "auth/me")]
pub async fn get_current_user() -> Result<CurrentUser, AppError> {
    Ok(principal()?.current_user())
}

/// `POST /api/fn/tokens/list`: the caller's API tokens (an admin's: everyone's).
#[server(prefix = "/api/fn", endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    let who = principal()?;
    answer(accounts()?.tokens(&who).await)
}

/// `POST /api/fn/tokens/create` (`name`, `role`, optional `expires_in_days`):
/// a new token for the caller; the answer is the only one with its secret.
#[server(prefix = "/api/fn", endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    role: Role,
    #[server(default)] expires_in_days: String,
) -> Result<NewToken, AppError> {
    let who = principal()?;
    let days = match expires_in_days.trim() {
        "" => None,
        raw => Some(raw.parse::<u32>().map_err(|_| {
            AppError::new(
                422,
                "expires_in_days: a whole number of days, or empty for none",
            )
        })?),
    };
    answer(accounts()?.create_token(&who, &name, role, days).await)
}

/// `POST /api/fn/tokens/revoke` (`id`): revokes one of the caller's tokens (an admin: anyone's).
#[server(prefix = "/api/fn", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: u64) -> Result<TokenInfo, AppError> {
    let who = principal()?;
    answer(accounts()?.revoke_token(&who, id).await)
}

/// `POST /api/fn/account/password` (`password`): changes the caller's own
/// password and ends their sessions, this one included.
#[server(prefix = "/api/fn", endpoint = "account/password")]
pub async fn change_password(password: String) -> Result<UserInfo, AppError> {
    let who = principal()?;
    let id = who
        .user_id
        .ok_or_else(|| AppError::new(409, "password: this server runs without sign-in"))?;
    answer(accounts()?.set_user_password(&who, id, &password).await)
}

/// `POST /api/fn/users/list` (admin): every user.
#[server(prefix = "/api/fn", endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserInfo>, AppError> {
    answer(accounts()?.users().await)
}

/// `POST /api/fn/users/create` (admin; `name`, `password`, `role`).
#[server(prefix = "/api/fn", endpoint = "users/create")]
pub async fn create_user(name: String, password: String, role: Role) -> Result<UserInfo, AppError> {
    let who = principal()?;
    answer(accounts()?.create_user(&who, &name, &password, role).await)
}

/// `POST /api/fn/users/role` (admin; `id`, `role`).
#[server(prefix = "/api/fn", endpoint = "users/role")]
pub async fn set_user_role(id: u64, role: Role) -> Result<UserInfo, AppError> {
    let who = principal()?;
    answer(accounts()?.set_user_role(&who, id, role).await)
}

/// `POST /api/fn/users/password` (admin; `id`, `password`): ends the user's sessions.
#[server(prefix = "/api/fn", endpoint = "users/password")]
pub async fn set_user_password(id: u64, password: String) -> Result<UserInfo, AppError> {
    let who = principal()?;
    answer(accounts()?.set_user_password(&who, id, &password).await)
}

/// `POST /api/fn/users/delete` (admin; `id`): deletes a user, their sessions and tokens.
#[server(prefix = "/api/fn", endpoint = "users/delete")]
pub async fn delete_user(id: u64) -> Result<UserInfo, AppError> {
    let who = principal()?;
    answer(accounts()?.delete_user(&who, id).await)
}

/// `POST /api/fn/audit/list` (admin; optional `action` prefix, `actor`,
/// `offset`, `limit`): a page of the audit log, newest first.
#[server(prefix = "/api/fn", endpoint = "audit/list")]
pub async fn list_audit(
    #[server(default)] action: String,
    #[server(default)] actor: String,
    #[server(default)] offset: u64,
    #[server(default)] limit: u64,
) -> Result<AuditPage, AppError> {
    let nonempty = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let limit = if limit == 0 { 100 } else { limit };
    answer(
        accounts()?
            .audit(nonempty(action), nonempty(actor), offset, limit)
            .await,
    )
}

/// Who is calling, as the server's guard resolved it; a 401 when nobody is
/// signed in (the guard already refused what needs a role).
#[cfg(feature = "ssr")]
fn principal() -> Result<crate::auth::Principal, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::auth::Principal>().cloned())
        .ok_or_else(|| AppError::new(401, "Sign in first"))
}

/// The account service the server provided in context.
#[cfg(feature = "ssr")]
fn accounts() -> Result<crate::service::SharedAccounts, AppError> {
    use_context::<crate::service::SharedAccounts>()
        .ok_or_else(|| AppError::new(500, "the account service is not available on this server"))
}

/// The service the server provided in context; an error (not a panic) if it is missing.
#[cfg(feature = "ssr")]
fn service() -> Result<crate::service::SharedService, AppError> {
    use_context::<crate::service::SharedService>()
        .ok_or_else(|| AppError::new(500, "the Tally service is not available on this server"))
}

/// The error of a page whose address names nothing (an id that is not a
/// number, say); the server's answer for the page is a 404, as for any other
/// missing page.
pub fn address_not_found(message: &str) -> AppError {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    AppError::new(404, message)
}

/// Answers a failure with its own HTTP status (422, 404...) rather than 500, so
/// that logs and scripts see what the REST API would say.
#[cfg(feature = "ssr")]
fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(e.status)
    {
        response.set_status(status);
    }
    result
}

/// Answers a call that may come from a plain HTML form (no JavaScript): on
/// success it sends the browser to `next` (when given); on failure, back to the
/// form's page with the message in its `error` query parameter, and a workload
/// form with its values and per-field errors in `posted` (a `PostedForm`), which
/// the page shows. Calls from the WASM client or from scripts get the usual
/// answer, and the client's router follows `next` too.
#[cfg(feature = "ssr")]
fn answer_form<T>(
    result: Result<T, AppError>,
    next: impl FnOnce(&T) -> Option<String>,
    posted: Option<WorkloadForm>,
) -> Result<T, AppError> {
    match &result {
        Ok(value) => {
            if let Some(path) = next(value) {
                leptos_axum::redirect(&path);
            }
            result
        }
        Err(e) => match plain_form_referer() {
            Some(referer) => {
                let mut back = crate::href::with_param(&referer, "error", &e.message);
                let posted = posted.and_then(|form| {
                    let error = e.clone();
                    crate::workload::PostedForm { form, error }.encode()
                });
                if let Some(posted) = posted {
                    back = crate::href::with_param(&back, "posted", &posted);
                }
                leptos_axum::redirect(&back);
                result
            }
            None => answer(result),
        },
    }
}

/// The page a plain form post came from, when the request is one: browsers
/// submitting a form accept HTML and name the page in `Referer`.
#[cfg(feature = "ssr")]
fn plain_form_referer() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let accepts_html = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !accepts_html {
        return None;
    }
    let referer = parts.headers.get(http::header::REFERER)?.to_str().ok()?;
    // Only a path of this site: a redirect never leaves it (a `Referer` of
    // `//other-host/...` is no path of ours).
    crate::href::path_of_url(referer).map(str::to_string)
}
