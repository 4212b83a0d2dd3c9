//! The custom HTTP CI against a wiremock server.

use std::sync::atomic::Ordering;
use std::time::Duration;

use flowspec_core::provider::{
    CiProvider, JobId, ProviderErrorKind, RetryScope, RunId, RunStatus, TriggerRequest,
};
use flowspec_providers::custom::CustomProvider;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const VARS: &[(&str, &str)] = &[
    ("CI_TOKEN", "tok-s3cret"),
    ("CI_PASSWORD", "pw-s3cret"),
    ("CI_KEY", "key-s3cret"),
];

/// The minimal configuration (URL templates and pointers only), against `server`.
fn minimal_yaml(server: &MockServer) -> String {
    format!(
        "trigger_url: {0}/api/trigger\nstatus_url: {0}/api/status/{{run_id}}\nauth:\n  type: bearer\n  token: ${{CI_TOKEN}}\n",
        server.uri()
    )
}

async fn setup_with(extra: &str) -> (MockServer, CustomProvider) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let yaml = format!("{}{extra}", minimal_yaml(&server));
    let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx))
        .unwrap()
        .with_http(fast_http());
    (server, provider)
}

/// Everything optional configured, on top of the minimal configuration.
async fn full() -> (MockServer, CustomProvider) {
    let server = MockServer::start().await;
    let u = server.uri();
    let extra = format!(
        "pointers:\n  run_id: /run/id\n  status: /run/state\n  url: /run/web_url\n  artifacts: /files\n  artifact_url: /href\nstatus_map:\n  Green: success\n  Red: failed\n  Amber: running\nlogs_url: {u}/api/runs/{{run_id}}/log?offset={{offset}}\ncancel_url: {u}/api/runs/{{run_id}}/cancel\nretry_url: {u}/api/runs/{{run_id}}/retry?scope={{scope}}&job={{job_id}}\nartifacts_url: {u}/api/runs/{{run_id}}/artifacts\n"
    );
    fallback(&server).await;
    let yaml = format!("{}{extra}", minimal_yaml(&server));
    let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx))
        .unwrap()
        .with_http(fast_http());
    (server, provider)
}

#[tokio::test]
async fn should_trigger_with_the_minimal_config_and_the_default_body() {
    let (server, provider) = setup_with("").await;
    Mock::given(method("POST"))
        .and(path("/api/trigger"))
        .and(header("authorization", "Bearer tok-s3cret"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 981, "url": "https://ci.example.com/runs/981"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("integration")
                .git_ref("feature/auth")
                .input("feature", "auth")
                .input("event_type", "implement.completed"),
        )
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "981");
    assert_eq!(run.url.as_deref(), Some("https://ci.example.com/runs/981"));
    let body: Value = requests_to(&server, "/api/trigger").await[0]
        .body_json()
        .unwrap();
    insta::assert_json_snapshot!("custom_trigger_default_body", body);
}

#[tokio::test]
async fn should_render_a_trigger_body_template_and_url_placeholders() {
    let server = MockServer::start().await;
    fallback(&server).await;
    let u = server.uri();
    let yaml = format!(
        "trigger_url: {u}/api/pipelines/{{workflow}}/trigger\nstatus_url: {u}/s/{{run_id}}\ntrigger_body:\n  branch: \"{{ref}}\"\n  title: \"flowspec {{workflow}} for {{input.feature}}\"\n  variables: \"{{inputs}}\"\n  trace: \"{{correlation_id}}\"\n  fixed: [1, true]\nidempotency_header: Idempotency-Key\n"
    );
    let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx))
        .unwrap()
        .with_http(fast_http());
    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(503),
        ResponseTemplate::new(200).set_body_json(json!({"id": "r-1"})),
    ]);
    Mock::given(method("POST"))
        .and(path("/api/pipelines/deploy%20prod/trigger"))
        .and(header("idempotency-key", "evt-1"))
        .respond_with(answers)
        .mount(&server)
        .await;
    let run = provider
        .trigger(
            &TriggerRequest::new("deploy prod")
                .input("feature", "auth")
                .correlation_id("fs-0123456789ab")
                .idempotency_key("evt-1"),
        )
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "r-1");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "with an idempotency key an ambiguous 503 is retried"
    );
    let body: Value = requests_to(&server, "/api/pipelines/deploy%20prod/trigger").await[1]
        .body_json()
        .unwrap();
    insta::assert_json_snapshot!("custom_trigger_template_body", body);
}

