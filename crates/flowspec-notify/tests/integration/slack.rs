//! Slack incoming webhooks.

use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Sequence, audit, body_json, counter, fallback, hub};

const WEBHOOK: &str = "https://hooks.slack.com/services/T0001/B0001/SeCrEtToKeN123";

fn config(server: &MockServer) -> String {
    format!(
        r##"integrations:
  slack:
    enabled: true
    channel: "#engineering"
    notify_on: [spec_approved, implementation_completed, implementation_failed]
    mention_on_failure: ["@channel"]
    api_url: "{}"
"##,
        server.uri()
    )
}

async fn setup_api(response: ResponseTemplate) -> (MockServer, tempfile::TempDir) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0001/B0001/SeCrEtToKeN123"))
        .and(header("content-type", "application/json"))
        .respond_with(response)
        .mount(&server)
        .await;
    fallback(&server, "POST /services/T0001/B0001/SeCrEtToKeN123").await;
    (server, tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn should_post_text_and_blocks_to_the_webhook() {
    let (server, dir) = setup_api(ResponseTemplate::new(200).set_body_string("ok")).await;
    let hub = hub(
        &config(&server),
        &[("SLACK_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    for event_type in [
        "implement.started",
        "implement.completed",
        "implement.failed",
    ] {
        let report = hub
            .dispatch(
                &sample_event(event_type),
                &DeliveryRequest::to(vec!["slack".into()], "test"),
            )
            .await;
        assert_eq!(
            report.deliveries[0].status,
            DeliveryStatus::Delivered,
            "{report:?}"
        );
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    insta::assert_json_snapshot!("slack_started", body_json(&requests[0]));
    insta::assert_json_snapshot!("slack_completed", body_json(&requests[1]));
    insta::assert_json_snapshot!("slack_failed_with_mention", body_json(&requests[2]));
}

#[tokio::test]
async fn should_route_only_the_events_in_notify_on() {
    let (server, dir) = setup_api(ResponseTemplate::new(200).set_body_string("ok")).await;
    let hub = hub(
        &config(&server),
        &[("SLACK_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let started = hub
        .dispatch(
            &sample_event("implement.started"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert!(
        started.deliveries.is_empty(),
        "implementation_started is not in notify_on"
    );
    let failed = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(failed.deliveries.len(), 1);
}

#[tokio::test]
async fn should_explain_invalid_payload_without_retrying() {
    let (server, dir) =
        setup_api(ResponseTemplate::new(400).set_body_string("invalid_payload")).await;
    let hub = hub(
        &config(&server),
        &[("SLACK_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::to(vec!["slack".into()], "test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(
        (d.status, d.attempts),
        (DeliveryStatus::Failed, 1),
        "400 is not retried"
    );
    let reason = d.reason.clone().unwrap();
    assert!(!reason.contains("SeCrEtToKeN123"), "{reason}");
    insta::assert_snapshot!(
        "slack_invalid_payload",
        reason.replace(&server.uri(), "http://MOCK")
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn should_wait_for_retry_after_on_429_then_deliver() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .and(path("/services/T0001/B0001/SeCrEtToKeN123"))
        .and(body_string_contains("Spec Implementation Failed"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![
                ResponseTemplate::new(429).insert_header("retry-after", "1"),
                ResponseTemplate::new(200).set_body_string("ok"),
            ],
        })
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server),
        &[("SLACK_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let started = std::time::Instant::now();
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::to(vec!["slack".into()], "test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 2));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 must be honoured"
    );
    let lines = audit(dir.path());
    assert_eq!(lines[0]["hook_name"], "notify:slack");
    assert_eq!(lines[0]["attempts"], 2);
    assert_eq!(lines[0]["target"], format!("{}/…", server.uri()));
}

#[tokio::test]
async fn should_disable_the_integration_when_the_channel_is_archived() {
    let (server, dir) =
        setup_api(ResponseTemplate::new(410).set_body_string("channel_is_archived")).await;
    let hub = hub(
        &config(&server),
        &[("SLACK_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let first = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::to(vec!["slack".into()], "test"),
        )
        .await;
    assert_eq!(first.deliveries[0].status, DeliveryStatus::Failed);
    assert!(
        first.deliveries[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("now disabled"),
        "{first:?}"
    );
    let second = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::to(vec!["slack".into()], "test"),
        )
        .await;
    assert_eq!(second.deliveries[0].status, DeliveryStatus::Skipped);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a disabled integration sends nothing"
    );
}
