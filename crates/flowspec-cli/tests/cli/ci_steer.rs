//! `flowspec ci logs --follow`, `ci retry --failed` and `ci cancel` against wiremock
//! servers that play GitHub and GitLab: what the user sees, and the exact API request
//! the platform receives.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::ci::{RUN, Steps, ci, mock_run, output, project, run_json};
use crate::{TestProject, shown};

/// GitHub's job 55 while it runs, then completed.
fn job(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": 55, "run_id": 7, "name": "build", "status": status,
        "conclusion": if status == "completed" { Some("success") } else { None },
        "started_at": "2026-03-20T10:00:05Z"
    }))
}

/// The POST requests the platform received: (path, body).
async fn posts(server: &MockServer) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r: &&Request| r.method == wiremock::http::Method::POST)
        .map(|r| {
            (
                r.url.path().to_owned(),
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_follow_a_growing_job_log_until_the_job_completes() {
    let server = MockServer::start().await;
    mock_run(&server, vec![run_json("in_progress", None)]).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55"))
        .respond_with(Steps(std::sync::Mutex::new(vec![
            job("in_progress"),
            job("in_progress"),
            job("completed"),
        ])))
        .mount(&server)
        .await;
    // GitHub answers a log request with a redirect to the whole log so far.
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55/logs"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/blob/55.log", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let log = |text: &str| ResponseTemplate::new(200).set_body_string(text);
    Mock::given(method("GET"))
        .and(path("/blob/55.log"))
        .respond_with(Steps(std::sync::Mutex::new(vec![
            log("compiling\n"),
            log("compiling\ntesting\n"),
            log("compiling\ntesting\n3 passed\n"),
        ])))
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["logs", "--run", "7", "--job", "build", "--follow"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert_eq!(
        stdout,
        "compiling\ntesting\n3 passed\n",
        "each line once, in order, until the job completed: {}",
        shown(&stdout, &stderr)
    );
    let log_reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/blob/55.log")
        .count();
    assert_eq!(log_reads, 3, "it read the log until the job completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_to_follow_several_jobs_and_name_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "jobs": [{"id": 55, "name": "build", "status": "in_progress"},
                     {"id": 56, "name": "lint", "status": "in_progress"}]
        })))
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["logs", "--run", "7", "--follow"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 2, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("--job") && stderr.contains("build") && stderr.contains("lint"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_rerun_only_the_failed_jobs_on_github() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{RUN}/rerun-failed-jobs")))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["retry", "--run", "7", "--failed", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert_eq!(
        posts(&server).await,
        [(format!("{RUN}/rerun-failed-jobs"), "{}".to_owned())],
        "one POST to rerun-failed-jobs, nothing else"
    );
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["run_id"], "7", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_cancel_a_github_run_and_explain_a_run_that_already_ended() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{RUN}/cancel")))
        .respond_with(Steps(std::sync::Mutex::new(vec![
            ResponseTemplate::new(202).set_body_json(json!({})),
            ResponseTemplate::new(409).set_body_json(
                json!({"message": "Cannot cancel a workflow run that is completed."}),
            ),
        ])))
        .expect(2)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["cancel", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(stdout.contains("run 7"), "{}", shown(&stdout, &stderr));
    assert_eq!(posts(&server).await[0].0, format!("{RUN}/cancel"));

    let mut cmd = ci(&p);
    cmd.args(["cancel", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 15, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("already finished"),
        "{}",
        shown(&stdout, &stderr)
    );
}

/// A project whose `ci:` is GitLab project `group/app` on `server`.
fn gitlab_project(server: &MockServer) -> TestProject {
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: gitlab\n  config:\n    project: group/app\n    api_url: {}\n",
            server.uri()
        ),
    );
    p
}

fn gitlab(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.env("GITLAB_TOKEN", "glpat-cli").arg("ci");
    cmd
}

const PIPELINE: &str = "/api/v4/projects/group%2Fapp/pipelines/287";

fn pipeline(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": 287, "iid": 1, "ref": "main", "sha": "abc", "status": status,
        "web_url": "https://gitlab.example.com/group/app/-/pipelines/287"
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_the_failed_jobs_and_cancel_on_gitlab() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PIPELINE}/retry")))
        .respond_with(pipeline("running"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PIPELINE}/cancel")))
        .respond_with(pipeline("canceled"))
        .expect(1)
        .mount(&server)
        .await;
    let p = gitlab_project(&server);

    let mut cmd = gitlab(&p);
    cmd.args(["retry", "--run", "287", "--failed", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["run_id"], "287", "{answer}");

    let mut cmd = gitlab(&p);
    cmd.args(["cancel", "--run", "287"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));

    let requests = server.received_requests().await.unwrap();
    let sent: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    assert_eq!(
        sent,
        [
            ("POST".to_owned(), format!("{PIPELINE}/retry")),
            ("POST".to_owned(), format!("{PIPELINE}/cancel")),
        ]
    );
    assert!(
        requests.iter().all(|r| r
            .headers
            .get("private-token")
            .is_some_and(|v| v == "glpat-cli")
            || r.headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer glpat-cli")),
        "every request carries the token"
    );
}
