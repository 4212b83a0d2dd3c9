//! PagerDuty Events API v2 against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, fallback, load, notifier, sample, sample_with};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const VARS: &[(&str, &str)] = &[("PAGERDUTY_ROUTING_KEY", KEY)];

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  pagerduty:
    enabled: true
    api_url: "{}"
    alert_on:
      - "implementation_failed"
    severity: "warning"
"#,
        server.uri()
    )
}

async fn accept(server: &MockServer, action: &'static str) {
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"routing_key": KEY, "event_action": action}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "status": "success", "message": "Event processed",
            "dedup_key": "flowspec/FEAT-0001/implement"
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_trigger_then_resolve_the_same_alert() {
    let server = MockServer::start().await;
    accept(&server, "trigger").await;
    accept(&server, "resolve").await;
    fallback(&server, "POST /v2/enqueue (trigger, then resolve)").await;
    let pd = notifier(&yaml(&server), VARS);

    let triggered = pd.notify(&sample("implement.failed")).await.unwrap();
    let resolved = pd.notify(&sample("implement.completed")).await.unwrap();

    assert_eq!(triggered.status, Some(202));
    assert_eq!(triggered.details["event_action"], "trigger");
    assert_eq!(resolved.details["event_action"], "resolve");
    let sent = bodies(&server, "/v2/enqueue").await;
    assert_eq!(sent[0]["dedup_key"], sent[1]["dedup_key"]);
    assert_eq!(sent[0]["payload"]["severity"], "warning");
    insta::assert_json_snapshot!("pagerduty_trigger_body", sent[0]);
    insta::assert_json_snapshot!("pagerduty_resolve_body", sent[1]);
    // The key travels in the body only: no auth header.
    for request in server.received_requests().await.unwrap() {
        assert!(request.headers.get("authorization").is_none());
    }
}

#[tokio::test]
async fn should_page_critical_when_the_event_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(body_partial_json(
            json!({"payload": {"severity": "critical"}}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"status": "success"})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "a trigger with severity critical").await;
    notifier(&yaml(&server), VARS)
        .notify(&sample_with(
            "implement.failed",
            &[("severity", json!("critical"))],
        ))
        .await
        .unwrap();
}

#[test]
fn should_route_successes_to_resolve_alerts_opened_by_failures() {
    let config = load(
        "integrations:\n  pagerduty:\n    enabled: true\n    alert_on: [implementation_failed]\n",
        VARS,
    )
    .unwrap();
    let routes = &config.integrations[0].routes;
    assert!(routes.matches_type("implement.failed"));
    assert!(routes.matches_type("implement.completed"));
    assert!(!routes.matches_type("implement.started"));
    assert!(!routes.matches_type("validate.failed"));

    let config = load(
        "integrations:\n  pagerduty:\n    enabled: true\n    alert_on: [implementation_failed]\n    resolve_on: []\n",
        VARS,
    )
    .unwrap();
    assert!(
        !config.integrations[0]
            .routes
            .matches_type("implement.completed")
    );
}

#[tokio::test]
async fn should_not_retry_an_invalid_event() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["'payload.summary' is missing or blank"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Rejected);
    assert!(!err.is_transient());
    assert!(!err.to_string().contains(KEY));
    insta::assert_snapshot!(
        "pagerduty_error_invalid_event",
        err.to_string().replace(&server.uri(), "http://mock")
    );
}

#[tokio::test]
async fn should_retry_when_throttled() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Too Many Requests"))
        .expect(1)
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::RateLimited);
    assert!(err.is_transient());
}

#[test]
fn should_refuse_an_unknown_severity() {
    let err = crate::service_support::config_error(
        "integrations:\n  pagerduty:\n    enabled: true\n    severity: \"sev1\"\n",
        VARS,
    );
    insta::assert_snapshot!("pagerduty_config_severity", err);
}

#[tokio::test]
async fn should_resolve_through_the_hub_what_a_routed_failure_triggered() {
    let server = MockServer::start().await;
    accept(&server, "trigger").await;
    accept(&server, "resolve").await;
    fallback(
        &server,
        "one trigger and one resolve, nothing for implement.started",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = crate::hub(&yaml(&server), VARS, dir.path());
    let by_event = flowspec_notify::DeliveryRequest::by_event("test");

    let mut statuses = Vec::new();
    for event_type in [
        "implement.started",
        "implement.failed",
        "implement.completed",
    ] {
        let event = flowspec_notify::testing::sample_event(event_type);
        let report = hub.dispatch(&event, &by_event).await;
        statuses.push(
            report
                .deliveries
                .iter()
                .map(|d| d.status)
                .collect::<Vec<_>>(),
        );
    }
    use flowspec_notify::DeliveryStatus::Delivered;
    assert_eq!(statuses, [vec![], vec![Delivered], vec![Delivered]]);
    let sent = bodies(&server, "/v2/enqueue").await;
    assert_eq!(sent[0]["event_action"], "trigger");
    assert_eq!(sent[1]["event_action"], "resolve");
    assert_eq!(sent[0]["dedup_key"], sent[1]["dedup_key"]);
    // Both deliveries audited, the key never written.
    let audit = crate::audit(dir.path());
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(!serde_json::to_string(&audit).unwrap().contains(KEY));
}
