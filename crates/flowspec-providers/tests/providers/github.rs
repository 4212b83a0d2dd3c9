//! GitHub Actions against a wiremock server.

use std::time::Duration;

use flowspec_core::provider::{
    Artifact, CiProvider, CommitState, CommitStatus, JobId, ProviderErrorKind, RetryScope,
    RunDiscovery, RunFilter, RunId, RunStatus, TriggerRequest,
};
use flowspec_providers::common::Token;
use flowspec_providers::github::GithubProvider;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Sequence, bytes, fallback, fast_retry};

const REPO: &str = "/repos/octo/app";

async fn setup() -> (MockServer, GithubProvider) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let provider = provider(&server);
    (server, provider)
}

fn provider(server: &MockServer) -> GithubProvider {
    GithubProvider::new(
        "octo/app",
        url::Url::parse(&format!("{}/", server.uri())).unwrap(),
        Some(Token::new("ghp_test_token", "GITHUB_TOKEN")),
    )
    .unwrap()
    .with_retry(fast_retry())
    .with_discovery(3, Duration::from_millis(10))
    .with_timeout(Duration::from_secs(2))
    .with_default_ref("main")
}

fn run_json(id: u64, status: &str, conclusion: Option<&str>, title: &str) -> Value {
    json!({
        "id": id, "name": "CI", "display_title": title, "run_number": 812, "run_attempt": 1,
        "event": "workflow_dispatch", "status": status, "conclusion": conclusion,
        "workflow_id": 1234567, "head_branch": "main", "head_sha": "a1b2c3",
        "path": ".github/workflows/ci.yml",
        "html_url": format!("https://github.com/octo/app/actions/runs/{id}"),
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

fn job_json(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": id, "run_id": 22222222222u64, "run_attempt": 1, "name": name,
        "workflow_name": "CI", "head_branch": "main", "head_sha": "a1b2c3",
        "status": status, "conclusion": conclusion,
        "created_at": "2026-03-20T10:00:01Z", "started_at": "2026-03-20T10:00:05Z",
        "completed_at": null,
        "html_url": format!("https://github.com/octo/app/actions/runs/22222222222/job/{id}"),
        "labels": ["ubuntu-latest"], "steps": []
    })
}

fn body_of(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn should_trigger_and_return_the_run_id_the_dispatch_answered() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{REPO}/actions/workflows/integration-tests.yml/dispatches"
        )))
        .and(header("authorization", "Bearer ghp_test_token"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_run_id": 22222222222u64,
            "run_url": "https://api.github.com/repos/octo/app/actions/runs/22222222222",
            "html_url": "https://github.com/octo/app/actions/runs/22222222222"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("integration-tests.yml")
                .git_ref("feature/auth")
                .input("feature", "auth")
                .input("trigger", "flowspec-hook"),
        )
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "22222222222");
    assert_eq!(run.discovery, Some(RunDiscovery::Response));
    assert_eq!(
        run.url.as_deref(),
        Some("https://github.com/octo/app/actions/runs/22222222222")
    );
    let requests = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("github_dispatch_body", body_of(&requests[0]));
}

#[tokio::test]
async fn should_find_the_dispatched_run_by_its_correlation_id_when_the_server_returns_204() {
    let (server, provider) = setup().await;
    let provider = provider.with_correlation_input("flowspec_run_id");
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    // Two dispatches raced: the newest run is the other one.
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/runs")))
        .and(query_param("event", "workflow_dispatch"))
        .and(query_param("branch", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "workflow_runs": [
                run_json(30, "queued", None, "CI fs-theirs"),
                run_json(29, "queued", None, "CI fs-ours"),
            ]
        })))
        .mount(&server)
        .await;
    let run = provider
        .trigger(&TriggerRequest::new("ci.yml").correlation_id("fs-ours"))
        .await
        .unwrap();
    assert_eq!(
        (run.id.as_str(), run.discovery),
        ("29", Some(RunDiscovery::Correlation))
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        body_of(&requests[0])["inputs"]["flowspec_run_id"],
        "fs-ours",
        "the correlation id travels as the configured input"
    );
}

