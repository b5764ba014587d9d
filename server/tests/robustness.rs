//! Hostile input and tired operators, against the real binary: every limit
//! answers with a clear 4xx (or 507) and stores nothing, the data directory
//! refuses a second user and a foreign database, and downloads are safe to
//! open in a spreadsheet.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{
    TestServer, client, create, files_in, rerun, state_is, tally_bin, upload_text, wait_run,
    workload,
};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const TABLES: &str = "/api/v1/projects/p/datasets/d/tables";

/// POSTs `body` as table `p.d.<table>` in `format`; returns the status and the
/// JSON answer.
async fn upload(
    server: &TestServer,
    table: &str,
    format: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    server
        .post_table(&format!("p.d.{table}"), &format!("format={format}"), body)
        .await
}

fn detail(answer: &Value) -> String {
    answer["detail"].as_str().unwrap_or_default().to_string()
}

/// The table files in the data directory (none are left by a refused import).
fn table_files(data_dir: &Path) -> Vec<String> {
    let mut names = files_in(&data_dir.join("tables"));
    names.extend(files_in(&data_dir.join("tables/.incoming")));
    names
}

/// Runs `tally` with `args` (no stdin), which must fail; returns its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new(tally_bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run tally");
    assert!(!out.status.success(), "tally {args:?} was not refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Tables in dataset `p.d` (none while the dataset does not exist).
async fn table_count(server: &TestServer) -> usize {
    let (status, tables) = server.get_json(TABLES).await;
    if status == StatusCode::NOT_FOUND {
        return 0;
    }
    assert_eq!(status, StatusCode::OK, "{tables}");
    tables.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn form_fields_past_their_limit_are_refused_however_the_body_is_sent() {
    let server = TestServer::start_args(&["--max-form-field-bytes", "1KB"]);
    for url in [
        format!("{TABLES}/fields"),
        "/api/fn/datasets/upload".to_string(),
    ] {
        let form = Form::new()
            .part("format", huge_field())
            .part("file", Part::text("a,b\n1,2\n").file_name("x.csv"));
        let res = client()
            .post(server.url(&url))
            .multipart(form)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{url}");
        let body = res.text().await.expect("body");
        assert!(body.contains("--max-form-field-bytes"), "{url}: {body}");
    }
    assert_eq!(table_count(&server).await, 0);
    assert!(table_files(&server.data_dir).is_empty());
}

/// A 32 KiB text field, streamed: the form goes chunked (no Content-Length).
/// Such a field used to be read into memory whole, whatever its size. (Small
/// enough for the client to finish sending before the server's early answer
/// closes the connection.)
fn huge_field() -> Part {
    Part::stream(reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 4096])),
    )))
}

#[tokio::test]
async fn too_many_form_parts_are_refused() {
    let server = TestServer::start_args(&["--max-form-parts", "3"]);
    let mut form = Form::new();
    for i in 0..5 {
        form = form.part(format!("f{i}"), Part::text("v"));
    }
    form = form.part("file", Part::text("a\n").file_name("x.txt"));
    let res = client()
        .post(server.url(&format!("{TABLES}/parts")))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.expect("body").contains("--max-form-parts"));
}

#[tokio::test]
async fn the_upload_function_answers_a_body_that_is_not_a_form_with_415() {
    let server = TestServer::start();
    for content_type in ["application/json", "multipart/form-data", "text/plain"] {
        let res = client()
            .post(server.url("/api/fn/datasets/upload"))
            .header("content-type", content_type)
            .body("{}")
            .send()
            .await
            .expect("post");
        assert_eq!(
            res.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type} (it was a 500 from a panic)"
        );
        let answer: Value = res.json().await.expect("json");
        assert!(detail(&answer).starts_with("file:"), "{answer}");
    }
}

