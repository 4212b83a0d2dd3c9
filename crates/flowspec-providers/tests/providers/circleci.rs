//! CircleCI against a wiremock server (API v2 and the v1.1 step output).

use std::sync::atomic::Ordering;
use std::time::Duration;

use flowspec_core::provider::{
    CiProvider, CommitState, CommitStatus, JobId, ProviderErrorKind, RetryScope, RunDiscovery,
    RunFilter, RunId, RunStatus, TriggerRequest,
};
use flowspec_providers::circleci::CircleciProvider;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const VARS: &[(&str, &str)] = &[("CIRCLE_TOKEN", "circle-s3cret")];
const PIPELINE: &str = "5034460f-c7c4-4c43-9457-de07e2029e7b";
const WF_BUILD_OLD: &str = "fda08377-fe7e-46b1-8992-3a7aaecac9c3";
const WF_BUILD: &str = "a1b2c3d4-0000-4000-8000-000000000001";
const WF_DEPLOY: &str = "a1b2c3d4-0000-4000-8000-000000000002";

async fn setup_with(extra: &str) -> (MockServer, CircleciProvider) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let yaml = format!(
        "api_url: {}/api/v2\nproject_slug: gh/acme/app\nbranch: main\n{extra}",
        server.uri()
    );
    let provider = with_cx(VARS, |cx| CircleciProvider::from_node(&node(&yaml), cx))
        .unwrap()
        .with_http(fast_http())
        .with_settle_poll(Duration::from_millis(5));
    (server, provider)
}

async fn setup() -> (MockServer, CircleciProvider) {
    setup_with("").await
}

fn api(p: &str) -> String {
    format!("/api/v2/{p}")
}

fn page(items: Value, next: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"items": items, "next_page_token": next}))
}

fn workflow(id: &str, name: &str, status: &str, created: &str) -> Value {
    json!({
        "id": id, "name": name, "status": status, "pipeline_id": PIPELINE,
        "pipeline_number": 42, "project_slug": "gh/acme/app",
        "created_at": created, "stopped_at": if status == "running" { Value::Null } else { json!("2024-03-20T10:09:00Z") },
        "started_by": "9e7e1c2a-0000-4000-8000-000000000000", "canceled_by": null, "errored_by": null, "tag": null
    })
}

fn job(id: &str, number: Option<u64>, name: &str, status: &str) -> Value {
    json!({
        "id": id, "job_number": number, "name": name,
        "type": if number.is_some() { "build" } else { "approval" },
        "status": status, "started_at": "2024-03-20T10:01:00Z", "stopped_at": "2024-03-20T10:04:00Z",
        "dependencies": [], "project_slug": "gh/acme/app", "approval_request_id": null
    })
}

async fn mount_pipeline(server: &MockServer, state: &str) {
    Mock::given(method("GET"))
        .and(path(api(&format!("pipeline/{PIPELINE}"))))
        .and(header("circle-token", "circle-s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": PIPELINE, "number": 42, "state": state,
            "created_at": "2024-03-20T10:00:00Z", "updated_at": "2024-03-20T10:00:05Z",
            "project_slug": "gh/acme/app",
            "errors": if state == "errored" { json!([{"type": "config", "message": "Config does not conform to schema: missing jobs"}]) } else { json!([]) },
            "trigger": {"type": "api", "received_at": "2024-03-20T10:00:00Z", "actor": {"login": "bot"}},
            "vcs": {"provider_name": "GitHub", "branch": "feature/auth", "revision": "4f2c0d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"}
        })))
        .mount(server)
        .await;
}

