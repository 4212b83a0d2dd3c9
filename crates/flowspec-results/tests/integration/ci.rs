//! Test results through a provider (`flowspec_results::ci`): report
//! artifacts fetched and stored, the auto-retry decision and retry, the quarantine
//! verdict, the failure context — against wiremock servers playing GitHub and
//! GitLab, with artifacts that are real zips of the flowspec-results fixtures.

use std::io::Write;
use std::sync::Arc;

use flowspec_core::provider::{CiProvider, RunId, RunStatus};
use flowspec_core::secret::Masker;
use flowspec_providers::common::Token;
use flowspec_providers::github::GithubProvider;
use flowspec_results::auto_retry::{AutoRetryPolicy, AutoRetryVerdict, NoRetryReason};
use flowspec_results::ci::{
    FetchError, FetchOptions, evaluate_retry, fetch_results, gather_failure_context,
    judge_failed_run, write_bundle,
};
use flowspec_results::config::{ArtifactPatterns, ResultsConfig};
use flowspec_results::quarantine::{Quarantine, QuarantineEntry, QuarantineSource};
use flowspec_results::store::ResultsStore;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use flowspec_core::retry::RetryPolicy;

/// Fast, exact retries for tests.
fn fast_retry() -> RetryPolicy {
    RetryPolicy::new(3)
        .base_delay(std::time::Duration::from_millis(5))
        .jitter(false)
}

/// Answers every request no other mock matched with a 418 naming it, so a test
/// that sends something unexpected fails with a readable message.
async fn fallback(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(|request: &wiremock::Request| {
            ResponseTemplate::new(418).set_body_json(json!({
                "message": format!("no mock for {} {} (the test expected another request)",
                    request.method, request.url.path())
            }))
        })
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

const REPO: &str = "/repos/octo/app";
const SUREFIRE: &[u8] = include_bytes!("../fixtures/junit/surefire.xml");
const NEXTEST: &[u8] = include_bytes!("../fixtures/junit/nextest.xml");
const TRUNCATED: &[u8] = include_bytes!("../fixtures/junit/truncated.xml");
const LCOV: &[u8] = include_bytes!("../fixtures/coverage/lcov.info");

/// The ids of surefire.xml's two failed tests.
const DIVIDES: &str = "com.example.calc.CalculatorTest::dividesByZero";
const PARSES: &str = "com.example.calc.CalculatorTest::parsesInput";

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut cursor);
        for (name, data) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
    }
    cursor.into_inner()
}

struct Fixture {
    server: MockServer,
    provider: Arc<dyn CiProvider>,
    store: ResultsStore,
    _dir: tempfile::TempDir,
}

