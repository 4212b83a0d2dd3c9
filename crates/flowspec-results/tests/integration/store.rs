//! The results store on SQLite: ingest, read back, replace, flaky analysis,
//! quarantine, artifacts.

use flowspec_results::flaky::FlakyOptions;
use flowspec_results::store::{ResultsStore, RunMeta, RunSelector};
use flowspec_results::{ParseOptions, ResultsError};

use crate::fixture;

async fn store() -> (tempfile::TempDir, ResultsStore) {
    let dir = tempfile::tempdir().unwrap();
    let core = flowspec_core::Store::open_sqlite(&dir.path().join("state/flowspec.db"))
        .await
        .unwrap();
    (dir, ResultsStore::open(&core).await.unwrap())
}

fn junit(dir: &tempfile::TempDir, name: &str, cases: &[(&str, &str)]) -> std::path::PathBuf {
    let mut xml = String::from("<testsuite name=\"app\">");
    for (name, outcome) in cases {
        xml.push_str(&format!(
            "<testcase classname=\"app.T\" name=\"{name}\" time=\"0.5\">"
        ));
        match *outcome {
            "fail" => xml.push_str(&format!(
                "<failure message=\"{name} broke\">trace of {name}</failure>"
            )),
            "flaky" => xml.push_str(
                "<flakyFailure message=\"timeout\"><stackTrace>t</stackTrace></flakyFailure>",
            ),
            _ => {}
        }
        xml.push_str("</testcase>");
    }
    xml.push_str("</testsuite>");
    let path = dir.path().join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

#[tokio::test]
async fn should_store_a_run_and_read_it_back_as_a_report() {
    let (_dir, store) = store().await;
    let meta = RunMeta::new("1001")
        .commit("abc123")
        .branch("main")
        .source("github");
    let files = vec![fixture("junit/surefire.xml"), fixture("coverage/lcov.info")];
    let ingested = store
        .ingest(meta, files, ParseOptions::default())
        .await
        .unwrap();
    assert!(!ingested.replaced);
    let run = &ingested.run;
    assert_eq!(
        (run.run_id.as_str(), run.attempt, run.commit.as_deref()),
        ("1001", 1, Some("abc123"))
    );
    assert_eq!(run.totals.tests, 5);
    assert_eq!(run.coverage.as_ref().unwrap().lines_valid, 25);

    let latest = store.run(&RunSelector::Latest).await.unwrap();
    assert_eq!(latest.key, run.key);
    let report = store.report(&latest, 100, 3).await.unwrap();
    assert_eq!(report.totals, ingested.report.totals);
    assert_eq!(
        report.failures, ingested.report.failures,
        "failures read back exactly"
    );
    assert_eq!(report.slowest.len(), 3);
    assert_eq!(report.slowest[0].name, "talksToTheCache");
    assert_eq!(report.suites.len(), 1);
    assert_eq!(report.coverage.unwrap().files.len(), 2);
}

#[tokio::test]
async fn should_replace_a_run_ingested_again_and_keep_other_attempts() {
    let (dir, store) = store().await;
    let first = junit(&dir, "a.xml", &[("x", "fail"), ("y", "pass")]);
    let fixed = junit(&dir, "b.xml", &[("x", "pass"), ("y", "pass")]);
    store
        .ingest(
            RunMeta::new("7"),
            vec![first.clone()],
            ParseOptions::default(),
        )
        .await
        .unwrap();
    let again = store
        .ingest(RunMeta::new("7"), vec![fixed], ParseOptions::default())
        .await
        .unwrap();
    assert!(again.replaced);
    store
        .ingest(
            RunMeta::new("7").attempt(2),
            vec![first],
            ParseOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(store.recent_runs(10, None).await.unwrap().len(), 2);
    let attempt1 = store
        .run(&RunSelector::Run {
            id: "7".into(),
            attempt: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(
        attempt1.totals.failed, 0,
        "attempt 1 was replaced by the fixed report"
    );
    let latest_attempt = store
        .run(&RunSelector::Run {
            id: "7".into(),
            attempt: None,
        })
        .await
        .unwrap();
    assert_eq!(latest_attempt.attempt, 2);
    let missing = store
        .run(&RunSelector::Run {
            id: "nope".into(),
            attempt: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(missing, ResultsError::UnknownRun(_)), "{missing}");
}

#[tokio::test]
async fn should_find_flaky_and_broken_tests_across_stored_runs() {
    let (dir, store) = store().await;
    let runs: &[StoredRun] = &[
        (
            "1",
            "c1",
            &[
                ("net", "fail"),
                ("dead", "fail"),
                ("ok", "pass"),
                ("a", "pass"),
                ("b", "pass"),
                ("c", "pass"),
            ],
        ),
        (
            "2",
            "c1",
            &[
                ("net", "pass"),
                ("dead", "fail"),
                ("ok", "pass"),
                ("a", "pass"),
                ("b", "pass"),
                ("c", "pass"),
            ],
        ),
        // An outage: everything failed.
        (
            "3",
            "c2",
            &[
                ("net", "fail"),
                ("dead", "fail"),
                ("ok", "fail"),
                ("a", "fail"),
                ("b", "fail"),
                ("c", "fail"),
            ],
        ),
        (
            "4",
            "c2",
            &[
                ("net", "pass"),
                ("dead", "fail"),
                ("ok", "flaky"),
                ("a", "pass"),
                ("b", "pass"),
                ("c", "pass"),
            ],
        ),
    ];
    for (id, commit, cases) in runs {
        let file = junit(&dir, &format!("{id}.xml"), cases);
        store
            .ingest(
                RunMeta::new(*id).commit(*commit),
                vec![file],
                ParseOptions::default(),
            )
            .await
            .unwrap();
    }
    let report = store.flaky(&FlakyOptions::default(), None).await.unwrap();
    assert_eq!(report.outages, ["3"]);
    let flaky: Vec<_> = report.flaky.iter().map(|f| f.test.as_str()).collect();
    assert_eq!(flaky, ["app.T::net", "app.T::ok"]);
    assert_eq!(report.flaky[1].last_message.as_deref(), Some("timeout"));
    let broken: Vec<_> = report.broken.iter().map(|b| b.test.as_str()).collect();
    assert_eq!(broken, ["app.T::dead"]);
    assert_eq!(report.broken[0].runs, 3, "the outage run is not evidence");
}

#[tokio::test]
async fn should_count_auto_retries_per_provider_and_run() {
    let (_dir, store) = store().await;
    assert_eq!(store.retries("github", "7").await.unwrap(), 0);
    assert_eq!(store.record_retry("github", "7").await.unwrap(), 1);
    assert_eq!(store.record_retry("github", "7").await.unwrap(), 2);
    assert_eq!(
        store.retries("gitlab", "7").await.unwrap(),
        0,
        "another CI's run 7 is another run"
    );
    assert_eq!(store.retries("github", "7").await.unwrap(), 2);

    // A retry that created run 8 (a Jenkins rebuild) carries the count over, never down.
    store.carry_retries("github", "8", 2).await.unwrap();
    assert_eq!(store.retries("github", "8").await.unwrap(), 2);
    store.carry_retries("github", "8", 1).await.unwrap();
    assert_eq!(store.retries("github", "8").await.unwrap(), 2);
}

#[tokio::test]
async fn should_keep_a_quarantine_list() {
    let (_dir, store) = store().await;
    assert!(
        store
            .quarantine_add("app.T::net", Some("DNS flakes"))
            .await
            .unwrap()
    );
    assert!(
        !store.quarantine_add("app.T::net", None).await.unwrap(),
        "already there"
    );
    store.quarantine_add("app.Other::*", None).await.unwrap();
    let list = store.quarantine_list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].reason.as_deref(), Some("DNS flakes"));
    assert!(store.quarantine_remove("app.T::net").await.unwrap());
    assert!(!store.quarantine_remove("app.T::net").await.unwrap());
}

#[tokio::test]
async fn should_ingest_the_reports_among_downloaded_artifacts() {
    let (dir, store) = store().await;
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir_all(artifacts.join("test-results/unit")).unwrap();
    std::fs::copy(
        fixture("junit/gotestsum.xml"),
        artifacts.join("test-results/unit/junit.xml"),
    )
    .unwrap();
    std::fs::copy(
        fixture("coverage/cobertura-coveragepy.xml"),
        artifacts.join("coverage.xml"),
    )
    .unwrap();
    std::fs::write(artifacts.join("build.log"), "compiling...\n").unwrap();
    std::fs::write(artifacts.join("pom.xml"), "<project/>").unwrap();
    let found = flowspec_results::find_reports(&artifacts).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let ingested = store
        .ingest_artifacts(
            RunMeta::new("555").source("gitlab"),
            &artifacts,
            ParseOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(ingested.run.totals.tests, 3);
    assert_eq!(ingested.run.source, "gitlab");
    assert!(ingested.run.coverage.is_some());

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = store
        .ingest_artifacts(RunMeta::new("556"), &empty, ParseOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no JUnit XML"), "{err}");
}

#[tokio::test]
async fn should_store_nothing_when_no_file_is_a_report() {
    let (dir, store) = store().await;
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello").unwrap();
    let err = store
        .ingest(RunMeta::new("9"), vec![path], ParseOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a report of a known format"),
        "{err}"
    );
    assert!(matches!(
        store.run(&RunSelector::Latest).await,
        Err(ResultsError::NoRuns)
    ));
}

/// A run to store: id, commit, (test name, outcome).
type StoredRun<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
