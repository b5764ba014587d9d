//! The workloads REST API and its server functions, over real HTTP against the
//! real binary.

mod common;

use std::collections::HashSet;

use common::{TestServer, client};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CSV: &str = "word,n,note\nhello,1,a\nworld,2,b\n";

fn body(name: &str) -> Value {
    json!({
        "workload_type": "wordcount",
        "name": name,
        "src_project": "p", "src_dataset": "d", "src_table": "t", "src_column_name": "word",
    })
}

async fn server_with_table() -> TestServer {
    let server = TestServer::start();
    server.upload_csv("p.d.t", CSV).await;
    server
}

async fn create(server: &TestServer, body: &Value) -> (StatusCode, Value) {
    let (status, _, json) = server
        .send_json(Method::POST, "/api/v1/workloads", body)
        .await;
    (status, json)
}

fn locs(answer: &Value) -> Vec<(String, String)> {
    answer["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of errors: {answer}"))
        .iter()
        .map(|e| {
            let loc: Vec<&str> = e["loc"]
                .as_array()
                .expect("loc")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (loc.join("."), e["type"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

fn pair(loc: &str, kind: &str) -> (String, String) {
    (loc.to_string(), kind.to_string())
}

/// A workload without what its runs change (`status`, `last_run`).
fn definition(w: &Value) -> Value {
    let mut w = w.clone();
    if let Some(map) = w.as_object_mut() {
        map.remove("status");
        map.remove("last_run");
    }
    w
}

/// Waits until the workload's run has finished; returns the workload.
async fn settled(server: &TestServer, id: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, w) = server.get_json(&format!("/api/v1/workloads/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let state = w["status"].as_str().unwrap_or("").to_string();
        if !["queued", "running"].contains(&state.as_str()) {
            return w;
        }
        assert!(std::time::Instant::now() < deadline, "run still {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn create_get_list_and_delete_like_the_prototype() {
    let server = server_with_table().await;
    let (status, headers, created) = server
        .send_json(Method::POST, "/api/v1/workloads/", &body("First"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/api/v1/workloads/1")
    );
    assert_eq!(created["id"], 1);
    assert_eq!(created["status"], "created");
    assert_eq!(created["workload_type"], "wordcount");
    assert_eq!(created["src_column_name"], "word");
    assert_eq!(created["options"]["tokenizer"], "whitespace");
    assert_eq!(created["last_run"], Value::Null);
    assert!(
        created["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // Saved, then dispatched: the run is queued right after the answer.
    let done = settled(&server, 1).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["last_run"]["state"], "succeeded");
    assert_eq!(done["last_run"]["total_words"], 2);
    for path in ["/api/v1/workloads/1", "/api/v1/workloads/1/"] {
        let (status, got) = server.get_json(path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(definition(&got), definition(&created));
        assert_eq!(got, done);
    }
    let (_, total, list) = server.get_with_total("/api/v1/workloads").await;
    assert_eq!(total, Some(1));
    assert_eq!(list, json!([done]));

    let (status, _, deleted) = server
        .send_json(Method::DELETE, "/api/v1/workloads/1", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, done);
    let (status, _) = server.get_json("/api/v1/runs/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its runs went with it");
    let (status, gone) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone, json!({"detail": "Workload not found"}));
    let (status, _, again) = server
        .send_json(Method::DELETE, "/api/v1/workloads/1", &Value::Null)
        .await;
    assert_eq!(
        (status, again),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Workload not found"})
        )
    );
}

#[tokio::test]
async fn invalid_bodies_get_fastapi_style_errors() {
    let server = server_with_table().await;
    let mut missing = body("x");
    missing
        .as_object_mut()
        .expect("object")
        .remove("src_column_name");
    let (status, answer) = create(&server, &missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body.src_column_name", "missing")]);
    assert_eq!(answer["detail"][0]["msg"], "Field required");

    let (status, answer) = create(
        &server,
        &json!({"workload_type": "sum", "name": 5, "src_project": ["p"], "src_dataset": "d",
                "src_table": "t", "src_column_name": "word", "options": {"tokenizer": "regex"}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&answer),
        [
            pair("body.workload_type", "enum"),
            pair("body.name", "string_type"),
            pair("body.src_project", "string_type"),
            pair("body.options.tokenizer", "enum"),
        ]
    );
    assert!(
        answer["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("supported types are wordcount")),
        "{answer}"
    );

    let (status, answer) = create(&server, &body(&"n".repeat(201))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body.name", "string_too_long")]);
    let (status, answer) = create(&server, &body("   ")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body.name", "string_too_short")]);

    let mut options = body("x");
    options["options"] = json!({"min_length": 5000, "stopwords": "english"});
    let (status, answer) = create(&server, &options).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&answer),
        [pair("body.options.min_length", "value_error")]
    );

    let (status, answer) = create(&server, &json!([1, 2])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body", "model_attributes_type")]);

    // Nothing was stored, and the next good create still gets id 1.
    let (_, list) = server.get_json("/api/v1/workloads").await;
    assert_eq!(list, json!([]));
    let (status, created) = create(&server, &body("ok")).await;
    assert_eq!(
        (status, created["id"].clone()),
        (StatusCode::CREATED, json!(1))
    );
}

#[tokio::test]
async fn malformed_json_wrong_type_and_oversized_bodies() {
    let server = server_with_table().await;
    let url = server.url("/api/v1/workloads");
    let res = client()
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let answer: Value = res.json().await.expect("json");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Malformed JSON")),
        "{answer}"
    );

    let res = client()
        .post(&url)
        .header("content-type", "text/plain")
        .body(body("x").to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let answer: Value = res.json().await.expect("json");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("application/json"))
    );

    let mut huge = body("x");
    huge["padding"] = json!("x".repeat(2 << 20));
    let (status, answer) = create(&server, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit"))
    );

    // Chunked, so no Content-Length gives the size away up front.
    let chunks =
        futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])));
    let res = client()
        .post(&url)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn missing_sources_are_404s_naming_the_missing_part() {
    let server = server_with_table().await;
    let cases = [
        (
            ("nope", "d", "t", "word"),
            "Source project 'nope' does not exist",
        ),
        (
            ("p", "nope", "t", "word"),
            "Source dataset 'nope' does not exist in project 'p'",
        ),
        (
            ("p", "d", "x", "word"),
            "Source table 'x' does not exist in dataset 'p.d'",
        ),
        (
            ("p", "d", "t", "nope"),
            "Source column 'nope' does not exist in table 'p.d.t'",
        ),
        (
            ("../etc", "d", "t", "word"),
            "Source project '../etc' does not exist",
        ),
    ];
    for ((p, d, t, c), expected) in cases {
        let (status, answer) = create(
            &server,
            &json!({"workload_type": "wordcount", "name": "n", "src_project": p,
                    "src_dataset": d, "src_table": t, "src_column_name": c}),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{p}.{d}.{t}.{c}");
        assert_eq!(answer, json!({ "detail": expected }));
    }
    let mut numeric = body("n");
    numeric["src_column_name"] = json!("n");
    let (status, answer) = create(&server, &numeric).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body.src_column_name", "value_error")]);
    assert!(
        answer["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("integer")),
        "{answer}"
    );
}

#[tokio::test]
async fn ids_in_paths_must_be_integers() {
    let server = server_with_table().await;
    for method in [Method::GET, Method::DELETE, Method::PUT, Method::PATCH] {
        let (status, _, answer) = server
            .send_json(method.clone(), "/api/v1/workloads/abc", &body("x"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method}");
        assert_eq!(locs(&answer), [pair("path.workload_id", "int_parsing")]);
    }
    let (status, answer) = server.get_json("/api/v1/workloads/99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["detail"], "Workload not found");
}

#[tokio::test]
async fn put_replaces_and_patch_merges() {
    let server = server_with_table().await;
    server.upload_csv("p.d.other", "text\nsome words\n").await;
    let (_, created) = create(&server, &body("Original")).await;
    settled(&server, 1).await;

    let mut patch = json!({"name": "Renamed", "options": {"min_length": 3}, "extra": true});
    let (status, _, patched) = server
        .send_json(Method::PATCH, "/api/v1/workloads/1", &patch)
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["options"]["min_length"], 3);
    assert_eq!(patched["options"]["tokenizer"], "whitespace");
    assert_eq!(patched["src_table"], "t");
    assert_eq!(patched["created_at"], created["created_at"]);

    patch = json!({"src_column_name": "missing"});
    let (status, _, answer) = server
        .send_json(Method::PATCH, "/api/v1/workloads/1/", &patch)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer["detail"],
        "Source column 'missing' does not exist in table 'p.d.t'"
    );
    let (status, _, answer) = server
        .send_json(Method::PATCH, "/api/v1/workloads/1", &json!({"name": null}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&answer), [pair("body.name", "missing")]);

    // PUT is a whole definition: what it leaves out is missing, not kept.
    let (status, _, answer) = server
        .send_json(Method::PUT, "/api/v1/workloads/1", &json!({"name": "Only"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["detail"].as_array().map(Vec::len), Some(5));
    let mut full = body("Replaced");
    full["src_table"] = json!("other");
    full["src_column_name"] = json!("text");
    let (status, _, replaced) = server
        .send_json(Method::PUT, "/api/v1/workloads/1", &full)
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["src_table"], "other");
    assert_eq!(
        replaced["options"]["min_length"], 0,
        "PUT resets the options"
    );
    let (_, stored) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(definition(&stored), definition(&replaced));

    let (status, _, _) = server
        .send_json(Method::PUT, "/api/v1/workloads/7", &full)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_filter_search_sort_and_page() {
    let server = server_with_table().await;
    for name in ["Gamma", "alpha", "Beta", "Alphabet soup"] {
        let (status, _) = create(&server, &body(name)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("array")
            .iter()
            .map(|w| w["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (_, list) = server.get_json("/api/v1/workloads?sort=name").await;
    assert_eq!(names(&list), ["alpha", "Alphabet soup", "Beta", "Gamma"]);
    let (_, list) = server.get_json("/api/v1/workloads?q=ALPHA&sort=-id").await;
    assert_eq!(names(&list), ["Alphabet soup", "alpha"]);
    let (_, total, list) = server
        .get_with_total("/api/v1/workloads?limit=2&offset=1")
        .await;
    assert_eq!(total, Some(4));
    assert_eq!(names(&list), ["alpha", "Beta"]);
    for id in 1..=4 {
        settled(&server, id).await;
    }
    let (_, list) = server.get_json("/api/v1/workloads?status=succeeded").await;
    assert_eq!(list.as_array().map(Vec::len), Some(4));
    let (_, list) = server.get_json("/api/v1/workloads?status=running").await;
    assert_eq!(list, json!([]));
    let (status, answer) = server
        .get_json("/api/v1/workloads?limit=0&status=done&sort=size")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&answer),
        [
            pair("query.limit", "int_parsing"),
            pair("query.status", "enum"),
            pair("query.sort", "enum"),
        ]
    );
}

#[tokio::test]
async fn ids_are_never_reused_and_workloads_survive_a_restart() {
    let server = server_with_table().await;
    let unicode = "Сравнение — 词频 ✓ «naïve»";
    let mut with_extra = body(unicode);
    with_extra["unknown_field"] = json!({"ignored": true});
    with_extra["options"] =
        json!({"tokenizer": "spark", "case": "preserve", "stopwords": {"custom": ["the"]}});
    let (status, first) = create(&server, &with_extra).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["name"], unicode);
    assert!(first.get("unknown_field").is_none());
    let (_, second) = create(&server, &body("second")).await;
    assert_eq!(second["id"], 2);
    // Delete the newest, then restart: the prototype would hand out 2 again.
    let (status, _, _) = server
        .send_json(Method::DELETE, "/api/v1/workloads/2", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);

    let first = settled(&server, 1).await;
    let server = server.restart();
    let (status, stored) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored, first);
    let (_, third) = create(&server, &body("third")).await;
    assert_eq!(third["id"], 3);
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids_and_all_are_stored() {
    let server = server_with_table().await;
    let url = server.url("/api/v1/workloads");
    let http = client();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .json(&body(&format!("w{i}")))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), StatusCode::CREATED);
                let created: Value = res.json().await.expect("json");
                created["id"].as_u64().expect("id")
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("task"));
    }
    assert_eq!(ids.len(), 200, "200 distinct ids");
    let (_, total, stored) = server.get_with_total("/api/v1/workloads?limit=1000").await;
    assert_eq!(total, Some(200));
    let stored: HashSet<u64> = stored
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|w| w["id"].as_u64())
        .collect();
    assert_eq!(stored, ids);
}

/// The prototype lost its whole database under 16 concurrent writers. Here every
/// 201 is a stored workload, before and after a restart.
#[tokio::test]
async fn sustained_concurrent_load_loses_nothing() {
    let server = server_with_table().await;
    let url = server.url("/api/v1/workloads");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (http, url) = (client(), url.clone());
            tokio::spawn(async move {
                let mut created = 0u64;
                let mut i = 0;
                while std::time::Instant::now() < deadline {
                    i += 1;
                    let res = http
                        .post(&url)
                        .json(&body(&format!("client {c} #{i}")))
                        .send()
                        .await
                        .expect("send");
                    if res.status() == StatusCode::CREATED {
                        created += 1;
                    } else {
                        panic!("unexpected answer {}", res.status());
                    }
                    // Reads interleave with the writes.
                    if i % 4 == 0 {
                        let res = http.get(&url).send().await.expect("list");
                        assert_eq!(res.status(), StatusCode::OK);
                    }
                }
                created
            })
        })
        .collect();
    let mut acknowledged = 0;
    for task in clients {
        acknowledged += task.await.expect("client");
    }
    assert!(acknowledged > 0);
    let (status, total, _) = server.get_with_total("/api/v1/workloads?limit=1").await;
    assert_eq!((status, total), (StatusCode::OK, Some(acknowledged)));
    let server = server.restart();
    let (status, total, _) = server.get_with_total("/api/v1/workloads?limit=1").await;
    assert_eq!((status, total), (StatusCode::OK, Some(acknowledged)));
}

#[tokio::test]
async fn server_functions_validate_like_the_rest_api() {
    let server = server_with_table().await;
    let form = [
        ("form[workload_type]", "wordcount"),
        ("form[name]", "From the form"),
        ("form[src_project]", "p"),
        ("form[src_dataset]", "d"),
        ("form[src_table]", "t"),
        ("form[src_column_name]", "word"),
        ("form[tokenizer]", "words"),
        ("form[min_length]", "two"),
    ];
    let res = client()
        .post(server.url("/api/fn/workloads/create"))
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = res.json().await.expect("json");
    assert_eq!(
        error["errors"][0]["loc"],
        json!(["body", "options", "min_length"])
    );

    let mut form = form.to_vec();
    form.retain(|(k, _)| *k != "form[min_length]");
    form.push(("form[min_length]", "2"));
    let res = client()
        .post(server.url("/api/fn/workloads/create"))
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let created: Value = res.json().await.expect("json");
    assert_eq!(created["options"]["tokenizer"], "words");
    assert_eq!(created["options"]["min_length"], 2);

    let via_rest = settled(&server, 1).await;
    assert_eq!(definition(&via_rest), definition(&created));
    let res = client()
        .post(server.url("/api/fn/workloads/list"))
        .form(&[("q", "form"), ("limit", "5")])
        .send()
        .await
        .expect("send");
    let page: Value = res.json().await.expect("json");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0], via_rest);
    let res = client()
        .post(server.url("/api/fn/workloads/delete"))
        .form(&[("id", "1")])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let res = client()
        .post(server.url("/api/fn/workloads/get"))
        .form(&[("id", "1")])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_describes_every_workload_endpoint() {
    let server = TestServer::start();
    let (status, doc) = server.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/api/v1/workloads", &["get", "post"][..]),
        (
            "/api/v1/workloads/{workload_id}",
            &["get", "put", "patch", "delete"][..],
        ),
    ] {
        for method in methods {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} documented");
            assert!(op["responses"].as_object().is_some_and(|r| r.len() >= 2));
        }
    }
    let create = &paths["/api/v1/workloads"]["post"]["responses"];
    for code in ["201", "400", "404", "413", "415", "422"] {
        assert!(create[code].is_object(), "POST documents {code}");
    }
    for schema in [
        "Workload",
        "CountOptions",
        "NewWorkload",
        "ValidationErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
}

#[tokio::test]
async fn a_spark_workload_needs_a_server_with_spark() {
    let server = server_with_table().await;
    let mut spark = body("on spark");
    spark["executor"] = "spark".into();
    let (status, _, answer) = server
        .send_json(Method::POST, "/api/v1/workloads", &spark)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "executor"]));
    assert!(
        answer["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("--spark-master")),
        "{answer}"
    );
    // Native is the default, and says so.
    let (status, _, created) = server
        .send_json(Method::POST, "/api/v1/workloads", &body("native"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["executor"], "native");
}

#[tokio::test]
async fn spark_workloads_take_only_the_options_spark_reproduces() {
    // Creating a workload starts no Spark: a master that is never reached will do.
    let server = TestServer::start_args(&["--spark-master", "local[1]"]);
    server.upload_csv("p.d.t", CSV).await;
    let mut words = body("words on spark");
    words["executor"] = "spark".into();
    words["options"] = json!({"tokenizer": "words"});
    let (status, _, answer) = server
        .send_json(Method::POST, "/api/v1/workloads", &words)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["detail"][0]["loc"],
        json!(["body", "options", "tokenizer"])
    );
    let mut unknown = body("elsewhere");
    unknown["executor"] = "hadoop".into();
    let (status, _, answer) = server
        .send_json(Method::POST, "/api/v1/workloads", &unknown)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "executor"]));

    let mut fine = body("whitespace on spark");
    fine["executor"] = "spark".into();
    fine["options"] = json!({"tokenizer": "whitespace", "min_length": 2});
    let (status, _, created) = server
        .send_json(Method::POST, "/api/v1/workloads", &fine)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["executor"], "spark");
    let id = created["id"].as_u64().expect("id");
    // The run records its executor too.
    let (_, runs) = server
        .get_json(&format!("/api/v1/workloads/{id}/runs"))
        .await;
    assert_eq!(runs[0]["executor"], "spark", "{runs}");
    // A patch that leaves the executor out keeps it; one that names it changes it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, w) = server.get_json(&format!("/api/v1/workloads/{id}")).await;
        if !["queued", "running"].contains(&w["status"].as_str().unwrap_or("")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never ended: {w}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["executor"], "spark");
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"executor": "native", "options": {"tokenizer": "words"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["executor"], "native");
}
