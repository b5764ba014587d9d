//! The service layer as a library: scans feeding the engine, table leases, and
//! schema migrations, on a real embedded database in a temporary directory.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tally_app::auth::Principal;
use tally_app::names::TableRef;
use tally_app::workload::RowFilter;
use tally_engine::{
    CancelToken, Control, CountError, CountOptions, Engine, Pace, TokenizerKind, reference,
};
use tally_server::error::ServiceError;
use tally_server::service::TallyService;
use tally_server::store::database::{Database, DbSettings};
use tally_server::store::migrations;
use tally_server::tables::import::{ImportOptions, ImportSource};

/// The run the scans below read for (never queued: on an embedded database
/// only this process's own mark guards a table, whatever the run).
const RUN: u64 = 1;

async fn service(dir: &std::path::Path) -> Arc<TallyService> {
    Arc::new(
        tally_server::startup::open_service(dir, &DbSettings::embedded(dir), Default::default())
            .await
            .expect("open service"),
    )
}

async fn import_csv(service: &TallyService, dir: &std::path::Path, table: &str, csv: &str) {
    let path = dir.join(format!("{table}.csv"));
    std::fs::write(&path, csv).expect("write");
    let sources = vec![ImportSource {
        name: "data.csv".into(),
        path,
    }];
    service
        .import_table(
            &Principal::system("test"),
            &TableRef::parse(table).expect("name"),
            sources,
            ImportOptions::default(),
        )
        .await
        .expect("import");
}

#[tokio::test]
async fn a_column_scan_counts_like_the_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = service(dir.path()).await;
    let mut csv = String::from("id,text\n");
    let mut values = Vec::new();
    for i in 0..30_000 {
        let text = if i % 17 == 0 {
            String::new()
        } else {
            format!("Word{} and  more, word{} É{}", i % 101, i % 7, i % 3)
        };
        csv.push_str(&format!("{i},\"{text}\"\n"));
        values.push(text);
    }
    import_csv(&svc, dir.path(), "p.d.t", &csv).await;
    for tokenizer in TokenizerKind::ALL {
        let options = CountOptions {
            tokenizer,
            ..Default::default()
        };
        let (scan, _lease) = svc
            .open_scan(
                &TableRef::parse("p.d.t").expect("name"),
                RUN,
                "text",
                &RowFilter::default(),
                None,
                None,
            )
            .await
            .expect("scan");
        assert_eq!(scan.rows(), 30_000);
        let engine = Engine::new(options.clone())
            .expect("options")
            .with_threads(2)
            .expect("pool");
        let total = Some(scan.rows());
        let got =
            tokio::task::spawn_blocking(move || engine.count_batches(scan, total, &Control::new()))
                .await
                .expect("join")
                .expect("count");
        // Empty cells are nulls in CSV: skipped, as the engine does.
        let cells: Vec<Option<&str>> = values
            .iter()
            .map(|v| (!v.is_empty()).then_some(v.as_str()))
            .collect();
        assert_eq!(
            got.words,
            reference::count_values(&options, &cells),
            "{tokenizer:?}"
        );
        assert_eq!(
            got.stats.null_values,
            values.iter().filter(|v| v.is_empty()).count() as u64
        );
    }

    // A filtered scan counts exactly the rows the filter keeps, and says how many.
    let filter: RowFilter =
        serde_json::from_value(serde_json::json!({"id": {"gte": 100, "lt": "20000"}}))
            .expect("a filter");
    let (scan, _lease) = svc
        .open_scan(
            &TableRef::parse("p.d.t").expect("name"),
            RUN,
            "text",
            &filter,
            None,
            None,
        )
        .await
        .expect("a filtered scan");
    assert_eq!(
        scan.rows(),
        30_000,
        "progress is still about the table's rows"
    );
    let kept = scan.kept_rows();
    let engine = Engine::new(CountOptions::default()).expect("options");
    let got =
        tokio::task::spawn_blocking(move || engine.count_batches(scan, None, &Control::new()))
            .await
            .expect("join")
            .expect("count");
    let cells: Vec<Option<&str>> = values[100..20_000]
        .iter()
        .map(|v| (!v.is_empty()).then_some(v.as_str()))
        .collect();
    assert_eq!(
        got.words,
        reference::count_values(&CountOptions::default(), &cells)
    );
    assert_eq!(kept.load(std::sync::atomic::Ordering::Relaxed), 19_900);
    // A filter naming a column the table does not have is refused when the scan opens.
    let missing: RowFilter =
        serde_json::from_value(serde_json::json!({"year": 1600})).expect("a filter");
    let refused = svc
        .open_scan(
            &TableRef::parse("p.d.t").expect("name"),
            RUN,
            "text",
            &missing,
            None,
            None,
        )
        .await
        .map(|_| ())
        .expect_err("no such column");
    assert!(
        matches!(&refused, ServiceError::Invalid(errors) if errors[0].msg.contains("'year' does not exist")),
        "{refused:?}"
    );
}