#[tokio::test]
async fn should_refuse_to_guess_between_racing_runs_without_a_correlation_input() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/runs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_runs": [run_json(30, "queued", None, "CI"), run_json(29, "queued", None, "CI")]
        })))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("ci.yml"))
        .await
        .unwrap_err();
    assert_eq!(err.suggestions(), ["30", "29"]);
    insta::assert_snapshot!("github_ambiguous_runs", err.to_string());
}

#[tokio::test]
async fn should_list_the_workflows_that_exist_when_the_workflow_is_not_found() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/deploy.yml/dispatches")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/workflows")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "workflows": [
                {"id": 1, "name": "CI", "path": ".github/workflows/ci.yml", "state": "active"},
                {"id": 2, "name": "Integration", "path": ".github/workflows/integration-tests.yml", "state": "active"}
            ]
        })))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("deploy.yml"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::NotFound);
    assert_eq!(err.suggestions(), ["ci.yml", "integration-tests.yml"]);
    insta::assert_snapshot!("github_workflow_not_found", err.to_string());
}

#[tokio::test]
async fn should_name_the_token_variable_when_the_token_is_rejected() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/1")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("1")).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.token_var()),
        (ProviderErrorKind::Auth, Some("GITHUB_TOKEN"))
    );
    insta::assert_snapshot!("github_401", err.to_string());
}

#[tokio::test]
async fn should_report_when_the_rate_limit_resets_on_403() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/1")))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "4102444800")
                .set_body_json(json!({"message": "API rate limit exceeded for user ID 1."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("1")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::RateLimited);
    assert!(err.reset_at().is_some());
    insta::assert_snapshot!("github_403_rate_limited", err.to_string());
}

#[tokio::test]
async fn should_wait_out_a_429_with_retry_after_and_succeed() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
            ResponseTemplate::new(200).set_body_json(run_json(7, "in_progress", None, "CI")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let run = provider.get_run(&RunId::new("7")).await.unwrap();
    assert_eq!(run.status, RunStatus::Running);
}

#[tokio::test]
async fn should_retry_a_500_then_succeed() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(500).set_body_string("boom"),
            ResponseTemplate::new(200).set_body_json(run_json(
                7,
                "completed",
                Some("failure"),
                "CI",
            )),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let run = provider.get_run(&RunId::new("7")).await.unwrap();
    assert_eq!(
        (run.status, run.raw_status.as_str()),
        (RunStatus::Failed, "completed/failure")
    );
    assert_eq!(run.head_branch.as_deref(), Some("main"));
}

#[tokio::test]
async fn should_never_repeat_a_dispatch_after_an_ambiguous_failure() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("ci.yml"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert!(err.to_string().contains("not repeated"), "{err}");
}

#[tokio::test]
async fn should_time_out_a_request_that_hangs() {
    let server = MockServer::start().await;
    let provider = provider(&server)
        .with_timeout(Duration::from_millis(300))
        .with_retry(flowspec_core::retry::RetryPolicy::none());
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(run_json(7, "queued", None, "CI"))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("7")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn should_explain_malformed_json() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 7, \"status\": "))
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("7")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
    assert!(
        err.to_string()
            .starts_with("unexpected answer for get run 7"),
        "{err}"
    );
}

#[tokio::test]
async fn should_poll_with_etags_so_unchanged_runs_cost_no_rate_limit() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .and(header("if-none-match", "\"etag-1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"etag-1\""))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/7")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"etag-1\"")
                .set_body_json(run_json(7, "in_progress", None, "CI")),
        )
        .expect(1)
        .mount(&server)
        .await;
    for _ in 0..3 {
        let run = provider.get_run(&RunId::new("7")).await.unwrap();
        assert_eq!(
            run.status,
            RunStatus::Running,
            "a 304 serves the cached run"
        );
    }
}

