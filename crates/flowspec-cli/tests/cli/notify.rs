//! `flowspec notify ...` and `flowspec integrations list` end to end.

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TestProject, run, shown};

const HOOKS: &str =
    "hooks:\n  - name: tell\n    events: [{type: \"implement.*\"}]\n    notify: [webhooks]\n";

pub fn project(server_uri: &str) -> TestProject {
    let p = TestProject::new(HOOKS);
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            r##"integrations:
  slack:
    enabled: true
    notify_on: [implementation_failed]
  webhooks:
    enabled: true
    endpoints:
      - name: sink
        url: "{server_uri}/hook"
        headers:
          Authorization: "Bearer ${{SINK_TOKEN}}"
        retry_count: 0
"##
        ),
    );
    p
}

#[test]
fn should_list_integrations_with_missing_secrets_but_never_values() {
    let p = project("http://127.0.0.1:9");
    let (code, stdout, stderr) = run(p
        .cmd()
        .args(["integrations", "list", "--json"])
        .env_remove("SLACK_WEBHOOK_URL")
        .env("SINK_TOKEN", "tok_very_secret_1"));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["name"], "slack");
    assert_eq!(list[0]["status"], "missing secrets");
    assert_eq!(
        list[0]["missing_secrets"],
        serde_json::json!(["SLACK_WEBHOOK_URL"])
    );
    assert_eq!(list[1]["name"], "webhooks.sink");
    assert_eq!(list[1]["status"], "ready");
    assert!(!stdout.contains("tok_very_secret_1"));

    let (_, table, _) = run(p
        .cmd()
        .args(["integrations", "list"])
        .env_remove("SLACK_WEBHOOK_URL")
        .env("SINK_TOKEN", "t0k3n"));
    assert!(
        table.contains("missing secrets: SLACK_WEBHOOK_URL"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_send_through_the_cli_and_audit_the_delivery() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("authorization", "Bearer tok_very_secret_1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server.uri());
    let (code, stdout, stderr) = run(p
        .cmd()
        .args([
            "notify",
            "send",
            "--event",
            "implementation_completed",
            "--feature",
            "auth",
            "--data",
            "spec_id=FEAT-0001",
            "--json",
        ])
        .env("SINK_TOKEN", "tok_very_secret_1"));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["event_type"], "implement.completed");
    assert_eq!(report["deliveries"][0]["integration"], "webhooks.sink");
    assert_eq!(report["deliveries"][0]["status"], "delivered");
    let audit = p.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["hook_name"], "notify:webhooks.sink");
    assert_eq!(audit[0]["status"], "success");
    assert_eq!(audit[0]["via"], "cli");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_7_when_a_test_notification_fails_and_keep_a_dead_letter() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let p = project(&server.uri());
    let (code, stdout, stderr) = run(p
        .cmd()
        .args(["notify", "test", "webhooks.sink"])
        .env("SINK_TOKEN", "tok_very_secret_1"));
    assert_eq!(code, 7, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("webhooks.sink") && stdout.contains("failed"),
        "{stdout}"
    );
    let (code, letters, stderr) = run(p
        .cmd()
        .args(["notify", "dead-letters", "--json"])
        .env("SINK_TOKEN", "x"));
    assert_eq!(code, 0, "{stderr}");
    let letters: serde_json::Value = serde_json::from_str(&letters).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1);
    assert_eq!(letters[0]["integration"], "webhooks.sink");
    let audit = p.audit();
    assert_eq!(audit[0]["test"], true);
    assert!(!p.read(".flowspec/audit.log").contains("tok_very_secret_1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_notify_from_a_hook_on_emit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server.uri());
    let (code, stdout, stderr) = run(p
        .cmd()
        .args(["emit", "implement.completed", "--feature", "auth"])
        .env("SINK_TOKEN", "t"));
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("webhooks.sink: delivered"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[test]
fn should_report_integration_errors_in_hooks_validate() {
    let p = TestProject::new(HOOKS);
    p.write(
        ".flowspec/flowspec.yaml",
        "integrations:\n  slak:\n    enabled: true\n",
    );
    let (code, stdout, stderr) = run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("unknown integration kind `slak`")
            && stderr.contains("did you mean `slack`?"),
        "{stderr}"
    );
}
