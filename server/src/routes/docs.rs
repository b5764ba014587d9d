//! The OpenAPI document (`/api/v1/openapi.json`) and Swagger UI (`/docs`), served
//! from assets vendored into the binary so that they work offline.

use axum::Router;
use axum::http::Method;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::auth::guard::SESSION_COOKIE;
use crate::auth::policy::{self, Need};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally",
        description = "Self-hosted workload manager for text analytics: word counts over table columns."
    ),
    paths(
        super::health::healthz,
        super::workloads::create,
        super::workloads::list,
        super::workloads::get,
        super::workloads::replace,
        super::workloads::patch,
        super::workloads::delete,
        super::runs::start,
        super::runs::list,
        super::runs::search,
        super::runs::get,
        super::runs::cancel,
        super::runs::workload_wordcount,
        super::runs::run_wordcount,
        super::runs::run_groups,
        super::compare::compare,
        super::runs::events,
        super::datasets::list_projects,
        super::datasets::list_datasets,
        super::datasets::list_tables,
        super::datasets::get_table,
        super::datasets::upload_table,
        super::datasets::delete_table,
        super::auth::me,
        super::auth::list_users,
        super::auth::create_user,
        super::auth::update_user,
        super::auth::delete_user,
        super::auth::list_tokens,
        super::auth::create_token,
        super::auth::revoke_token,
        super::auth::audit,
    ),
    components(schemas(
        super::health::Health,
        super::health::DatabaseHealth,
        super::ErrorBody,
        super::AnyErrorBody,
        super::ErrorDetail,
        super::workloads::NewWorkload,
        super::workloads::WorkloadPatch,
        super::ValidationErrorBody,
        tally_app::error::FieldError,
        tally_app::workload::Workload,
        tally_app::workload::WorkloadType,
        tally_app::workload::WorkloadStatus,
        tally_app::workload::Executor,
        tally_app::run::RunSummary,
        tally_app::run::Run,
        tally_app::run::RunState,
        tally_app::run::RunProgress,
        tally_app::run::RunTimings,
        tally_app::run::RunLogEntry,
        tally_app::run::WordCountPage,
        tally_app::run::WordCountRow,
        tally_app::run::ServerEvent,
        tally_app::run::RunGroupsPage,
        tally_app::run::RunGroup,
        tally_app::compare::ComparePage,
        tally_app::compare::ComparedRun,
        tally_app::compare::ChangeSummary,
        tally_app::compare::TermChange,
        tally_app::compare::CompareOrder,
        tally_app::compare::ChangeKind,
        tally_engine::CountOptions,
        tally_engine::TokenizerKind,
        tally_engine::CaseMode,
        tally_engine::Stopwords,
        tally_app::catalog::ProjectInfo,
        tally_app::catalog::DatasetInfo,
        tally_app::catalog::TableInfo,
        tally_app::catalog::TableDetail,
        tally_app::catalog::Column,
        tally_app::catalog::ColumnType,
        tally_app::catalog::SourceFormat,
        super::auth::CurrentUserBody,
        super::auth::NewUser,
        super::auth::UserPatch,
        super::auth::NewTokenBody,
        tally_app::auth::Role,
        tally_app::auth::UserInfo,
        tally_app::auth::TokenInfo,
        tally_app::auth::NewToken,
        tally_app::auth::AuditEntry,
        tally_app::auth::AuditPage,
    )),
    modifiers(&Security, &CommonAnswers),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "runs", description = "Runs of workloads, their results, and the live event stream"),
        (name = "workloads", description = "Workloads: word counts over a table column (the prototype's API)"),
        (name = "datasets", description = "The catalog of projects, datasets and tables, and table uploads"),
        (name = "accounts", description = "Who is asking, users, API tokens and the audit log (see docs/security.md)"),
    )
)]
pub struct ApiDoc;

/// The security schemes, and on every operation the ones it accepts and the
/// role it needs, read from the guard's policy table (one source for both).
/// On a server that needs no sign-in the schemes are accepted and ignored.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tally_…")
                    .description(Some(
                        "An API token from the Account page or POST /api/v1/tokens",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The browser session set by signing in at /login",
            ))),
        );
        for_each_operation(openapi, |method, path, operation| {
            // The documented `{workload_id}` placeholders match like any segment.
            let role = match policy::need(method, path) {
                Need::Public => {
                    operation.security = Some(vec![SecurityRequirement::default()]);
                    return;
                }
                Need::Role(role) => role,
            };
            operation.security = Some(vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("session", Vec::<String>::new()),
            ]);
            let note = format!("Needs the `{role}` role when the server requires sign-in.");
            operation.description = Some(match operation.description.take() {
                Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
                _ => note,
            });
            operation
                .extensions
                .get_or_insert_with(Default::default)
                .insert("x-required-role".into(), role.as_str().into());
        });
    }
}

/// The answers the layers in front of every handler give, documented on
/// each operation they can reach (an operation's own description wins):
/// 401/403 from the guard, 503 from the request time limit, 422 for a bad path
/// or query parameter, 400/413/415 for a body that is malformed, too large or
/// of another type, 507 for an upload below the free-disk reserve. Found
/// missing by Schemathesis, which holds the document to what the server does.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("AnyErrorBody")))
                        .build(),
                )
                .build()
        };
        for_each_operation(openapi, |method, path, operation| {
            let mut common = vec![("503", "The answer took longer than --request-timeout")];
            if !matches!(policy::need(method, path), Need::Public) {
                common.push(("401", "Sign-in required (a session or an API token)"));
                common.push((
                    "403",
                    "The caller's role may not do this, or a cross-site request",
                ));
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                common.push(("400", "The query does not parse (a repeated parameter)"));
                common.push((
                    "422",
                    "A path or query parameter is not valid (the detail says which)",
                ));
            }
            if operation.request_body.is_some() {
                common.push(("400", "The body is malformed"));
                common.push(("413", "The body is larger than its limit"));
                common.push(("415", "The body is not of a type this operation takes"));
                common.push(("422", "The body is not valid (the detail says where)"));
            }
            if *method == Method::POST && path.contains("/tables/") {
                common.push(("507", "Storing the table would cross --min-free-disk"));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| answer(description).into());
            }
        });
    }
}

/// Calls `f` with each operation of the document, its method and its path.
fn for_each_operation(
    openapi: &mut utoipa::openapi::OpenApi,
    mut f: impl FnMut(&Method, &str, &mut utoipa::openapi::path::Operation),
) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, item.get.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                f(&method, path, operation);
            }
        }
    }
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, ApiDoc::openapi()))
}
