//! The one table of who may do what: every route and server function, by
//! method and path, with the role it needs. The guard checks it before any
//! handler runs, so an action is refused (403) whatever the UI shows.
//!
//! Anything not listed needs an admin: a route added without a line here is
//! closed, not open.

use axum::http::Method;
use tally_app::auth::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not: health, sign-in, first setup, the site's files.
    Public,
    /// A user or token with at least this role.
    Role(Role),
}

/// Server functions (`POST /api/fn/<endpoint>`) and the role each needs.
const SERVER_FUNCTIONS: &[(&str, Role)] = &[
    ("system/status", Role::Viewer),
    ("auth/me", Role::Viewer),
    ("datasets/tree", Role::Viewer),
    ("datasets/table", Role::Viewer),
    ("datasets/upload", Role::Editor),
    ("datasets/delete", Role::Admin),
    ("workloads/list", Role::Viewer),
    ("workloads/get", Role::Viewer),
    ("workloads/create", Role::Editor),
    ("workloads/update", Role::Editor),
    ("workloads/delete", Role::Editor),
    ("dashboard/activity", Role::Viewer),
    ("runs/start", Role::Editor),
    ("runs/cancel", Role::Editor),
    ("runs/list", Role::Viewer),
    ("runs/search", Role::Viewer),
    ("runs/get", Role::Viewer),
    ("runs/words", Role::Viewer),
    ("runs/groups", Role::Viewer),
    ("runs/compare", Role::Viewer),
    // Each user manages their own tokens; admins see everyone's.
    ("tokens/list", Role::Viewer),
    ("tokens/create", Role::Viewer),
    ("tokens/revoke", Role::Viewer),
    ("account/password", Role::Viewer),
    ("users/list", Role::Admin),
    ("users/create", Role::Admin),
    ("users/role", Role::Admin),
    ("users/password", Role::Admin),
    ("users/delete", Role::Admin),
    ("audit/list", Role::Admin),
];

/// Paths anyone may reach.
fn is_public(method: &Method, path: &str) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD);
    match path {
        "/healthz" | "/login" | "/setup" => safe,
        "/auth/login" | "/auth/setup" => *method == Method::POST,
        // The compiled site (WASM, JS, CSS) and the icon hold no data.
        _ => safe && (path.starts_with("/pkg/") || path == "/favicon.svg"),
    }
}

/// What `method path` needs.
pub fn need(method: &Method, path: &str) -> Need {
    if is_public(method, path) {
        return Need::Public;
    }
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    if let Some(endpoint) = path.strip_prefix("/api/fn/") {
        return SERVER_FUNCTIONS
            .iter()
            .find(|(name, _)| *name == endpoint)
            .map_or(Need::Role(Role::Admin), |(_, role)| Need::Role(*role));
    }
    if path == "/auth/logout" {
        return Need::Role(Role::Viewer);
    }
    if let Some(rest) = path.strip_prefix("/api/v1") {
        return Need::Role(rest_api(method, rest));
    }
    // Pages, the API docs and anything else a browser reads.
    match *method {
        Method::GET | Method::HEAD => Need::Role(page(path)),
        _ => Need::Role(Role::Admin),
    }
}

fn page(path: &str) -> Role {
    if path == "/admin" || path.starts_with("/admin/") {
        Role::Admin
    } else {
        Role::Viewer
    }
}

/// The REST API under `/api/v1` (`rest` is the path after it).
fn rest_api(method: &Method, rest: &str) -> Role {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let read = matches!(*method, Method::GET | Method::HEAD);
    match segments.as_slice() {
        ["users", ..] | ["audit", ..] => Role::Admin,
        ["me"] | ["tokens", ..] => Role::Viewer,
        // Reading the catalog, workloads, runs, results and events.
        _ if read => Role::Viewer,
        ["workloads", ..] | ["runs", _, "cancel"] => Role::Editor,
        // A table upload is an editor's; deleting a table, an admin's.
        ["projects", _, "datasets", _, "tables", _] if *method == Method::POST => Role::Editor,
        _ => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_needs_the_role_the_issue_gives_it() {
        let cases: &[(Method, &str, Need)] = &[
            (Method::GET, "/healthz", Need::Public),
            (Method::GET, "/login", Need::Public),
            (Method::POST, "/auth/login", Need::Public),
            (Method::GET, "/pkg/tally.wasm", Need::Public),
            (Method::POST, "/healthz", Need::Role(Role::Admin)),
            (Method::GET, "/", Need::Role(Role::Viewer)),
            (Method::GET, "/workloads/3", Need::Role(Role::Viewer)),
            (Method::GET, "/admin", Need::Role(Role::Admin)),
            (Method::GET, "/docs/", Need::Role(Role::Viewer)),
            (Method::GET, "/metrics", Need::Role(Role::Viewer)),
            (Method::POST, "/auth/logout", Need::Role(Role::Viewer)),
            (
                Method::GET,
                "/api/v1/runs/3/groups",
                Need::Role(Role::Viewer),
            ),
            (
                Method::POST,
                "/api/fn/runs/groups",
                Need::Role(Role::Viewer),
            ),
            (Method::GET, "/api/v1/workloads", Need::Role(Role::Viewer)),
            (Method::POST, "/api/v1/workloads", Need::Role(Role::Editor)),
            (Method::POST, "/api/v1/workloads/", Need::Role(Role::Editor)),
            (
                Method::DELETE,
                "/api/v1/workloads/4",
                Need::Role(Role::Editor),
            ),
            (
                Method::PATCH,
                "/api/v1/workloads/4",
                Need::Role(Role::Editor),
            ),
            (
                Method::POST,
                "/api/v1/workloads/4/runs",
                Need::Role(Role::Editor),
            ),
            (
                Method::POST,
                "/api/v1/runs/4/cancel",
                Need::Role(Role::Editor),
            ),
            (Method::GET, "/api/v1/events", Need::Role(Role::Viewer)),
            (
                Method::POST,
                "/api/v1/projects/p/datasets/d/tables/t",
                Need::Role(Role::Editor),
            ),
            (
                Method::DELETE,
                "/api/v1/projects/p/datasets/d/tables/t",
                Need::Role(Role::Admin),
            ),
            (Method::GET, "/api/v1/users", Need::Role(Role::Admin)),
            (Method::GET, "/api/v1/audit", Need::Role(Role::Admin)),
            (Method::POST, "/api/v1/tokens", Need::Role(Role::Viewer)),
            (
                Method::POST,
                "/api/fn/workloads/list",
                Need::Role(Role::Viewer),
            ),
            (
                Method::POST,
                "/api/fn/workloads/delete",
                Need::Role(Role::Editor),
            ),
            (
                Method::POST,
                "/api/fn/datasets/delete",
                Need::Role(Role::Admin),
            ),
            (
                Method::POST,
                "/api/fn/something/new",
                Need::Role(Role::Admin),
            ),
            (Method::PUT, "/anything", Need::Role(Role::Admin)),
        ];
        for (method, path, want) in cases {
            assert_eq!(need(method, path), *want, "{method} {path}");
        }
    }
}