#[tokio::test]
async fn should_follow_every_page_of_jobs_runs_and_artifacts() {
    let (server, provider) = setup().await;
    let base = server.uri();
    let jobs_path = format!("{REPO}/actions/runs/5/jobs");
    Mock::given(method("GET"))
        .and(path(jobs_path.clone()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 3, "jobs": [job_json(3, "deploy", "queued", None)]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(jobs_path.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{base}{jobs_path}?filter=latest&per_page=100&page=2>; rel=\"next\", <{base}{jobs_path}?page=2>; rel=\"last\""),
                )
                .set_body_json(json!({
                    "total_count": 3,
                    "jobs": [job_json(1, "build", "completed", Some("success")), job_json(2, "test", "requested", None)]
                })),
        )
        .mount(&server)
        .await;
    let jobs = provider.list_jobs(&RunId::new("5")).await.unwrap();
    let names: Vec<(&str, RunStatus)> = jobs.iter().map(|j| (j.name.as_str(), j.status)).collect();
    assert_eq!(
        names,
        [
            ("build", RunStatus::Success),
            ("test", RunStatus::Queued),
            ("deploy", RunStatus::Queued)
        ],
        "a `requested` job (which octocrab's model rejects) is read as queued"
    );

    let art_path = format!("{REPO}/actions/runs/5/artifacts");
    Mock::given(method("GET"))
        .and(path(art_path.clone()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2, "artifacts": [{"id": 12, "name": "coverage", "size_in_bytes": 9, "expired": true}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(art_path.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{base}{art_path}?per_page=100&page=2>; rel=\"next\""))
                .set_body_json(json!({
                    "total_count": 2, "artifacts": [{"id": 11, "name": "test-report", "size_in_bytes": 556, "expired": false}]
                })),
        )
        .mount(&server)
        .await;
    let artifacts = provider.list_artifacts(&RunId::new("5")).await.unwrap();
    let seen: Vec<(&str, bool)> = artifacts
        .iter()
        .map(|a| (a.name.as_str(), a.expired))
        .collect();
    assert_eq!(seen, [("test-report", false), ("coverage", true)]);

    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_runs": [run_json(2, "completed", Some("success"), "b"), run_json(1, "completed", Some("cancelled"), "a")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs")))
        .and(query_param("branch", "main"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{base}{REPO}/actions/runs?branch=main&per_page=3&page=2>; rel=\"next\""))
                .set_body_json(json!({"workflow_runs": [run_json(4, "in_progress", None, "d"), run_json(3, "queued", None, "c")]})),
        )
        .mount(&server)
        .await;
    let runs = provider
        .list_runs(&RunFilter::new().branch("main").limit(3))
        .await
        .unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["4", "3", "2"], "pages are followed until the limit");
}

#[tokio::test]
async fn should_follow_a_job_log_across_chunks_without_sending_the_token_to_storage() {
    let (server, provider) = setup().await;
    let blob = format!("{}/blob/job-9.txt", server.uri());
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/jobs/9")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(job_json(9, "build", "in_progress", None)),
            ResponseTemplate::new(200).set_body_json(job_json(
                9,
                "build",
                "completed",
                Some("success"),
            )),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/jobs/9/logs")))
        .respond_with(ResponseTemplate::new(302).insert_header("location", blob.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/job-9.txt"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_string("2026-03-20T10:01:02Z line1\n"),
            ResponseTemplate::new(200)
                .set_body_string("2026-03-20T10:01:02Z line1\n2026-03-20T10:01:03Z line2\n"),
        ]))
        .mount(&server)
        .await;
    let run = RunId::new("5");
    let first = provider.job_log(&run, &JobId::new("9"), 0).await.unwrap();
    assert_eq!(
        (first.text().as_ref(), first.complete),
        ("2026-03-20T10:01:02Z line1\n", false)
    );
    let second = provider
        .job_log(&run, &JobId::new("9"), first.next_offset)
        .await
        .unwrap();
    assert_eq!(
        (second.text().as_ref(), second.complete),
        ("2026-03-20T10:01:03Z line2\n", true)
    );
    for request in server.received_requests().await.unwrap() {
        if request.url.path().starts_with("/blob/") {
            assert!(
                !request.headers.contains_key("authorization"),
                "the token must not go to the storage host"
            );
        }
    }
}

#[tokio::test]
async fn should_stream_an_artifact_byte_for_byte() {
    let (server, provider) = setup().await;
    let data = bytes(3 * 1024 * 1024 + 17);
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/artifacts/11/zip")))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/blob/artifact-11.zip", server.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/artifact-11.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(data.clone()))
        .mount(&server)
        .await;
    let mut sink = Vec::new();
    let mut artifact = Artifact::new("11", "test-report");
    artifact.zip = true;
    let n = provider
        .download_artifact(&RunId::new("5"), &artifact, &mut sink)
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(sink == data, "the downloaded bytes differ");
}