async fn github() -> Fixture {
    let server = MockServer::start().await;
    fallback(&server).await;
    let provider = GithubProvider::new(
        "octo/app",
        url::Url::parse(&format!("{}/", server.uri())).unwrap(),
        Some(Token::new("ghp_test_token", "GITHUB_TOKEN")),
    )
    .unwrap()
    .with_retry(fast_retry())
    .with_timeout(std::time::Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let core = flowspec_core::Store::open_sqlite(&dir.path().join("state.db"))
        .await
        .unwrap();
    let store = ResultsStore::open(&core).await.unwrap();
    Fixture {
        server,
        provider: Arc::new(provider),
        store,
        _dir: dir,
    }
}

fn run_json(attempt: u32, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": 7, "name": "CI", "display_title": "CI", "run_number": 3, "run_attempt": attempt,
        "event": "push", "status": status, "conclusion": conclusion,
        "head_branch": "feature/auth", "head_sha": "3f2a9c1d",
        "html_url": "https://github.com/octo/app/actions/runs/7",
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

/// GitHub run 7 (failed, attempt `attempt`) with these artifacts: `(id, name, zip)`.
async fn mock_run(f: &Fixture, attempt: u32, artifacts: &[(u64, &str, Vec<u8>)]) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(run_json(
            attempt,
            "completed",
            Some("failure"),
        )))
        .mount(&f.server)
        .await;
    let listed: Vec<Value> = artifacts
        .iter()
        .map(|(id, name, zip)| {
            json!({"id": id, "name": name, "size_in_bytes": zip.len(), "expired": false,
                   "archive_download_url": format!("https://api.github.com/repos/octo/app/actions/artifacts/{id}/zip")})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7/artifacts")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"total_count": listed.len(), "artifacts": listed})),
        )
        .mount(&f.server)
        .await;
    for (id, _, zip) in artifacts {
        // The API answers 302 to a pre-signed storage URL.
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/artifacts/{id}/zip")))
            .respond_with(ResponseTemplate::new(302).insert_header(
                "location",
                format!("{}/storage/{id}.zip", f.server.uri()).as_str(),
            ))
            .mount(&f.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/storage/{id}.zip")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(zip.clone()))
            .mount(&f.server)
            .await;
    }
}

/// Run 7, attempt 1, failed, with one `test-results` artifact holding the Surefire
/// report (two failures in `CalculatorTest`).
async fn failed_surefire_run() -> Fixture {
    let f = github().await;
    mock_run(
        &f,
        1,
        &[(11, "test-results", zip_of(&[("TEST-calc.xml", SUREFIRE)]))],
    )
    .await;
    f
}

async fn get_run(f: &Fixture) -> flowspec_core::provider::Run {
    f.provider.get_run(&RunId::new("7")).await.unwrap()
}

#[tokio::test]
async fn should_download_only_report_artifacts_and_store_them_with_attempt_commit_and_branch() {
    let f = github().await;
    let reports = zip_of(&[
        ("surefire-reports/TEST-CalculatorTest.xml", SUREFIRE),
        ("nextest/junit.xml", NEXTEST),
        ("README.txt", b"not a report"),
    ]);
    mock_run(
        &f,
        2,
        &[
            (11, "junit-results", reports),
            (12, "website", zip_of(&[("index.html", b"<html/>")])),
            (13, "coverage", zip_of(&[("lcov.info", LCOV)])),
        ],
    )
    .await;
    let run = get_run(&f).await;
    let fetched = fetch_results(
        f.provider.as_ref(),
        &run,
        &f.store,
        &FetchOptions::default(),
    )
    .await
    .unwrap();

    let names: Vec<&str> = fetched.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["junit-results", "coverage"]);
    assert_eq!(fetched.skipped, ["website"]);
    let reports: Vec<String> = fetched
        .reports
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        reports,
        [
            "coverage/lcov.info",
            "junit-results/nextest/junit.xml",
            "junit-results/surefire-reports/TEST-CalculatorTest.xml"
        ]
    );
    let stored = &fetched.ingested.run;
    assert_eq!(
        (
            stored.run_id.as_str(),
            stored.attempt,
            stored.commit.as_deref(),
            stored.branch.as_deref(),
            stored.source.as_str()
        ),
        ("7", 2, Some("3f2a9c1d"), Some("feature/auth"), "github")
    );
    assert_eq!(
        (
            stored.totals.tests,
            stored.totals.failed,
            stored.totals.errors
        ),
        (9, 2, 1)
    );
    assert!(
        stored.coverage.is_some(),
        "the LCOV artifact is stored as coverage"
    );
    let website: Vec<_> = f
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().contains("/artifacts/12/"))
        .collect();
    assert!(website.is_empty(), "the website artifact was downloaded");
}

#[tokio::test]
async fn should_name_the_artifacts_and_the_patterns_when_none_holds_reports() {
    let f = github().await;
    mock_run(
        &f,
        1,
        &[
            (12, "website", zip_of(&[("index.html", b"<html/>")])),
            (14, "binaries", zip_of(&[("app", b"ELF")])),
        ],
    )
    .await;
    let run = get_run(&f).await;
    let err = fetch_results(
        f.provider.as_ref(),
        &run,
        &f.store,
        &FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::NoReportArtifacts { .. }));
    insta::assert_snapshot!("no_report_artifacts", err.to_string());

    // Named in `results.artifacts`, it is read; without a report inside, that is said.
    let options = FetchOptions::new(ArtifactPatterns::new(["website"]));
    let err = fetch_results(f.provider.as_ref(), &run, &f.store, &options)
        .await
        .unwrap_err();
    insta::assert_snapshot!("artifacts_without_reports", err.to_string());
}

