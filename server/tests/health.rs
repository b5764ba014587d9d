//! `/healthz`, the status server function, and the 404 answers, over real HTTP.

mod common;

use common::{TestServer, client, gunzip};
use serde_json::Value;

#[tokio::test]
async fn healthz_reports_version_and_a_live_database() {
    let server = TestServer::start();
    let res = client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json")
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["database"]["engine"], "surrealkv");
    assert!(body["database"]["latency_ms"].as_f64().expect("number") >= 0.0);
    assert!(
        server.data_dir.join("db").exists(),
        "the embedded database lives in the data dir"
    );
}

#[tokio::test]
async fn the_status_server_function_is_callable_over_http() {
    let server = TestServer::start();
    let http = client();
    let call = || {
        http.post(server.url("/api/fn/system/status"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body("")
            .send()
    };
    let first: Value = call()
        .await
        .expect("request")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("json");
    assert_eq!(first["database"]["ok"], true);
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second: Value = call().await.expect("request").json().await.expect("json");
    assert_ne!(
        first["checked_at"], second["checked_at"],
        "each call is a fresh reading"
    );
}

#[tokio::test]
async fn unknown_addresses_answer_404_in_the_callers_language() {
    let server = TestServer::start();
    let http = client();

    let api = http
        .get(server.url("/api/v1/nothing-here"))
        .send()
        .await
        .expect("request");
    assert_eq!(api.status(), 404);
    let body: Value = api.json().await.expect("json");
    assert_eq!(body["detail"], "Not Found");

    let page = http
        .get(server.url("/no/such/page"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 404);
    let html = page.text().await.expect("text");
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn pages_are_rendered_on_the_server() {
    let server = TestServer::start();
    for (path, heading) in [
        ("/", "Dashboard"),
        ("/workloads", "Workloads"),
        ("/datasets", "Datasets"),
    ] {
        let res = client()
            .get(server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.expect("text");
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {html}"
        );
        assert!(
            html.contains("/pkg/tally.wasm"),
            "{path} references the WASM bundle"
        );
    }
}

#[tokio::test]
async fn pages_and_json_are_compressed_for_clients_that_ask() {
    let server = TestServer::start();
    // (Each page carries fresh nonces, so pages are compared by length and heading.)
    for (path, marker) in [
        ("/workloads", "<h1>Workloads</h1>"),
        ("/api/v1/openapi.json", "\"openapi\""),
    ] {
        let (coding, plain) = server.get_encoded(path, "identity").await;
        assert_eq!(coding, "", "{path} unasked");
        let (coding, gzipped) = server.get_encoded(path, "gzip").await;
        assert_eq!(coding, "gzip", "{path}");
        let unzipped = gunzip(&gzipped);
        assert_eq!(unzipped.len(), plain.len(), "{path}: the same document");
        assert!(unzipped.contains(marker), "{path}");
        assert!(
            gzipped.len() * 2 < plain.len(),
            "{path}: {} of {} bytes",
            gzipped.len(),
            plain.len()
        );
        let (coding, _) = server.get_encoded(path, "br, gzip").await;
        assert_eq!(coding, "br", "{path}: brotli preferred");
    }
    // The live event stream must reach the browser event by event.
    let res = client()
        .get(server.url("/api/v1/events"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("content-encoding").is_none(),
        "{:?}",
        res.headers()
    );
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let server = TestServer::start();
    let (_, spec) = server.get_json("/api/v1/openapi.json").await;
    assert!(spec["openapi"].as_str().unwrap_or("").starts_with("3."));
    assert!(spec["paths"]["/healthz"]["get"].is_object());
    let ui = client()
        .get(server.url("/docs/"))
        .send()
        .await
        .expect("request");
    assert_eq!(ui.status(), 200);
    assert!(
        ui.text().await.expect("text").contains("swagger"),
        "Swagger UI is vendored"
    );
}

#[test]
fn an_unreachable_database_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(common::tally_bin())
        .args(["--addr", "127.0.0.1:0", "--db", "ws://127.0.0.1:9"])
        .current_dir(dir.path())
        .output()
        .expect("run tally");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the database at ws://127.0.0.1:9"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_root_answers_json_clients_like_the_prototype() {
    let server = TestServer::start();
    let res = client()
        .get(server.url("/"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body, serde_json::json!({"message": "Running.."}));
    let page = client()
        .get(server.url("/"))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/json;q=0.9",
        )
        .send()
        .await
        .expect("request");
    assert!(
        page.text()
            .await
            .expect("text")
            .contains("<h1>Dashboard</h1>"),
        "browsers get the UI"
    );
}

#[tokio::test]
async fn with_log_format_json_every_log_line_is_a_json_object() {
    let server = TestServer::start_args(&["--log-format", "json"]);
    // A request that logs an event with values of its own, with the id a
    // proxy in front gave it.
    let res = client()
        .post(server.url("/api/v1/projects/logs/datasets/d/tables/t?format=text"))
        .header("x-request-id", "proxy-7f3a")
        .body("one line\n")
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["x-request-id"], "proxy-7f3a");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut lines = Vec::new();
    let imported = loop {
        lines.extend(server.log_lines());
        let events: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if let Some(e) = events
            .iter()
            .find(|e| e["fields"]["message"] == "table imported")
        {
            break e.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no import logged: {lines:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(imported["level"], "INFO");
    assert_eq!(imported["span"]["request_id"], "proxy-7f3a", "{imported}");
    assert_eq!(imported["span"]["method"], "POST");
    assert_eq!(
        imported["span"]["path"],
        "/api/v1/projects/logs/datasets/d/tables/t"
    );
    assert_eq!(imported["fields"]["table"], "logs.d.t");
    assert_eq!(imported["fields"]["rows"], 1);
    assert!(
        imported["timestamp"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))
    );
    assert!(
        imported["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("tally_server"))
    );
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_flag() {
    let out = std::process::Command::new(common::tally_bin())
        .args(["serve", "--log-format", "xml"])
        .output()
        .expect("run tally");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--log-format") && err.contains("json"),
        "{err}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_hostile_ones_are_replaced() {
    let server = TestServer::start();
    let id_of = |res: &reqwest::Response| {
        res.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let plain = client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("get");
    let fresh = id_of(&plain);
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    let again = client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("get");
    assert_ne!(id_of(&again), fresh, "each request has its own id");
    // Refused requests have one too.
    let missing = client()
        .get(server.url("/api/v1/workloads/999999"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(id_of(&missing).len(), 36);
    let long = "x".repeat(129);
    for hostile in ["with space", "quote\"d", long.as_str()] {
        let res = client()
            .get(server.url("/healthz"))
            .header("x-request-id", hostile)
            .send()
            .await
            .expect("get");
        let given = id_of(&res);
        assert!(
            given != hostile && given.len() == 36,
            "{hostile} -> {given}"
        );
    }
}
