//! Jenkins against a wiremock server (queue, stages, progressive console, crumbs).

use std::time::Duration;

use flowspec_core::provider::{
    Artifact, CiProvider, CommitState, CommitStatus, JobId, ProviderErrorKind, RetryScope,
    RunDiscovery, RunId, RunStatus, TriggerRequest,
};
use flowspec_providers::jenkins::JenkinsProvider;
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const VARS: &[(&str, &str)] = &[("JENKINS_USER", "bot"), ("JENKINS_API_TOKEN", "s3cret")];
// base64("bot:s3cret")
const BASIC: &str = "Basic Ym90OnMzY3JldA==";

async fn setup() -> (MockServer, JenkinsProvider) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let yaml = format!(
        "api_url: {}/\njob: team/app\nref_parameter: BRANCH\n",
        server.uri()
    );
    let provider = with_cx(VARS, |cx| JenkinsProvider::from_node(&node(&yaml), cx))
        .unwrap()
        .with_http(fast_http())
        .with_queue_poll(Duration::from_millis(5));
    (server, provider)
}

async fn mount_crumb(server: &MockServer, crumb: &str) {
    Mock::given(method("GET"))
        .and(path("/crumbIssuer/api/json"))
        .and(header("authorization", BASIC))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "JSESSIONID.abc=node01; Path=/; HttpOnly")
                .set_body_json(json!({
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": crumb,
                    "crumbRequestField": "Jenkins-Crumb"
                })),
        )
        .mount(server)
        .await;
}

fn queue_item(executable: Option<u64>, cancelled: bool) -> ResponseTemplate {
    let class = if executable.is_some() || cancelled {
        "hudson.model.Queue$LeftItem"
    } else {
        "hudson.model.Queue$BuildableItem"
    };
    ResponseTemplate::new(200).set_body_json(json!({
        "_class": class, "id": 123, "blocked": false, "buildable": executable.is_none(),
        "stuck": false, "cancelled": cancelled,
        "why": if executable.is_none() { json!("Waiting for next available executor") } else { json!(null) },
        "inQueueSince": 1710928800000u64,
        "task": {"name": "app", "url": "http://ci/job/team/job/app/"},
        "executable": executable.map(|n| json!({
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
            "number": n, "url": format!("https://ci.example.com/job/team/job/app/{n}/")
        }))
    }))
}

fn build_json(building: bool, result: Option<&str>) -> serde_json::Value {
    json!({
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "number": 57, "url": "https://ci.example.com/job/team/job/app/57/",
        "fullDisplayName": "team » app #57",
        "building": building, "result": result,
        "timestamp": 1710928805123u64, "duration": if building { 0 } else { 93512 },
        "estimatedDuration": 90000,
        "artifacts": [
            {"displayPath": "report.xml", "fileName": "report.xml", "relativePath": "target/report.xml"},
            {"displayPath": "a b.bin", "fileName": "a b.bin", "relativePath": "out/a b.bin"}
        ],
        "actions": [
            {"_class": "hudson.model.ParametersAction", "parameters": [
                {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "feature/auth"},
                {"_class": "hudson.model.StringParameterValue", "name": "FEATURE", "value": "auth"},
                {"_class": "hudson.model.PasswordParameterValue", "name": "DEPLOY_KEY"}
            ]},
            {},
            {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {
                "SHA1": "4f2c0d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
                "branch": [{"name": "refs/remotes/origin/feature/auth"}]
            }}
        ]
    })
}