#[tokio::test]
async fn should_refuse_a_report_artifact_with_an_entry_that_climbs_out() {
    let f = github().await;
    mock_run(
        &f,
        1,
        &[(11, "junit-results", zip_of(&[("../../evil.xml", SUREFIRE)]))],
    )
    .await;
    let run = get_run(&f).await;
    let err = fetch_results(
        f.provider.as_ref(),
        &run,
        &f.store,
        &FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::Unzip(_)), "{err}");
    assert!(
        err.to_string().contains("unsafe entry `../../evil.xml`"),
        "{err}"
    );
    assert!(
        f.store
            .run(&flowspec_results::store::RunSelector::Latest)
            .await
            .is_err(),
        "nothing stored"
    );
}

fn config(quarantine: &[&str], enabled: bool, max: u32) -> ResultsConfig {
    let mut config = ResultsConfig::default();
    config.quarantine = Quarantine::new(
        quarantine
            .iter()
            .map(|t| QuarantineEntry::new(*t, Some("flaky".into()), QuarantineSource::Config))
            .collect(),
    );
    config.auto_retry = AutoRetryPolicy::new(enabled, max);
    config
}

async fn mock_rerun_failed(f: &Fixture, expected: u64) {
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/runs/7/rerun-failed-jobs")))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer ghp_test_token",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(expected)
        .named("POST rerun-failed-jobs")
        .mount(&f.server)
        .await;
}

#[tokio::test]
async fn should_retry_the_failed_jobs_once_when_every_failure_is_quarantined() {
    let f = failed_surefire_run().await;
    mock_rerun_failed(&f, 1).await;
    let config = config(&["com.example.calc.CalculatorTest::*"], true, 1);
    let run = get_run(&f).await;

    let first = evaluate_retry(f.provider.as_ref(), &run, &f.store, &config, true)
        .await
        .unwrap();
    assert_eq!(
        first.decision,
        AutoRetryVerdict::Retry {
            retry: 1,
            tests: vec![DIVIDES.into(), PARSES.into()]
        }
    );
    assert_eq!(first.retried.as_ref().map(|r| r.id.as_str()), Some("7"));
    insta::assert_json_snapshot!("retry_decision", first.to_json());
    assert_eq!(f.store.retries("github", "7").await.unwrap(), 1);

    // The same failure again (a platform without attempt numbers): the retry is used up.
    let second = evaluate_retry(f.provider.as_ref(), &run, &f.store, &config, true)
        .await
        .unwrap();
    assert_eq!(
        second.decision,
        AutoRetryVerdict::Skip {
            reason: NoRetryReason::MaxRetriesReached { max: 1 }
        }
    );
    assert!(second.retried.is_none());
}

#[tokio::test]
async fn should_not_retry_a_run_whose_retry_another_decider_used() {
    let f = failed_surefire_run().await;
    mock_rerun_failed(&f, 0).await;
    let config = config(&["com.example.calc.CalculatorTest::*"], true, 1);
    let run = get_run(&f).await;
    // Another decider (a webhook's hook) already used the one retry. (The race itself,
    // a count taken between this decider's read and its request, is closed by counting
    // before the request: see the next test.)
    assert_eq!(f.store.record_retry("github", "7").await.unwrap(), 1);

    let late = evaluate_retry(f.provider.as_ref(), &run, &f.store, &config, true)
        .await
        .unwrap();
    assert_eq!(
        late.decision,
        AutoRetryVerdict::Skip {
            reason: NoRetryReason::MaxRetriesReached { max: 1 }
        }
    );
    assert!(late.retried.is_none(), "no second retry request");
}

#[tokio::test]
async fn should_keep_a_retry_counted_when_the_retry_request_fails() {
    let f = failed_surefire_run().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/runs/7/rerun-failed-jobs")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&f.server)
        .await;
    let config = config(&["com.example.calc.CalculatorTest::*"], true, 2);
    let run = get_run(&f).await;
    let error = evaluate_retry(f.provider.as_ref(), &run, &f.store, &config, true)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("Resource not accessible"),
        "{error}"
    );
    assert_eq!(
        f.store.retries("github", "7").await.unwrap(),
        1,
        "an attempted retry counts, so a lost answer cannot lead to retrying past the maximum"
    );
}

