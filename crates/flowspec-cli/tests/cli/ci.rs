//! `flowspec ci ...` against wiremock servers that play GitHub and GitLab.

use std::io::Write;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{TestProject, run, shown};

pub const RUN: &str = "/repos/octo/app/actions/runs/7";

/// A project whose `ci:` points at `server` (GitHub), with a token in the environment.
pub fn project(server: &MockServer, hooks: &str) -> TestProject {
    let p = TestProject::new(hooks);
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n    ref: main\n",
            server.uri()
        ),
    );
    p
}

pub fn ci(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_cli_test_token")
        .env_remove("GH_TOKEN")
        .env("FLOWSPEC_CI_POLL_MS", "20")
        .arg("ci");
    cmd
}

pub fn run_json(status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": 7, "name": "CI", "display_title": "CI", "run_number": 3, "run_attempt": 1,
        "event": "workflow_dispatch", "status": status, "conclusion": conclusion,
        "head_branch": "main", "head_sha": "a1b2c3",
        "html_url": "https://github.com/octo/app/actions/runs/7",
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

/// Answers each template in turn; the last repeats.
pub struct Steps(pub std::sync::Mutex<Vec<ResponseTemplate>>);

impl Respond for Steps {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut steps = self.0.lock().unwrap();
        if steps.len() > 1 {
            steps.remove(0)
        } else {
            steps[0].clone()
        }
    }
}

pub async fn mock_run(server: &MockServer, states: Vec<Value>) {
    let steps = states
        .into_iter()
        .map(|s| ResponseTemplate::new(200).set_body_json(s))
        .collect();
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(Steps(std::sync::Mutex::new(steps)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1,
            "jobs": [{"id": 55, "name": "build", "status": "completed", "conclusion": "success",
                      "started_at": "2026-03-20T10:00:05Z", "completed_at": "2026-03-20T10:01:05Z"}]
        })))
        .mount(server)
        .await;
}

