//! GitLab CI against a wiremock server.

use flowspec_core::provider::{
    Artifact, CiProvider, CommitState, CommitStatus, JobId, ProviderErrorKind, RetryScope,
    RunFilter, RunId, RunStatus, TriggerRequest,
};
use flowspec_providers::common::Token;
use flowspec_providers::gitlab::{GitlabProvider, provider as gitlab_provider};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Sequence, bytes, fallback, fast_retry};

/// `group/app`, URL-encoded as the API wants (`%2F` kept, not normalized to `/`).
const PROJECT: &str = "/api/v4/projects/group%2Fapp";

async fn setup() -> (MockServer, GitlabProvider) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let provider = gitlab_provider(
        "group/app",
        &server.uri(),
        Some(Token::new("glpat-test", "GITLAB_TOKEN")),
        fast_retry(),
    )
    .unwrap()
    .with_default_ref("main");
    (server, provider)
}

fn pipeline(id: u64, status: &str) -> Value {
    json!({
        "id": id, "iid": 144, "project_id": 21, "ref": "main", "sha": "50f0acb7",
        "status": status, "source": "trigger",
        "created_at": "2026-03-20T10:00:00.000Z", "updated_at": "2026-03-20T10:01:00.000Z",
        "started_at": "2026-03-20T10:00:02.000Z", "finished_at": null, "duration": null,
        "web_url": format!("https://gitlab.example.com/group/app/-/pipelines/{id}"),
        "detailed_status": {"icon": "status_running", "text": "Running", "label": "running", "group": "running"}
    })
}

fn job(id: u64, name: &str, status: &str) -> Value {
    json!({
        "id": id, "name": name, "stage": "test", "status": status,
        "failure_reason": null, "allow_failure": false, "ref": "main", "tag": false,
        "created_at": "2026-03-20T10:00:00.000Z", "started_at": "2026-03-20T10:00:05.000Z",
        "finished_at": null, "duration": 0.19, "queued_duration": 0.01,
        "web_url": format!("https://gitlab.example.com/group/app/-/jobs/{id}"),
        "pipeline": {"id": 287, "status": "running", "ref": "main", "sha": "50f0acb7"},
        "artifacts": [
            {"file_type": "archive", "size": 1000, "filename": "artifacts.zip", "file_format": "zip"},
            {"file_type": "trace", "size": 1500, "filename": "job.log", "file_format": "raw"}
        ]
    })
}

#[tokio::test]
async fn should_create_a_pipeline_with_variables_and_never_call_user() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/pipeline")))
        .and(header("PRIVATE-TOKEN", "glpat-test"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pipeline(287, "created")))
        .expect(1)
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("")
                .input("FEATURE", "auth")
                .input("EVENT_TYPE", "implement.completed"),
        )
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "287");
    assert_eq!(
        run.url.as_deref(),
        Some("https://gitlab.example.com/group/app/-/pipelines/287")
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.url.path() != "/api/v4/user"),
        "no /user call"
    );
    insta::assert_snapshot!(
        "gitlab_create_pipeline_body",
        String::from_utf8_lossy(&requests[0].body)
    );
}

#[tokio::test]
async fn should_trigger_with_a_pipeline_trigger_token() {
    let (server, provider) = setup().await;
    let provider = provider.with_trigger_token(Token::new("glptt-trigger", "GITLAB_TRIGGER_TOKEN"));
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/trigger/pipeline")))
        .and(body_string_contains("token=glptt-trigger"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pipeline(288, "pending")))
        .expect(1)
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("")
                .git_ref("release/1.2")
                .input("FEATURE", "auth"),
        )
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "288");
    let requests = server.received_requests().await.unwrap();
    insta::assert_snapshot!(
        "gitlab_trigger_token_body",
        String::from_utf8_lossy(&requests[0].body)
    );
}

#[tokio::test]
async fn should_map_pipeline_statuses() {
    let (server, provider) = setup().await;
    for (id, status) in [
        (1, "canceled"),
        (2, "manual"),
        (3, "waiting_for_resource"),
        (4, "canceling"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/pipelines/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(pipeline(id, status)))
            .mount(&server)
            .await;
    }
    let mut seen = Vec::new();
    for id in 1..=4 {
        let run = provider.get_run(&RunId::from(id as u64)).await.unwrap();
        seen.push((run.raw_status, run.status));
    }
    assert_eq!(
        seen,
        [
            ("canceled".to_owned(), RunStatus::Cancelled),
            ("manual".to_owned(), RunStatus::Waiting),
            ("waiting_for_resource".to_owned(), RunStatus::Queued),
            ("canceling".to_owned(), RunStatus::Running),
        ]
    );
}

#[tokio::test]
async fn should_name_the_token_variable_on_401() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/pipelines/287")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("287")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Auth);
    insta::assert_snapshot!("gitlab_401", err.to_string());
}

#[tokio::test]
async fn should_report_the_reset_of_a_429_it_cannot_wait_for() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/pipelines/287")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", "4102444800")
                .insert_header("Retry-After", "3600")
                .set_body_string("Retry later"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("287")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::RateLimited);
    assert!(err.reset_at().is_some());
    assert!(
        err.to_string()
            .contains("rate limit resets at 2100-01-01T00:00:00Z"),
        "{err}"
    );
}

#[tokio::test]
async fn should_retry_a_500_then_succeed_and_explain_malformed_json() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/pipelines/287")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(500)
                .set_body_json(json!({"message": "500 Internal Server Error"})),
            ResponseTemplate::new(200).set_body_json(pipeline(287, "success")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    assert_eq!(
        provider.get_run(&RunId::new("287")).await.unwrap().status,
        RunStatus::Success
    );
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/pipelines/9")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 9,"))
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("9")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
}