#[tokio::test]
async fn should_not_retry_unknown_failures_partial_reports_or_when_disabled() {
    let f = failed_surefire_run().await;
    mock_rerun_failed(&f, 0).await;
    let run = get_run(&f).await;

    let only_one = config(&[DIVIDES], true, 1);
    let evaluation = evaluate_retry(f.provider.as_ref(), &run, &f.store, &only_one, true)
        .await
        .unwrap();
    assert_eq!(
        evaluation.decision,
        AutoRetryVerdict::Skip {
            reason: NoRetryReason::UnknownFailures {
                tests: vec![PARSES.into()]
            }
        }
    );
    assert_eq!(
        evaluation.decision.describe(),
        format!("not retrying: 1 failure(s) not known to be flaky: {PARSES}")
    );

    let off = config(&["com.example.calc.CalculatorTest::*"], false, 1);
    let evaluation = evaluate_retry(f.provider.as_ref(), &run, &f.store, &off, true)
        .await
        .unwrap();
    assert_eq!(evaluation.to_json()["reason"], "disabled");
    assert!(
        evaluation.fetched.is_none(),
        "nothing downloaded when auto-retry is off"
    );
}

#[tokio::test]
async fn should_not_retry_or_excuse_a_report_that_was_cut_short() {
    let f = github().await;
    mock_run(&f, 1, &[(11, "junit", zip_of(&[("junit.xml", TRUNCATED)]))]).await;
    mock_rerun_failed(&f, 0).await;
    let run = get_run(&f).await;
    let config = config(&["*"], true, 3);
    let evaluation = evaluate_retry(f.provider.as_ref(), &run, &f.store, &config, true)
        .await
        .unwrap();
    assert_eq!(evaluation.to_json()["reason"], "partial_report");
    let report = &evaluation.fetched.as_ref().unwrap().ingested.report;
    let verdict = judge_failed_run(report, &f.store, &config).await.unwrap();
    assert!(!verdict.excused, "{}", verdict.reason);
    assert!(verdict.reason.contains("cut short"), "{}", verdict.reason);
}

#[tokio::test]
async fn should_skip_with_no_results_when_the_run_has_no_report_artifacts() {
    let f = github().await;
    mock_run(&f, 1, &[]).await;
    mock_rerun_failed(&f, 0).await;
    let run = get_run(&f).await;
    let evaluation = evaluate_retry(
        f.provider.as_ref(),
        &run,
        &f.store,
        &config(&["*"], true, 1),
        true,
    )
    .await
    .unwrap();
    let json = evaluation.to_json();
    assert_eq!(json["reason"], "no_results");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("run 7 has no artifacts"),
        "{json}"
    );
}

#[tokio::test]
async fn should_excuse_quarantined_failures_but_never_broken_tests() {
    let f = failed_surefire_run().await;
    let run = get_run(&f).await;
    let config = config(&["com.example.calc.CalculatorTest::*"], false, 1);
    let fetched = fetch_results(
        f.provider.as_ref(),
        &run,
        &f.store,
        &FetchOptions::default(),
    )
    .await
    .unwrap();
    let verdict = judge_failed_run(&fetched.ingested.report, &f.store, &config)
        .await
        .unwrap();
    assert!(verdict.excused, "{}", verdict.reason);
    assert_eq!(verdict.outcome.quarantined.len(), 2);

    // The same tests failed in another run too, and passed in none: broken.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, SUREFIRE).unwrap();
    f.store
        .ingest(
            flowspec_results::store::RunMeta::new("6"),
            vec![file],
            Default::default(),
        )
        .await
        .unwrap();
    let verdict = judge_failed_run(&fetched.ingested.report, &f.store, &config)
        .await
        .unwrap();
    assert!(!verdict.excused);
    assert!(
        verdict.reason.starts_with("quarantined but broken"),
        "{}",
        verdict.reason
    );
}

