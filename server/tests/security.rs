//! The Security issue's attacks, each tried against the real binary: cross-site
//! writes, DNS rebinding, stored XSS in the head and in form fields, clickjacking
//! and open redirects; then sign-in, roles, tokens and sessions on a server that
//! needs them.

mod common;

use common::{TestServer, client, no_redirects, tally_bin};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOSTILE_NAME: &str = "</title><script>alert(1)</script>";
const HOSTILE_STOPWORD: &str = "</textarea><script>alert(2)</script>";

async fn create_workload(server: &TestServer, token: Option<&str>, name: &str) -> Value {
    let mut request = client().post(server.url("/api/v1/workloads")).json(&json!({
        "workload_type": "wordcount", "name": name,
        "src_project": "p", "src_dataset": "d", "src_table": "t", "src_column_name": "text",
        "options": {"stopwords": {"custom": [HOSTILE_STOPWORD]}},
    }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.expect("create");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn upload(server: &TestServer, token: Option<&str>, reference: &str) {
    let path = reference
        .replacen('.', "/datasets/", 1)
        .replacen('.', "/tables/", 1);
    let mut request = client()
        .post(server.url(&format!("/api/v1/projects/{path}?format=csv")))
        .body("id,text\n1,the cat\n2,the hat\n");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.expect("upload");
    assert_eq!(res.status(), StatusCode::CREATED, "upload {reference}");
}

/// The server-rendered HTML of a page.
async fn page_html(server: &TestServer, path: &str) -> String {
    client()
        .get(server.url(path))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

/// A browser's cross-site form post: fetch metadata and a foreign `Origin`.
fn cross_site_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    h.insert("origin", HeaderValue::from_static("https://evil.example"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h
}

/// Every server function that changes something, with a form body that would
/// do it.
const UNSAFE_SERVER_FUNCTIONS: &[(&str, &str)] = &[
    (
        "workloads/create",
        "form[name]=x&form[src_project]=p&form[src_dataset]=d&form[src_table]=t&form[src_column_name]=text",
    ),
    (
        "workloads/update",
        "id=1&form[name]=renamed&form[src_project]=p&form[src_dataset]=d&form[src_table]=t&form[src_column_name]=text",
    ),
    ("workloads/delete", "id=1"),
    ("runs/start", "workload_id=1"),
    ("runs/cancel", "run_id=1"),
    ("datasets/delete", "table=p.d.t"),
    ("datasets/upload", "table=p.d.u"),
    ("tokens/create", "name=x&role=viewer"),
    ("tokens/revoke", "id=1"),
    ("account/password", "password=aaaaaaaaaaaa"),
    (
        "users/create",
        "name=mallory&password=aaaaaaaaaaaa&role=admin",
    ),
    ("users/role", "id=1&role=viewer"),
    ("users/password", "id=1&password=aaaaaaaaaaaa"),
    ("users/delete", "id=1"),
];

/// Every REST path that changes something.
const UNSAFE_REST: &[(&str, &str)] = &[
    ("POST", "/api/v1/workloads"),
    ("PUT", "/api/v1/workloads/1"),
    ("PATCH", "/api/v1/workloads/1"),
    ("DELETE", "/api/v1/workloads/1"),
    ("POST", "/api/v1/workloads/1/runs"),
    ("POST", "/api/v1/runs/1/cancel"),
    ("POST", "/api/v1/projects/p/datasets/d/tables/u"),
    ("DELETE", "/api/v1/projects/p/datasets/d/tables/t"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/1"),
    ("DELETE", "/api/v1/users/1"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/1"),
    ("POST", "/auth/logout"),
];

#[tokio::test]
async fn a_foreign_page_can_change_nothing_on_a_loopback_tally() {
    let server = TestServer::start();
    upload(&server, None, "p.d.t").await;
    let workload = create_workload(&server, None, "keep me").await;
    assert_eq!(workload["id"], 1);

    for (endpoint, body) in UNSAFE_SERVER_FUNCTIONS {
        let res = client()
            .post(server.url(&format!("/api/fn/{endpoint}")))
            .headers(cross_site_headers())
            .body(*body)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{endpoint}");
        let detail: Value = res.json().await.expect("json");
        assert!(
            detail["detail"]
                .as_str()
                .unwrap_or("")
                .contains("Cross-site"),
            "{endpoint}: {detail}"
        );
    }
    // Nor can it read through a server function (its answer would not reach
    // the page anyway, for want of CORS headers).
    for (endpoint, body) in [
        ("runs/search", "state=succeeded"),
        ("runs/compare", "before=1&after=1"),
        ("runs/groups", "run_id=1"),
        ("runs/words", "run_id=1&group=x"),
    ] {
        let read = client()
            .post(server.url(&format!("/api/fn/{endpoint}")))
            .headers(cross_site_headers())
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(read.status(), StatusCode::FORBIDDEN, "{endpoint}");
    }
    for (method, path) in UNSAFE_REST {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        // A text/plain body is what a foreign form can send without a preflight.
        let res = client()
            .request(method.clone(), server.url(path))
            .header("origin", "https://evil.example")
            .header("content-type", "text/plain")
            .body("id,text\n1,x\n")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Nothing changed: the workload and the table are still there, unrenamed.
    let (status, body) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "keep me");
    let (status, _) = server
        .get_json("/api/v1/projects/p/datasets/d/tables/t")
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .get_json("/api/v1/projects/p/datasets/d/tables/u")
        .await;
    assert_eq!(status, 404);

    // The same page's own posts and scripts without browser headers still work.
    let own = client()
        .post(server.url("/api/fn/workloads/get"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", server.base_url.as_str())
        .form(&[("id", "1")])
        .send()
        .await
        .expect("post");
    assert_eq!(own.status(), StatusCode::OK);
    let origin_only = client()
        .post(server.url("/api/fn/workloads/get"))
        .header("origin", server.base_url.as_str())
        .form(&[("id", "1")])
        .send()
        .await
        .expect("post");
    assert_eq!(origin_only.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_rebound_host_name_is_refused_and_loopback_names_are_not() {
    let server = TestServer::start();
    let port = server
        .base_url
        .rsplit(':')
        .next()
        .expect("port")
        .to_string();
    for host in ["evil.example", "attacker.test:80", "10.0.0.7"] {
        let res = client()
            .get(server.url("/api/v1/workloads"))
            .header("host", host)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let res = client()
            .get(server.url("/api/v1/workloads"))
            .header("host", host.as_str())
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    // /healthz too is refused under a foreign name: a rebinding page learns nothing.
    let res = client()
        .get(server.url("/healthz"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn hostile_names_and_stopwords_are_rendered_only_escaped() {
    let server = TestServer::start();
    upload(&server, None, "p.d.t").await;
    create_workload(&server, None, HOSTILE_NAME).await;
    for path in ["/workloads/1", "/workloads/1/edit", "/workloads"] {
        let html = page_html(&server, path).await;
        assert!(
            !html.contains("<script>alert("),
            "{path} holds a live script"
        );
        assert!(
            html.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
                || path == "/workloads/1/edit",
            "{path}: the name, escaped"
        );
        if path == "/workloads/1" {
            let title = html
                .split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next());
            assert_eq!(
                title,
                Some("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · Tally"),
                "the head's title"
            );
        }
        if path == "/workloads/1/edit" {
            assert!(
                html.contains("&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
                "the stopword, escaped"
            );
        }
    }
    // A form sent back with its values after a failed post (`?posted=`).
    let posted = tally_app::workload::PostedForm {
        form: tally_app::workload::WorkloadForm {
            name: HOSTILE_NAME.into(),
            custom_stopwords: HOSTILE_STOPWORD.into(),
            ..Default::default()
        },
        error: tally_app::error::AppError::new(422, "name: no"),
    }
    .encode()
    .expect("short");
    let url = format!(
        "/workloads/new?posted={}&error={}",
        tally_app::href::encode(&posted),
        tally_app::href::encode(HOSTILE_NAME)
    );
    let html = page_html(&server, &url).await;
    assert!(
        !html.contains("<script>alert("),
        "the posted form holds a live script"
    );
    assert!(html.contains("&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
}

#[tokio::test]
async fn pages_and_answers_carry_the_security_headers() {
    let server = TestServer::start();
    let page = client()
        .get(server.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    let headers = page.headers().clone();
    let html = page.text().await.expect("html");
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page's policy has a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'") && !csp.contains("'unsafe-eval'"));
    // Every inline script of the page carries the nonce.
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or("");
        if !tag.contains("src=") {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "inline script without the nonce: <script{tag}>"
            );
        }
    }
    // Another page gets another nonce.
    let again = client()
        .get(server.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_ne!(
        again.headers()["content-security-policy"],
        headers["content-security-policy"]
    );
    for path in ["/", "/api/v1/workloads", "/healthz", "/pkg/tally.css"] {
        let res = client().get(server.url(path)).send().await.expect("get");
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap_or("")
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(
            !h.contains_key("strict-transport-security"),
            "{path}: no HSTS without https"
        );
    }
}

#[tokio::test]
async fn a_form_post_is_never_redirected_off_the_site() {
    let server = TestServer::start();
    for referer in [
        "//evil.example/x",
        "http://127.0.0.1//evil.example/x",
        "https://evil.example",
    ] {
        let res = no_redirects()
            .post(server.url("/api/fn/workloads/create"))
            .header("accept", "text/html")
            .header("referer", referer)
            .form(&[("form[name]", "")])
            .send()
            .await
            .expect("post");
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        assert!(
            !location.starts_with("//") && !location.contains("evil.example"),
            "{referer} → {location}"
        );
    }
    let res = no_redirects()
        .post(server.url("/api/fn/workloads/create"))
        .header("accept", "text/html")
        .header("referer", format!("{}/workloads/new", server.base_url))
        .form(&[("form[name]", "")])
        .send()
        .await
        .expect("post");
    let location = res.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with("/workloads/new?"), "{location}");
}

#[test]
fn auth_off_on_a_network_address_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(tally_bin())
        .args([
            "serve",
            "--auth",
            "off",
            "--addr",
            "0.0.0.0:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve 0.0.0.0:0 with --auth off"),
        "{err}"
    );
    assert!(!dir.path().join("db").exists(), "nothing was opened");
}

// --- a server that needs a sign-in ---------------------------------------------

/// The setup secret the server logged.
fn setup_secret(server: &TestServer) -> String {
    server
        .startup_log
        .iter()
        .find_map(|line| {
            line.split("/setup?secret=")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .expect("the setup link is logged")
}

fn cookie_of(res: &reqwest::Response) -> String {
    let set = res.headers()["set-cookie"].to_str().expect("ascii");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().expect("pair").to_string()
}

async fn sign_in(server: &TestServer, name: &str, password: &str) -> reqwest::Response {
    no_redirects()
        .post(server.url("/auth/login"))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .expect("login")
}

async fn api(
    server: &TestServer,
    method: Method,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client().request(method, server.url(path));
    match auth {
        Auth::Token(t) => request = request.bearer_auth(t),
        Auth::Cookie(c) => request = request.header("cookie", c.as_str()),
        Auth::None => {}
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let res = request.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A server function, its form, and the role it needs.
type ServerFnCall = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

enum Auth {
    None,
    Token(String),
    Cookie(String),
}

const ADMIN_PASSWORD: &str = "admin password 1";

/// A server with its first admin created through the setup link; answers the
/// admin's session cookie.
async fn server_with_admin(extra: &[&str]) -> (TestServer, String) {
    let mut args = vec!["--auth", "required"];
    args.extend_from_slice(extra);
    let server = TestServer::start_args(&args);
    let secret = setup_secret(&server);
    let form = [
        ("secret", secret.as_str()),
        ("name", "root"),
        ("password", ADMIN_PASSWORD),
        ("password_again", ADMIN_PASSWORD),
    ];
    let res = no_redirects()
        .post(server.url("/auth/setup"))
        .header("accept", "text/html")
        .form(&form)
        .send()
        .await
        .expect("setup");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let cookie = cookie_of(&res);
    // The link is void once used.
    let again = no_redirects()
        .post(server.url("/auth/setup"))
        .form(&form)
        .send()
        .await
        .expect("setup");
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    (server, cookie)
}

async fn new_user_token(server: &TestServer, admin: &Auth, name: &str, role: &str) -> String {
    let password = format!("{name} password 123");
    let (status, body) = api(
        server,
        Method::POST,
        "/api/v1/users",
        admin,
        Some(json!({"name": name, "password": password, "role": role})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cookie = cookie_of(&sign_in(server, name, &password).await);
    let (status, body) = api(
        server,
        Method::POST,
        "/api/v1/tokens",
        &Auth::Cookie(cookie),
        Some(json!({"name": format!("{name}'s token")})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], role);
    body["token"].as_str().expect("secret").to_string()
}

/// What a role may do to a route, as the issue lists it: `None` = allowed.
fn expected(role: Option<&str>, needs: &str) -> StatusCode {
    let rank = |r: &str| ["viewer", "editor", "admin"].iter().position(|x| *x == r);
    match role {
        None => StatusCode::UNAUTHORIZED,
        Some(r) if rank(r) >= rank(needs) => StatusCode::OK,
        Some(_) => StatusCode::FORBIDDEN,
    }
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_issue_says() {
    let (server, admin_cookie) = server_with_admin(&[]).await;
    let admin = Auth::Cookie(admin_cookie);
    let viewer = new_user_token(&server, &admin, "vera", "viewer").await;
    let editor = new_user_token(&server, &admin, "ed", "editor").await;
    let admin_token = new_user_token(&server, &admin, "ada", "admin").await;
    upload(&server, Some(&editor), "p.d.t").await;
    create_workload(&server, Some(&editor), "w").await;

    // A revoked token is refused like none, and says why.
    let revoked = new_user_token(&server, &admin, "rex", "editor").await;
    let (_, tokens) = api(&server, Method::GET, "/api/v1/tokens", &admin, None).await;
    let rex = tokens
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["owner"] == "rex")
        .expect("rex's token")["id"]
        .clone();
    let (status, _) = api(
        &server,
        Method::DELETE,
        &format!("/api/v1/tokens/{rex}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);

    // (method, path, body, role needed). Reads first, then changes that leave
    // the fixtures in place for the next principal.
    let routes: Vec<(Method, &str, Option<Value>, &str)> = vec![
        (Method::GET, "/api/v1/workloads", None, "viewer"),
        (Method::GET, "/api/v1/workloads/1", None, "viewer"),
        (Method::GET, "/api/v1/workloads/1/runs", None, "viewer"),
        (Method::GET, "/api/v1/runs/1", None, "viewer"),
        (Method::GET, "/api/v1/runs/1/groups", None, "viewer"),
        (Method::GET, "/api/v1/runs", None, "viewer"),
        (Method::GET, "/api/v1/projects", None, "viewer"),
        (
            Method::GET,
            "/api/v1/projects/p/datasets/d/tables/t",
            None,
            "viewer",
        ),
        (Method::GET, "/api/v1/me", None, "viewer"),
        (Method::GET, "/api/v1/tokens", None, "viewer"),
        (Method::GET, "/api/v1/openapi.json", None, "viewer"),
        (Method::GET, "/metrics", None, "viewer"),
        (Method::GET, "/api/v1/users", None, "admin"),
        (Method::GET, "/api/v1/audit", None, "admin"),
        (
            Method::PATCH,
            "/api/v1/workloads/1",
            Some(json!({"name": "renamed"})),
            "editor",
        ),
        (
            Method::DELETE,
            "/api/v1/projects/p/datasets/d/tables/missing",
            None,
            "admin",
        ),
    ];
    let principals: [(Option<&str>, Auth); 5] = [
        (None, Auth::None),
        (None, Auth::Token(revoked)),
        (Some("viewer"), Auth::Token(viewer.clone())),
        (Some("editor"), Auth::Token(editor.clone())),
        (Some("admin"), Auth::Token(admin_token.clone())),
    ];
    for (role, auth) in &principals {
        for (method, path, body, needs) in &routes {
            let (status, answer) = api(&server, method.clone(), path, auth, body.clone()).await;
            let want = expected(*role, needs);
            let got = match status {
                StatusCode::NOT_FOUND | StatusCode::CONFLICT => StatusCode::OK, // allowed, then refused on its merits
                other => other,
            };
            assert_eq!(got, want, "{role:?} {method} {path}: {answer}");
            if want == StatusCode::FORBIDDEN {
                assert!(
                    answer["detail"]
                        .as_str()
                        .unwrap_or("")
                        .contains(&format!("needs the {needs} role")),
                    "{answer}"
                );
            }
        }
    }
    // Server functions, as the UI calls them, by role.
    let functions: [ServerFnCall; 8] = [
        ("workloads/list", &[], "viewer"),
        ("runs/compare", &[("before", "1"), ("after", "1")], "viewer"),
        ("runs/groups", &[("run_id", "1")], "viewer"),
        ("runs/get", &[("run_id", "1")], "viewer"),
        ("runs/search", &[("state", "succeeded")], "viewer"),
        ("runs/start", &[("workload_id", "1")], "editor"),
        ("datasets/delete", &[("table", "p.d.missing")], "admin"),
        ("users/list", &[], "admin"),
    ];
    for (role, auth) in &principals {
        for (endpoint, form, needs) in &functions {
            let mut request = client()
                .post(server.url(&format!("/api/fn/{endpoint}")))
                .form(form);
            if let Auth::Token(t) = auth {
                request = request.bearer_auth(t);
            }
            let status = request.send().await.expect("post").status();
            let got = match status {
                StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::ACCEPTED => {
                    StatusCode::OK
                }
                other => other,
            };
            assert_eq!(got, expected(*role, needs), "{role:?} {endpoint}");
        }
    }
    // The event stream needs a viewer too.
    let res = client()
        .get(server.url("/api/v1/events"))
        .send()
        .await
        .expect("events");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"tally\"");
    // Open to all: health and the sign-in page.
    for path in ["/healthz", "/login"] {
        let res = client().get(server.url(path)).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    // A browser asking for a page is sent to sign in, and back afterwards.
    let res = no_redirects()
        .get(server.url("/workloads?q=x"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Fworkloads%3Fq%3Dx"
    );
    // Tokens cannot be created above their creator's role.
    let (status, body) = api(
        &server,
        Method::POST,
        "/api/v1/tokens",
        &Auth::Token(viewer),
        Some(json!({"name": "escalate", "role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"].as_str().unwrap_or("").starts_with("role:"),
        "{body}"
    );

    // The audit log saw the changes, with who and from where.
    let (status, audit) = api(
        &server,
        Method::GET,
        "/api/v1/audit?limit=500",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (action, actor_prefix) in [
        ("user.create", "root"),
        ("login", "vera"),
        ("token.create", "ed"),
        ("token.revoke", "root"),
        ("table.import", "ed (token"),
        ("workload.create", "ed (token"),
        ("workload.update", "ed (token"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, who)| a == action && who.starts_with(actor_prefix)),
            "{action} by {actor_prefix} in {actions:?}"
        );
    }
    let (status, bad) = api(
        &server,
        Method::GET,
        "/api/v1/audit?limit=many",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["detail"][0]["loc"], json!(["query", "limit"]));
    assert!(
        audit["items"][0]["address"]
            .as_str()
            .unwrap_or("")
            .starts_with("127.0.0.1")
    );
}

#[tokio::test]
async fn sign_in_answers_alike_for_unknown_users_and_holds_back_guessers() {
    let (server, _) = server_with_admin(&["--login-attempts", "3"]).await;
    let unknown = sign_in(&server, "nobody", "whatever pass").await;
    let unknown_status = unknown.status();
    let unknown_body: Value = unknown.json().await.expect("json");
    let wrong = sign_in(&server, "root", "wrong password").await;
    assert_eq!(wrong.status(), unknown_status);
    assert_eq!(wrong.json::<Value>().await.expect("json"), unknown_body);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_body["detail"], "Invalid user name or password");
    for _ in 0..2 {
        assert_eq!(
            sign_in(&server, "root", "wrong password").await.status(),
            401
        );
    }
    // Three failures for root: even the right password waits now.
    let held = sign_in(&server, "root", ADMIN_PASSWORD).await;
    assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = held.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    // A browser's form is sent back to the page with the message.
    let res = no_redirects()
        .post(server.url("/auth/login"))
        .header("accept", "text/html")
        .form(&[
            ("name", "nobody"),
            ("password", "x"),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with("/login?error=Invalid"), "{location}");
}

#[tokio::test]
async fn sessions_end_on_sign_out_on_a_new_password_and_when_idle() {
    let (server, admin_cookie) = server_with_admin(&["--session-idle", "2s"]).await;
    let admin = Auth::Cookie(admin_cookie.clone());
    let (status, me) = api(&server, Method::GET, "/api/v1/me", &admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(me, json!({"name": "root", "role": "admin"}));

    // Sign-out ends the session on the server, not only in the browser.
    let cookie = cookie_of(&sign_in(&server, "root", ADMIN_PASSWORD).await);
    let res = no_redirects()
        .post(server.url("/auth/logout"))
        .header("cookie", cookie.as_str())
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap_or("")
            .contains("Max-Age=0")
    );
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/me",
        &Auth::Cookie(cookie),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A new password ends every session of the user.
    let other = cookie_of(&sign_in(&server, "root", ADMIN_PASSWORD).await);
    let (status, body) = api(
        &server,
        Method::PATCH,
        "/api/v1/users/1",
        &Auth::Cookie(other.clone()),
        Some(json!({"password": "a brand new password"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for cookie in [admin_cookie, other] {
        let (status, _) = api(
            &server,
            Method::GET,
            "/api/v1/me",
            &Auth::Cookie(cookie),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    // Idle past --session-idle: signed out.
    let fresh = cookie_of(&sign_in(&server, "root", "a brand new password").await);
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/me",
        &Auth::Cookie(fresh.clone()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/me",
        &Auth::Cookie(fresh),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A forged cookie of the right shape is nobody.
    let forged = format!("tally_session={}", "A".repeat(43));
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/me",
        &Auth::Cookie(forged),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_only_admin_cannot_be_removed_and_tokens_expire_with_their_user() {
    let (server, admin_cookie) = server_with_admin(&[]).await;
    let admin = Auth::Cookie(admin_cookie);
    let (status, body) = api(&server, Method::DELETE, "/api/v1/users/1", &admin, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = api(
        &server,
        Method::PATCH,
        "/api/v1/users/1",
        &admin,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let token = new_user_token(&server, &admin, "temp", "editor").await;
    let (status, users) = api(&server, Method::GET, "/api/v1/users", &admin, None).await;
    assert_eq!(status, 200);
    let id = users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["name"] == "temp")
        .expect("temp")["id"]
        .clone();
    // A demoted user's token loses the power at once.
    api(
        &server,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &admin,
        Some(json!({"role": "viewer"})),
    )
    .await;
    let (status, _) = api(
        &server,
        Method::PATCH,
        "/api/v1/workloads/1",
        &Auth::Token(token.clone()),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api(
        &server,
        Method::DELETE,
        &format!("/api/v1/users/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/me",
        &Auth::Token(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Bad input names its field.
    let (status, body) = api(
        &server,
        Method::POST,
        "/api/v1/users",
        &admin,
        Some(json!({"name": "a b", "password": "long enough pw", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap_or("").starts_with("name:"),
        "{body}"
    );
    let (status, body) = api(
        &server,
        Method::POST,
        "/api/v1/users",
        &admin,
        Some(json!({"name": "bo", "password": "short", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("password:"),
        "{body}"
    );
    let (status, _) = api(
        &server,
        Method::POST,
        "/api/v1/users",
        &admin,
        Some(json!({"name": "root", "password": "long enough pw", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_command_line_creates_users_and_imports_with_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(tally_bin())
        .args([
            "admin",
            "create-user",
            "ops",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), b"ops password 42\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user ops (admin)"));

    let server = TestServer::start_with(
        &tally_bin(),
        dir.path(),
        &[
            "serve",
            "--auth",
            "required",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
    );
    assert!(
        !server
            .startup_log
            .iter()
            .any(|l| l.contains("/setup?secret=")),
        "no setup link once a user exists"
    );
    let cookie = cookie_of(&sign_in(&server, "ops", "ops password 42").await);
    let (status, token) = api(
        &server,
        Method::POST,
        "/api/v1/tokens",
        &Auth::Cookie(cookie),
        Some(json!({"name": "ci", "expires_in_days": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(token["expires_at"].is_string());
    let secret = token["token"].as_str().expect("secret").to_string();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "name\nAnn\n").expect("write");
    let import = |token: Option<&str>| {
        let mut cmd = std::process::Command::new(tally_bin());
        cmd.args([
            "import",
            csv.to_str().expect("utf-8"),
            "--table",
            "hr.staff.people",
            "--server",
            &server.base_url,
        ]);
        cmd.env_remove("TALLY_TOKEN");
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        cmd.output().expect("import")
    };
    let refused = import(None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("(401)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let done = import(Some(&secret));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

#[tokio::test]
async fn the_openapi_document_names_the_schemes_and_each_operations_role() {
    let server = TestServer::start();
    let (status, doc) = server.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "tally_session");
    let role = |path: &str, method: &str| doc["paths"][path][method]["x-required-role"].clone();
    assert_eq!(role("/api/v1/workloads", "get"), "viewer");
    assert_eq!(role("/api/v1/workloads", "post"), "editor");
    assert_eq!(role("/api/v1/runs/{run_id}/cancel", "post"), "editor");
    assert_eq!(
        role(
            "/api/v1/projects/{project}/datasets/{dataset}/tables/{table}",
            "delete"
        ),
        "admin"
    );
    assert_eq!(role("/api/v1/users", "post"), "admin");
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([{}]));
    assert_eq!(
        doc["paths"]["/api/v1/workloads"]["post"]["security"],
        json!([{"bearer": []}, {"session": []}])
    );
}
