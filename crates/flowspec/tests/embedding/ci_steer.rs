//! `flowspec::ci_steer` against a wiremock server that plays GitHub Actions.

use std::sync::Arc;

use flowspec::ci_steer::{self, Fixed, Retry};
use flowspec::{ErrorKind, Project, RunId, SilentReporter};
use flowspec_core::provider::RetryScope;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const RUN: &str = "/repos/octo/app/actions/runs/7";

fn run_json(status: &str, conclusion: Option<&str>) -> serde_json::Value {
    json!({
        "id": 7, "name": "CI", "run_attempt": 1, "status": status, "conclusion": conclusion,
        "head_branch": "main", "head_sha": "a1b2c3",
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z"
    })
}

async fn github(run: serde_json::Value) -> (MockServer, tempfile::TempDir, Project) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ResponseTemplate::new(200).set_body_json(run))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "jobs": [{"id": 55, "name": "build", "status": "completed", "conclusion": "failure"},
                     {"id": 56, "name": "lint", "status": "completed", "conclusion": "success"}]
        })))
        .mount(&server)
        .await;
    // SAFETY: every test of this module sets the same value.
    unsafe { std::env::set_var("GITHUB_TOKEN", "ghp_embedding_test_token") };
    let yaml = format!(
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n",
        server.uri()
    );
    let dir = crate::dir_with(&[(".flowspec/flowspec.yaml", &yaml)]);
    let project = Project::discover(dir.path()).unwrap();
    (server, dir, project)
}

#[tokio::test]
async fn should_show_a_run_with_its_jobs_and_retry_one_job_by_name() {
    let (server, _dir, project) = github(run_json("completed", Some("failure"))).await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/actions/jobs/55/rerun"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let ci = project.ci(None).unwrap();
    let run = RunId::new("7");
    let state = ci_steer::status(ci.as_ref(), &run).await.unwrap();
    assert_eq!(state.jobs.len(), 2);
    let (_, scope) = ci_steer::retry(ci.as_ref(), &run, Retry::Job("build".into()))
        .await
        .unwrap();
    assert!(matches!(scope, RetryScope::Job(id) if id.as_str() == "55"));
    let err = ci_steer::retry(ci.as_ref(), &run, Retry::Job("deploy".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("build (55), lint (56)"), "{err}");
    assert_eq!(
        ci_steer::profiles(&project),
        [("default".to_owned(), "github".to_owned())]
    );
}

#[tokio::test]
async fn should_refuse_to_fix_a_running_run_and_skip_a_green_one() {
    let (_server, _dir, project) = github(run_json("in_progress", None)).await;
    let ci = project.ci(None).unwrap();
    let reporter = Arc::new(SilentReporter);
    let err = ci_steer::fix(
        &project,
        ci.as_ref(),
        &RunId::new("7"),
        None,
        reporter.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("ci wait --run 7"), "{err}");

    let (_server, _dir, project) = github(run_json("completed", Some("success"))).await;
    let ci = project.ci(None).unwrap();
    let fixed = ci_steer::fix(&project, ci.as_ref(), &RunId::new("7"), None, reporter)
        .await
        .unwrap();
    assert!(matches!(fixed, Fixed::NothingToFix(_)), "{fixed:?}");
}
