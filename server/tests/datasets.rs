//! The catalog and imports over real HTTP, against the real binary.

mod common;

use common::{TestServer, client, tally_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BASE: &str = "/api/v1/projects";

fn table_path(reference: &str) -> String {
    let mut parts = reference.splitn(3, '.');
    let (p, d, t) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    format!("{BASE}/{p}/datasets/{d}/tables/{t}")
}

fn table_url(server: &TestServer, reference: &str) -> String {
    server.url(&table_path(reference))
}

async fn upload(
    server: &TestServer,
    reference: &str,
    query: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    server.post_table(reference, query, body).await
}

fn types(table: &Value) -> Vec<(String, String)> {
    table["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn csv_round_trips_with_inferred_types() {
    let server = TestServer::start();
    let csv = "id,name,score,ok,at,note\n1,Ann,2.5,true,2024-05-01T12:00:00Z,\n2,\"Bo, Jr.\",3,FALSE,2024-05-02,\"multi\nline\"\n";
    let (status, created) = upload(&server, "acme.sales.people", "format=csv", csv).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["row_count"], 2);
    assert_eq!(created["source_format"], "csv");
    assert_eq!(
        types(&created),
        pairs(&[
            ("id", "integer"),
            ("name", "string"),
            ("score", "float"),
            ("ok", "boolean"),
            ("at", "timestamp"),
            ("note", "string")
        ])
    );
    let (status, detail) = server.get_json(&table_path("acme.sales.people")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        detail["preview"][0],
        json!([1, "Ann", 2.5, true, "2024-05-01T12:00:00Z", null])
    );
    assert_eq!(detail["preview"][1][1], "Bo, Jr.");
    assert_eq!(detail["preview"][1][3], false);
    assert_eq!(detail["preview"][1][5], "multi\nline");
    assert!(detail["stored_bytes"].as_u64().expect("number") > 0);

    let (_, projects) = server.get_json(BASE).await;
    assert_eq!(projects[0]["name"], "acme");
    assert_eq!(projects[0]["dataset_count"], 1);
    let (_, datasets) = server.get_json(&format!("{BASE}/acme/datasets/")).await;
    assert_eq!(datasets[0]["name"], "sales");
    assert_eq!(datasets[0]["table_count"], 1);
    let (_, tables) = server
        .get_json(&format!("{BASE}/acme/datasets/sales/tables"))
        .await;
    assert_eq!(tables[0]["name"], "people");
}

#[tokio::test]
async fn csv_options_and_header_cleanup() {
    let server = TestServer::start();
    let tsv = "First Name\t2nd\tFirst Name\n'a\tb'\t7\tz\n";
    let (status, created) = upload(&server, "p.d.t", "format=csv&delimiter=tab&quote='", tsv).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        types(&created),
        pairs(&[
            ("First_Name", "string"),
            ("_2nd", "integer"),
            ("First_Name_2", "string")
        ])
    );
    let (_, detail) = server.get_json(&table_path("p.d.t")).await;
    assert_eq!(detail["preview"][0], json!(["a\tb", 7, "z"]));
}

#[tokio::test]
async fn jsonl_keeps_json_types() {
    let server = TestServer::start();
    let jsonl = "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":{\"k\":[1,2]}}\n\n{\"a\":2.5,\"e\":\"2024-01-01T00:00:00Z\"}\n";
    let (status, created) = upload(&server, "p.d.j", "", jsonl).await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no format and no file name: {created}"
    );
    let (status, created) = upload(&server, "p.d.j", "filename=events.jsonl", jsonl).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        types(&created),
        pairs(&[
            ("a", "float"),
            ("b", "string"),
            ("c", "boolean"),
            ("d", "string"),
            ("e", "timestamp")
        ])
    );
    let (_, detail) = server.get_json(&table_path("p.d.j")).await;
    assert_eq!(
        detail["preview"][0],
        json!([1.0, "x", true, "{\"k\":[1,2]}", null])
    );
    assert_eq!(
        detail["preview"][1],
        json!([2.5, null, null, null, "2024-01-01T00:00:00Z"])
    );
}

#[tokio::test]
async fn several_text_files_become_lines_with_their_source() {
    let server = TestServer::start();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::text("to be\r\n\nor not").file_name("hamlet.txt"),
        )
        .part(
            "file",
            reqwest::multipart::Part::text("hello\n").file_name("other.txt"),
        );
    let res = client()
        .post(table_url(&server, "books.plays.lines"))
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap_or("")
            .ends_with("/books/datasets/plays/tables/lines")
    );
    let created: Value = res.json().await.expect("json");
    assert_eq!(
        types(&created),
        pairs(&[("line", "string"), ("source", "string")])
    );
    assert_eq!(created["row_count"], 4);
    let (_, detail) = server.get_json(&table_path("books.plays.lines")).await;
    assert_eq!(
        detail["preview"],
        json!([
            ["to be", "hamlet.txt"],
            ["", "hamlet.txt"],
            ["or not", "hamlet.txt"],
            ["hello", "other.txt"]
        ])
    );
}

