//! The `notify` hook action through the real engine and hooks.yaml loader.

use std::sync::Arc;

use flowspec_core::{EngineBuilder, HookStatus};
use flowspec_notify::action::NotifyActionFactory;
use flowspec_notify::testing::sample_event;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::load;

async fn engine(
    hooks: &str,
    server: &MockServer,
    dir: &std::path::Path,
) -> Result<flowspec_core::Engine, flowspec_core::BuildError> {
    std::fs::create_dir_all(dir.join(".flowspec/hooks")).unwrap();
    std::fs::write(dir.join(".flowspec/hooks/hooks.yaml"), hooks).unwrap();
    let yaml = format!(
        "integrations:\n  webhooks:\n    enabled: true\n    endpoints:\n      - name: sink\n        url: \"{}/hook\"\n        retry_count: 0\n",
        server.uri()
    );
    let hub = flowspec_notify::Notifications::builder(load(&yaml, &[]).unwrap()).build();
    EngineBuilder::from_config_path(&dir.join(".flowspec/hooks/hooks.yaml"))
        .action_factory(Arc::new(NotifyActionFactory::new(hub)))
        .no_state()
        .no_audit()
        .build()
        .await
}

#[tokio::test]
async fn should_keep_the_event_going_when_a_delivery_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hooks = "hooks:\n  - name: tell\n    events: [{type: implement.failed}]\n    notify: [webhooks]\n    fail_mode: stop\n";
    let engine = engine(hooks, &server, dir.path()).await.unwrap();
    let report = engine.emit(sample_event("implement.failed")).await.unwrap();
    assert_eq!(
        report.hooks[0].status,
        HookStatus::Success,
        "fail-safe by default"
    );
    assert!(!report.is_blocked());
    assert_eq!(report.hooks[0].details["deliveries"][0]["status"], "failed");
    assert!(
        report.hooks[0].output.contains("webhooks.sink: failed"),
        "{}",
        report.hooks[0].output
    );
}

#[tokio::test]
async fn should_fail_the_hook_when_asked_to() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hooks = "hooks:\n  - name: tell\n    events: [{type: implement.failed}]\n    notify:\n      to: [webhooks.sink]\n      fail_on_error: true\n      template:\n        title: \"{{ feature }} broke\"\n    fail_mode: stop\n";
    let engine = engine(hooks, &server, dir.path()).await.unwrap();
    let report = engine.emit(sample_event("implement.failed")).await.unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Failed);
    assert!(report.is_blocked());
    let body: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        body["notification"]["title"], "auth broke",
        "the hook's template wins"
    );
}

#[tokio::test]
async fn should_refuse_unknown_integrations_in_hooks_yaml() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hooks =
        "hooks:\n  - name: tell\n    events: [{type: implement.failed}]\n    notify: [slak]\n";
    let Err(flowspec_core::BuildError::Config(errors)) = engine(hooks, &server, dir.path()).await
    else {
        panic!("an unknown integration must be a config error")
    };
    let text = errors
        .to_string()
        .replace(&dir.path().display().to_string(), "[dir]");
    insta::assert_snapshot!("unknown_integration_in_hook", text);
}
