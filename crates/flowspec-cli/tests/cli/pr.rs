//! `flowspec pr ...` against a wiremock server that plays GitHub.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::ci::{output, project};
use crate::{TestProject, shown};

const REPO: &str = "/repos/octo/app";

fn pr_cmd(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_cli_test_token")
        .env_remove("GH_TOKEN")
        .arg("pr");
    cmd
}

fn pull() -> Value {
    json!({
        "number": 7, "node_id": "PR_node7", "html_url": "https://github.com/octo/app/pull/7",
        "title": "feat: auth", "state": "open", "draft": false, "merged": false,
        "mergeable": true, "mergeable_state": "clean",
        "head": {"ref": "feat/auth", "sha": "abc123"}, "base": {"ref": "main", "sha": "0"}
    })
}

async fn mount(server: &MockServer, conclusion: &str) {
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/7")))
        .respond_with(ok(pull()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/check-runs")))
        .respond_with(ok(json!({"total_count": 1, "check_runs": [
            {"name": "test", "status": "completed", "conclusion": conclusion, "html_url": null}
        ]})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/status")))
        .respond_with(ok(json!({"state": "success", "statuses": []})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/7/reviews")))
        .respond_with(ok(json!([])))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_12_naming_the_failed_check_and_not_merge() {
    let server = MockServer::start().await;
    mount(&server, "failure").await;
    Mock::given(method("PUT"))
        .and(path(format!("{REPO}/pulls/7/merge")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sha": "m"})))
        .expect(0)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = pr_cmd(&p);
    cmd.args(["merge", "--pr", "7", "--when-green", "--interval", "1"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    assert!(stderr.contains("failed checks: test"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_15_with_the_reason_of_a_refused_merge() {
    let server = MockServer::start().await;
    mount(&server, "success").await;
    Mock::given(method("PUT"))
        .and(path(format!("{REPO}/pulls/7/merge")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "Merge conflict between base and head"})),
        )
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = pr_cmd(&p);
    cmd.args(["merge", "--pr", "7", "--when-green", "--method", "squash"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 15, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("cannot be merged: Merge conflict between base and head"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_print_checks_and_mergeability_as_json() {
    let server = MockServer::start().await;
    mount(&server, "success").await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = pr_cmd(&p);
    cmd.args(["status", "--pr", "7", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["checks_state"], "success");
    assert_eq!(v["checks"][0]["name"], "test");
    assert_eq!(v["mergeable"], true);
    assert_eq!(v["pr"]["number"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_edit_the_results_comment_in_place() {
    let server = MockServer::start().await;
    mount(&server, "success").await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues/7/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 5, "body": "<!-- flowspec:results -->\nold", "html_url": null}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{REPO}/issues/comments/5")))
        .and(wiremock::matchers::body_string_contains("Tests failed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 5, "body": "x"})))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    p.write(
        "junit.xml",
        r#"<testsuite name="s" tests="2" failures="1"><testcase name="a"/><testcase name="b"><failure message="boom"/></testcase></testsuite>"#,
    );
    let mut cmd = pr_cmd(&p);
    cmd.args(["comment", "--pr", "7", "--results", "junit.xml"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("updated the results comment on pull request #7"),
        "{stdout}"
    );
}
