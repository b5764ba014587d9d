//! Runs end to end: the dispatcher, cancellation, timeouts, crash recovery and
//! the results API, over real HTTP against the real binary.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    TestServer, client, create, finished, gunzip, state_is, tally_bin, upload_text, wait_run,
    workload,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TEXT: &str =
    "The cat sat on the mat.\nthe Cat, the hat!\n\n  spaced   out  \nÜber über ÜBER\n";

/// `tally count` of `text` (as a file) with `flags`: its JSON answer.
fn tally_count(text: &str, flags: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("text.txt");
    std::fs::write(&file, text).expect("write");
    let out = Command::new(tally_bin())
        .arg("count")
        .args(flags)
        .args(["--format", "json"])
        .arg(&file)
        .output()
        .expect("tally count");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A text table big enough that a run takes a noticeable time.
/// How fast the tests that must catch a run under way let it read: a
/// release build counts a 120 MB table in well under a second, too soon to
/// see it running on a loaded machine; at this rate it takes 6 s.
const SLOW_READS: [&str; 2] = ["--run-read-rate", "20MB"];

async fn upload_big(server: &TestServer, table: &str, megabytes: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.txt");
    tally_engine::corpus::write_text(&path, megabytes << 20).expect("corpus");
    let file = tokio::fs::File::open(&path).await.expect("open");
    upload_text(server, table, file).await;
}

#[tokio::test]
async fn a_run_goes_from_queued_to_succeeded_with_the_counts_of_tally_count() {
    let server = TestServer::start();
    upload_text(&server, "small", TEXT).await;
    let options = json!({"tokenizer": "words", "case": "lower"});
    let id = create(&server, &workload("small", "line", options)).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["workload_id"], id);
    assert_eq!(run["attempt"], 1);
    assert_eq!(run["source"], "p.d.small.line");
    assert_eq!(run["progress"]["fraction"], 1.0);
    assert!(run["timings"]["total_secs"].as_f64().is_some());
    let log: Vec<&str> = run["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert_eq!(log.first(), Some(&"queued"));
    assert!(
        log.iter()
            .any(|m| m.starts_with("reading p.d.small.line: 5 rows")),
        "{log:?}"
    );
    assert!(
        log.last().is_some_and(|m| m.starts_with("succeeded")),
        "{log:?}"
    );

    // The same text through `tally count` gives the same counts.
    let cli = tally_count(TEXT, &["--tokenizer", "words"]);
    let (status, page) = server
        .get_json("/api/v1/workloads/1/wordcount?limit=1000")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["words"], cli["words"]);
    assert_eq!(page["total"], cli["stats"]["distinct_words"]);
    assert_eq!(run["total_words"], cli["stats"]["total_words"]);
    let (_, w) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(w["status"], "succeeded");
    assert_eq!(w["last_run"]["id"], 1);
}

#[tokio::test]
async fn an_ngram_workload_counts_the_word_pairs_within_each_value() {
    let server = TestServer::start();
    // Each line is a value: no pair spans two ("sat the", "ran and" must not
    // appear), and stopwords go before the pairs are formed.
    let text = "the cat sat\nThe cat ran\nand the cat\nalone\n";
    upload_text(&server, "pairs", text).await;
    let mut body = workload("pairs", "line", json!({"n": 2}));
    body["workload_type"] = json!("ngram");
    let id = create(&server, &body).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["workload_type"], "ngram");
    assert_eq!(run["options"]["n"], 2);
    let (_, page) = server.get_json("/api/v1/runs/1/wordcount?limit=100").await;
    assert_eq!(
        page["words"],
        json!([
            {"word": "the cat", "count": 3},
            {"word": "and the", "count": 1},
            {"word": "cat ran", "count": 1},
            {"word": "cat sat", "count": 1},
        ])
    );
    assert_eq!(run["total_words"], 6);
    // `tally count --ngram 2` of the same text gives the same pairs.
    let cli = tally_count(text, &["--ngram", "2"]);
    assert_eq!(page["words"], cli["words"]);

    // With English stopwords, "and" and "the" go first: "cat sat" and "cat
    // ran" stay, and the third line has no pair left.
    let (status, _, _) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"options": {"stopwords": "english"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    common::rerun(&server, id).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    let (_, page) = server.get_json("/api/v1/runs/2/wordcount?limit=100").await;
    assert_eq!(
        page["words"],
        json!([{"word": "cat ran", "count": 1}, {"word": "cat sat", "count": 1}])
    );

    // Only an n-gram workload takes n, and it needs one.
    let mut extra = workload("pairs", "line", json!({"n": 2}));
    extra["name"] = json!("words with n");
    let (status, _, answer) = server
        .send_json(Method::POST, "/api/v1/workloads", &extra)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "options", "n"]));
    let mut missing = body.clone();
    missing["options"] = json!({"n": 9});
    let (status, _, answer) = server
        .send_json(Method::POST, "/api/v1/workloads", &missing)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "options", "n"]));
}

