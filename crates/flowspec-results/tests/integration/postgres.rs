//! The results store on a real PostgreSQL server: the same SQL as SQLite.

use std::time::Duration;

use flowspec_core::store::{Backend, Store};
use flowspec_core::testing::TempPostgres;
use flowspec_results::ParseOptions;
use flowspec_results::flaky::FlakyOptions;
use flowspec_results::store::{ResultsStore, RunMeta, RunSelector};

use crate::fixture;

async fn open(url: &str) -> Store {
    // The server may accept TCP a moment before it accepts logins.
    for _ in 0..50 {
        if let Ok(store) = Store::open(url).await {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Store::open(url).await.expect("open the PostgreSQL store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_store_and_analyse_results_in_postgres() {
    let server = TempPostgres::start();
    let core = open(&server.url()).await;
    assert_eq!(core.backend(), Backend::Postgres);
    let store = ResultsStore::open(&core).await.unwrap();
    // Opening twice is fine (CREATE ... IF NOT EXISTS).
    let store2 = ResultsStore::open(&core).await.unwrap();

    let files = vec![
        fixture("junit/nextest.xml"),
        fixture("junit/failsafe-reruns.xml"),
        fixture("coverage/cobertura-coveragepy.xml"),
    ];
    let meta = RunMeta::new("pg-1").commit("c1").branch("main");
    let ingested = store
        .ingest(meta.clone(), files.clone(), ParseOptions::default())
        .await
        .unwrap();
    assert_eq!(ingested.run.totals.tests, 7);
    let again = store2
        .ingest(meta, files, ParseOptions::default())
        .await
        .unwrap();
    assert!(again.replaced);

    let run = store
        .run(&RunSelector::Run {
            id: "pg-1".into(),
            attempt: None,
        })
        .await
        .unwrap();
    let report = store.report(&run, 10, 5).await.unwrap();
    assert_eq!(report.totals, ingested.report.totals);
    assert_eq!(report.failures, ingested.report.failures);
    assert_eq!(report.coverage.unwrap().totals.lines_valid, 9);

    // A passing rerun on the same commit makes the failed tests flaky.
    let pass = fixture("junit/go-junit-report.xml");
    store
        .ingest(
            RunMeta::new("pg-1").attempt(2).commit("c1"),
            vec![pass],
            ParseOptions::default(),
        )
        .await
        .unwrap();
    let flaky = store.flaky(&FlakyOptions::default(), None).await.unwrap();
    assert_eq!(flaky.runs_considered, 2);
    assert!(
        flaky
            .flaky
            .iter()
            .any(|f| f.test == "flowspec-core::integration::engine::should_time_out")
    );

    assert!(store.quarantine_add("x::y", Some("r")).await.unwrap());
    assert!(!store.quarantine_add("x::y", None).await.unwrap());
    assert_eq!(store.quarantine_list().await.unwrap().len(), 1);

    // Auto-retry counts: the upsert works on PostgreSQL too.
    assert_eq!(store.record_retry("gitlab", "pg-1").await.unwrap(), 1);
    assert_eq!(store.record_retry("gitlab", "pg-1").await.unwrap(), 2);
    assert_eq!(store.retries("github", "pg-1").await.unwrap(), 0);
    store.carry_retries("gitlab", "pg-2", 2).await.unwrap();
    store.carry_retries("gitlab", "pg-2", 1).await.unwrap();
    assert_eq!(store.retries("gitlab", "pg-2").await.unwrap(), 2);
    core.close().await;
}
