//! The guard: one middleware in front of every route. In order, it
//!
//! 1. refuses a `Host` that is not this machine's when the server needs no
//!    sign-in (421): a page that rebinds its own name to 127.0.0.1 (DNS
//!    rebinding) reaches the server under that name, and is turned away;
//! 2. refuses an unsafe request (not GET, HEAD or OPTIONS) that a browser sent
//!    from another site (403), by the rule of Go 1.25's `CrossOriginProtection`:
//!    `Sec-Fetch-Site` must be `same-origin` or `none`; without it, an `Origin`
//!    must be this server's; a request with neither (curl, scripts) or with a
//!    Bearer token (which a browser never adds cross-site) passes;
//! 3. finds who is asking: an API token (`Authorization: Bearer tally_...`)
//!    or a session cookie; on a server that needs no sign-in, the local user;
//! 4. checks the role the [`policy`](super::policy) asks of the route: none
//!    (401, or a redirect to the sign-in page for a browser), too little (403);
//! 5. hands the [`Principal`] to the handler in the request's extensions.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use tally_app::auth::{Principal, Role};

use super::accounts::Accounts;
use super::mode::{Protection, host_of, is_loopback_host};
use super::policy::{self, Need};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tally_session";

/// The peer address of a request, in its extensions whoever asks.
#[derive(Debug, Clone)]
pub struct PeerAddress(pub String);

pub struct Guard {
    pub protection: Protection,
    pub accounts: Arc<Accounts>,
}

pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_string(),
            |ConnectInfo(peer)| peer.ip().to_string(),
        );
    let protection = &guard.protection;
    let host = request_host(&request);
    if protection.loopback_hosts_only
        && let Some(host) = &host
        && !host_allowed(host, protection)
    {
        tracing::warn!(%host, %address, "refused a request for a foreign Host");
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            &format!(
                "This Tally serves only this machine: Host '{host}' is not a loopback name \
                 (set --public-url to serve another name)"
            ),
        );
    }
    if let Some(reason) = cross_site(
        request.method(),
        request.headers(),
        host.as_deref(),
        protection,
    ) {
        tracing::warn!(%address, path = request.uri().path(), reason, "refused a cross-site request");
        return refuse(StatusCode::FORBIDDEN, &reason);
    }

    drop_foreign_referer(request.headers_mut(), host.as_deref(), protection);

    let principal = if protection.sign_in {
        match identify(&guard.accounts, request.headers(), &address).await {
            Ok(found) => found,
            Err(response) => return response,
        }
    } else {
        // The local user of a server that needs no sign-in.
        Some(Principal {
            address: address.clone(),
            ..Principal::system("local")
        })
    };

    let need = policy::need(request.method(), request.uri().path());
    if let Need::Role(role) = need {
        match &principal {
            None => return sign_in_first(&request),
            Some(who) if who.role < role => {
                return forbidden(&request, role, who);
            }
            Some(_) => {}
        }
    }
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    request.extensions_mut().insert(PeerAddress(address));
    next.run(request).await
}

/// Who a request is, from its token or session; `Ok(None)` for nobody. A
/// token that does not work is a 401 at once (a script should hear why).
async fn identify(
    accounts: &Accounts,
    headers: &HeaderMap,
    address: &str,
) -> Result<Option<Principal>, Response> {
    let unavailable = |e: super::AuthError| {
        tracing::error!(error = %e, "cannot check credentials");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "Credentials cannot be checked right now: see the server log",
        )
    };
    if let Some(token) = bearer(headers) {
        return match accounts.from_token(token, address).await {
            Ok(Some(who)) => Ok(Some(who)),
            Ok(None) => Err(unauthorized(
                "The API token is not valid: it is unknown, expired or revoked",
            )),
            Err(e) => Err(unavailable(e)),
        };
    }
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    accounts
        .from_session(cookie, address)
        .await
        .map_err(unavailable)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        })
}

/// The host the request is addressed to (`Host`, or an HTTP/2 authority).
fn request_host(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
}

fn host_allowed(authority: &str, protection: &Protection) -> bool {
    let host = host_of(authority);
    is_loopback_host(host)
        || protection
            .public_origin
            .as_ref()
            .is_some_and(|o| o.host().eq_ignore_ascii_case(host))
}

/// Why an unsafe request is refused as cross-site, if it is.
fn cross_site(
    method: &Method,
    headers: &HeaderMap,
    host: Option<&str>,
    protection: &Protection,
) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || bearer(headers).is_some()
    {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => None,
            other => Some(format!(
                "Cross-site request refused: Sec-Fetch-Site is '{other}'; change Tally only from its own pages, or with an API token"
            )),
        };
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("null");
    let own = protection
        .public_origin
        .as_ref()
        .is_some_and(|o| o.origin() == origin)
        || origin
            .split_once("://")
            .zip(host)
            .is_some_and(|((_, authority), host)| authority.eq_ignore_ascii_case(host));
    (!own).then(|| {
        format!(
            "Cross-site request refused: Origin '{origin}' is not this server's; change Tally only from its own pages, or with an API token"
        )
    })
}