#[tokio::test]
async fn a_header_of_one_name_repeated_imports_at_once() {
    let server = TestServer::start();
    // 9 000 copies of `a`: header de-duplication was cubic in this (hours).
    let header = vec!["a"; 9_000].join(",");
    let row = vec!["1"; 9_000].join(",");
    let (status, answer) = upload(&server, "wide", "csv", format!("{header}\n{row}\n")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let columns = answer["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 9_000);
    assert_eq!(columns[8_999]["name"], "a_9000");
}

#[tokio::test]
async fn columns_and_records_past_their_limits_are_refused_in_every_format() {
    let server = TestServer::start_args(&["--max-columns", "5", "--max-record-bytes", "1KB"]);
    let (status, answer) = upload(&server, "wide", "csv", "a,b,c,d,e,f\n1,2,3,4,5,6\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(detail(&answer).contains("--max-columns"), "{answer}");
    let (status, answer) = upload(
        &server,
        "wide",
        "jsonl",
        "{\"a\":1}\n{\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5}\n",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(detail(&answer).contains("--max-columns"), "{answer}");

    let long = "x".repeat(2048);
    for (format, body) in [
        ("csv", format!("a\nshort\n{long}\n")),
        (
            "jsonl",
            format!("{{\"a\":\"short\"}}\n{{\"a\":\"{long}\"}}\n"),
        ),
        ("text", format!("short\n{long}\n")),
    ] {
        let (status, answer) = upload(&server, "long", format, body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{format}: {answer}");
        assert!(
            detail(&answer).contains("--max-record-bytes"),
            "{format}: {answer}"
        );
    }
    // A record that never ends is stopped as it streams in, not after.
    let endless = reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..2048).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 64 << 10])),
    ));
    let (status, answer) = upload(&server, "endless", "text", endless).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(table_count(&server).await, 0);
    assert!(table_files(&server.data_dir).is_empty());
}

/// A Parquet file of one value repeated: a few KB that decode to over 300 MB.
fn parquet_bomb(path: &Path) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let value = "w".repeat(100);
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "text",
        arrow_schema::DataType::Utf8,
        false,
    )]));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).expect("writer");
    for _ in 0..30 {
        let column: ArrayRef = Arc::new(StringArray::from(vec![value.as_str(); 100_000]));
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).expect("batch");
        writer.write(&batch).expect("write");
    }
    writer.close().expect("close");
}

#[tokio::test]
async fn a_parquet_file_that_decodes_to_far_more_than_its_size_is_refused() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bomb.parquet");
    parquet_bomb(&path);
    let size = std::fs::metadata(&path).expect("size").len();
    assert!(size < 1 << 20, "the bomb is small: {size} bytes");
    let (status, answer) = upload(
        &server,
        "bomb",
        "parquet",
        std::fs::read(&path).expect("read"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        detail(&answer).contains("--max-parquet-expansion"),
        "{answer}"
    );
    assert_eq!(table_count(&server).await, 0);
    assert!(table_files(&server.data_dir).is_empty());
}