/// Two pages of workflows: `build` failed, was re-run (now running), `deploy` on hold.
async fn mount_workflows(server: &MockServer, build_status: &str) {
    let p = api(&format!("pipeline/{PIPELINE}/workflow"));
    Mock::given(method("GET"))
        .and(path(p.clone()))
        .and(query_param_is_missing("page-token"))
        .respond_with(page(
            json!([
                workflow(
                    WF_BUILD,
                    "build-and-test",
                    build_status,
                    "2024-03-20T10:05:00Z"
                ),
                workflow(
                    WF_BUILD_OLD,
                    "build-and-test",
                    "failed",
                    "2024-03-20T10:00:01Z"
                ),
            ]),
            Some("page-2"),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .and(query_param("page-token", "page-2"))
        .respond_with(page(
            json!([workflow(
                WF_DEPLOY,
                "deploy",
                "success",
                "2024-03-20T10:00:02Z"
            )]),
            None,
        ))
        .mount(server)
        .await;
}

async fn mount_jobs(server: &MockServer) {
    let p = api(&format!("workflow/{WF_BUILD}/job"));
    Mock::given(path(p.clone()))
        .and(query_param_is_missing("page-token"))
        .respond_with(page(
            json!([job("j-1", Some(1287), "test", "failed")]),
            Some("next"),
        ))
        .mount(server)
        .await;
    Mock::given(path(p))
        .and(query_param("page-token", "next"))
        .respond_with(page(
            json!([job("j-2", Some(1288), "lint", "success")]),
            None,
        ))
        .mount(server)
        .await;
    Mock::given(path(api(&format!("workflow/{WF_DEPLOY}/job"))))
        .respond_with(page(
            json!([
                job("j-3", None, "hold", "on_hold"),
                job("j-4", Some(1290), "ship", "blocked")
            ]),
            None,
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_trigger_a_pipeline_with_parameters_on_a_branch() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline")))
        .and(header("circle-token", "circle-s3cret"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": PIPELINE, "state": "pending", "number": 42, "created_at": "2024-03-20T10:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let request = TriggerRequest::new("")
        .git_ref("feature/auth")
        .input("feature", "auth")
        .input("event_type", "implement.completed");
    let run = provider.trigger(&request).await.unwrap();
    assert_eq!(run.id.as_str(), PIPELINE);
    assert_eq!(run.discovery, Some(RunDiscovery::Response));
    let body: Value = requests_to(&server, &api("project/gh/acme/app/pipeline")).await[0]
        .body_json()
        .unwrap();
    insta::assert_json_snapshot!("circleci_trigger_body", body);
}

#[tokio::test]
async fn should_send_tags_and_typed_parameters() {
    let (server, provider) =
        setup_with("parameter_types: {deploy: boolean, shards: integer}\n").await;
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline")))
        .and(body_json(json!({
            "tag": "v1.2.0",
            "parameters": {"deploy": true, "shards": 4, "env": "staging"}
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": PIPELINE, "number": 43, "state": "created"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let request = TriggerRequest::new("")
        .git_ref("refs/tags/v1.2.0")
        .input("deploy", "true")
        .input("shards", "4")
        .input("env", "staging");
    provider.trigger(&request).await.unwrap();

    let err = provider
        .trigger(&TriggerRequest::new("").input("deploy", "yes"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest);
    assert!(err.to_string().contains("`deploy` is a boolean"), "{err}");
}

#[tokio::test]
async fn should_use_the_pipeline_run_endpoint_with_a_definition_id() {
    let (server, provider) = setup().await;
    let definition = "2f1a4c0e-8b0d-4f5a-9f43-6c2b7e2f3d10";
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline/run")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": PIPELINE, "number": 44, "state": "created"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    provider
        .trigger(&TriggerRequest::new(definition).input("feature", "auth"))
        .await
        .unwrap();
    let body: Value = requests_to(&server, &api("project/gh/acme/app/pipeline/run")).await[0]
        .body_json()
        .unwrap();
    insta::assert_json_snapshot!("circleci_pipeline_run_body", body);

    let err = provider
        .trigger(&TriggerRequest::new("integration-tests"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest);
    insta::assert_snapshot!("circleci_workflow_by_name", err.to_string());
}

#[tokio::test]
async fn should_fail_when_circleci_creates_no_pipeline() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": "Pipeline was not triggered: no trigger rule matched"
        })))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new(""))
        .await
        .unwrap_err();
    insta::assert_snapshot!("circleci_not_triggered", err.to_string());
}

#[tokio::test]
async fn should_combine_the_latest_workflows_across_pages_into_the_run_status() {
    let (server, provider) = setup().await;
    mount_pipeline(&server, "created").await;
    mount_workflows(&server, "running").await;
    let run = provider.get_run(&RunId::new(PIPELINE)).await.unwrap();
    assert_eq!(run.status, RunStatus::Running, "the re-run is running");
    insta::assert_json_snapshot!("circleci_run", run);

    server.reset().await;
    mount_pipeline(&server, "created").await;
    mount_workflows(&server, "success").await;
    let run = provider.get_run(&RunId::new(PIPELINE)).await.unwrap();
    assert_eq!(
        run.status,
        RunStatus::Success,
        "the failed first attempt no longer counts"
    );
}

#[tokio::test]
async fn should_fail_a_pipeline_whose_config_errored() {
    let (server, provider) = setup().await;
    mount_pipeline(&server, "errored").await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}/workflow"))))
        .respond_with(page(json!([]), None))
        .mount(&server)
        .await;
    let run = provider.get_run(&RunId::new(PIPELINE)).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.title.as_deref(),
        Some("config: Config does not conform to schema: missing jobs")
    );
}

#[tokio::test]
async fn should_list_the_jobs_of_every_workflow_across_pages() {
    let (server, provider) = setup().await;
    mount_workflows(&server, "failed").await;
    mount_jobs(&server).await;
    let jobs = provider.list_jobs(&RunId::new(PIPELINE)).await.unwrap();
    let summary: Vec<(String, String, RunStatus, Option<String>)> = jobs
        .iter()
        .map(|j| (j.id.to_string(), j.name.clone(), j.status, j.stage.clone()))
        .collect();
    insta::assert_debug_snapshot!("circleci_jobs", summary);
}

#[tokio::test]
async fn should_read_step_output_through_api_v1_without_sending_the_token_to_storage() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/v1.1/project/github/acme/app/1287"))
        .and(header("circle-token", "circle-s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "build_num": 1287, "lifecycle": "finished", "status": "failed",
            "steps": [
                {"name": "Spin up environment", "actions": [{"index": 0, "status": "success", "output_url": format!("{}/out/1", server.uri())}]},
                {"name": "Run tests", "actions": [
                    {"index": 0, "status": "failed", "output_url": format!("{}/out/2", server.uri())},
                    {"index": 1, "status": "success", "output_url": null}
                ]}
            ]
        })))
        .mount(&server)
        .await;
    for (p, text) in [
        ("/out/1", "Starting container\n"),
        ("/out/2", "1 failed, 41 passed"),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"type": "out", "time": "2024-03-20T10:01:00Z", "message": text}
            ])))
            .mount(&server)
            .await;
    }
    let full = provider
        .job_log(&RunId::new(PIPELINE), &JobId::new("1287"), 0)
        .await
        .unwrap();
    assert!(full.complete);
    insta::assert_snapshot!("circleci_job_log", full.text());
    let tail = provider
        .job_log(
            &RunId::new(PIPELINE),
            &JobId::new("1287"),
            full.next_offset - 20,
        )
        .await
        .unwrap();
    let whole = full.text().into_owned();
    assert_eq!(tail.text(), &whole[whole.len() - 20..]);
    assert_eq!(tail.next_offset, full.next_offset);
    for p in ["/out/1", "/out/2"] {
        for r in requests_to(&server, p).await {
            assert!(
                !r.headers.contains_key("circle-token"),
                "the token must not go to the storage URL"
            );
        }
    }
}

