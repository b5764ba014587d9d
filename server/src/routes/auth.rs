//! Signing in and out, the first admin's setup (plain HTML forms, so they work
//! without JavaScript), and the REST API of users, tokens and the audit log.

use std::collections::HashMap;

use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use tally_app::auth::{AuditPage, CurrentUser, NewToken, Principal, Role, TokenInfo, UserInfo};
use tally_app::error::FieldError;
use tally_app::href::{same_origin_path, with_query};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::json_body::{JsonObject, TokenId, UserId};
use crate::auth::accounts::OpenedSession;
use crate::auth::guard::{PeerAddress, SESSION_COOKIE, accepts_html as from_browser};
use crate::error::ServiceError;

/// The form routes (`/auth/...`).
pub fn forms() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/setup", post(setup))
}

/// A failed sign-in or setup: a browser is sent back to `page` with the
/// message and `keep` (the form's values worth keeping); a script gets the
/// error's status and JSON.
fn refused(
    headers: &HeaderMap,
    page: &str,
    keep: &[(&str, String)],
    e: crate::auth::AuthError,
) -> Response {
    if !from_browser(headers) {
        return ServiceError::from(e).into_response();
    }
    let mut params = vec![("error", e.to_string())];
    params.extend_from_slice(keep);
    Redirect::to(&with_query(page, &params)).into_response()
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", String::as_str)
}

/// The `Set-Cookie` of a new session, or of its removal (`None`).
fn session_cookie(state: &AppState, value: Option<&str>) -> HeaderValue {
    let secure = if state.https { "; Secure" } else { "" };
    let cookie = match value {
        Some(value) => format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            state
                .service
                .accounts()
                .settings()
                .session_lifetime
                .as_secs()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    opened: &OpenedSession,
    next: &str,
) -> Response {
    let cookie = session_cookie(state, Some(&opened.cookie));
    let mut response = if from_browser(headers) {
        Redirect::to(same_origin_path(next).unwrap_or("/")).into_response()
    } else {
        Json(json!({ "name": opened.account.name, "role": opened.account.role() })).into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `POST /auth/login` (form: `name`, `password`, optional `next`).
pub async fn login(
    State(state): State<AppState>,
    Extension(PeerAddress(address)): Extension<PeerAddress>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let next = field(&form, "next");
    let outcome = state
        .service
        .accounts()
        .sign_in(field(&form, "name"), field(&form, "password"), &address)
        .await;
    match outcome {
        Ok(opened) => signed_in(&state, &headers, &opened, next),
        Err(e) => refused(&headers, "/login", &[("next", next.to_string())], e),
    }
}

/// `POST /auth/logout`: ends this session and clears its cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = state.service.accounts().sign_out(&who).await {
        return ServiceError::from(e).into_response();
    }
    let mut response = if from_browser(&headers) {
        Redirect::to("/login").into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, None));
    response
}

/// `POST /auth/setup` (form: `secret`, `name`, `password`, `password_again`):
/// creates the first admin with the secret the server logged, and signs in.
pub async fn setup(
    State(state): State<AppState>,
    Extension(PeerAddress(address)): Extension<PeerAddress>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let secret = field(&form, "secret");
    let password = field(&form, "password");
    let outcome = if password != field(&form, "password_again") {
        Err(crate::auth::AuthError::Invalid(
            "password_again: the two passwords differ".into(),
        ))
    } else {
        state
            .service
            .accounts()
            .complete_setup(secret, field(&form, "name"), password, &address)
            .await
    };
    match outcome {
        Ok(opened) => {
            tracing::info!(admin = %opened.account.name, "first admin created; the setup link is void");
            signed_in(&state, &headers, &opened, "/")
        }
        Err(e) => refused(
            &headers,
            "/setup",
            &[
                ("secret", secret.to_string()),
                ("name", field(&form, "name").to_string()),
            ],
            e,
        ),
    }
}

// --- REST ---------------------------------------------------------------------

/// Who the request is.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, description = "The signed-in user (no name on a server without sign-in)", body = CurrentUserBody)))]
pub async fn me(Extension(who): Extension<Principal>) -> Json<CurrentUser> {
    Json(who.current_user())
}

/// How `/api/v1/me` answers.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct CurrentUserBody {
    name: Option<String>,
    role: Role,
}

/// The body of `POST /api/v1/users`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewUser {
    #[schema(example = "ann")]
    name: String,
    /// At least 10 characters.
    password: String,
    role: Role,
}

/// The body of `PATCH /api/v1/users/{user_id}`: either or both.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserPatch {
    role: Option<Role>,
    password: Option<String>,
}

/// The body of `POST /api/v1/tokens`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewTokenBody {
    #[schema(example = "nightly import")]
    name: String,
    /// At most the creator's role (default: the creator's role).
    role: Option<Role>,
    /// Days until it stops working (default: never).
    expires_in_days: Option<u32>,
}

fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ServiceError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ServiceError::Unprocessable(format!(
            "{name}: must be a string"
        ))),
    }
}

fn role_field(body: &Map<String, Value>) -> Result<Option<Role>, ServiceError> {
    string_field(body, "role")?
        .map(|raw| Role::parse(&raw).map_err(|e| ServiceError::Unprocessable(format!("role: {e}"))))
        .transpose()
}