const PLAYS_CSV: &str = "play,year,act,text
hamlet,1600,1,to be or not
hamlet,1600,2,to be
macbeth,1606,1,out damned spot
lear,1605,1,nothing will come of nothing
,1600,1,orphan line
";

/// The words of run `run`, most frequent first.
async fn words_of(server: &TestServer, run: u64) -> Value {
    let (_, page) = server
        .get_json(&format!("/api/v1/runs/{run}/wordcount?limit=100"))
        .await;
    page["words"].clone()
}

#[tokio::test]
async fn a_row_filter_counts_only_the_rows_it_keeps() {
    let server = TestServer::start();
    common::upload_as(&server, "plays", "csv", PLAYS_CSV).await;
    let (_, table) = server
        .get_json("/api/v1/projects/p/datasets/d/tables/plays")
        .await;
    assert_eq!(
        table["columns"][1],
        json!({"name": "year", "type": "integer"}),
        "{table}"
    );
    let mut body = workload("plays", "text", json!({}));
    body["filter"] = json!({"play": "hamlet"});
    let id = create(&server, &body).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["filter"], json!({"play": {"eq": "hamlet"}}));
    assert!(
        common::log_of(&run).contains("the filter kept 2 of 5 rows"),
        "{}",
        common::log_of(&run)
    );
    assert_eq!(
        words_of(&server, 1).await,
        json!([
            {"word": "be", "count": 2}, {"word": "to", "count": 2},
            {"word": "not", "count": 1}, {"word": "or", "count": 1},
        ])
    );
    let (_, stored) = server.get_json(&format!("/api/v1/workloads/{id}")).await;
    assert_eq!(stored["filter"], json!({"play": {"eq": "hamlet"}}));

    // A merge patch drops one column's conditions and adds a range; the value
    // is stored in its column's type, whatever type it was sent as.
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"filter": {"play": null, "year": {"gte": "1605"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["filter"], json!({"year": {"gte": 1605}}));
    common::rerun(&server, id).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    let words = words_of(&server, 2).await;
    assert_eq!(words[0], json!({"word": "nothing", "count": 2}), "{words}");
    assert_eq!(
        words.as_array().map(Vec::len),
        Some(7),
        "macbeth and lear: {words}"
    );

    // The text form, as the UI's form sends it: a list and a second column.
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"filter": "play in macbeth, \"hamlet\"\nact = 2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["filter"],
        json!({"act": {"eq": 2}, "play": {"in": ["macbeth", "hamlet"]}})
    );
    common::rerun(&server, id).await;
    wait_run(&server, 3, state_is("succeeded")).await;
    assert_eq!(
        words_of(&server, 3).await,
        json!([{"word": "be", "count": 1}, {"word": "to", "count": 1}])
    );

    // A filter that keeps no row is a succeeded run with nothing counted;
    // null (the orphan line's play) never meets a condition.
    for (run, filter) in [(4, json!({"play": "othello"})), (5, json!({"play": ""}))] {
        let (status, _, answer) = server
            .send_json(
                Method::PATCH,
                &format!("/api/v1/workloads/{id}"),
                &json!({"filter": filter}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        common::rerun(&server, id).await;
        let run = wait_run(&server, run, finished).await;
        assert_eq!(run["state"], "succeeded", "{run}");
        assert_eq!(
            (run["total_words"].as_u64(), run["distinct_words"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(
            words_of(&server, run["id"].as_u64().unwrap_or(0)).await,
            json!([])
        );
    }

    // `"filter": null` removes it: every row again.
    let (status, _, cleared) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"filter": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["filter"], json!({}));
    common::rerun(&server, id).await;
    let run = wait_run(&server, 6, state_is("succeeded")).await;
    assert_eq!(run["total_words"], 16);
}

/// The rows of a CSV download, each as its cells.
async fn csv_rows(server: &TestServer, path: &str) -> Vec<Vec<String>> {
    let res = client().get(server.url(path)).send().await.expect("csv");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let text = res.text().await.expect("text");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(String::from).collect())
        .collect()
}

#[tokio::test]
async fn counts_per_group_list_each_group_and_answer_each_as_a_result_of_its_own() {
    let server = TestServer::start();
    let plays = format!("{PLAYS_CSV}=HYPERLINK(1),1610,1,formula play\n");
    common::upload_as(&server, "plays", "csv", plays).await;
    let mut body = workload("plays", "text", json!({}));
    body["group_by"] = json!("play");
    let id = create(&server, &body).await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["group_by"], "play");
    assert_eq!(run["total_words"], 18, "every group together: {run}");
    assert!(
        common::log_of(&run).contains("5 groups by play"),
        "{}",
        common::log_of(&run)
    );

    // Groups in the order of their values, the nulls (the orphan line) last.
    let (status, total, groups) = server.get_with_total("/api/v1/runs/1/groups").await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    assert_eq!(total, Some(5));
    assert_eq!(
        groups["groups"],
        json!([
            {"group": "=HYPERLINK(1)", "total_words": 2, "distinct_words": 2},
            {"group": "hamlet", "total_words": 6, "distinct_words": 4},
            {"group": "lear", "total_words": 5, "distinct_words": 4},
            {"group": "macbeth", "total_words": 3, "distinct_words": 3},
            {"group": null, "total_words": 2, "distinct_words": 2},
        ])
    );
    assert_eq!(groups["group_by"], "play");
    let (_, second) = server
        .get_json("/api/v1/runs/1/groups?offset=1&limit=1")
        .await;
    assert_eq!(second["groups"][0]["group"], "hamlet");

    // One group's counts answer as a run's do: pages, prefixes, words.
    let (_, hamlet) = server
        .get_json("/api/v1/runs/1/wordcount?group=hamlet")
        .await;
    assert_eq!(
        hamlet["words"],
        json!([
            {"word": "be", "count": 2}, {"word": "to", "count": 2},
            {"word": "not", "count": 1}, {"word": "or", "count": 1},
        ])
    );
    assert_eq!(hamlet["total"], 4);
    let (_, prefixed) = server
        .get_json("/api/v1/workloads/1/wordcount?group=lear&q=no&order=word")
        .await;
    assert_eq!(prefixed["words"], json!([{"word": "nothing", "count": 2}]));
    let (_, nulls) = server
        .get_json("/api/v1/runs/1/wordcount?null_group=true")
        .await;
    assert_eq!(
        nulls["words"],
        json!([{"word": "line", "count": 1}, {"word": "orphan", "count": 1}])
    );
    // Without a group: every group together, as an ungrouped run counts.
    let (_, all) = server.get_json("/api/v1/runs/1/wordcount?limit=3").await;
    assert_eq!(all["total"], 15);
    assert_eq!(all["words"][0], json!({"word": "be", "count": 2}));

    // A group the run does not have, or two at once.
    let (status, missing) = server
        .get_json("/api/v1/runs/1/wordcount?group=othello")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert!(
        missing["detail"]
            .as_str()
            .is_some_and(|d| d.contains("'othello'")),
        "{missing}"
    );
    let (status, both) = server
        .get_json("/api/v1/runs/1/wordcount?group=hamlet&null_group=true")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{both}");
    assert_eq!(both["detail"][0]["loc"], json!(["query", "null_group"]));

    // The download has a group column (a formula-like value kept as text,
    // the nulls' group empty); one group's download only its rows.
    let rows = csv_rows(&server, "/api/v1/runs/1/wordcount?format=csv").await;
    assert_eq!(rows[0], ["group", "word", "count"]);
    assert_eq!(rows.len(), 1 + 2 + 4 + 4 + 3 + 2, "{rows:?}");
    assert_eq!(rows[1][0], "'=HYPERLINK(1)");
    assert_eq!(rows[3], ["hamlet", "be", "2"]);
    assert_eq!(rows.last().map(|r| r[0].as_str()), Some(""));
    let rows = csv_rows(&server, "/api/v1/runs/1/wordcount?format=csv&group=macbeth").await;
    assert_eq!(
        rows,
        [
            ["group", "word", "count"],
            ["macbeth", "damned", "1"],
            ["macbeth", "out", "1"],
            ["macbeth", "spot", "1"],
        ]
    );
    let res = client()
        .get(server.url("/api/v1/runs/1/wordcount?format=csv&group=othello"))
        .send()
        .await
        .expect("csv");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "refused before the download starts"
    );

    // Grouped by a number, after a filter: only the rows kept make groups.
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"group_by": "year", "filter": {"play": {"in": ["hamlet", "lear"]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["group_by"], "year");
    common::rerun(&server, id).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    let (_, years) = server.get_json("/api/v1/runs/2/groups").await;
    assert_eq!(
        years["groups"],
        json!([
            {"group": "1600", "total_words": 6, "distinct_words": 4},
            {"group": "1605", "total_words": 5, "distinct_words": 4},
        ])
    );

    // Runs grouped alike compare, group by group; others do not.
    let (status, compared) = server.get_json("/api/v1/runs/1/compare/2?group=1600").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "play against year: {compared}"
    );
    assert!(
        compared["detail"]
            .as_str()
            .is_some_and(|d| d.contains("grouped alike")),
        "{compared}"
    );

    // `"group_by": null` counts the rows together again.
    let (status, _, cleared) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"group_by": null, "filter": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["group_by"], Value::Null);
    common::rerun(&server, id).await;
    let run = wait_run(&server, 3, state_is("succeeded")).await;
    assert_eq!(run["group_by"], Value::Null);
    let (status, none) = server.get_json("/api/v1/runs/3/groups").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{none}");
    let (status, _) = server
        .get_json("/api/v1/runs/3/wordcount?group=hamlet")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn grouped_ngrams_compare_within_a_group_and_too_many_groups_fail_the_run() {
    let server = TestServer::start_args(&["--max-groups", "3"]);
    common::upload_as(&server, "plays", "csv", PLAYS_CSV).await;
    let mut body = workload("plays", "text", json!({"n": 2}));
    body["workload_type"] = json!("ngram");
    body["group_by"] = json!("act");
    let id = create(&server, &body).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    let (_, act2) = server.get_json("/api/v1/runs/1/wordcount?group=2").await;
    assert_eq!(act2["words"], json!([{"word": "to be", "count": 1}]));
    common::rerun(&server, id).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    let (status, compared) = server
        .get_json("/api/v1/runs/1/compare/2?group=1&kind=unchanged")
        .await;
    assert_eq!(status, StatusCode::OK, "{compared}");
    // Act 1: hamlet's, macbeth's, lear's and the orphan line's bigrams.
    assert_eq!(compared["total"], 3 + 2 + 4 + 1, "{compared}");
    let (status, missing) = server.get_json("/api/v1/runs/1/compare/2?group=9").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    // Grouped by play, the table has four groups (three plays and the
    // nulls): past --max-groups 3 the run fails saying so.
    let (status, _, patched) = server
        .send_json(
            Method::PATCH,
            &format!("/api/v1/workloads/{id}"),
            &json!({"group_by": "play"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    common::rerun(&server, id).await;
    let run = wait_run(&server, 3, finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("'play' has more than 3 distinct values") && error.contains("--max-groups"),
        "{error}"
    );
}

#[tokio::test]
async fn a_grouping_that_does_not_fit_the_table_is_refused_naming_the_field() {
    let server = TestServer::start();
    common::upload_as(&server, "plays", "csv", PLAYS_CSV).await;
    for (group_by, says) in [
        (
            json!("genre"),
            "'genre' does not exist in table 'p.d.plays': its columns are play, year, act, text",
        ),
        (json!(" "), "name a column"),
        (json!(7), "a column name"),
        (json!("x".repeat(1001)), "at most 1000 characters"),
    ] {
        let mut body = workload("plays", "text", json!({}));
        body["group_by"] = group_by.clone();
        let (status, _, answer) = server
            .send_json(Method::POST, "/api/v1/workloads", &body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{group_by}: {answer}"
        );
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", "group_by"]),
            "{answer}"
        );
        let msg = answer["detail"][0]["msg"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "{group_by}: {msg}");
    }
    let (_, listed) = server.get_json("/api/v1/workloads").await;
    assert_eq!(listed, json!([]), "nothing of a refused workload is stored");
}

#[tokio::test]
async fn a_row_filter_that_does_not_fit_the_table_is_refused_naming_column_and_problem() {
    let server = TestServer::start();
    common::upload_as(&server, "plays", "csv", PLAYS_CSV).await;
    for (filter, loc, says) in [
        (
            json!({"genre": "comedy"}),
            json!(["body", "filter", "genre"]),
            "'genre' does not exist in table 'p.d.plays'",
        ),
        (
            json!({"year": "sixteen hundred"}),
            json!(["body", "filter", "year", "eq"]),
            "not a whole number",
        ),
        (
            json!({"play": {"gt": "a"}}),
            json!(["body", "filter", "play", "gt"]),
            "applies to integer",
        ),
        (
            json!({"play": {"like": "ham%"}}),
            json!(["body", "filter", "play", "like"]),
            "Unknown operator 'like'",
        ),
        (
            json!("play hamlet"),
            json!(["body", "filter"]),
            "Line 1 ('play hamlet')",
        ),
        (
            json!([1]),
            json!(["body", "filter"]),
            "object of column conditions",
        ),
    ] {
        let mut body = workload("plays", "text", json!({}));
        body["filter"] = filter.clone();
        let (status, _, answer) = server
            .send_json(Method::POST, "/api/v1/workloads", &body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{filter}: {answer}"
        );
        assert_eq!(answer["detail"][0]["loc"], loc, "{filter}: {answer}");
        let msg = answer["detail"][0]["msg"].as_str().unwrap_or("");
        assert!(msg.contains(says), "{filter}: {msg}");
    }
    // Nothing was stored, and no id was used up.
    let (_, list) = server.get_json("/api/v1/workloads").await;
    assert_eq!(list, json!([]));
    let id = create(&server, &workload("plays", "text", json!({}))).await;
    assert_eq!(id, 1);
}

#[tokio::test]
async fn two_runs_compare_term_by_term_with_paging_search_and_csv() {
    let server = TestServer::start();
    common::upload_as(&server, "plays", "csv", PLAYS_CSV).await;
    // Before: Hamlet's first act. After: all of Hamlet, and Macbeth.
    let mut first = workload("plays", "text", json!({}));
    first["filter"] = json!({"play": "hamlet", "act": 1});
    create(&server, &first).await;
    let mut second = workload("plays", "text", json!({}));
    second["name"] = json!("two plays");
    second["filter"] = json!({"play": {"in": ["hamlet", "macbeth"]}});
    create(&server, &second).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    wait_run(&server, 2, state_is("succeeded")).await;

    let (status, page) = server.get_json("/api/v1/runs/1/compare/2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["summary"],
        json!({"new": 3, "vanished": 0, "changed": 2, "unchanged": 2})
    );
    assert_eq!(page["before"]["run_id"], 1);
    assert_eq!(page["after"]["workload_name"], "two plays");
    assert_eq!(
        (
            page["before"]["total_words"].as_u64(),
            page["after"]["total_words"].as_u64()
        ),
        (Some(4), Some(9))
    );
    let words = |page: &Value| -> Vec<String> {
        page["terms"]
            .as_array()
            .map(|terms| {
                terms
                    .iter()
                    .map(|t| t["word"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // The largest rise first, ties by term; unchanged terms last.
    assert_eq!(
        words(&page),
        ["be", "damned", "out", "spot", "to", "not", "or"]
    );
    assert_eq!(
        page["terms"][0],
        json!({"word": "be", "before": 1, "after": 2, "change": 1, "relative": 1.0})
    );
    assert_eq!(
        page["terms"][1]["relative"],
        Value::Null,
        "a new term has no relative change"
    );
    let (_, relative) = server
        .get_json("/api/v1/runs/1/compare/2?order=relative&limit=4")
        .await;
    assert_eq!(words(&relative), ["damned", "out", "spot", "be"]);
    assert_eq!(relative["total"], 7);
    let (_, new) = server
        .get_json("/api/v1/runs/1/compare/2?kind=new&order=word&offset=1")
        .await;
    assert_eq!(words(&new), ["out", "spot"]);
    assert_eq!(new["total"], 3);
    let (_, prefix) = server.get_json("/api/v1/runs/1/compare/2?q=o").await;
    assert_eq!(words(&prefix), ["out", "or"]);
    // The other way round, what was new has vanished.
    let (_, back) = server
        .get_json("/api/v1/runs/2/compare/1?order=-change&kind=vanished")
        .await;
    assert_eq!(words(&back), ["damned", "out", "spot"]);
    assert_eq!(back["terms"][0]["relative"], -1.0);

    // The whole comparison as CSV, in the order asked.
    let res = client()
        .get(server.url("/api/v1/runs/1/compare/2?format=csv&order=word&kind=changed"))
        .send()
        .await
        .expect("csv");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .contains("run-1-vs-run-2.csv")
    );
    assert_eq!(
        res.text().await.expect("body"),
        "word,before,after,change,relative\nbe,1,2,1,1.000000\nto,1,2,1,1.000000\n"
    );

    // Runs that count different terms do not compare, nor do missing runs or
    // bad parameters.
    let mut pairs = workload("plays", "text", json!({"n": 2}));
    pairs["workload_type"] = json!("ngram");
    pairs["name"] = json!("pairs");
    create(&server, &pairs).await;
    wait_run(&server, 3, state_is("succeeded")).await;
    let (status, refused) = server.get_json("/api/v1/runs/1/compare/3").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or("")
            .contains("counts words and run 3 counts 2-word n-grams"),
        "{refused}"
    );
    let (status, _) = server.get_json("/api/v1/runs/1/compare/99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, invalid) = server
        .get_json("/api/v1/runs/1/compare/x?order=up&kind=gone")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");
    assert_eq!(invalid["detail"][0]["loc"], json!(["path", "other_run_id"]));
    let (status, invalid) = server.get_json("/api/v1/runs/1/compare/2?order=up").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");
    assert_eq!(invalid["detail"][0]["loc"], json!(["query", "order"]));
}

#[tokio::test]
async fn results_page_search_order_and_download() {
    let server = TestServer::start();
    upload_text(&server, "small", TEXT).await;
    create(
        &server,
        &workload(
            "small",
            "line",
            json!({"tokenizer": "spark", "case": "preserve"}),
        ),
    )
    .await;
    wait_run(&server, 1, state_is("succeeded")).await;
    let (_, all) = server
        .get_json("/api/v1/runs/1/wordcount?limit=10000")
        .await;
    let words = all["words"].as_array().expect("words").clone();
    // spark: split on ' ' only, case kept, empty strings counted.
    assert_eq!(words[0], json!({"word": "", "count": 7}));
    assert!(words.contains(&json!({"word": "the", "count": 3})));
    assert!(words.contains(&json!({"word": "Cat,", "count": 1})));

    let (_, total, page) = server
        .get_with_total("/api/v1/runs/1/wordcount?q=Th&order=word&limit=1")
        .await;
    assert_eq!(total, Some(1));
    // Case-sensitive: "The" and "The"-prefixed words only, in word order.
    assert_eq!(page["words"], json!([{"word": "The", "count": 1}]));
    let (_, exact) = server.get_json("/api/v1/runs/1/wordcount?word=über").await;
    assert_eq!(exact["words"], json!([{"word": "über", "count": 1}]));
    let (_, second) = server
        .get_json("/api/v1/runs/1/wordcount?offset=1&limit=2")
        .await;
    assert_eq!(second["words"], json!(words[1..3]));
    let (status, bad) = server
        .get_json("/api/v1/runs/1/wordcount?limit=0&order=size")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    // The runs/words server function reads the same query: the same page,
    // and the same refusals at the same parameters (it used to clamp them).
    let words_fn = |form: &[(&str, &str)]| {
        let mut form = form.to_vec();
        form.push(("run_id", "1"));
        client()
            .post(server.url("/api/fn/runs/words"))
            .form(&form)
            .send()
    };
    let res = words_fn(&[("offset", "1"), ("limit", "2")])
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.expect("json");
    assert_eq!(page["words"], second["words"]);
    for (form, field) in [
        (&[("limit", "0")][..], "limit"),
        (&[("limit", "10001")][..], "limit"),
        (&[("order", "size")][..], "order"),
        (&[("group", "a"), ("null_group", "true")][..], "null_group"),
    ] {
        let res = words_fn(form).await.expect("send");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        let error: Value = res.json().await.expect("json");
        assert_eq!(
            error["errors"][0]["loc"],
            json!(["query", field]),
            "{error}"
        );
        let (_, rest) = server
            .get_json(&format!(
                "/api/v1/runs/1/wordcount?{}",
                form.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            ))
            .await;
        assert_eq!(rest["detail"][0]["loc"], json!(["query", field]), "{rest}");
    }

    let res = client()
        .get(server.url("/api/v1/workloads/1/wordcount?format=csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok()),
        Some("attachment; filename=\"workload-1-run-1-wordcount.csv\"")
    );
    let csv = res.text().await.expect("text");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<Value> = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            json!({"word": &r[0], "count": r[1].parse::<u64>().expect("count")})
        })
        .collect();
    assert_eq!(rows, words);
    // Compressed for a client that asks, streamed to its end.
    let (coding, gzipped) = server
        .get_encoded("/api/v1/workloads/1/wordcount?format=csv", "gzip")
        .await;
    assert_eq!(coding, "gzip");
    assert_eq!(gunzip(&gzipped), csv);
    let (status, _) = server.get_json("/api/v1/runs/9/wordcount").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rerun_cancel_while_queued_and_while_running() {
    let server = TestServer::start_args(&SLOW_READS);
    upload_big(&server, "big", 120).await;
    upload_text(&server, "small", TEXT).await;
    create(&server, &workload("big", "line", json!({}))).await;
    let running = wait_run(&server, 1, |r| r["state"] != "queued").await;
    assert_eq!(running["state"], "running", "{running}");
    // One worker: the second workload's run waits behind the first.
    create(&server, &workload("small", "line", json!({}))).await;
    let (status, _, queued) = server
        .send_json(Method::POST, "/api/v1/runs/2/cancel", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queued["state"], "cancelled");
    assert!(queued["timings"].is_null(), "never started: {queued}");
    let (_, w2) = server.get_json("/api/v1/workloads/2").await;
    assert_eq!(w2["status"], "cancelled");

    // A second run of a busy workload is refused.
    let (status, _, _) = server
        .send_json(Method::POST, "/api/v1/workloads/1/runs", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let asked = Instant::now();
    let (status, _, _) = server
        .send_json(Method::POST, "/api/v1/runs/1/cancel", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let cancelled = wait_run(&server, 1, finished).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        asked.elapsed()
    );
    // How long it ran until the cancel is kept, as for a success.
    let timings = &cancelled["timings"];
    let count_secs = timings["count_secs"].as_f64().expect("count time");
    assert!(count_secs > 0.0, "{timings}");
    assert_eq!(timings["store_secs"], 0.0, "{timings}");
    assert!(
        timings["total_secs"].as_f64() >= Some(count_secs),
        "{timings}"
    );
    let (_, w1) = server.get_json("/api/v1/workloads/1").await;
    assert_eq!(w1["last_run"]["duration_secs"], timings["total_secs"]);
    let (status, _) = server.get_json("/api/v1/runs/1/wordcount").await;
    assert_eq!(status, StatusCode::CONFLICT, "no partial results");
    let (status, _, _) = server
        .send_json(Method::POST, "/api/v1/runs/1/cancel", &Value::Null)
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a finished run cannot be cancelled"
    );

    // Re-run the small workload: a new run, the history keeps the old one.
    let (status, headers, rerun) = server
        .send_json(Method::POST, "/api/v1/workloads/2/runs/", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{rerun}");
    let new_id = rerun["id"].as_u64().expect("id");
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/runs/{new_id}").as_str())
    );
    wait_run(&server, new_id, state_is("succeeded")).await;
    let (_, runs) = server.get_json("/api/v1/workloads/2/runs").await;
    let states: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["state"].as_str())
        .collect();
    assert_eq!(states, ["succeeded", "cancelled"]);
}

#[tokio::test]
async fn a_run_past_its_timeout_fails() {
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
            "--run-timeout",
            "1s",
            SLOW_READS[0],
            SLOW_READS[1],
        ],
    );
    upload_big(&server, "big", 60).await;
    create(
        &server,
        &workload("big", "line", json!({"tokenizer": "words"})),
    )
    .await;
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["error"], "timed out after 1 s");
}

#[tokio::test]
async fn a_run_whose_source_was_deleted_fails_clearly() {
    let server = TestServer::start();
    upload_text(&server, "small", TEXT).await;
    create(&server, &workload("small", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    let res = client()
        .delete(server.url("/api/v1/projects/p/datasets/d/tables/small"))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _, rerun) = server
        .send_json(Method::POST, "/api/v1/workloads/1/runs", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = rerun["id"].as_u64().expect("id");
    let run = wait_run(&server, id, finished).await;
    assert_eq!(run["state"], "failed");
    assert_eq!(
        run["error"],
        "Source table 'small' does not exist in dataset 'p.d'"
    );
    // The earlier results are still served.
    let (status, page) = server.get_json("/api/v1/workloads/1/wordcount").await;
    assert_eq!((status, page["run_id"].clone()), (StatusCode::OK, json!(1)));
}

#[tokio::test]
async fn a_killed_server_finishes_its_run_exactly_once_after_a_restart() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().expect("utf-8"),
        SLOW_READS[0],
        SLOW_READS[1],
    ];
    let server = TestServer::start_with(&tally_bin(), temp.path(), &args);
    upload_big(&server, "big", 120).await;
    create(&server, &workload("big", "line", json!({}))).await;
    wait_run(&server, 1, state_is("running")).await;
    server.kill();

    let server = TestServer::start_with(&tally_bin(), temp.path(), &args);
    let run = wait_run(&server, 1, finished).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["attempt"], 2);
    let messages: Vec<&str> = run["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("succeeded"))
            .count(),
        1,
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("interrupted")),
        "{messages:?}"
    );
    let (_, runs) = server.get_json("/api/v1/workloads/1/runs").await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "one run, not two");
    let (status, page) = server
        .get_json("/api/v1/workloads/1/wordcount?limit=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], run["distinct_words"]);
}