/// Runs a blocking command while the mock server keeps serving.
pub async fn output(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_0_and_show_progress_lines_when_the_run_succeeds() {
    let server = MockServer::start().await;
    mock_run(
        &server,
        vec![
            run_json("queued", None),
            run_json("in_progress", None),
            run_json("completed", Some("success")),
        ],
    )
    .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["wait", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("run 7: queued (queued)"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stderr.contains("run 7: running (in_progress)"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stdout.contains("run 7: success (completed/success)"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_12_with_a_json_verdict_when_the_run_fails() {
    let server = MockServer::start().await;
    mock_run(
        &server,
        vec![
            run_json("in_progress", None),
            run_json("completed", Some("failure")),
        ],
    )
    .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["wait", "--run", "7", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            v["verdict"].as_str(),
            v["exit_code"].as_u64(),
            v["run"]["status"].as_str(),
            v["run"]["raw_status"].as_str()
        ),
        (
            Some("failed"),
            Some(12),
            Some("failed"),
            Some("completed/failure")
        )
    );
    assert_eq!(v["jobs"][0]["name"], "build");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_13_when_the_run_is_cancelled() {
    let server = MockServer::start().await;
    mock_run(&server, vec![run_json("completed", Some("cancelled"))]).await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["wait", "--run", "7", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 13, "{}", shown(&stdout, &stderr));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["verdict"],
        "cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_14_when_the_timeout_passes_first() {
    let server = MockServer::start().await;
    mock_run(&server, vec![run_json("in_progress", None)]).await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["wait", "--run", "7", "--timeout", "400ms", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 14, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["run"]["status"].as_str()),
        (Some("timed_out"), Some("running"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_15_and_name_the_token_variable_when_it_is_rejected() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["status", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 15, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("Bad credentials"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stderr.contains("`GITHUB_TOKEN`"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        !stderr.contains("ghp_cli_test_token"),
        "the token leaked: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_trigger_and_print_the_run_as_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/repos/octo/app/actions/workflows/integration-tests.yml/dispatches",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_run_id": 7, "html_url": "https://github.com/octo/app/actions/runs/7"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args([
        "trigger",
        "--workflow",
        "integration-tests.yml",
        "--input",
        "feature=auth",
        "--json",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            v["run_id"].as_str(),
            v["ref"].as_str(),
            v["platform"].as_str()
        ),
        (Some("7"), Some("main"), Some("github-actions"))
    );
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["inputs"], json!({"feature": "auth"}));
}

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
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

async fn mock_artifact(server: &MockServer, zip: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/artifacts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1, "artifacts": [{"id": 11, "name": "test-report", "size_in_bytes": zip.len(), "expired": false}]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/artifacts/11/zip"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/blob/11.zip", server.uri()).as_str()),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/11.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(zip))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_download_and_unzip_artifacts() {
    let server = MockServer::start().await;
    mock_artifact(
        &server,
        zip_bytes(&[("junit.xml", b"<testsuite/>"), ("logs/a.txt", b"A")]),
    )
    .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args([
        "artifacts",
        "--run",
        "7",
        "--output",
        "out",
        "--unzip",
        "--json",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert_eq!(p.read("out/test-report/junit.xml"), "<testsuite/>");
    assert_eq!(p.read("out/test-report/logs/a.txt"), "A");
    assert!(
        !p.join("out/test-report.zip").exists(),
        "the archive is removed once unpacked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_a_zip_entry_that_climbs_out_of_the_output() {
    let server = MockServer::start().await;
    mock_artifact(&server, zip_bytes(&[("../escaped.txt", b"pwned")])).await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["artifacts", "--run", "7", "--output", "out", "--unzip"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 15, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("unsafe entry `../escaped.txt`"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(!p.join("out/escaped.txt").exists() && !p.join("escaped.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_stop_a_zip_bomb_at_the_unzip_limit_and_say_how_to_raise_it() {
    let server = MockServer::start().await;
    // 3 MiB of zeros deflate to a few kilobytes.
    let zeros = vec![0u8; 3 << 20];
    mock_artifact(&server, zip_bytes(&[("zeros.bin", &zeros)])).await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = ci(&p);
    cmd.args(["artifacts", "--run", "7", "--output", "out", "--unzip"])
        .args(["--unzip-max-mib", "2"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 15, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("unpacks to more than 2 MiB") && stderr.contains("--unzip-max-mib"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(!p.join("out/test-report/zeros.bin").exists());

    let mut cmd = ci(&p);
    cmd.args(["artifacts", "--run", "7", "--output", "big", "--unzip"])
        .args(["--unzip-max-mib", "3"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(
        code,
        0,
        "an archive that fits is unpacked: {}",
        shown(&stdout, &stderr)
    );
    assert_eq!(
        std::fs::metadata(p.join("big/test-report/zeros.bin"))
            .unwrap()
            .len(),
        3 << 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_trigger_from_a_ci_hook_audit_it_and_emit_ci_triggered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/actions/workflows/integration-tests.yml/dispatches"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_run_id": 12345678, "html_url": "https://github.com/octo/app/actions/runs/12345678"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hooks = "hooks:\n  - name: trigger-ci-tests\n    events:\n      - type: implement.completed\n    ci:\n      workflow: integration-tests.yml\n      inputs:\n        feature: \"{event.feature}\"\n        trigger: flowspec-hook\n  - name: on-triggered\n    events:\n      - type: ci.triggered\n    command: \"echo run=$(cat | grep -o '\\\"run_id\\\":\\\"[0-9]*\\\"')\"\n";
    let p = project(&server, hooks);
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_cli_test_token").args([
        "emit",
        "implement.completed",
        "--feature",
        "auth",
        "--json",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        body["inputs"],
        json!({"feature": "auth", "trigger": "flowspec-hook"})
    );
    let audit = p.audit();
    let trigger = audit
        .iter()
        .find(|r| r["hook_name"] == "trigger-ci-tests")
        .expect("an audit line");
    assert_eq!(trigger["status"], "success");
    assert_eq!(
        trigger["target"],
        json!({"platform": "github-actions", "workflow": "integration-tests.yml", "ref": "main"})
    );
    assert_eq!(trigger["response"]["run_id"], "12345678");
    assert_eq!(
        trigger["response"]["run_url"],
        "https://github.com/octo/app/actions/runs/12345678"
    );
    let follow = audit
        .iter()
        .find(|r| r["hook_name"] == "on-triggered")
        .expect("the ci.triggered hook ran");
    assert_eq!(follow["event_type"], "ci.triggered");
    assert!(
        follow["output"]
            .as_str()
            .unwrap()
            .contains("run=\"run_id\":\"12345678\""),
        "{follow}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_wait_on_gitlab_too() {
    let server = MockServer::start().await;
    let pipeline = |status: &str| json!({"id": 287, "iid": 1, "ref": "main", "sha": "abc", "status": status, "web_url": "https://gitlab.example.com/g/a/-/pipelines/287"});
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/group%2Fapp/pipelines/287"))
        .respond_with(Steps(std::sync::Mutex::new(vec![
            ResponseTemplate::new(200).set_body_json(pipeline("running")),
            ResponseTemplate::new(200).set_body_json(pipeline("failed")),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/group%2Fapp/pipelines/287/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!([{"id": 7, "name": "rspec", "status": "failed", "stage": "test"}]),
        ))
        .mount(&server)
        .await;
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        &format!("ci:\n  default: gl\n  profiles:\n    gl:\n      provider: gitlab\n      config:\n        project: group/app\n        api_url: {}\n", server.uri()),
    );
    let mut cmd = p.cmd();
    cmd.env("GITLAB_TOKEN", "glpat-cli")
        .env("FLOWSPEC_CI_POLL_MS", "20")
        .args(["ci", "wait", "--run", "287", "--profile", "gl", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            v["run"]["raw_status"].as_str(),
            v["jobs"][0]["name"].as_str()
        ),
        (Some("failed"), Some("rspec"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_point_at_the_config_line_of_an_unknown_provider() {
    let p = TestProject::new("hooks: []\n");
    p.write(".flowspec/flowspec.yaml", "ci:\n  provider: githib\n");
    let mut cmd = p.cmd();
    cmd.args(["ci", "list"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("unknown CI provider `githib`"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stderr.contains("did you mean `github`?"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stderr.contains("flowspec.yaml:2:13"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_a_ci_hook_without_a_ci_section_and_say_what_to_add() {
    let p = TestProject::new(
        "hooks:\n  - name: t\n    events:\n      - type: implement.completed\n    ci:\n      workflow: ci.yml\n      inputs:\n        feature: \"{feature}\"\n",
    );
    let mut cmd = p.cmd();
    cmd.args(["hooks", "validate"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("has no `ci:` section"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stderr.contains("use `{event.FIELD}`"),
        "{}",
        shown(&stdout, &stderr)
    );
}