#[tokio::test]
async fn should_gather_failed_tests_and_masked_log_lines_of_failed_jobs() {
    let f = failed_surefire_run().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "jobs": [
                {"id": 55, "name": "test", "status": "completed", "conclusion": "failure"},
                {"id": 56, "name": "lint", "status": "completed", "conclusion": "success"}
            ]
        })))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/jobs/55")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 55, "name": "test", "status": "completed", "conclusion": "failure"}),
        ))
        .mount(&f.server)
        .await;
    let log = "2026-03-20T10:00:01Z Run mvn test\n\
               Using token tok-s3cr3t-123456 for the registry\n\
               [INFO] Running com.example.calc.CalculatorTest\n\
               [ERROR] dividesByZero  Time elapsed: 0.012 s  <<< FAILURE!\n\
               org.opentest4j.AssertionFailedError: expected: <Infinity> but was: <NaN>\n\
               [ERROR] Tests run: 5, Failures: 1, Errors: 1\n\
               ##[error]Process completed with exit code 1.\n";
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/jobs/55/logs")))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/storage/log-55.txt", f.server.uri()).as_str(),
        ))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/log-55.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string(log))
        .mount(&f.server)
        .await;
    let run = get_run(&f).await;
    assert_eq!(run.status, RunStatus::Failed);
    let fetched = fetch_results(
        f.provider.as_ref(),
        &run,
        &f.store,
        &FetchOptions::default(),
    )
    .await
    .unwrap();
    let masker = Masker::new(["tok-s3cr3t-123456"]);
    let gathered = gather_failure_context(
        f.provider.as_ref(),
        &run,
        Some(&fetched.ingested.report),
        &masker,
    )
    .await;
    assert_eq!(gathered.jobs.len(), 1, "only the failed job's log is read");
    let context = &gathered.context;
    assert_eq!(context.run.commit.as_deref(), Some("3f2a9c1d"));
    assert_eq!(context.run.branch.as_deref(), Some("feature/auth"));
    assert_eq!(context.failures[0].test.id, DIVIDES);
    let excerpt = context.failures[0].log[0].lines.join("\n");
    assert!(excerpt.contains("<<< FAILURE!"), "{excerpt}");

    let dir = tempfile::tempdir().unwrap();
    let (md, json) = write_bundle(context, dir.path(), &masker).unwrap();
    let markdown = std::fs::read_to_string(md).unwrap();
    let json = std::fs::read_to_string(json).unwrap();
    for text in [&markdown, &json] {
        assert!(
            !text.contains("tok-s3cr3t-123456"),
            "a secret leaked:\n{text}"
        );
        assert!(text.contains("expected: <Infinity> but was: <NaN>"));
    }
    assert!(
        markdown.contains("Process completed with exit code 1"),
        "{markdown}"
    );
}

mod gitlab {
    use super::*;
    use flowspec_providers::gitlab::provider as gitlab_provider;

    const PROJECT: &str = "/api/v4/projects/group%2Fapp";

