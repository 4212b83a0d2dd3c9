//! `flowspec::test_results` and `flowspec::quarantine`.

use flowspec::test_results::{self, CheckRequest, IngestRequest};
use flowspec::{ErrorKind, Project};
use flowspec_results::ParseOptions;
use flowspec_results::store::RunSelector;

use crate::{dir_with, junit, write};

fn project() -> (tempfile::TempDir, Project) {
    let dir = dir_with(&[(
        ".flowspec/flowspec.yaml",
        "results:\n  quarantine:\n    - test: \"app.T::net_*\"\n      reason: DNS flakes\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    (dir, project)
}

#[test]
fn should_refuse_a_missing_report_file_as_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let err = test_results::parse(&[dir.path().join("missing.xml")], ParseOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReportUnreadable);
    assert!(err.to_string().contains("missing.xml"), "{err}");
}

#[tokio::test]
async fn should_store_a_run_then_show_and_replace_it() {
    let (dir, project) = project();
    write(
        dir.path(),
        "junit.xml",
        &junit(&[("adds", true), ("divides", false)]),
    );
    let files = vec![dir.path().join("junit.xml")];
    let request = IngestRequest {
        commit: Some("c1".into()),
        ..IngestRequest::run("42")
    };
    let stored = test_results::ingest(&project, files.clone(), request.clone())
        .await
        .unwrap();
    assert_eq!(stored.replaced, Some(false));
    assert_eq!(stored.run.commit.as_deref(), Some("c1"));
    assert_eq!(stored.report.totals.failed, 1);
    let again = test_results::ingest(&project, files, request)
        .await
        .unwrap();
    assert_eq!(
        again.replaced,
        Some(true),
        "the same run and attempt is replaced"
    );

    let shown = test_results::show(&project, &RunSelector::Latest, 10, 1)
        .await
        .unwrap();
    assert_eq!(shown.run.run_id, "42");
    assert_eq!(shown.report.failures[0].id, "app.T::divides");
    let json = serde_json::to_value(&shown).unwrap();
    assert_eq!(
        json["totals"]["tests"], 2,
        "the report's fields at the top: {json}"
    );
    assert!(
        json.get("replaced").is_none(),
        "no `replaced` outside an ingest"
    );
}

#[tokio::test]
async fn should_pass_a_check_only_when_every_failure_is_quarantined() {
    let (dir, project) = project();
    write(
        dir.path(),
        "net.xml",
        &junit(&[("net_dns", false), ("adds", true)]),
    );
    write(dir.path(), "real.xml", &junit(&[("divides", false)]));
    let check = |file: &str, ignore_quarantine: bool| CheckRequest {
        files: vec![dir.path().join(file)],
        ignore_quarantine,
        ..CheckRequest::default()
    };
    let excused = test_results::check(&project, check("net.xml", false))
        .await
        .unwrap();
    assert!(excused.outcome.passed);
    assert_eq!(
        excused.outcome.quarantined[0].entry.reason.as_deref(),
        Some("DNS flakes")
    );
    let strict = test_results::check(&project, check("net.xml", true))
        .await
        .unwrap();
    assert!(
        !strict.outcome.passed,
        "without the quarantine every failure counts"
    );
    let blocked = test_results::check(&project, check("real.xml", false))
        .await
        .unwrap();
    assert_eq!(blocked.outcome.blocking[0].id, "app.T::divides");
    // No stored run yet: checking the latest says so.
    let err = test_results::check(&project, CheckRequest::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no results stored yet"), "{err}");
}

#[tokio::test]
async fn should_add_list_and_lift_stored_quarantines_but_not_configured_ones() {
    let (_dir, project) = project();
    assert!(
        flowspec::quarantine::add(&project, "app.T::slow", Some("JIRA-1"))
            .await
            .unwrap()
    );
    assert!(
        !flowspec::quarantine::add(&project, "app.T::slow", None)
            .await
            .unwrap(),
        "once"
    );
    let tests: Vec<String> = flowspec::quarantine::list(&project)
        .await
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.test.clone())
        .collect();
    assert_eq!(
        tests,
        ["app.T::net_*", "app.T::slow"],
        "flowspec.yaml's first"
    );
    flowspec::quarantine::remove(&project, "app.T::slow")
        .await
        .unwrap();
    let err = flowspec::quarantine::remove(&project, "app.T::net_*")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("remove it there"), "{err}");
    let err = flowspec::quarantine::remove(&project, "nope")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("quarantine list"), "{err}");
}

#[tokio::test]
async fn should_rank_a_test_that_failed_and_passed_on_one_commit_as_flaky() {
    let (dir, project) = project();
    for (run, passed) in [("1", false), ("2", true)] {
        write(
            dir.path(),
            "j.xml",
            &junit(&[("wobbly", passed), ("adds", true)]),
        );
        let request = IngestRequest {
            commit: Some("same".into()),
            ..IngestRequest::run(run)
        };
        test_results::ingest(&project, vec![dir.path().join("j.xml")], request)
            .await
            .unwrap();
    }
    let (window, report) = test_results::flaky(&project, Some(0), None).await.unwrap();
    assert_eq!(window, 1, "at least one run");
    assert!(report.flaky.is_empty(), "one run shows no flip");
    let (window, report) = test_results::flaky(&project, None, None).await.unwrap();
    assert_eq!(window, 20, "results.flaky.window's default");
    assert_eq!(report.flaky[0].test, "app.T::wobbly");
}
