//! The `status:` hook action: commit statuses on GitHub and GitLab (wiremock servers
//! that follow their status APIs), from a CI event's conclusion or from the hook's own
//! command.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::ci::{output, project};
use crate::{TestProject, shown};

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

async fn github_statuses(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/repos/octo/app/statuses/{SHA}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 1, "state": "failure", "context": "ci/jenkins",
            "url": format!("https://api.github.com/repos/octo/app/statuses/{SHA}")
        })))
        .mount(server)
        .await;
}

fn emit(p: &TestProject, event: Value) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_status_test_token")
        .env_remove("GH_TOKEN")
        .env("GITLAB_TOKEN", "glpat-status-test")
        .args(["emit", "--payload", "-"])
        .write_stdin(event.to_string());
    cmd
}

fn posted(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON status"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_report_a_jenkins_result_as_a_github_commit_status() {
    let server = MockServer::start().await;
    github_statuses(&server).await;
    let p = project(
        &server,
        "hooks:\n  - name: report-jenkins\n    events: [ci.completed]\n    status:\n      context: ci/jenkins\n      target_url: \"{event.url}\"\n",
    );
    let event = json!({
        "event_type": "ci.completed", "provider": "jenkins", "conclusion": "unstable",
        "sha": SHA, "url": "https://jenkins.example.com/job/app/42/"
    });
    let (code, stdout, stderr) = output(emit(&p, event)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let statuses = posted(&server.received_requests().await.unwrap());
    assert_eq!(statuses.len(), 1, "one status: {statuses:?}");
    assert_eq!(
        statuses[0]["state"], "failure",
        "unstable is a failure on GitHub"
    );
    assert_eq!(statuses[0]["context"], "ci/jenkins");
    assert_eq!(
        statuses[0]["target_url"],
        "https://jenkins.example.com/job/app/42/"
    );
    assert!(
        stdout.contains("reported failed `ci/jenkins` on 6dcb09b5b578"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_report_the_hooks_own_command_result_and_keep_its_failure() {
    let server = MockServer::start().await;
    github_statuses(&server).await;
    let p = project(
        &server,
        "hooks:\n  - name: lint\n    events: [implement.completed]\n    command: \"true\"\n    status: {context: flowspec/lint}\n  - name: quality-gate\n    events: [implement.completed]\n    command: \"echo gate; exit 3\"\n    fail_mode: stop\n    status: {context: flowspec/quality-gate}\n",
    );
    let event = json!({"event_type": "implement.completed", "feature": "auth", "sha": SHA});
    let (code, stdout, stderr) = output(emit(&p, event)).await;
    assert_eq!(
        code,
        4,
        "HOOK_BLOCKED: the gate's own failure stays a failure: {}",
        shown(&stdout, &stderr)
    );
    assert!(
        stdout.contains("gate"),
        "the command ran: {}",
        shown(&stdout, &stderr)
    );
    let mut statuses = posted(&server.received_requests().await.unwrap());
    statuses.sort_by_key(|s| s["context"].as_str().unwrap_or_default().to_owned());
    let states: Vec<_> = statuses
        .iter()
        .map(|s| (s["context"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("flowspec/lint", "success"),
            ("flowspec/quality-gate", "failure")
        ]
    );
    let gate = p
        .audit()
        .into_iter()
        .find(|r| r["hook_name"] == "quality-gate")
        .expect("an audit line for the gate");
    assert_eq!(
        gate["exit_code"], 3,
        "the command's exit code is kept: {gate}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_report_a_gitlab_commit_status_with_gitlabs_state_names() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v4/projects/group%2Fapp/statuses/{SHA}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 93, "sha": SHA, "ref": "main", "status": "canceled", "name": "deploy/prod",
            "target_url": null, "description": null, "created_at": "2026-12-04T10:00:00Z",
            "started_at": null, "finished_at": null, "allow_failure": false, "coverage": null,
            "author": {"id": 1, "username": "bot", "name": "Bot", "state": "active",
                       "avatar_url": null, "web_url": "https://gitlab.example.com/bot"}
        })))
        .mount(&server)
        .await;
    let p = TestProject::new(
        "hooks:\n  - name: deploy-status\n    events: [deploy.completed]\n    status: {context: deploy/prod}\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: gitlab\n  config:\n    project: group/app\n    api_url: {}\n",
            server.uri()
        ),
    );
    let event = json!({"event_type": "deploy.completed", "status": "aborted", "sha": SHA, "branch": "main"});
    let (code, stdout, stderr) = output(emit(&p, event)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let requests = server.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a status was posted");
    let sent = format!(
        "{}&{}",
        post.url.query().unwrap_or_default(),
        String::from_utf8_lossy(&post.body)
    );
    for expected in ["state=canceled", "name=deploy%2Fprod", "ref=main"] {
        assert!(sent.contains(expected), "{expected} in {sent}");
    }
}

#[test]
fn should_refuse_from_hook_without_a_command_and_say_where() {
    let p = TestProject::new(
        "hooks:\n  - name: lonely\n    events: [ci.completed]\n    status: {context: ci/x, from: hook}\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n",
    );
    let (code, stdout, stderr) = crate::run(p.cmd().args(["hooks", "validate"]));
    assert_ne!(code, 0, "{}", shown(&stdout, &stderr));
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("hooks.yaml:4"), "names the line: {all}");
    assert!(all.contains("`from: hook`"), "{all}");
    assert!(all.contains("add `command:`"), "says how to fix it: {all}");
}

#[test]
fn should_refuse_a_status_hook_without_a_ci_section() {
    let p = TestProject::new(
        "hooks:\n  - name: report\n    events: [ci.completed]\n    status: {context: ci/x}\n",
    );
    let (code, stdout, stderr) = crate::run(p.cmd().args(["hooks", "validate"]));
    assert_ne!(code, 0, "{}", shown(&stdout, &stderr));
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("no `ci:` section"), "{all}");
}