#[tokio::test]
async fn should_rerun_failed_workflows_from_failed_and_one_job_by_number() {
    let (server, provider) = setup().await;
    mount_pipeline(&server, "created").await;
    mount_workflows(&server, "failed").await;
    mount_jobs(&server).await;
    Mock::given(method("POST"))
        .and(path(api(&format!("workflow/{WF_BUILD}/rerun"))))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"workflow_id": WF_BUILD})))
        .expect(2)
        .mount(&server)
        .await;
    let run = provider
        .retry(&RunId::new(PIPELINE), &RetryScope::Failed)
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), PIPELINE, "the pipeline stays the run");
    provider
        .retry(&RunId::new(PIPELINE), &RetryScope::Job(JobId::new("1287")))
        .await
        .unwrap();
    let bodies: Vec<Value> = requests_to(&server, &api(&format!("workflow/{WF_BUILD}/rerun")))
        .await
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    insta::assert_json_snapshot!("circleci_rerun_bodies", bodies);

    let err = provider
        .retry(&RunId::new(PIPELINE), &RetryScope::Job(JobId::new("999")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::NotFound);
    insta::assert_snapshot!("circleci_rerun_unknown_job", err.to_string());
}

#[tokio::test]
async fn should_return_from_a_rerun_once_the_pipeline_lists_the_new_workflow() {
    let (server, provider) = setup().await;
    mount_pipeline(&server, "created").await;
    let old = workflow(
        WF_BUILD_OLD,
        "build-and-test",
        "failed",
        "2024-03-20T10:00:01Z",
    );
    let new = workflow(
        WF_BUILD,
        "build-and-test",
        "running",
        "2024-03-20T10:05:00Z",
    );
    let (listings, calls) = Counted::new(vec![
        page(json!([old.clone()]), None),
        page(json!([old.clone()]), None),
        page(json!([new, old]), None),
    ]);
    Mock::given(path(api(&format!("pipeline/{PIPELINE}/workflow"))))
        .respond_with(listings)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api(&format!("workflow/{WF_BUILD_OLD}/rerun"))))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"workflow_id": WF_BUILD})))
        .expect(1)
        .mount(&server)
        .await;
    let run = RunId::new(PIPELINE);
    provider.retry(&run, &RetryScope::Failed).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "one listing to find the failed workflow, two until the re-run appears"
    );
    assert_eq!(
        provider.get_run(&run).await.unwrap().status,
        RunStatus::Running
    );
}