#[tokio::test]
async fn should_not_repeat_a_trigger_without_an_idempotency_key() {
    let (server, provider) = setup_with("").await;
    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_json(json!({"id": 1})),
    ]);
    Mock::given(path("/api/trigger"))
        .respond_with(answers)
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn should_read_status_and_url_with_pointers_and_the_status_map() {
    let (server, provider) = full().await;
    let (answers, _) = Counted::new(vec![
        ResponseTemplate::new(200).set_body_json(
            json!({"run": {"id": 7, "state": "Amber", "web_url": "https://ci/r/7"}}),
        ),
        ResponseTemplate::new(200).set_body_json(json!({"run": {"id": 7, "state": "RED"}})),
        ResponseTemplate::new(200).set_body_json(json!({"run": {"id": 7, "state": "aborted"}})),
        ResponseTemplate::new(200).set_body_json(json!({"run": {"id": 7, "state": "Purple"}})),
    ]);
    Mock::given(method("GET"))
        .and(path("/api/status/7"))
        .and(header("authorization", "Bearer tok-s3cret"))
        .respond_with(answers)
        .mount(&server)
        .await;
    let id = RunId::new("7");
    let first = provider.get_run(&id).await.unwrap();
    assert_eq!(first.url.as_deref(), Some("https://ci/r/7"));
    let mut seen = vec![(first.status, first.raw_status)];
    for _ in 0..3 {
        let r = provider.get_run(&id).await.unwrap();
        seen.push((r.status, r.raw_status));
    }
    assert_eq!(
        seen,
        [
            (RunStatus::Running, "Amber".to_owned()),
            (RunStatus::Failed, "RED".to_owned()),
            (RunStatus::Cancelled, "aborted".to_owned()),
            (RunStatus::Unknown, "Purple".to_owned()),
        ]
    );
    let jobs = provider.list_jobs(&id).await.unwrap();
    assert_eq!((jobs.len(), jobs[0].id.as_str()), (1, "7"));
}

#[tokio::test]
async fn should_explain_a_pointer_that_finds_nothing() {
    let (server, provider) = setup_with("").await;
    Mock::given(path("/api/trigger"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"run_id": 5, "ok": true})))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
    insta::assert_snapshot!("custom_pointer_finds_nothing", err.to_string());
}

#[tokio::test]
async fn should_follow_logs_by_offset_until_the_run_ends() {
    let (server, provider) = full().await;
    let (states, _) = Counted::new(vec![
        ResponseTemplate::new(200).set_body_json(json!({"run": {"state": "Amber"}})),
        ResponseTemplate::new(200).set_body_json(json!({"run": {"state": "Amber"}})),
        ResponseTemplate::new(200).set_body_json(json!({"run": {"state": "Green"}})),
    ]);
    Mock::given(path("/api/status/7"))
        .respond_with(states)
        .mount(&server)
        .await;
    for (offset, text) in [("0", "step 1\n"), ("7", "step 2\n"), ("14", "done\n")] {
        Mock::given(method("GET"))
            .and(path("/api/runs/7/log"))
            .and(query_param("offset", offset))
            .respond_with(ResponseTemplate::new(200).set_body_string(text))
            .mount(&server)
            .await;
    }
    let (run, job) = (RunId::new("7"), JobId::new("7"));
    let mut text = String::new();
    let mut offset = 0;
    loop {
        let c = provider.job_log(&run, &job, offset).await.unwrap();
        text.push_str(&c.text());
        offset = c.next_offset;
        if c.complete {
            break;
        }
    }
    assert_eq!(text, "step 1\nstep 2\ndone\n");
}

