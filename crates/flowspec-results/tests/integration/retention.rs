//! `state.retention` on stored runs: old and surplus runs go with all their rows;
//! the quarantine stays.

use flowspec_core::retention::Retention;
use flowspec_results::ParseOptions;
use flowspec_results::store::{ResultsStore, RunMeta, RunSelector};

use crate::fixture;

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn stores() -> (tempfile::TempDir, flowspec_core::Store, ResultsStore) {
    let dir = tempfile::tempdir().unwrap();
    let core = flowspec_core::Store::open_sqlite(&dir.path().join("state/flowspec.db"))
        .await
        .unwrap();
    let results = ResultsStore::open(&core).await.unwrap();
    (dir, core, results)
}

async fn ingest(store: &ResultsStore, run_id: &str) {
    store
        .ingest(
            RunMeta::new(run_id),
            vec![fixture("junit/surefire.xml")],
            ParseOptions::default(),
        )
        .await
        .unwrap();
}

async fn count(core: &flowspec_core::Store, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(core.pool())
    .await
    .unwrap()
    .try_get("n")
    .unwrap()
}

#[tokio::test]
async fn should_remove_runs_older_than_max_age_with_their_cases_and_keep_the_quarantine() {
    let (_dir, core, store) = stores().await;
    ingest(&store, "old").await;
    ingest(&store, "new").await;
    store
        .quarantine_add("app.T.slow", Some("flaky"))
        .await
        .unwrap();
    let cases_per_run = count(&core, "results_cases").await / 2;
    sqlx::query("UPDATE results_runs SET created_at = created_at - $1 WHERE run_id = 'old'")
        .bind(40 * DAY_MS)
        .execute(core.pool())
        .await
        .unwrap();

    let pruned = store.prune(&Retention::default()).await.unwrap();

    assert_eq!(pruned.results_runs, 1);
    assert!(
        store
            .run(&RunSelector::Run {
                id: "old".into(),
                attempt: None
            })
            .await
            .is_err()
    );
    assert!(
        store
            .run(&RunSelector::Run {
                id: "new".into(),
                attempt: None
            })
            .await
            .is_ok()
    );
    assert_eq!(count(&core, "results_cases").await, cases_per_run);
    let suites: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM results_suites WHERE run_key NOT IN (SELECT run_key FROM results_runs)")
            .fetch_one(core.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap()
    };
    assert_eq!(suites, 0, "suites of the pruned run are gone");
    assert_eq!(store.quarantine_list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn should_keep_only_the_newest_runs_when_ingesting_with_a_count_limit() {
    let (_dir, core, store) = stores().await;
    let mut keep = Retention::keep_everything();
    keep.max_results_runs = 2;
    let store = store.with_retention(keep);
    for run in ["r1", "r2", "r3"] {
        ingest(&store, run).await;
        // Distinct creation times, oldest first.
        sqlx::query("UPDATE results_runs SET created_at = created_at - 1000 WHERE run_id <> $1")
            .bind(run)
            .execute(core.pool())
            .await
            .unwrap();
    }
    let ingested = store
        .ingest(
            RunMeta::new("r4"),
            vec![fixture("junit/surefire.xml")],
            ParseOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(ingested.pruned, 1);
    let runs: Vec<String> = store
        .recent_runs(10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(runs, ["r4", "r3"]);
    // No case is left behind without its run.
    let orphans: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM results_cases WHERE run_key NOT IN (SELECT run_key FROM results_runs)")
            .fetch_one(core.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap()
    };
    assert_eq!(orphans, 0);
}