/// Removes a `Referer` that is not a page of this site. Leptos answers a
/// plain form post to a server function with a redirect to its `Referer`, as
/// sent: `//other-host/...` would send the browser off the site.
fn drop_foreign_referer(headers: &mut HeaderMap, host: Option<&str>, protection: &Protection) {
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let ours = match referer.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split('/').next().unwrap_or("");
            let same_host = host.is_some_and(|h| h.eq_ignore_ascii_case(authority));
            let public = protection.public_origin.as_ref().is_some_and(|o| {
                referer.starts_with(&o.origin()) && o.authority == authority.to_ascii_lowercase()
            });
            (same_host || public) && tally_app::href::path_of_url(referer).is_some()
        }
        None => tally_app::href::same_origin_path(referer).is_some(),
    };
    if !ours {
        headers.remove(header::REFERER);
    }
}

fn refuse(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(json!({ "detail": detail }))).into_response()
}

fn unauthorized(detail: &str) -> Response {
    let mut response = refuse(StatusCode::UNAUTHORIZED, detail);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tally\""),
    );
    response
}

/// A browser asking for a page is sent to sign in (and back afterwards);
/// anything else gets a 401.
fn sign_in_first(request: &Request) -> Response {
    if wants_page(request) {
        let next = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let target = tally_app::href::with_query("/login", &[("next", next.to_string())]);
        return Redirect::to(&target).into_response();
    }
    unauthorized("Sign in, or send an API token: Authorization: Bearer tally_...")
}

fn forbidden(request: &Request, role: Role, who: &Principal) -> Response {
    let detail = format!(
        "This needs the {role} role: {} has the {} role",
        who.name, who.role
    );
    if wants_page(request) {
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not allowed · Tally</title>\
             <link rel=\"stylesheet\" href=\"/pkg/tally.css\"></head><body><main class=\"content\">\
             <h1>Not allowed</h1><p>{}</p><p><a href=\"/\">Back to the Dashboard</a></p></main></body></html>",
            tally_app::security::escape_text(&detail)
        );
        return (StatusCode::FORBIDDEN, Html(page)).into_response();
    }
    refuse(StatusCode::FORBIDDEN, &detail)
}

fn wants_page(request: &Request) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/api/")
        && accepts_html(request.headers())
}

/// Whether the client takes HTML: a browser (a page load or a plain form
/// post), which gets pages and redirects where scripts get JSON.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mode::PublicOrigin;

    fn open() -> Protection {
        Protection {
            sign_in: false,
            loopback_hosts_only: true,
            public_origin: None,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn unsafe_requests_from_other_sites_are_refused() {
        let p = open();
        let host = Some("127.0.0.1:3000");
        let post = Method::POST;
        let refused = |h: &[(&'static str, &'static str)]| cross_site(&post, &headers(h), host, &p);
        assert!(refused(&[("sec-fetch-site", "cross-site")]).is_some());
        assert!(refused(&[("sec-fetch-site", "same-site")]).is_some());
        assert!(refused(&[("origin", "https://evil.example")]).is_some());
        assert!(refused(&[("origin", "null")]).is_some());
        assert!(
            refused(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://127.0.0.1:3000")
            ])
            .is_none()
        );
        assert!(refused(&[("sec-fetch-site", "none")]).is_none());
        assert!(refused(&[("origin", "http://127.0.0.1:3000")]).is_none());
        assert!(
            refused(&[]).is_none(),
            "curl and scripts send neither header"
        );
        assert!(
            refused(&[
                ("sec-fetch-site", "cross-site"),
                ("authorization", "Bearer tally_x")
            ])
            .is_none()
        );
        let get = cross_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")]),
            host,
            &p,
        );
        assert!(get.is_none(), "reads are not refused here");
        let behind_proxy = Protection {
            public_origin: Some(PublicOrigin::parse("https://tally.example.com").expect("url")),
            ..open()
        };
        let proxied = cross_site(
            &post,
            &headers(&[("origin", "https://tally.example.com")]),
            Some("127.0.0.1:3000"),
            &behind_proxy,
        );
        assert!(proxied.is_none());
    }

    #[test]
    fn only_loopback_hosts_reach_an_open_server() {
        let p = open();
        assert!(host_allowed("127.0.0.1:3000", &p));
        assert!(host_allowed("localhost:3000", &p));
        assert!(host_allowed("[::1]:3000", &p));
        assert!(!host_allowed("evil.example:3000", &p));
        let named = Protection {
            public_origin: Some(PublicOrigin::parse("http://tally.lan:3000").expect("url")),
            ..open()
        };
        assert!(host_allowed("tally.lan:3000", &named));
    }

    #[test]
    fn only_this_sites_referers_are_kept() {
        let p = open();
        let kept = |referer: &'static str| {
            let mut h = headers(&[("referer", referer)]);
            drop_foreign_referer(&mut h, Some("127.0.0.1:3000"), &p);
            h.contains_key(header::REFERER)
        };
        assert!(kept("http://127.0.0.1:3000/workloads/new?x=1"));
        assert!(kept("/workloads"));
        assert!(!kept("//evil.example/x"));
        assert!(!kept("https://evil.example/workloads"));
        assert!(!kept("http://127.0.0.1:3000//evil.example/x"));
        assert!(!kept("http://127.0.0.1:3000.evil.example/"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; tally_session=abc; b=2")]);
        assert_eq!(session_cookie(&h), Some("abc"));
        assert_eq!(session_cookie(&headers(&[("cookie", "x=1")])), None);
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer tally_x")])),
            Some("tally_x")
        );
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
    }
}