#[tokio::test]
async fn deleting_a_workload_cancels_its_run_and_removes_its_results() {
    let server = TestServer::start_args(&SLOW_READS);
    upload_big(&server, "big", 60).await;
    // More distinct words than a result kept in the database holds: files.
    let words: Vec<String> = (0..3000).map(|i| format!("w{i}")).collect();
    upload_text(&server, "medium", words.join("\n")).await;
    upload_text(&server, "small", TEXT).await;
    create(&server, &workload("medium", "line", json!({}))).await;
    wait_run(&server, 1, state_is("succeeded")).await;
    create(&server, &workload("small", "line", json!({}))).await;
    wait_run(&server, 2, state_is("succeeded")).await;
    create(&server, &workload("big", "line", json!({}))).await;
    wait_run(&server, 3, state_is("running")).await;
    let results = server.data_dir.join("results");
    // Named per attempt: `run-<id>-<attempt>.count.parquet`.
    let files_of_run_1 = std::fs::read_dir(&results)
        .expect("results dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("run-1-"))
        .count();
    assert_eq!(files_of_run_1, 2, "the count- and word-ordered files");
    for id in [1, 2, 3] {
        let (status, _, _) = server
            .send_json(
                Method::DELETE,
                &format!("/api/v1/workloads/{id}"),
                &Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    for run in [2, 3] {
        let (status, _) = server
            .get_json(&format!("/api/v1/runs/{run}/wordcount"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // The stopped run writes nothing; the finished one's files are gone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let left: Vec<_> = std::fs::read_dir(&results)
        .expect("results dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn the_event_stream_reports_a_run_from_queued_to_succeeded() {
    let server = TestServer::start();
    upload_text(&server, "small", TEXT).await;
    let mut stream = client()
        .get(server.url("/api/v1/events"))
        .send()
        .await
        .expect("events");
    assert!(
        stream
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"))
    );
    create(&server, &workload("small", "line", json!({}))).await;
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains("\"state\":\"succeeded\"") {
        assert!(Instant::now() < deadline, "no succeeded event in:\n{seen}");
        match tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("stream ended: {other:?}\n{seen}"),
        }
    }
    assert!(seen.contains("event: workload"), "{seen}");
    assert!(seen.contains("\"change\":\"created\""), "{seen}");
    assert!(seen.contains("event: run"), "{seen}");
    assert!(seen.contains("\"state\":\"queued\""), "{seen}");
    assert!(seen.contains("\"run_id\":1"), "{seen}");
}

/// The ids of a page of `GET /api/v1/runs`, and its total.
async fn run_ids(server: &TestServer, query: &str) -> (Vec<u64>, u64) {
    let (status, total, body) = server.get_with_total(&format!("/api/v1/runs{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let ids = body
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"].as_u64().expect("id"))
        .collect();
    (ids, total.expect("X-Total-Count"))
}

#[tokio::test]
async fn runs_of_every_workload_are_listed_newest_first_and_filtered() {
    let server = TestServer::start();
    upload_text(&server, "t", TEXT).await;
    let a = create(&server, &workload("t", "line", json!({}))).await;
    let b = create(&server, &workload("t", "line", json!({}))).await;
    let first_a = wait_run(&server, 1, finished).await;
    assert_eq!(first_a["workload_id"], a);
    wait_run(&server, 2, finished).await;
    common::rerun(&server, a).await;
    wait_run(&server, 3, finished).await;
    // A fourth run, cancelled at once unless it has already ended (409).
    common::rerun(&server, b).await;
    let res = client()
        .post(server.url("/api/v1/runs/4/cancel"))
        .send()
        .await
        .expect("cancel");
    assert!(
        res.status().is_success() || res.status() == StatusCode::CONFLICT,
        "{}",
        res.status()
    );
    let fourth = wait_run(&server, 4, finished).await;
    let fourth_state = fourth["state"].as_str().expect("state").to_string();

    assert_eq!(run_ids(&server, "").await, (vec![4, 3, 2, 1], 4));
    assert_eq!(
        run_ids(&server, &format!("?workload_id={a}")).await,
        (vec![3, 1], 2)
    );
    assert_eq!(run_ids(&server, "?limit=2").await, (vec![4, 3], 4));
    assert_eq!(run_ids(&server, "?limit=2&offset=2").await, (vec![2, 1], 4));
    let succeeded: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|&id| id != 4 || fourth_state == "succeeded")
        .rev()
        .collect();
    let n = succeeded.len() as u64;
    assert_eq!(run_ids(&server, "?state=succeeded").await, (succeeded, n));
    assert_eq!(
        run_ids(
            &server,
            &format!("?state=succeeded&workload_id={b}&limit=1")
        )
        .await
        .1,
        if fourth_state == "succeeded" { 2 } else { 1 }
    );

    // Days are UTC calendar days of `queued_at`, both ends included.
    let today = first_a["queued_at"].as_str().expect("queued_at")[..10].to_string();
    assert_eq!(
        run_ids(&server, &format!("?since={today}&until={today}"))
            .await
            .1,
        4
    );
    assert_eq!(run_ids(&server, "?until=2000-01-01").await, (vec![], 0));
    assert_eq!(run_ids(&server, "?since=9999-12-31").await, (vec![], 0));

    // Each bad parameter is named, FastAPI-style, and nothing is listed.
    for (query, field) in [
        ("?state=done", "state"),
        ("?workload_id=x", "workload_id"),
        ("?workload_id=0", "workload_id"),
        ("?since=2026-02-30", "since"),
        ("?until=yesterday", "until"),
        ("?since=2026-12-03&until=2026-12-01", "until"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?offset=-1", "offset"),
    ] {
        let (status, body) = server.get_json(&format!("/api/v1/runs{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", field]),
            "{query}: {body}"
        );
    }
}