#[tokio::test]
async fn should_trigger_with_parameters_and_the_crumb_then_follow_the_queue_to_the_build() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c0ffee").await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/buildWithParameters"))
        .and(header("authorization", BASIC))
        .and(header("jenkins-crumb", "c0ffee"))
        .and(header("cookie", "JSESSIONID.abc=node01"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("location", format!("{}/queue/item/123/", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (queue, polls) = Counted::new(vec![
        queue_item(None, false),
        queue_item(None, false),
        queue_item(Some(57), false),
    ]);
    Mock::given(method("GET"))
        .and(path("/queue/item/123/api/json"))
        .respond_with(queue)
        .mount(&server)
        .await;

    let request = TriggerRequest::new("")
        .git_ref("feature/auth")
        .input("FEATURE", "auth")
        .input("EVENT_TYPE", "implement.completed");
    let run = provider.trigger(&request).await.unwrap();

    assert_eq!(run.id.as_str(), "team/app#57");
    assert_eq!(run.discovery, Some(RunDiscovery::Queue));
    assert_eq!(
        run.url.as_deref(),
        Some("https://ci.example.com/job/team/job/app/57/")
    );
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let posts = requests_to(&server, "/job/team/job/app/buildWithParameters").await;
    insta::assert_snapshot!(
        "jenkins_trigger_form",
        String::from_utf8_lossy(&posts[0].body)
    );
}

#[tokio::test]
async fn should_use_build_for_a_job_without_parameters_and_skip_a_disabled_crumb_issuer() {
    let (server, provider) = setup().await;
    Mock::given(path("/crumbIssuer/api/json"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/job/other/build"))
        .and(body_string(""))
        .respond_with(
            ResponseTemplate::new(201).insert_header("location", "https://elsewhere/queue/item/9/"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/queue/item/9/api/json"))
        .respond_with(queue_item(Some(3), false))
        .mount(&server)
        .await;

    let run = provider
        .trigger(&TriggerRequest::new("other"))
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "other#3");
    let post = &requests_to(&server, "/job/other/build").await[0];
    assert!(
        !post.headers.contains_key("jenkins-crumb"),
        "no crumb without CSRF protection"
    );
}

#[tokio::test]
async fn should_follow_a_303_to_an_identical_queued_item() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c").await;
    // Newer cores merge an identical request into the queued item and answer 303.
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/buildWithParameters"))
        .respond_with(
            ResponseTemplate::new(303)
                .insert_header("location", format!("{}/queue/item/77/", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/queue/item/77/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>queue item</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/queue/item/77/api/json"))
        .respond_with(queue_item(Some(60), false))
        .mount(&server)
        .await;
    let run = provider
        .trigger(&TriggerRequest::new("team/app").input("FEATURE", "auth"))
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "team/app#60");
}

#[tokio::test]
async fn should_fail_clearly_when_the_queued_build_is_cancelled() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c").await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/build"))
        .respond_with(
            ResponseTemplate::new(201).insert_header("location", "http://ci/queue/item/123/"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/queue/item/123/api/json"))
        .respond_with(queue_item(None, true))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("team/app"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
    insta::assert_snapshot!("jenkins_queue_cancelled", err.to_string());
}

#[tokio::test]
async fn should_fetch_a_new_crumb_when_jenkins_refuses_the_old_one() {
    let (server, provider) = setup().await;
    let crumb = |value: &str| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"crumb": value, "crumbRequestField": "Jenkins-Crumb"}))
    };
    let (crumbs, crumb_calls) = Counted::new(vec![crumb("stale"), crumb("fresh")]);
    Mock::given(path("/crumbIssuer/api/json"))
        .respond_with(crumbs)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/57/stop"))
        .and(header("jenkins-crumb", "stale"))
        .respond_with(ResponseTemplate::new(403).set_body_string(
            "<html><body>Error 403 No valid crumb was included in the request</body></html>",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/57/stop"))
        .and(header("jenkins-crumb", "fresh"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    provider.cancel(&RunId::new("57")).await.unwrap();
    assert_eq!(crumb_calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn should_list_the_jobs_that_exist_when_the_job_is_not_found() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c").await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/ap/build"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobs": [
                {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "team",
                 "jobs": [{"_class": "WorkflowJob", "name": "app", "buildable": true},
                          {"_class": "WorkflowJob", "name": "api", "buildable": false}]},
                {"_class": "FreeStyleProject", "name": "nightly", "buildable": true}
            ]
        })))
        .mount(&server)
        .await;
    let err = provider
        .trigger(&TriggerRequest::new("team/ap"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::NotFound);
    assert_eq!(err.suggestions(), ["team/app", "team/api", "nightly"]);
    insta::assert_snapshot!("jenkins_job_not_found", err.to_string());
}

#[tokio::test]
async fn should_map_a_build_with_its_commit_branch_and_times() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path("/job/team/job/app/57/api/json"))
        .and(query_param(
            "tree",
            "number,url,building,result,timestamp,duration,fullDisplayName,artifacts[fileName,relativePath],actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]]]",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(build_json(false, Some("UNSTABLE"))))
        .mount(&server)
        .await;
    let run = provider.get_run(&RunId::new("team/app#57")).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed, "UNSTABLE counts as failed");
    insta::assert_json_snapshot!("jenkins_run", run);
}

#[tokio::test]
async fn should_report_a_running_build_and_a_finished_build_without_result_as_running() {
    let (server, provider) = setup().await;
    let (answers, _) = Counted::new(vec![
        ResponseTemplate::new(200).set_body_json(build_json(true, None)),
        ResponseTemplate::new(200).set_body_json(build_json(false, None)),
        ResponseTemplate::new(200).set_body_json(build_json(false, Some("ABORTED"))),
    ]);
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(answers)
        .mount(&server)
        .await;
    let id = RunId::new("57");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let run = provider.get_run(&id).await.unwrap();
        seen.push((run.status, run.raw_status, run.finished_at.is_some()));
    }
    assert_eq!(
        seen,
        [
            (RunStatus::Running, "BUILDING".to_owned(), false),
            (RunStatus::Running, "BUILDING".to_owned(), false),
            (RunStatus::Cancelled, "ABORTED".to_owned(), true),
        ]
    );
}

#[tokio::test]
async fn should_list_pipeline_stages_as_jobs() {
    let (server, provider) = setup().await;
    Mock::given(path("/job/team/job/app/57/wfapi/describe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "57", "name": "#57", "status": "IN_PROGRESS",
            "stages": [
                {"id": "6", "name": "Build", "status": "SUCCESS", "startTimeMillis": 1710928806000u64, "durationMillis": 4000},
                {"id": "14", "name": "Test", "status": "FAILED", "startTimeMillis": 1710928810000u64, "durationMillis": 60000},
                {"id": "31", "name": "Approve", "status": "PAUSED_PENDING_INPUT", "startTimeMillis": 1710928870000u64, "durationMillis": 0},
                {"id": "40", "name": "Deploy", "status": "NOT_EXECUTED", "startTimeMillis": 0, "durationMillis": 0}
            ]
        })))
        .mount(&server)
        .await;
    let jobs = provider.list_jobs(&RunId::new("57")).await.unwrap();
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "[server]")]}, {
        insta::assert_json_snapshot!("jenkins_stages", jobs);
    });
}