#[tokio::test]
async fn should_follow_pages_of_jobs_and_list_their_archives() {
    let (server, provider) = setup().await;
    let jobs_path = format!("{PROJECT}/pipelines/287/jobs");
    // GitLab pages hold `per_page` (100) items; a shorter page is the last.
    Mock::given(method("GET"))
        .and(path(jobs_path.clone()))
        .and(query_param("page", "2"))
        .and(query_param("per_page", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-page", "2")
                .insert_header("x-next-page", "")
                .set_body_json(json!([job(5, "build", "success")])),
        )
        .expect(2) // once for the jobs, once for the artifacts
        .mount(&server)
        .await;
    let first: Vec<Value> = (0..100)
        .map(|i| job(1000 - i, &format!("test {i}"), "success"))
        .collect();
    Mock::given(method("GET"))
        .and(path(jobs_path.clone()))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-page", "1")
                .insert_header("x-next-page", "2")
                .set_body_json(Value::Array(first)),
        )
        .mount(&server)
        .await;
    let jobs = provider.list_jobs(&RunId::new("287")).await.unwrap();
    assert_eq!(jobs.len(), 101, "both pages");
    assert_eq!(
        jobs[0].name, "build",
        "pipeline order: GitLab lists newest first"
    );
    let artifacts = provider.list_artifacts(&RunId::new("287")).await.unwrap();
    assert_eq!(
        artifacts.len(),
        101,
        "one archive per job, the job logs left out"
    );
    assert_eq!(artifacts[0].name, "build/artifacts.zip");
    assert_eq!(artifacts[0].job.as_ref().map(|j| j.as_str()), Some("5"));
}

#[tokio::test]
async fn should_follow_a_running_job_trace_across_chunks() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/jobs/7")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(job(7, "rspec", "running")),
            ResponseTemplate::new(200).set_body_json(job(7, "rspec", "running")),
            ResponseTemplate::new(200).set_body_json(job(7, "rspec", "failed")),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/jobs/7/trace")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_string(""),
            ResponseTemplate::new(200).set_body_string("Running tests\n"),
            ResponseTemplate::new(200).set_body_string("Running tests\n3 failures\n"),
        ]))
        .mount(&server)
        .await;
    let (run, job_id) = (RunId::new("287"), JobId::new("7"));
    let mut offset = 0;
    let mut text = String::new();
    let mut chunks = 0;
    loop {
        let chunk = provider.job_log(&run, &job_id, offset).await.unwrap();
        text.push_str(&chunk.text());
        offset = chunk.next_offset;
        chunks += 1;
        if chunk.complete {
            break;
        }
    }
    assert_eq!((text.as_str(), chunks), ("Running tests\n3 failures\n", 3));
}

#[tokio::test]
async fn should_stream_a_job_archive_without_sending_the_token_to_storage() {
    let (server, provider) = setup().await;
    let data = bytes(2 * 1024 * 1024 + 3);
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/jobs/5/artifacts")))
        .and(header("PRIVATE-TOKEN", "glpat-test"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/blob/5.zip?X-Amz-Signature=abc", server.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/5.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(data.clone()))
        .mount(&server)
        .await;
    let mut artifact = Artifact::new("5", "build/artifacts.zip");
    artifact.zip = true;
    let mut sink = Vec::new();
    let n = provider
        .download_artifact(&RunId::new("287"), &artifact, &mut sink)
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(sink == data, "the downloaded bytes differ");
    let blob = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/blob/5.zip")
        .unwrap();
    assert!(!blob.headers.contains_key("private-token"));
}

#[tokio::test]
async fn should_retry_failed_jobs_one_job_cancel_and_report_a_status() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/pipelines/287/retry")))
        .respond_with(ResponseTemplate::new(201).set_body_json(pipeline(287, "pending")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/jobs/7/retry")))
        .respond_with(ResponseTemplate::new(201).set_body_json(job(8, "rspec", "pending")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/pipelines/287/cancel")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pipeline(287, "canceling")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/statuses/18f3e63d")))
        .and(body_string_contains("state=failed"))
        .and(body_string_contains("name=flowspec%2Fbuild"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 93, "status": "failed"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = RunId::new("287");
    assert_eq!(
        provider.retry(&run, &RetryScope::Failed).await.unwrap().id,
        run
    );
    assert_eq!(
        provider
            .retry(&run, &RetryScope::Job(JobId::new("7")))
            .await
            .unwrap()
            .id,
        run
    );
    provider.cancel(&run).await.unwrap();
    provider
        .report_status(
            &CommitStatus::new("18f3e63d", CommitState::Failed)
                .context("flowspec/build")
                .git_ref("main"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn should_list_recent_pipelines_of_a_branch() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/pipelines")))
        .and(query_param("ref", "main"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([pipeline(3, "running"), pipeline(2, "failed")])),
        )
        .mount(&server)
        .await;
    let runs = provider
        .list_runs(&RunFilter::new().branch("main").limit(2))
        .await
        .unwrap();
    let ids: Vec<(&str, RunStatus)> = runs.iter().map(|r| (r.id.as_str(), r.status)).collect();
    assert_eq!(ids, [("3", RunStatus::Running), ("2", RunStatus::Failed)]);
}

#[tokio::test]
async fn should_never_create_a_pipeline_twice_after_an_ambiguous_failure() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/pipeline")))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new(""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
}
