//! One project runtime: every command opens a project the same way (a `.flowspec/`
//! with only flowspec.yaml is a project), a closed stdout ends quietly, durations read
//! the same on every flag, a missing report file is an error.

use std::process::Stdio;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TestProject, run, shown};

/// A project with `.flowspec/flowspec.yaml` only: no hooks.yaml.
fn settings_only(flowspec_yaml: &str) -> TestProject {
    let p = TestProject::empty();
    p.write(".flowspec/flowspec.yaml", flowspec_yaml);
    p
}

/// Runs a blocking command while a mock server keeps serving.
async fn output(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_and_list_notifications_in_a_project_without_hooks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let p = settings_only(&format!(
        "integrations:\n  webhooks:\n    enabled: true\n    endpoints:\n      - name: sink\n        url: \"{}/hook\"\n        retry_count: 0\n",
        server.uri()
    ));

    let mut cmd = p.cmd();
    cmd.args([
        "notify",
        "send",
        "--event",
        "implement.failed",
        "--to",
        "webhooks.sink",
        "--json",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["deliveries"][0]["integration"], "webhooks.sink");
    assert_eq!(report["deliveries"][0]["status"], "delivered");

    let mut cmd = p.cmd();
    cmd.args(["integrations", "list", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["name"], "webhooks.sink");
    assert_eq!(list[0]["status"], "ready");
}

#[test]
fn should_read_the_audit_log_of_a_project_without_hooks() {
    let p = settings_only("audit:\n  enabled: true\n");
    let (code, stdout, stderr) = run(p.cmd().arg("audit"));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("no audit entries match"),
        "{}",
        shown(&stdout, &stderr)
    );
    // A bare number is seconds here too.
    let (code, stdout, stderr) = run(p.cmd().args(["audit", "--since", "90", "--json"]));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert_eq!(stdout.trim(), "[]");
}

#[test]
fn should_emit_as_a_clean_no_op_that_says_no_hooks_when_the_project_has_none() {
    let p = settings_only("audit:\n  enabled: true\n");
    let (code, stdout, stderr) = run(p.cmd().args(["emit", "implement.completed"]));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(stdout.contains("no hooks"), "{}", shown(&stdout, &stderr));
    assert!(
        !p.join(".flowspec/audit.log").exists(),
        "nothing ran, so nothing is audited"
    );
    let (code, stdout, _) = run(p.cmd().args(["emit", "implement.completed", "--json"]));
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value["no_hooks"], true);
    assert_eq!(value["hooks"], json!([]));
}

#[test]
fn should_say_hooks_are_missing_only_to_a_command_that_needs_them() {
    let p = settings_only("audit:\n  enabled: true\n");
    let (code, stdout, stderr) = run(p.cmd().args(["hooks", "test", "gate"]));
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("this project has no hooks") && stderr.contains("flowspec init"),
        "{}",
        shown(&stdout, &stderr)
    );
}

/// Runs `flowspec args` with a stdout whose reading end is already closed, and
/// returns (status, stderr).
fn with_closed_stdout(p: &TestProject, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
        .current_dir(p.path())
        .env_remove("FLOWSPEC_CONFIG")
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flowspec");
    let output = child.wait_with_output().expect("wait for flowspec");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn should_end_quietly_with_141_when_stdout_is_closed() {
    let p = TestProject::new(
        "hooks:\n  - name: a\n    events: [{type: x.y}]\n    command: \"true\"\n  - name: b\n    events: [{type: x.y}]\n    command: \"true\"\n",
    );
    p.write(
        "junit.xml",
        r#"<testsuite name="s" tests="2"><testcase classname="c" name="a"/><testcase classname="c" name="b"/></testsuite>"#,
    );
    for args in [
        &["results", "parse", "junit.xml", "--json"][..],
        &["hooks", "list"][..],
        &["completions", "bash"][..],
    ] {
        let (code, stderr) = with_closed_stdout(&p, args);
        assert_eq!(code, Some(141), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said something: {stderr}");
    }
}

#[test]
fn should_refuse_a_missing_report_file_naming_it_and_the_os_error() {
    let p = TestProject::new("hooks: []\n");
    let (code, stdout, stderr) = run(p.cmd().args(["results", "parse", "missing.xml"]));
    assert_eq!(code, 11, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("missing.xml") && stderr.contains("No such file or directory"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(stdout.is_empty(), "no report is printed: {stdout}");
    assert!(!stderr.contains("line 1, column 1"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_accept_a_timeout_in_plain_seconds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 7, "name": "CI", "run_number": 3, "run_attempt": 1, "event": "push",
            "status": "completed", "conclusion": "success", "head_branch": "main",
            "head_sha": "a1b2c3", "created_at": "2026-03-20T10:00:00Z",
            "updated_at": "2026-03-20T10:02:11Z"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs/7/jobs"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "jobs": []})),
        )
        .mount(&server)
        .await;
    // A project with flowspec.yaml only: `ci` and everything else open it alike.
    let p = settings_only(&format!(
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n",
        server.uri()
    ));
    for timeout in ["150", "10m"] {
        let mut cmd = p.cmd();
        cmd.env("GITHUB_TOKEN", "ghp_cli_test_token")
            .env_remove("GH_TOKEN")
            .env("FLOWSPEC_CI_POLL_MS", "20")
            .args(["ci", "wait", "--run", "7", "--timeout", timeout, "--json"]);
        let (code, stdout, stderr) = output(cmd).await;
        assert_eq!(code, 0, "--timeout {timeout}: {}", shown(&stdout, &stderr));
        let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(verdict["verdict"], "success");
    }
    let (code, stdout, stderr) =
        run(p
            .cmd()
            .args(["ci", "wait", "--run", "7", "--timeout", "soon"]));
    assert_eq!(code, 2, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("`soon` is not a duration") && stderr.contains("number of seconds"),
        "the error names the text and shows the forms: {stderr}"
    );
}