#[tokio::test]
async fn should_cancel_only_the_workflows_still_running() {
    let (server, provider) = setup().await;
    mount_workflows(&server, "running").await;
    Mock::given(method("POST"))
        .and(path(api(&format!("workflow/{WF_BUILD}/cancel"))))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"message": "Accepted."})))
        .expect(1)
        .mount(&server)
        .await;
    provider.cancel(&RunId::new(PIPELINE)).await.unwrap();
}

#[tokio::test]
async fn should_list_artifacts_across_pages_and_download_one_with_the_token() {
    let (server, provider) = setup().await;
    mount_workflows(&server, "failed").await;
    mount_jobs(&server).await;
    let art = |p: &str, node: u32| json!({"path": p, "node_index": node, "url": format!("{}/artifacts/1287/{node}/{p}", server.uri())});
    let a = api("project/gh/acme/app/1287/artifacts");
    Mock::given(path(a.clone()))
        .and(query_param_is_missing("page-token"))
        .respond_with(page(json!([art("coverage/index.html", 0)]), Some("p2")))
        .mount(&server)
        .await;
    Mock::given(path(a))
        .and(query_param("page-token", "p2"))
        .respond_with(page(json!([art("junit.xml", 1)]), None))
        .mount(&server)
        .await;
    for n in [1288, 1290] {
        Mock::given(path(api(&format!("project/gh/acme/app/{n}/artifacts"))))
            .respond_with(page(json!([]), None))
            .mount(&server)
            .await;
    }
    let bytes = sample_bytes(200_000);
    Mock::given(method("GET"))
        .and(path("/artifacts/1287/1/junit.xml"))
        .and(header("circle-token", "circle-s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .expect(1)
        .mount(&server)
        .await;

    let run = RunId::new(PIPELINE);
    let artifacts = provider.list_artifacts(&run).await.unwrap();
    let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["test/coverage/index.html", "test/1/junit.xml"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    let n = provider
        .download_artifact_to(&run, &artifacts[1], &file)
        .await
        .unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert_eq!(std::fs::read(file).unwrap(), bytes);
}

#[tokio::test]
async fn should_follow_an_artifact_redirect_to_storage_without_the_token() {
    let (server, provider) = setup().await;
    let storage = format!(
        "{}/bucket/junit.xml?X-Amz-Signature=abc",
        server.uri().replace("127.0.0.1", "localhost")
    );
    Mock::given(method("GET"))
        .and(path("/artifacts/1287/0/junit.xml"))
        .and(header("circle-token", "circle-s3cret"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", storage.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/junit.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<testsuites/>"))
        .expect(1)
        .mount(&server)
        .await;
    let artifact = flowspec_core::provider::Artifact::new(
        format!("{}/artifacts/1287/0/junit.xml", server.uri()),
        "test/junit.xml",
    );
    let mut out = Vec::new();
    provider
        .download_artifact(&RunId::new(PIPELINE), &artifact, &mut out)
        .await
        .unwrap();
    assert_eq!(out, b"<testsuites/>");
    let blob = &requests_to(&server, "/bucket/junit.xml").await[0];
    assert!(
        !blob.headers.contains_key("circle-token"),
        "the token must stay with CircleCI"
    );
}

#[tokio::test]
async fn should_read_test_metadata_of_every_job() {
    let (server, provider) = setup().await;
    mount_workflows(&server, "failed").await;
    mount_jobs(&server).await;
    let t = api("project/gh/acme/app/1287/tests");
    Mock::given(path(t.clone()))
        .and(query_param_is_missing("page-token"))
        .respond_with(page(
            json!([{"message": "expected 2, got 3", "source": "junit.xml", "run_time": 0.12,
                    "file": "tests/auth.py", "result": "failure", "name": "test_login", "classname": "tests.auth"}]),
            Some("t2"),
        ))
        .mount(&server)
        .await;
    Mock::given(path(t))
        .and(query_param("page-token", "t2"))
        .respond_with(page(
            json!([{"message": "", "source": "junit.xml", "run_time": 0.01,
                    "file": "tests/auth.py", "result": "success", "name": "test_logout", "classname": "tests.auth"}]),
            None,
        ))
        .mount(&server)
        .await;
    for n in [1288, 1290] {
        Mock::given(path(api(&format!("project/gh/acme/app/{n}/tests"))))
            .respond_with(page(json!([]), None))
            .mount(&server)
            .await;
    }
    let tests = provider.run_tests(&RunId::new(PIPELINE)).await.unwrap();
    insta::assert_json_snapshot!("circleci_tests", tests);
}

#[tokio::test]
async fn should_list_recent_pipelines_of_a_branch() {
    let (server, provider) = setup().await;
    Mock::given(path(api("project/gh/acme/app/pipeline")))
        .and(query_param("branch", "main"))
        .respond_with(page(
            json!([{"id": PIPELINE, "number": 42, "state": "created", "created_at": "2024-03-20T10:00:00Z"}]),
            Some("more"),
        ))
        .mount(&server)
        .await;
    mount_workflows(&server, "success").await;
    let runs = provider
        .list_runs(&RunFilter::new().branch("main").limit(1))
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Success);
}

#[tokio::test]
async fn should_name_the_token_variable_on_401() {
    let (server, provider) = setup().await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}"))))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Invalid token provided."})),
        )
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new(PIPELINE)).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Auth);
    insta::assert_snapshot!("circleci_401", err.to_string());
}

