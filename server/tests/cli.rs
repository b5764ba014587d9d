//! `tally count` and `tally import`, run as a user runs them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{TestServer, tally_bin};

fn tally(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(tally_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tally");
    // Stdin is written from its own thread while the output is read, so a large
    // input can never fill one pipe while the child blocks on the other. A child
    // that exits before reading its input (a usage error, a missing file) closes
    // the pipe first: that broken pipe is the behaviour under test, not a failure.
    let writer = child.stdin.take().map(|mut pipe| {
        let input = stdin.unwrap_or_default().to_vec();
        std::thread::spawn(move || match pipe.write_all(&input) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        })
    });
    let out = child.wait_with_output().expect("wait");
    if let Some(writer) = writer {
        writer.join().expect("stdin writer").expect("write stdin");
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn count_prints_words_most_frequent_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "The cat and the hat.\n").expect("write");
    std::fs::write(&b, "the end").expect("write");
    let (code, out, err) = tally(
        &[
            "count",
            a.to_str().expect("utf-8"),
            b.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "the 3\nand 1\ncat 1\nend 1\nhat. 1\n");

    let (_, out, _) = tally(
        &[
            "count",
            "-",
            "--tokenizer",
            "words",
            "--stopwords",
            "english",
            "--top",
            "2",
        ],
        Some(b"The cat; the CAT, a dog."),
    );
    assert_eq!(out, "cat 2\ndog 1\n");

    let (_, out, _) = tally(
        &[
            "count",
            "--format",
            "csv",
            "--case",
            "preserve",
            "--tokenizer",
            "spark",
        ],
        Some(b"a,b  a,b\n"),
    );
    assert_eq!(out, "word,count\n\"a,b\",2\n,1\n");

    let (_, out, _) = tally(
        &["count", "--format", "json", "--threads", "1"],
        Some(b"x x y \xff"),
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        doc["words"][0],
        serde_json::json!({"word": "x", "count": 2})
    );
    assert_eq!(doc["stats"]["invalid_utf8"], 1);
    assert_eq!(doc["stats"]["total_words"], 4);
}

#[test]
fn count_explains_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = tally(&["count", "/no/such/file.txt"], None);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: /no/such/file.txt: no such file");
    let (code, _, err) = tally(&["count", dir.path().to_str().expect("utf-8")], None);
    assert_eq!(code, 1);
    assert!(err.contains("is a directory"), "{err}");
    let (code, _, err) = tally(&["count", "--stopwords", "/no/list.txt"], Some(b"x"));
    assert_eq!(code, 1);
    assert!(
        err.contains("--stopwords: cannot read /no/list.txt"),
        "{err}"
    );
    let (code, _, err) = tally(&["count", "--tokenizer", "regex"], Some(b"x"));
    assert_eq!(code, 2, "a usage error");
    assert!(err.contains("invalid value 'regex'"), "{err}");
}

#[tokio::test]
async fn import_uploads_files_and_reports_refusals() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "name,age\nAnn,31\nBo,\n").expect("write");
    let url = server.base_url.clone();
    let run = move |args: Vec<String>| {
        let mut full = vec!["import".to_string()];
        full.extend(args);
        full.extend(["--server".to_string(), url.clone()]);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        tally(&refs, None)
    };
    let path = csv.to_str().expect("utf-8").to_string();
    let (code, out, err) = tokio::task::spawn_blocking({
        let (run, path) = (run.clone(), path.clone());
        move || run(vec![path, "--table".into(), "hr.staff.people".into()])
    })
    .await
    .expect("join");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "imported hr.staff.people: 2 rows, 2 columns (name string, age integer)"
    );
    let (_, table) = server
        .get_json("/api/v1/projects/hr/datasets/staff/tables/people")
        .await;
    assert_eq!(
        table["preview"],
        serde_json::json!([["Ann", 31], ["Bo", null]])
    );

    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run(vec![path, "--table".into(), "hr.staff.people".into()])
    })
    .await
    .expect("join");
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "error: the server refused the import (409): table 'hr.staff.people' already exists"
    );
}