#[tokio::test]
async fn should_list_the_build_itself_as_one_job_without_the_pipeline_api() {
    let (server, provider) = setup().await;
    Mock::given(path("/job/team/job/app/57/wfapi/describe"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(build_json(false, Some("SUCCESS"))))
        .mount(&server)
        .await;
    let jobs = provider.list_jobs(&RunId::new("57")).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].id.as_str(), jobs[0].name.as_str(), jobs[0].status),
        ("57", "app", RunStatus::Success)
    );
}

#[tokio::test]
async fn should_follow_the_console_across_chunks_until_more_data_stops() {
    let (server, provider) = setup().await;
    let chunk = |body: &str, size: &str, more: bool| {
        let r = ResponseTemplate::new(200)
            .insert_header("content-type", "text/plain;charset=UTF-8")
            .insert_header("x-text-size", size)
            .set_body_string(body);
        if more {
            r.insert_header("x-more-data", "true")
        } else {
            r
        }
    };
    let at = |start: &str| {
        Mock::given(method("GET"))
            .and(path("/job/team/job/app/57/logText/progressiveText"))
            .and(query_param("start", start))
    };
    at("0")
        .respond_with(chunk("line1\n", "6", true))
        .mount(&server)
        .await;
    // Nothing new on the first read at 6, then the next line.
    let (at_six, _) = Counted::new(vec![chunk("", "6", true), chunk("line2\n", "12", true)]);
    at("6").respond_with(at_six).mount(&server).await;
    at("12")
        .respond_with(chunk("line3\nFinished: SUCCESS\n", "35", false))
        .mount(&server)
        .await;

    let run = RunId::new("team/app#57");
    let job = JobId::new("57");
    let mut text = String::new();
    let mut offset = 0;
    let mut reads = 0;
    loop {
        let c = provider.job_log(&run, &job, offset).await.unwrap();
        reads += 1;
        assert!(!c.restarted);
        text.push_str(&c.text());
        offset = c.next_offset;
        if c.complete {
            break;
        }
        assert!(reads < 10, "the log never completed");
    }
    assert_eq!(text, "line1\nline2\nline3\nFinished: SUCCESS\n");
    assert_eq!((reads, offset), (4, 35));
}