#[tokio::test]
async fn a_second_process_on_a_data_directory_is_refused_with_the_holders_pid() {
    let server = TestServer::start();
    let data_dir = server.data_dir.to_str().expect("utf-8").to_string();
    let stderr = refused(&["serve", "--addr", "127.0.0.1:0", "--data-dir", &data_dir]);
    assert!(
        stderr.contains("in use by another Tally process (pid "),
        "{stderr}"
    );
    let stderr = refused(&[
        "admin",
        "create-user",
        "ann",
        "--role",
        "admin",
        "--password-stdin",
        "--data-dir",
        &data_dir,
    ]);
    assert!(
        stderr.contains("in use by another Tally process"),
        "{stderr}"
    );
    // The running server is unaffected.
    let (status, _) = server.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_data_directory_paired_with_another_database_is_refused_and_keeps_its_files() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let data = data_dir.to_str().expect("utf-8");
    let server = TestServer::start_with(
        &tally_bin(),
        temp.path(),
        &["serve", "--addr", "127.0.0.1:0", "--data-dir", data],
    );
    upload_text(&server, "kept", "one two\n").await;
    assert!(server.stop().success());
    let files = table_files(&data_dir);
    assert_eq!(files.len(), 1, "{files:?}");

    // A new, empty database used to call every file unknown and delete it.
    let stderr = refused(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        data,
        "--db",
        "mem://",
    ]);
    assert!(
        stderr.contains("holds the files of another database"),
        "{stderr}"
    );
    assert_eq!(table_files(&data_dir), files, "nothing was deleted");

    // Another directory for this database is refused the other way round.
    let other = temp.path().join("other");
    let stderr = refused(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        other.to_str().expect("utf-8"),
        "--db",
        &format!("surrealkv://{data}/db"),
    ]);
    assert!(
        stderr.contains("live in another data directory"),
        "{stderr}"
    );

    // Its own database still serves the table.
    let server = TestServer::start_with(
        &tally_bin(),
        temp.path(),
        &["serve", "--addr", "127.0.0.1:0", "--data-dir", data],
    );
    let (status, _) = server.get_json(&format!("{TABLES}/kept")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn csv_downloads_defuse_cells_a_spreadsheet_would_run() {
    let server = TestServer::start();
    upload_text(
        &server,
        "formulas",
        "=HYPERLINK(\"http://x\") +1 -2 @SUM(A1) plain\n",
    )
    .await;
    create(
        &server,
        &workload(
            "formulas",
            "line",
            json!({"tokenizer": "whitespace", "case": "preserve"}),
        ),
    )
    .await;
    wait_run(&server, 1, state_is("succeeded")).await;
    let csv = client()
        .get(server.url("/api/v1/runs/1/wordcount?format=csv"))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut words: Vec<String> = reader
        .records()
        .map(|r| r.expect("record")[0].to_string())
        .collect();
    words.sort();
    assert_eq!(
        words,
        [
            "'+1",
            "'-2",
            "'=HYPERLINK(\"http://x\")",
            "'@SUM(A1)",
            "plain"
        ],
        "{csv}"
    );
    // The JSON API keeps the words as they are.
    let (_, json) = server.get_json("/api/v1/runs/1/wordcount?word=%2B1").await;
    assert_eq!(json["words"], json!([{"word": "+1", "count": 1}]));
}

#[tokio::test]
async fn event_streams_are_limited_per_client_and_given_back() {
    let server = TestServer::start_args(&["--max-event-streams-per-client", "2"]);
    let open = || async {
        client()
            .get(server.url("/api/v1/events"))
            .send()
            .await
            .expect("events")
    };
    let first = open().await;
    let second = open().await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = open().await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key("retry-after"));
    let answer: Value = third.json().await.expect("json");
    assert!(
        detail(&answer).contains("--max-event-streams-per-client"),
        "{answer}"
    );
    drop(first);
    // The server notices the closed stream at its next write (an event or a
    // keep-alive); a run's events are writes.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    upload_text(&server, "t", "a b\n").await;
    let mut n = 0;
    loop {
        n += 1;
        create(&server, &workload("t", "line", json!({}))).await;
        let again = open().await;
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back ({n} tries)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(second);
}

#[tokio::test]
async fn below_the_free_disk_reserve_imports_and_results_fail_cleanly() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let data = data_dir.to_str().expect("utf-8");
    let start = |extra: &[&str]| {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--data-dir", data];
        args.extend_from_slice(extra);
        TestServer::start_with(&tally_bin(), temp.path(), &args)
    };
    // Many distinct words: results go to files, not into the database.
    let text: String = (0..5_000).map(|i| format!("w{i} ")).collect();
    let server = start(&[]);
    upload_text(&server, "words", text).await;
    assert!(server.stop().success());

    // A reserve larger than any disk here.
    let server = start(&["--min-free-disk", "1000000GB"]);
    let (status, answer) = upload(&server, "refused", "text", "a b c\n").await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{answer}");
    assert!(detail(&answer).contains("--min-free-disk"), "{answer}");
    create(
        &server,
        &workload("words", "line", json!({"tokenizer": "whitespace"})),
    )
    .await;
    let run = wait_run(&server, 1, state_is("failed")).await;
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("--min-free-disk"),
        "{run}"
    );
    let results: Vec<_> = std::fs::read_dir(data_dir.join("results"))
        .expect("results dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(results.is_empty(), "nothing left behind: {results:?}");
    // Still serving.
    let (status, tables) = server.get_json(TABLES).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tables.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn old_runs_are_deleted_with_their_results_and_run_lists_are_paged() {
    let server = TestServer::start_args(&["--keep-runs", "2"]);
    // Results in files: more distinct words than the database keeps inline.
    let text: String = (0..3_000).map(|i| format!("w{i}\n")).collect();
    upload_text(&server, "many", text).await;
    let id = create(&server, &workload("many", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    for run in 2..=4 {
        let res = client()
            .post(server.url(&format!("/api/v1/workloads/{id}/runs")))
            .send()
            .await
            .expect("rerun");
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        wait_run(&server, run, state_is("succeeded")).await;
    }
    // Retention runs as each run ends; give the last one a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, total, runs) = server
            .get_with_total(&format!("/api/v1/workloads/{id}/runs"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<u64> = runs
            .as_array()
            .expect("runs")
            .iter()
            .filter_map(|r| r["id"].as_u64())
            .collect();
        if ids == [4, 3] {
            assert_eq!(total, Some(2));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "kept {ids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for gone in [1, 2] {
        let (status, _) = server.get_json(&format!("/api/v1/runs/{gone}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "run {gone}");
    }
    let results: Vec<String> = std::fs::read_dir(server.data_dir.join("results"))
        .expect("results")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(results.len(), 4, "two files for each kept run: {results:?}");
    assert!(
        results
            .iter()
            .all(|f| f.starts_with("run-3-") || f.starts_with("run-4-")),
        "{results:?}"
    );
    let (_, total, page) = server
        .get_with_total(&format!("/api/v1/workloads/{id}/runs?limit=1&offset=1"))
        .await;
    assert_eq!(total, Some(2));
    assert_eq!(page[0]["id"], 3);
    let (status, answer) = server
        .get_json(&format!("/api/v1/workloads/{id}/runs?limit=0"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["detail"][0]["loc"], json!(["query", "limit"]));
    // The latest result is still served.
    let (status, counts) = server
        .get_json(&format!("/api/v1/workloads/{id}/wordcount?limit=1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts["total"], 3_000);
}

#[tokio::test]
async fn a_run_timeout_beyond_the_clock_means_no_timeout() {
    // u64::MAX seconds: `Instant::now() + timeout` used to overflow and panic
    // the run's task, leaving the run `running` until its lease ran out.
    let server = TestServer::start_args(&["--run-timeout", "18446744073709551615s"]);
    upload_text(&server, "t", "a b a\n").await;
    create(&server, &workload("t", "line", json!({}))).await;
    let run = wait_run(&server, 1, state_is("succeeded")).await;
    assert_eq!(run["total_words"], 3, "{run}");
}

#[tokio::test]
async fn an_import_whose_client_went_away_stops_and_leaves_nothing() {
    // A CSV read at 6 MB/s: each of the conversion's two passes takes 8 s,
    // however fast the build and the machine.
    let server = TestServer::start_args(&["--import-read-rate", "6MB"]);
    let row = format!("{}\n", ["some words to count"; 8].join(","));
    let rows = (48 << 20) / row.len();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..rows / 1000).map(move |_| Ok::<_, std::io::Error>(row.repeat(1000))),
    ));
    let url = server.url(&format!("{TABLES}/abandoned?format=csv"));
    let upload = tokio::spawn(async move {
        let _ = client()
            .post(url)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await;
    });
    let incoming = server.data_dir.join("tables/.incoming");
    let converting = |names: &[String]| names.iter().any(|n| n.ends_with(".parquet.tmp"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !converting(&files_in(&incoming)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the conversion never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The client goes away mid-conversion.
    upload.abort();
    let _ = upload.await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = files_in(&incoming);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import went on for nobody: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The conversion itself stops (its files alone would go with the request).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut log = Vec::new();
    while !log
        .iter()
        .any(|l: &String| l.contains("import stopped: its client went away"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the conversion went on for nobody: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        log.extend(server.log_lines());
    }
    assert!(log.iter().all(|l| !l.contains("table imported")), "{log:?}");
    assert_eq!(table_count(&server).await, 0);
}

#[tokio::test]
async fn imports_past_the_concurrency_limit_wait_their_turn() {
    // The big one is read at 6 MB/s (4 s a pass), so it is surely still
    // converting when the small one arrives.
    let server =
        TestServer::start_args(&["--max-concurrent-imports", "1", "--import-read-rate", "6MB"]);
    let row = format!("{}\n", ["some words to count"; 8].join(","));
    let big: String = row.repeat((24 << 20) / row.len());
    let url = server.url(&format!("{TABLES}/big?format=csv"));
    let first = tokio::spawn(async move {
        let res = client()
            .post(url)
            .body(big)
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .expect("big upload");
        (res.status(), std::time::Instant::now())
    });
    // Once the big one is converting, it holds the only permit.
    let incoming = server.data_dir.join("tables/.incoming");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !files_in(&incoming)
        .iter()
        .any(|n| n.ends_with(".parquet.tmp"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the conversion never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _) = upload(&server, "small", "csv", "a\n1\n").await;
    let small_done = std::time::Instant::now();
    assert_eq!(status, StatusCode::CREATED);
    let (big_status, big_done) = first.await.expect("big upload task");
    assert_eq!(big_status, StatusCode::CREATED);
    assert!(
        small_done >= big_done,
        "the small import ran beside the big one instead of after it"
    );
}

#[tokio::test]
async fn parquet_files_the_fuzzer_found_are_refused_as_invalid() {
    let server = TestServer::start();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/import_parquet");
    // The first two panicked the Parquet reader (a 500 from a crashed
    // request); the third made it allocate 5 GB for its dictionary; the
    // fourth held it for six minutes skipping values past the end of a page
    // header (its footer is refused first, by the same walk); the fifth
    // began its footer inside the magic number. The last two
    // are written by hand in the same spirit: a page header with a list of
    // two billion booleans, and a footer with 200 of them (7.6 s each for
    // the reader to skip).
    for (table, file, why) in [
        (
            "offsets",
            "negative-column-offset.parquet",
            "outside the file",
        ),
        (
            "division",
            "byte-array-division-by-zero.parquet",
            "could not decode",
        ),
        (
            "dictionary",
            "dictionary-of-five-gigabytes.parquet",
            // Its dictionary page also overruns its column chunk, which the
            // walk of the page headers finds first.
            "more than its column chunk holds",
        ),
        (
            "skips",
            "page-header-skips-past-the-end.parquet",
            "its footer: Thrift field 6 is Bool where Binary belongs",
        ),
        (
            "overlap",
            "footer-over-the-magic-number.parquet",
            "its footer: Thrift field 3 is Bool where I64 belongs",
        ),
        (
            "header",
            "page-header-list-of-booleans.parquet",
            "the page header at byte 4: a Thrift collection of booleans",
        ),
        (
            "booleans",
            "footer-lists-of-booleans.parquet",
            "its footer: a Thrift collection of booleans",
        ),
    ] {
        let bytes = std::fs::read(seeds.join(file)).expect("seed");
        let (status, answer) = upload(&server, table, "parquet", bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{file}: {answer}");
        assert!(
            detail(&answer).contains("is not a valid Parquet file")
                && detail(&answer).contains(why),
            "{file}: {answer}"
        );
    }
    assert_eq!(table_count(&server).await, 0);
}

#[tokio::test]
async fn runs_older_than_the_retention_age_go_but_a_workloads_newest_stays() {
    let server = TestServer::start_args(&["--keep-results-for", "2s", "--keep-runs", "0"]);
    let text: String = (0..3_000).map(|i| format!("w{i}\n")).collect();
    upload_text(&server, "many", text).await;
    let id = create(&server, &workload("many", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    rerun(&server, id).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    // Runs 1 and 2 are past the age when run 3 ends; only run 3 is kept.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    rerun(&server, id).await;
    wait_run(&server, 3, state_is("succeeded")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, total, _) = server
            .get_with_total(&format!("/api/v1/workloads/{id}/runs"))
            .await;
        if total == Some(1) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "kept {total:?} runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for gone in [1, 2] {
        let (status, _) = server.get_json(&format!("/api/v1/runs/{gone}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "run {gone}");
    }
    let results = files_in(&server.data_dir.join("results"));
    assert!(
        results.len() == 2 && results.iter().all(|f| f.starts_with("run-3-")),
        "{results:?}"
    );
    // Past the age itself, the newest run stays through a restart (which
    // applies retention at once).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let server = server.restart();
    let (status, counts) = server
        .get_json(&format!("/api/v1/workloads/{id}/wordcount?limit=1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["total"], 3_000);
    let (status, run) = server.get_json("/api/v1/runs/3").await;
    assert_eq!(status, StatusCode::OK, "{run}");
}

/// Threads the process has now.
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

#[tokio::test]
async fn downloads_that_are_not_read_hold_no_thread() {
    use std::io::{Read, Write};

    let server = TestServer::start();
    // 300 000 distinct words: a CSV of several megabytes, far more than the
    // socket buffers of a client that stops reading take in.
    let text: String = (0..300_000).map(|i| format!("word{i:07}\n")).collect();
    upload_text(&server, "big", text).await;
    create(&server, &workload("big", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = threads_of(server.pid());

    let address = server.base_url.trim_start_matches("http://").to_string();
    let stalled: Vec<std::net::TcpStream> = (0..40)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).expect("connect");
            write!(
                stream,
                "GET /api/v1/runs/1/wordcount?format=csv HTTP/1.1\r\nHost: {address}\r\n\r\n"
            )
            .expect("request");
            let mut first = [0u8; 12];
            stream.read_exact(&mut first).expect("the answer starts");
            assert_eq!(&first, b"HTTP/1.1 200", "a download");
            stream
        })
        .collect();
    // Each group is read on a blocking thread for a moment; idle ones exit
    // after tokio's 10 s keep-alive. A download that held its thread until
    // its client read on would keep 40 of them.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let now = threads_of(server.pid());
        if now < before + 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{now} threads with 40 stalled downloads, {before} before"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Meanwhile the server answers, and a download that is read completes.
    let res = client()
        .get(server.url("/api/v1/runs/1/wordcount?format=csv"))
        .send()
        .await
        .expect("download");
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 300_001, "the header and every word");
    drop(stalled);
}