#[tokio::test]
async fn should_say_an_artifact_expired() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/artifacts/11/zip")))
        .respond_with(
            ResponseTemplate::new(410).set_body_json(json!({"message": "Artifact has expired"})),
        )
        .mount(&server)
        .await;
    let err = provider
        .download_artifact(
            &RunId::new("5"),
            &Artifact::new("11", "report"),
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "download artifact `report`: the artifact has expired"
    );
}

#[tokio::test]
async fn should_retry_cancel_and_report_statuses() {
    let (server, provider) = setup().await;
    for (p, status) in [
        ("actions/runs/5/rerun", 201),
        ("actions/runs/5/rerun-failed-jobs", 201),
        ("actions/jobs/9/rerun", 201),
        ("actions/runs/5/cancel", 202),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/{p}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({})))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/statuses/a1b2c3d4")))
        .and(body_json(json!({
            "state": "failure", "context": "flowspec/tests",
            "description": "3 tests failed", "target_url": "https://ci.example/run/42"
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": "failure"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = RunId::new("5");
    for scope in [
        RetryScope::All,
        RetryScope::Failed,
        RetryScope::Job(JobId::new("9")),
    ] {
        let again = provider.retry(&run, &scope).await.unwrap();
        assert_eq!(again.id, run, "GitHub re-runs keep the run id");
    }
    provider.cancel(&run).await.unwrap();
    provider
        .report_status(
            &CommitStatus::new("a1b2c3d4", CommitState::Failed)
                .context("flowspec/tests")
                .description("3 tests failed")
                .target_url("https://ci.example/run/42"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn should_explain_that_a_finished_run_cannot_be_cancelled() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/runs/5/cancel")))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(
                json!({"message": "Cannot cancel a workflow run that is completed."}),
            ),
        )
        .mount(&server)
        .await;
    let err = provider.cancel(&RunId::new("5")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest);
    assert!(err.to_string().contains("already finished"), "{err}");
}

/// Whether a dispatch body asks for the run details (github.com's
/// `return_run_details`).
fn asks_for_run_details(request: &wiremock::Request) -> bool {
    serde_json::from_slice::<Value>(&request.body)
        .is_ok_and(|body| body.get("return_run_details").is_some())
}

#[tokio::test]
async fn should_fall_back_to_the_correlation_lookup_when_an_older_server_refuses_return_run_details()
 {
    let (server, provider) = setup().await;
    let provider = provider.with_correlation_input("flowspec_run_id");
    // GitHub Enterprise Server before the run-details answer: the key is unknown.
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .and(asks_for_run_details)
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
            "documentation_url": "https://docs.github.com/enterprise-server@3.14/rest/actions/workflows#create-a-workflow-dispatch-event",
            "status": "422"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .and(|request: &wiremock::Request| !asks_for_run_details(request))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/runs")))
        .and(query_param("event", "workflow_dispatch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "workflow_runs": [
                run_json(41, "queued", None, "CI fs-other"),
                run_json(40, "queued", None, "CI fs-ghes"),
            ]
        })))
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("ci.yml")
                .input("feature", "auth")
                .correlation_id("fs-ghes"),
        )
        .await
        .unwrap();
    assert_eq!(
        (run.id.as_str(), run.discovery),
        ("40", Some(RunDiscovery::Correlation)),
        "the run is found by its correlation id"
    );
    let requests = server.received_requests().await.unwrap();
    let dispatches: Vec<Value> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(body_of)
        .collect();
    assert_eq!(dispatches.len(), 2, "one refused dispatch, one resent");
    assert_eq!(dispatches[0]["return_run_details"], true);
    assert!(
        dispatches[1].get("return_run_details").is_none(),
        "the resent dispatch drops the key: {}",
        dispatches[1]
    );
    assert_eq!(dispatches[1]["inputs"], dispatches[0]["inputs"]);
    assert_eq!(dispatches[1]["inputs"]["flowspec_run_id"], "fs-ghes");
    assert_eq!(dispatches[1]["inputs"]["feature"], "auth");
}

#[tokio::test]
async fn should_not_resend_a_dispatch_refused_for_another_reason() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/actions/workflows/ci.yml/dispatches")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Unexpected inputs provided: [\"feature\"]",
            "status": "422"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("ci.yml").input("feature", "auth"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest);
    assert!(
        err.to_string().contains("Unexpected inputs provided"),
        "{err}"
    );
}