fn required(value: Option<String>, name: &str) -> Result<String, ServiceError> {
    value.ok_or_else(|| ServiceError::Unprocessable(format!("{name}: Field required")))
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "The users", body = [UserInfo])))]
pub async fn list_users(
    State(state): State<AppState>,
) -> Result<Json<Vec<UserInfo>>, ServiceError> {
    Ok(Json(state.service.accounts().users().await?))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    responses(
        (status = 201, description = "The new user", body = UserInfo),
        (status = 409, description = "The name is taken", body = super::ErrorBody),
        (status = 422, description = "Invalid name, password or role", body = super::AnyErrorBody),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ServiceError> {
    let name = required(string_field(&body, "name")?, "name")?;
    let password = required(string_field(&body, "password")?, "password")?;
    let role = role_field(&body)?
        .ok_or_else(|| ServiceError::Unprocessable("role: Field required".into()))?;
    let user = state
        .service
        .accounts()
        .create_user(&who, &name, &password, role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Changes a user's role or password (admin); a new password ends their sessions.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "accounts", request_body = UserPatch,
    params(("user_id" = u64, Path)),
    responses(
        (status = 200, description = "The user", body = UserInfo),
        (status = 404, description = "No such user", body = super::ErrorBody),
        (status = 409, description = "It would leave no admin", body = super::ErrorBody),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    UserId(id): UserId,
    JsonObject(body): JsonObject,
) -> Result<Json<UserInfo>, ServiceError> {
    let accounts = state.service.accounts();
    let role = role_field(&body)?;
    let password = string_field(&body, "password")?;
    if role.is_none() && password.is_none() {
        return Err(ServiceError::Unprocessable(
            "role: give a role or a password to change".into(),
        ));
    }
    let mut user = None;
    if let Some(role) = role {
        user = Some(accounts.set_role(&who, id, role).await?);
    }
    if let Some(password) = password {
        user = Some(accounts.set_password(&who, id, &password).await?);
    }
    user.map(Json)
        .ok_or_else(|| ServiceError::Internal("no change made".into()))
}

/// Deletes a user with their sessions and tokens (admin).
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "accounts",
    params(("user_id" = u64, Path)),
    responses(
        (status = 200, description = "The deleted user", body = UserInfo),
        (status = 404, description = "No such user", body = super::ErrorBody),
        (status = 409, description = "The only admin", body = super::ErrorBody),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    UserId(id): UserId,
) -> Result<Json<UserInfo>, ServiceError> {
    Ok(Json(state.service.accounts().delete_user(&who, id).await?))
}

/// The caller's tokens (an admin's: everyone's).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, description = "The tokens, without their secrets", body = [TokenInfo])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Vec<TokenInfo>>, ServiceError> {
    Ok(Json(state.service.accounts().tokens(&who).await?))
}

/// Creates an API token for the caller; the answer is the only one that holds its secret.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = NewTokenBody,
    responses(
        (status = 201, description = "The token, with its secret (shown once)", body = NewToken),
        (status = 409, description = "The server runs without sign-in: tokens have no user to belong to", body = super::ErrorBody),
        (status = 422, description = "Invalid name, a role above the caller's, or a bad expiry", body = super::AnyErrorBody),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ServiceError> {
    let name = required(string_field(&body, "name")?, "name")?;
    let role = role_field(&body)?.unwrap_or(who.role);
    let expires_in_days = match body.get("expires_in_days") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    ServiceError::Unprocessable(
                        "expires_in_days: must be a whole number of days".into(),
                    )
                })?,
        ),
    };
    let token = state
        .service
        .accounts()
        .create_token(&who, &name, role, expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// Revokes a token (the caller's own, or any for an admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "accounts",
    params(("token_id" = u64, Path)),
    responses(
        (status = 200, description = "The revoked token", body = TokenInfo),
        (status = 404, description = "No such token of the caller's", body = super::ErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    TokenId(id): TokenId,
) -> Result<Json<TokenInfo>, ServiceError> {
    Ok(Json(state.service.accounts().revoke_token(&who, id).await?))
}

/// Query parameters of `GET /api/v1/audit` (documentation; parsed by [`audit`]).
#[derive(IntoParams)]
#[allow(dead_code)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only actions starting with this (`workload.`, `login`).
    action: Option<String>,
    /// Only this actor (`ann`, `ann (token 4)`).
    actor: Option<String>,
    /// Entries to skip (default 0).
    offset: Option<u64>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<u64>,
}

/// The audit log, newest first (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditParams),
    responses((status = 200, description = "A page of audit events", body = AuditPage)))]
pub async fn audit(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<AuditPage>, ServiceError> {
    let text = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    // A bad number is a 422 located at its parameter, as the workload list answers.
    let number = |name: &str, default: u64| {
        text(name).map_or(Ok(default), |raw| {
            raw.parse::<u64>().map_err(|_| {
                ServiceError::Invalid(vec![FieldError::query(
                    name,
                    "Input should be a valid integer, unable to parse string as an integer".into(),
                    "int_parsing",
                )])
            })
        })
    };
    let page = state
        .service
        .accounts()
        .audit_page(
            text("action"),
            text("actor"),
            number("offset", 0)?,
            number("limit", 100)?,
        )
        .await?;
    Ok(Json(page))
}