#[tokio::test]
async fn parquet_is_validated_and_kept() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
    let server = TestServer::start();
    let batch = RecordBatch::try_from_iter([
        (
            "n",
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
    ])
    .expect("batch");
    let mut bytes = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let (status, created) = upload(&server, "p.d.pq", "format=parquet", bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(types(&created), pairs(&[("n", "integer"), ("s", "string")]));
    assert_eq!(created["row_count"], 3);
    let (_, detail) = server.get_json(&table_path("p.d.pq")).await;
    assert_eq!(detail["preview"], json!([[1, "a"], [null, "b"], [3, "c"]]));

    let (status, body) = upload(&server, "p.d.bad", "format=parquet", "PAR1 but not really").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("not a valid Parquet file"),
        "{body}"
    );
}

/// The walk of the footer and page headers (`import/src/parquet_thrift`)
/// must pass what real writers write: Spark's parquet-mr (dictionary pages,
/// page statistics, encoding stats, column orders, key-value metadata), and
/// arrow-rs with many small pages and row groups and page statistics.
#[tokio::test]
async fn parquet_from_other_writers_and_of_many_pages_is_imported_whole() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    let server = TestServer::start();
    let spark = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/written-by-spark.parquet"),
    )
    .expect("fixture");
    let (status, created) = upload(&server, "p.d.spark", "format=parquet", spark).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["row_count"], 300);
    assert_eq!(
        types(&created),
        pairs(&[
            ("id", "integer"),
            ("text", "string"),
            ("score", "float"),
            ("ok", "boolean"),
            ("at", "timestamp"),
            ("corpus", "string"),
        ])
    );

    let rows = 20_000_i64;
    let batch = RecordBatch::try_from_iter([
        (
            "n",
            Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("word{}", i % 700)),
            )) as ArrayRef,
        ),
    ])
    .expect("batch");
    let props = WriterProperties::builder()
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(500)
        .set_max_row_group_row_count(Some(6_000))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))
        .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let (status, created) = upload(&server, "p.d.pages", "format=parquet", bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["row_count"], rows);
}

#[tokio::test]
async fn bad_input_gets_a_precise_error_and_stores_nothing() {
    let server = TestServer::start();
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "p.d.ragged",
            "format=csv",
            b"a,b\n1,2\n3,4,5\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "line 3: expected 2 fields",
        ),
        (
            "p.d.utf",
            "format=csv",
            b"a,b\n1,ok\n2,caf\xe9\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at byte offset 14",
        ),
        (
            "p.d.empty",
            "format=csv",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "is empty",
        ),
        (
            "p.d.fmt",
            "format=xlsx",
            b"x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported format 'xlsx'",
        ),
        (
            "p.d.ext",
            "filename=data.xlsx",
            b"x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported format 'xlsx'",
        ),
        (
            "p.d.delim",
            "format=csv&delimiter=ab",
            b"a\n1\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "delimiter: must be",
        ),
        (
            "p.d.json",
            "format=jsonl",
            b"{\"a\":1}\n[1]\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "line 2: expected a JSON object, found an array",
        ),
        (
            "p.d.json2",
            "format=jsonl",
            b"{\"a\":1}\n{oops\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "line 2: invalid JSON",
        ),
        (
            "p.d.text",
            "format=text",
            b"ok\n\xff\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "on line 2, at byte offset 3",
        ),
        (
            "p.d.bad name",
            "format=csv",
            b"a\n1\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "table: table name 'bad name' contains ' '",
        ),
        (
            "p.d.a%00b",
            "format=csv",
            b"a\n1\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "contains '\\0'",
        ),
    ];
    for (reference, query, body, want_status, want_detail) in cases {
        let (status, answer) = upload(&server, reference, query, body).await;
        assert_eq!(status, want_status, "{reference} {query}: {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(want_detail),
            "{reference} {query}: {detail:?} lacks {want_detail:?}"
        );
    }
    let (_, projects) = server.get_json(BASE).await;
    assert_eq!(projects, json!([]), "no failed import registered anything");
    let leftovers: Vec<_> = walk(&server.data_dir.join("tables"));
    assert!(
        leftovers.is_empty(),
        "no failed import left a file: {leftovers:?}"
    );

    let (status, created) = upload(
        &server,
        "p.d.utf",
        "format=csv&replace_invalid_utf8=true",
        &b"a,b\n2,caf\xe9\n"[..],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, detail) = server.get_json(&table_path("p.d.utf")).await;
    assert_eq!(detail["preview"][0][1], "caf\u{fffd}");

    let (status, answer) = upload(&server, "p.d.utf", "format=csv", "a\n1\n").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["detail"], "table 'p.d.utf' already exists");
}