#[tokio::test]
async fn should_cut_a_whole_log_at_the_offset_without_an_offset_placeholder() {
    let server = MockServer::start().await;
    let yaml = format!(
        "{}logs_url: {}/log/{{run_id}}\n",
        minimal_yaml(&server),
        server.uri()
    );
    let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx)).unwrap();
    Mock::given(path("/api/status/9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "success"})))
        .mount(&server)
        .await;
    Mock::given(path("/log/9"))
        .respond_with(ResponseTemplate::new(200).set_body_string("line1\nline2\n"))
        .mount(&server)
        .await;
    let c = provider
        .job_log(&RunId::new("9"), &JobId::new("9"), 6)
        .await
        .unwrap();
    assert_eq!(
        (c.text().as_ref(), c.next_offset, c.complete),
        ("line2\n", 12, true)
    );
}

#[tokio::test]
async fn should_cancel_and_retry_with_scope_and_job() {
    let (server, provider) = full().await;
    Mock::given(method("POST"))
        .and(path("/api/runs/7/cancel"))
        .and(header("authorization", "Bearer tok-s3cret"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/runs/7/retry"))
        .and(query_param("scope", "failed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"run": {"id": 8}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/runs/7/retry"))
        .and(query_param("scope", "job"))
        .and(query_param("job", "lint"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let run = RunId::new("7");
    provider.cancel(&run).await.unwrap();
    let new = provider.retry(&run, &RetryScope::Failed).await.unwrap();
    assert_eq!(new.id.as_str(), "8", "the retry answered a new run");
    let same = provider
        .retry(&run, &RetryScope::Job(JobId::new("lint")))
        .await
        .unwrap();
    assert_eq!(
        same.id.as_str(),
        "7",
        "no new run named: the same run again"
    );
}

#[tokio::test]
async fn should_list_artifacts_and_send_credentials_only_to_the_ci_itself() {
    let (server, provider) = full().await;
    let own = format!("{}/files/report.xml", server.uri());
    let foreign = format!(
        "{}/storage/bundle.zip?sig=abc",
        server.uri().replace("127.0.0.1", "localhost")
    );
    Mock::given(path("/api/runs/7/artifacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"files": [
            {"name": "report.xml", "href": own, "size": 5},
            {"name": "bundle.zip", "href": foreign},
            {"name": "relative.txt", "href": "../../files/relative.txt"}
        ]})))
        .mount(&server)
        .await;
    let bytes = sample_bytes(150_000);
    Mock::given(path("/storage/bundle.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/files/report.xml"))
        .and(header("authorization", "Bearer tok-s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<ok/>"))
        .mount(&server)
        .await;
    let run = RunId::new("7");
    let artifacts = provider.list_artifacts(&run).await.unwrap();
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "[server]"), (r"localhost:\d+", "[other-host]")]}, {
        insta::assert_json_snapshot!("custom_artifacts", artifacts);
    });
    let dir = tempfile::tempdir().unwrap();
    let n = provider
        .download_artifact_to(&run, &artifacts[1], &dir.path().join("b.zip"))
        .await
        .unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert_eq!(std::fs::read(dir.path().join("b.zip")).unwrap(), bytes);
    let storage = requests_to(&server, "/storage/bundle.zip").await;
    assert!(
        !storage[0].headers.contains_key("authorization"),
        "credentials must not go to another host"
    );
    provider
        .download_artifact_to(&run, &artifacts[0], &dir.path().join("r.xml"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.xml")).unwrap(),
        "<ok/>"
    );
}

#[tokio::test]
async fn should_name_the_key_that_enables_what_is_not_configured() {
    let (_server, provider) = setup_with("").await;
    let run = RunId::new("1");
    let messages = [
        provider.cancel(&run).await.unwrap_err().to_string(),
        provider
            .retry(&run, &RetryScope::All)
            .await
            .unwrap_err()
            .to_string(),
        provider.list_artifacts(&run).await.unwrap_err().to_string(),
        provider
            .job_log(&run, &JobId::new("1"), 0)
            .await
            .unwrap_err()
            .to_string(),
    ];
    insta::assert_snapshot!("custom_unsupported", messages.join("\n"));

    let server = MockServer::start().await;
    let yaml = format!(
        "{}retry_url: {}/r/{{run_id}}\n",
        minimal_yaml(&server),
        server.uri()
    );
    let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx)).unwrap();
    let err = provider.retry(&run, &RetryScope::Failed).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
    assert!(err.to_string().contains("`{scope}`"), "{err}");
}

#[tokio::test]
async fn should_authenticate_with_basic_and_header_auth() {
    let server = MockServer::start().await;
    fallback(&server).await;
    let u = server.uri();
    for (auth, name, value) in [
        (
            "{type: basic, username: ci-bot, password: '${CI_PASSWORD}'}",
            "authorization",
            "Basic Y2ktYm90OnB3LXMzY3JldA==",
        ),
        (
            "{type: header, name: X-Api-Key, value: '${CI_KEY}'}",
            "x-api-key",
            "key-s3cret",
        ),
    ] {
        let yaml = format!(
            "trigger_url: {u}/t\nstatus_url: {u}/s/{{run_id}}\nauth: {auth}\nheaders: {{X-Team: core}}\n"
        );
        let provider = with_cx(VARS, |cx| CustomProvider::from_node(&node(&yaml), cx)).unwrap();
        Mock::given(path("/s/1"))
            .and(header(name, value))
            .and(header("x-team", "core"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "passed"})))
            .expect(1)
            .named(name)
            .mount(&server)
            .await;
        let run = provider.get_run(&RunId::new("1")).await.unwrap();
        assert_eq!(run.status, RunStatus::Success, "{auth}");
        server.reset().await;
        fallback(&server).await;
    }
}