#[tokio::test]
async fn should_say_when_the_console_restarted() {
    let (server, provider) = setup().await;
    Mock::given(path("/job/team/job/app/57/logText/progressiveText"))
        .and(query_param("start", "500"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-text-size", "6")
                .set_body_string("fresh\n"),
        )
        .mount(&server)
        .await;
    let c = provider
        .job_log(&RunId::new("57"), &JobId::new("57"), 500)
        .await
        .unwrap();
    assert!(c.restarted && c.complete);
    assert_eq!((c.text().as_ref(), c.next_offset), ("fresh\n", 6));
}

#[tokio::test]
async fn should_rebuild_with_the_same_parameters_on_retry() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c").await;
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(build_json(false, Some("FAILURE"))))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/buildWithParameters"))
        .respond_with(
            ResponseTemplate::new(201).insert_header("location", "http://ci/queue/item/124/"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/queue/item/124/api/json"))
        .respond_with(queue_item(Some(58), false))
        .mount(&server)
        .await;

    let run = provider
        .retry(&RunId::new("team/app#57"), &RetryScope::All)
        .await
        .unwrap();
    assert_eq!(run.id.as_str(), "team/app#58");
    let post = &requests_to(&server, "/job/team/job/app/buildWithParameters").await[0];
    insta::assert_snapshot!("jenkins_rebuild_form", String::from_utf8_lossy(&post.body));

    let err = provider
        .retry(&RunId::new("57"), &RetryScope::Failed)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
    insta::assert_snapshot!("jenkins_retry_failed_unsupported", err.to_string());
}

#[tokio::test]
async fn should_list_artifacts_and_stream_one_to_disk() {
    let (server, provider) = setup().await;
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(build_json(false, Some("SUCCESS"))))
        .mount(&server)
        .await;
    let bytes = sample_bytes(300_000);
    Mock::given(method("GET"))
        .and(path("/job/team/job/app/57/artifact/out/a%20b.bin"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let run = RunId::new("57");
    let artifacts = provider.list_artifacts(&run).await.unwrap();
    let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["target/report.xml", "out/a b.bin"]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a b.bin");
    let written = provider
        .download_artifact_to(&run, &artifacts[1], &file)
        .await
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
}

#[tokio::test]
async fn should_stop_a_build_with_the_crumb() {
    let (server, provider) = setup().await;
    mount_crumb(&server, "c0ffee").await;
    Mock::given(method("POST"))
        .and(path("/job/team/job/app/57/stop"))
        .and(header("jenkins-crumb", "c0ffee"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    provider.cancel(&RunId::new("team/app#57")).await.unwrap();
}

#[tokio::test]
async fn should_name_the_token_variable_when_jenkins_refuses_it() {
    let (server, provider) = setup().await;
    for status in [401u16, 403] {
        server.reset().await;
        Mock::given(path("/job/team/job/app/57/api/json"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_string("<html><body>Authentication required</body></html>"),
            )
            .mount(&server)
            .await;
        let err = provider.get_run(&RunId::new("57")).await.unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::Auth, "{status}");
        assert_eq!(err.token_var(), Some("JENKINS_API_TOKEN"));
        insta::assert_snapshot!(format!("jenkins_auth_{status}"), err.to_string());
    }
}

#[tokio::test]
async fn should_retry_a_500_then_succeed() {
    let (server, provider) = setup().await;
    let (answers, calls) = Counted::new(vec![
        ResponseTemplate::new(500).set_body_string("<html>Jenkins is restarting</html>"),
        ResponseTemplate::new(200).set_body_json(build_json(false, Some("SUCCESS"))),
    ]);
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(answers)
        .mount(&server)
        .await;
    let run = provider.get_run(&RunId::new("57")).await.unwrap();
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn should_time_out_on_a_silent_server() {
    let (server, provider) = setup().await;
    let provider = provider.with_http(impatient_http());
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(build_json(false, Some("SUCCESS")))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("57")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Transient);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn should_call_malformed_json_a_platform_error() {
    let (server, provider) = setup().await;
    Mock::given(path("/job/team/job/app/57/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"number\": 57, \"building\": "))
        .mount(&server)
        .await;
    let err = provider.get_run(&RunId::new("57")).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Platform);
    assert!(
        err.to_string()
            .starts_with("unexpected answer for get build 57"),
        "{err}"
    );
}

#[tokio::test]
async fn should_explain_that_jenkins_has_no_commit_status_api() {
    let (_server, provider) = setup().await;
    let err = provider
        .report_status(&CommitStatus::new("4f2c0d9", CommitState::Success))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
    insta::assert_snapshot!("jenkins_commit_status_unsupported", err.to_string());
}

#[tokio::test]
async fn should_list_recent_builds_of_a_branch() {
    let (server, provider) = setup().await;
    let mut other = build_json(false, Some("SUCCESS"));
    other["number"] = json!(56);
    other["actions"][0]["parameters"][0]["value"] = json!("main");
    other["actions"][2] = json!({});
    Mock::given(path("/job/team/job/app/api/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "builds": [build_json(true, None), other]
        })))
        .mount(&server)
        .await;
    let runs = provider
        .list_runs(&flowspec_core::provider::RunFilter::new().branch("main"))
        .await
        .unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["team/app#56"]);
}

#[test]
fn should_report_config_errors_with_their_place() {
    let err = with_cx(&[("JENKINS_API_TOKEN", "x")], |cx| {
        JenkinsProvider::from_node(&node("job: ''\nref_parameter: ' '\n"), cx)
    })
    .unwrap_err();
    insta::assert_snapshot!("jenkins_config_errors", render(&err));
    let err = with_cx(&[], |cx| {
        JenkinsProvider::from_node(&node("api_url: https://ci.example.com\njbo: app\n"), cx)
    })
    .unwrap_err();
    insta::assert_snapshot!("jenkins_config_typo", render(&err));
}

#[test]
fn should_keep_the_token_out_of_debug_output() {
    let p = with_cx(VARS, |cx| {
        JenkinsProvider::from_node(&node("api_url: https://ci.example.com/\n"), cx)
    })
    .unwrap();
    let debug = format!("{p:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("JENKINS_API_TOKEN"), "{debug}");
    let _ = Artifact::new("x", "x");
}