/// Files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let server = TestServer::start_with(
        &tally_bin(),
        temp.path(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--max-upload-bytes",
            "64",
        ],
    );
    let (status, answer) = upload(&server, "p.d.big", "format=text", "x".repeat(65)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or("")
            .contains("limit of 64 bytes")
    );
    // A streamed body without Content-Length is cut off at the limit too.
    let chunks =
        futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 10])));
    let res = client()
        .post(format!("{}?format=text", table_url(&server, "p.d.big")))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(walk(&data.join("tables")).is_empty());
}

#[tokio::test]
async fn missing_names_say_which_part_is_missing() {
    let server = TestServer::start();
    upload(&server, "p.d.t", "format=text", "x\n").await;
    let cases = [
        (
            format!("{BASE}/nope/datasets"),
            "Project 'nope' does not exist",
        ),
        (
            format!("{BASE}/p/datasets/nope/tables"),
            "Dataset 'nope' does not exist in project 'p'",
        ),
        (
            format!("{BASE}/p/datasets/d/tables/nope"),
            "Table 'nope' does not exist in dataset 'p.d'",
        ),
        (
            format!("{BASE}/nope/datasets/d/tables/t"),
            "Project 'nope' does not exist",
        ),
        (
            format!("{BASE}/p/datasets/%2e%2e/tables/t"),
            "Dataset '..' does not exist in project 'p'",
        ),
        (
            format!("{BASE}/p/datasets/d/tables/..%2F..%2Fetc"),
            "Table '../../etc' does not exist in dataset 'p.d'",
        ),
        (
            format!("{BASE}/p/datasets/d/tables/a%00b"),
            "Table 'a\0b' does not exist in dataset 'p.d'",
        ),
        (
            format!("{BASE}/{}/datasets", "x".repeat(300)),
            "does not exist",
        ),
    ];
    for (path, want) in cases {
        // Sent byte for byte: an HTTP client library would resolve `%2e%2e` itself.
        let (status, body) = raw_get(&server, &path);
        assert_eq!(status, 404, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert!(
            body["detail"].as_str().unwrap_or("").contains(want),
            "{path}: {body}"
        );
    }
}

/// A GET with the path exactly as given; returns the status and the body.
fn raw_get(server: &TestServer, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = server.base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // The body may be chunked: keep the JSON object only.
    let json = body
        .find('{')
        .and_then(|a| body.rfind('}').map(|b| &body[a..=b]))
        .unwrap_or(body);
    (status, json.to_string())
}

#[tokio::test]
async fn delete_removes_the_table_and_its_file() {
    let server = TestServer::start();
    upload(&server, "p.d.t", "format=text", "x\ny\n").await;
    assert_eq!(walk(&server.data_dir.join("tables")).len(), 1);
    let res = client()
        .delete(table_url(&server, "p.d.t"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let deleted: Value = res.json().await.expect("json");
    assert_eq!(deleted["row_count"], 2);
    let (status, _) = server.get_json(&table_path("p.d.t")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(walk(&server.data_dir.join("tables")).is_empty());
    let again = client()
        .delete(table_url(&server, "p.d.t"))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tables_survive_a_restart_and_strays_are_swept() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().expect("utf-8"),
    ];
    let server = TestServer::start_with(&tally_bin(), temp.path(), &args);
    let (status, _) = upload(&server, "p.d.t", "format=csv", "w,n\nhello,1\nworld,2\n").await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, before) = server.get_json(&table_path("p.d.t")).await;
    assert!(server.stop().success());

    // What a killed import leaves: a half-written file and an unregistered table file.
    std::fs::write(
        data.join("tables/.incoming/0190a0a0-0000-7000-8000-000000000001.upload"),
        b"half",
    )
    .expect("write");
    std::fs::write(
        data.join("tables/0190a0a0-0000-7000-8000-000000000002.parquet"),
        b"orphan",
    )
    .expect("write");

    let server = TestServer::start_with(&tally_bin(), temp.path(), &args);
    let (status, after) = server.get_json(&table_path("p.d.t")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before, after);
    assert_eq!(
        walk(&data.join("tables")).len(),
        1,
        "only the registered table file is left"
    );
}