/// Counts `column` of `p.d.t` through a scan held to `pace`, with `control`.
async fn count_paced(
    svc: &TallyService,
    column: &str,
    pace: Option<Pace>,
    control: Control,
) -> Result<tally_engine::CountResult, CountError> {
    let (scan, _lease) = svc
        .open_scan(
            &TableRef::parse("p.d.t").expect("name"),
            RUN,
            column,
            &RowFilter::default(),
            None,
            pace,
        )
        .await
        .expect("scan");
    let engine = Engine::new(CountOptions::default())
        .expect("options")
        .with_threads(2)
        .expect("pool");
    let total = Some(scan.rows());
    tokio::task::spawn_blocking(move || engine.count_batches(scan, total, &control))
        .await
        .expect("join")
}

#[tokio::test]
async fn a_paced_scan_reads_no_faster_than_its_rate_and_stops_at_a_cancel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = service(dir.path()).await;
    // Four batches of 8 192 rows, 64 bytes of text each: 2 MiB in all.
    let row = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do ab";
    assert_eq!(row.len(), 64);
    let mut csv = String::from("text\n");
    for _ in 0..4 * 8192 {
        csv.push_str(row);
        csv.push('\n');
    }
    import_csv(&svc, dir.path(), "p.d.t", &csv).await;
    let bytes = (4 * 8192 * row.len()) as f64;
    let unpaced = count_paced(&svc, "text", None, Control::new())
        .await
        .expect("count");

    // At 4 MiB/s the last batch is due half a second after the start.
    let rate = NonZeroU64::new(4 << 20).expect("non-zero");
    let started = Instant::now();
    let token = CancelToken::new();
    let paced = count_paced(&svc, "text", Some(Pace::new(rate, token)), Control::new())
        .await
        .expect("count");
    let elapsed = started.elapsed();
    assert_eq!(paced.words, unpaced.words, "pacing changes no count");
    assert!(
        elapsed.as_secs_f64() >= bytes / rate.get() as f64,
        "2 MiB at 4 MiB/s read in {elapsed:?}"
    );

    // At 1 KiB/s the second batch would be due in about eight minutes: the
    // cancel must end the wait, not the clock.
    let token = CancelToken::new();
    let pace = Pace::new(NonZeroU64::new(1024).expect("non-zero"), token.clone());
    let control = Control::new().with_cancel(token.clone());
    let counting = tokio::spawn({
        let svc = svc.clone();
        async move { count_paced(&svc, "text", Some(pace), control).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!counting.is_finished(), "held by the pace");
    token.cancel();
    let cancelled = tokio::time::timeout(Duration::from_secs(30), counting)
        .await
        .expect("the cancel ends the wait")
        .expect("join");
    assert!(
        matches!(cancelled, Err(CountError::Cancelled)),
        "{:?}",
        cancelled.map(|r| r.stats)
    );
}

#[tokio::test]
async fn scans_refuse_missing_and_non_string_columns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = service(dir.path()).await;
    import_csv(&svc, dir.path(), "p.d.t", "n,s\n1,a\n").await;
    let t = TableRef::parse("p.d.t").expect("name");
    let err = svc
        .open_scan(&t, RUN, "n", &RowFilter::default(), None, None)
        .await
        .err()
        .expect("integer column");
    assert!(
        matches!(&err, ServiceError::Unprocessable(m) if m.contains("is integer, not string")),
        "{err}"
    );
    let err = svc
        .open_scan(&t, RUN, "zzz", &RowFilter::default(), None, None)
        .await
        .err()
        .expect("no such column");
    assert!(
        matches!(&err, ServiceError::NotFound(m) if m.contains("column 'zzz' does not exist")),
        "{err}"
    );
}

#[tokio::test]
async fn a_table_being_read_cannot_be_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = service(dir.path()).await;
    import_csv(&svc, dir.path(), "p.d.t", "s\na\n").await;
    let t = TableRef::parse("p.d.t").expect("name");
    let (scan, lease) = svc
        .open_scan(&t, RUN, "s", &RowFilter::default(), None, None)
        .await
        .expect("scan");
    let err = svc
        .delete_table(&Principal::system("test"), &t)
        .await
        .expect_err("in use");
    assert!(
        matches!(&err, ServiceError::Conflict(m) if m.contains("being read by a run")),
        "{err}"
    );
    drop(scan);
    drop(lease);
    let deleted = svc
        .delete_table(&Principal::system("test"), &t)
        .await
        .expect("deleted once free");
    assert_eq!(deleted.row_count, 1);
}

#[tokio::test]
async fn migrations_upgrade_in_place_and_refuse_newer_schemas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&DbSettings::embedded(dir.path()))
        .await
        .expect("open");
    assert_eq!(
        migrations::current_version(&db).await.expect("version"),
        0,
        "a new database is empty"
    );
    let applied = migrations::migrate(&db).await.expect("migrate");
    assert_eq!(
        applied,
        (1..=migrations::latest_version()).collect::<Vec<_>>()
    );
    assert!(
        migrations::migrate(&db).await.expect("again").is_empty(),
        "idempotent"
    );

    // A database written by a newer Tally is left alone.
    db.client()
        .query("CREATE migration CONTENT { version: 999, name: 'future', applied_at: time::now() }")
        .await
        .expect("insert")
        .check()
        .expect("ok");
    let err = migrations::migrate(&db).await.expect_err("newer schema");
    assert!(err.to_string().contains("newer than this Tally"), "{err}");
}