#[tokio::test]
async fn should_name_the_token_variable_on_401_and_report_rate_limits() {
    let (server, provider) = setup_with("").await;
    Mock::given(path("/api/status/1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid token"})))
        .mount(&server)
        .await;
    // A short wait is honoured and the request repeated; a long one is reported.
    let (limited, calls) = Counted::new(vec![
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
        ResponseTemplate::new(200).set_body_json(json!({"status": "queued"})),
    ]);
    Mock::given(path("/api/status/4"))
        .respond_with(limited)
        .mount(&server)
        .await;
    Mock::given(path("/api/status/2"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .set_body_json(json!({"error": "slow down"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/status/3"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "no such run"})))
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("1")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Auth);
    insta::assert_snapshot!("custom_401", err.to_string());
    let err = provider.get_run(&RunId::new("2")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(err.to_string().contains("retry in 3600s"), "{err}");
    let run = provider.get_run(&RunId::new("4")).await.unwrap();
    assert_eq!(
        (run.status, calls.load(Ordering::SeqCst)),
        (RunStatus::Queued, 2)
    );
    let err = provider.get_run(&RunId::new("3")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::NotFound);
    assert_eq!(err.platform_message(), Some("no such run"));
}

#[tokio::test]
async fn should_retry_a_500_then_succeed_time_out_and_refuse_malformed_json() {
    let (server, provider) = setup_with("").await;
    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_json(json!({"status": "running"})),
    ]);
    Mock::given(path("/api/status/1"))
        .respond_with(answers)
        .mount(&server)
        .await;
    Mock::given(path("/api/status/2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops"))
        .mount(&server)
        .await;
    Mock::given(path("/api/status/3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "running"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    assert_eq!(
        provider.get_run(&RunId::new("1")).await.unwrap().status,
        RunStatus::Running
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let err = provider.get_run(&RunId::new("2")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
    let err = provider
        .with_http(impatient_http())
        .get_run(&RunId::new("3"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
}

#[test]
fn should_suggest_the_key_meant_by_a_typo() {
    let err = with_cx(VARS, |cx| {
        CustomProvider::from_node(
            &node("trigger_url: https://ci.example.com/t\nstatus_url: https://ci.example.com/s/{run_id}\ncancel_ulr: https://ci.example.com/c/{run_id}\n"),
            cx,
        )
    })
    .unwrap_err();
    insta::assert_snapshot!("custom_config_typo", render(&err));
}

#[test]
fn should_report_every_config_problem_at_once_with_its_place() {
    let yaml = "\
trigger_url: http://ci.example.com/t
status_url: https://ci.example.com/status
auth:
  type: bearer
  token: literal-token
  username: bot
pointers:
  run_id: data.id
  status: /a~2b
status_map:
  green: success
logs_url: https://ci.example.com/log/{run_id}?from={offest}
trigger_body:
  title: \"run {inputs}\"
";
    let err = with_cx(VARS, |cx| CustomProvider::from_node(&node(yaml), cx)).unwrap_err();
    insta::assert_snapshot!("custom_config_errors", render(&err));
}

#[test]
fn should_refuse_a_status_outside_the_normalized_set() {
    let err = with_cx(VARS, |cx| {
        CustomProvider::from_node(
            &node("trigger_url: https://ci.example.com/t\nstatus_url: https://ci.example.com/s/{run_id}\nstatus_map:\n  green: succes\n"),
            cx,
        )
    })
    .unwrap_err();
    insta::assert_snapshot!("custom_config_status_map", render(&err));
}

#[test]
fn should_keep_secrets_out_of_debug_output() {
    let p = with_cx(VARS, |cx| {
        CustomProvider::from_node(
            &node("trigger_url: https://ci.example.com/t\nstatus_url: https://ci.example.com/s/{run_id}\nauth: {type: bearer, token: '${CI_TOKEN}'}\n"),
            cx,
        )
    })
    .unwrap();
    let debug = format!("{p:?}");
    assert!(
        !debug.contains("tok-s3cret") && debug.contains("CI_TOKEN"),
        "{debug}"
    );
}