    #[tokio::test]
    async fn should_read_reports_from_a_job_archive_and_count_attempts_itself() {
        let server = MockServer::start().await;
        fallback(&server).await;
        let provider = gitlab_provider(
            "group/app",
            &server.uri(),
            Some(Token::new("glpat-test", "GITLAB_TOKEN")),
            fast_retry(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let core = flowspec_core::Store::open_sqlite(&dir.path().join("state.db"))
            .await
            .unwrap();
        let store = ResultsStore::open(&core).await.unwrap();
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/pipelines/287")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": 287, "iid": 144, "project_id": 21, "ref": "main", "sha": "50f0acb7",
                "status": "failed", "source": "push",
                "created_at": "2026-03-20T10:00:00.000Z", "updated_at": "2026-03-20T10:03:00.000Z",
                "started_at": "2026-03-20T10:00:02.000Z", "finished_at": "2026-03-20T10:03:00.000Z",
                "web_url": "https://gitlab.example.com/group/app/-/pipelines/287"
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/pipelines/287/jobs")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": 5, "name": "unit-tests", "stage": "test", "status": "failed",
                "allow_failure": false, "ref": "main",
                "pipeline": {"id": 287, "status": "failed", "ref": "main", "sha": "50f0acb7"},
                "artifacts": [
                    {"file_type": "archive", "size": 1000, "filename": "artifacts.zip", "file_format": "zip"},
                    {"file_type": "trace", "size": 1500, "filename": "job.log", "file_format": "raw"}
                ]
            }])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/jobs/5/artifacts")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/zip")
                    .set_body_bytes(zip_of(&[("target/nextest/ci/junit.xml", NEXTEST)])),
            )
            .mount(&server)
            .await;
        let run = provider.get_run(&RunId::new("287")).await.unwrap();
        assert_eq!(run.attempt, None, "GitLab has no attempt numbers");
        store.record_retry("gitlab", "287").await.unwrap();
        // GitLab names the archive after its job: `unit-tests/artifacts.zip`.
        let options = FetchOptions::new(ArtifactPatterns::new(["unit-tests/*"]))
            .attempt(Some(store.retries("gitlab", "287").await.unwrap() + 1));
        let fetched = fetch_results(&provider, &run, &store, &options)
            .await
            .unwrap();
        let stored = &fetched.ingested.run;
        assert_eq!(
            (
                stored.run_id.as_str(),
                stored.attempt,
                stored.commit.as_deref(),
                stored.branch.as_deref(),
                stored.source.as_str()
            ),
            ("287", 2, Some("50f0acb7"), Some("main"), "gitlab")
        );
        assert_eq!((stored.totals.tests, stored.totals.failed), (4, 1));
    }
}

mod jenkins {
    use super::*;
    use flowspec_core::config::{Node, Vars};
    use flowspec_providers::config::CiSettings;

    #[tokio::test]
    async fn should_keep_the_console_once_in_a_fix_bundle_when_several_stages_failed() {
        let server = MockServer::start().await;
        fallback(&server).await;
        let yaml = format!(
            "ci:\n  provider: jenkins\n  config:\n    api_url: {}/\n    job: team/app\n",
            server.uri()
        );
        let root = Node::parse(&yaml).unwrap();
        let settings = CiSettings::parse(root.get("ci").unwrap(), None, None).unwrap();
        let vars = Vars::from_pairs([("JENKINS_USER", "bot"), ("JENKINS_API_TOKEN", "s3cret")]);
        let provider = settings
            .build(
                None,
                &flowspec_providers::registry(),
                &vars,
                std::path::Path::new("/nonexistent"),
            )
            .unwrap();
        Mock::given(path("/job/team/job/app/57/api/json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "number": 57, "url": "https://ci.example.com/job/team/job/app/57/",
                "building": false, "result": "FAILURE",
                "timestamp": 1710928805123u64, "duration": 93512,
                "artifacts": [], "actions": []
            })))
            .mount(&server)
            .await;
        Mock::given(path("/job/team/job/app/57/wfapi/describe"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "57", "name": "#57", "status": "FAILED",
                "stages": [
                    {"id": "14", "name": "Unit", "status": "FAILED", "startTimeMillis": 1710928810000u64, "durationMillis": 6000},
                    {"id": "20", "name": "Integration", "status": "FAILED", "startTimeMillis": 1710928816000u64, "durationMillis": 9000}
                ]
            })))
            .mount(&server)
            .await;
        // Jenkins has one console per build: every stage's log is the same text.
        let console = format!(
            "[Pipeline] sh\nerror: linker failed\n{}Finished: FAILURE\n",
            "[Pipeline] echo\n".repeat(20)
        );
        Mock::given(path("/job/team/job/app/57/logText/progressiveText"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-text-size", console.len().to_string().as_str())
                    .set_body_string(console),
            )
            .mount(&server)
            .await;
        let run = provider.get_run(&RunId::new("57")).await.unwrap();
        let gathered = gather_failure_context(
            provider.as_ref(),
            &run,
            None,
            &Masker::new(Vec::<String>::new()),
        )
        .await;
        assert_eq!(gathered.jobs.len(), 2, "both failed stages are listed");
        assert_eq!(
            gathered.context.log_errors.len(),
            1,
            "the shared console is searched once: {:?}",
            gathered.context.log_errors
        );
    }
}