#[tokio::test]
async fn should_report_rate_limits_with_their_reset_time() {
    let (server, provider) = setup().await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}"))))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "4102444800")
                .set_body_json(json!({"message": "Rate limit exceeded"})),
        )
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new(PIPELINE)).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    insta::assert_snapshot!("circleci_429", err.to_string());
}

#[tokio::test]
async fn should_pass_on_circleci_messages_for_403_and_404() {
    let (server, provider) = setup().await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}"))))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Pipeline not found"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline")))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Permission denied"})),
        )
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new(PIPELINE)).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::NotFound);
    assert_eq!(err.platform_message(), Some("Pipeline not found"));
    let err = provider
        .trigger(&TriggerRequest::new(""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Auth);
    insta::assert_snapshot!("circleci_403", err.to_string());
}

#[tokio::test]
async fn should_retry_a_500_then_succeed_but_never_repeat_a_trigger() {
    let (server, provider) = setup().await;
    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(500).set_body_json(json!({"message": "internal"})),
        page(json!([]), None),
    ]);
    Mock::given(path(api(&format!("pipeline/{PIPELINE}/workflow"))))
        .respond_with(answers)
        .mount(&server)
        .await;
    mount_pipeline(&server, "setup").await;
    let run = provider.get_run(&RunId::new(PIPELINE)).await.unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(502),
        ResponseTemplate::new(201)
            .set_body_json(json!({"id": PIPELINE, "number": 1, "state": "created"})),
    ]);
    Mock::given(method("POST"))
        .and(path(api("project/gh/acme/app/pipeline")))
        .respond_with(answers)
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new(""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a trigger that may have run is not repeated"
    );
}

#[tokio::test]
async fn should_time_out_and_refuse_malformed_json() {
    let (server, provider) = setup().await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}"))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{\"id\": ")
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let slow = provider.with_http(impatient_http());
    let err = slow.get_run(&RunId::new(PIPELINE)).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert!(err.to_string().contains("timed out"), "{err}");

    let (server, provider) = setup().await;
    Mock::given(path(api(&format!("pipeline/{PIPELINE}"))))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": "))
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new(PIPELINE)).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
}

#[tokio::test]
async fn should_say_what_circleci_cannot_do() {
    let (_server, provider) = setup().await;
    let err = provider
        .report_status(&CommitStatus::new("4f2c0d9", CommitState::Success))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
    insta::assert_snapshot!("circleci_commit_status_unsupported", err.to_string());

    let server = MockServer::start().await;
    let yaml = format!(
        "api_url: {}/api/v2\nproject_slug: circleci/8e4zJ7/a1b2c3\n",
        server.uri()
    );
    let provider = with_cx(VARS, |cx| CircleciProvider::from_node(&node(&yaml), cx)).unwrap();
    let err = provider
        .job_log(&RunId::new(PIPELINE), &JobId::new("12"), 0)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
    insta::assert_snapshot!("circleci_logs_unsupported", err.to_string());
}

#[test]
fn should_report_config_errors_with_their_place() {
    let err = with_cx(VARS, |cx| {
        CircleciProvider::from_node(
            &node("project_slug: acme/app\ndefinition_id: main\ntoken: literal-token\n"),
            cx,
        )
    })
    .unwrap_err();
    insta::assert_snapshot!("circleci_config_errors", render(&err));
    let err = with_cx(VARS, |cx| {
        CircleciProvider::from_node(
            &node("project_slug: gh/a/b\nparameter_types: {deploy: bool}\n"),
            cx,
        )
    })
    .unwrap_err();
    insta::assert_snapshot!("circleci_config_parameter_type", render(&err));
}
