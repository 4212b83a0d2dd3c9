//! Discord webhooks.

use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Sequence, body_json, counter, fallback, hub};

const WEBHOOK: &str = "https://discord.com/api/webhooks/223704706495545344/SeCrEtWeBhOoKtOkEn";

fn config(server: &MockServer) -> String {
    format!(
        "integrations:\n  discord:\n    enabled: true\n    notify_on: [implementation_completed, implementation_failed]\n    username: \"Spec Bot\"\n    avatar_url: \"https://example.com/bot-avatar.png\"\n    api_url: \"{}\"\n",
        server.uri()
    )
}

async fn setup_api(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/webhooks/223704706495545344/SeCrEtWeBhOoKtOkEn"))
        .and(query_param("wait", "true"))
        .and(header("content-type", "application/json"))
        .respond_with(response)
        .mount(&server)
        .await;
    fallback(&server, "POST /api/webhooks/{id}/{token}?wait=true").await;
    server
}

#[tokio::test]
async fn should_post_content_and_an_embed_and_keep_the_message_id() {
    let server = setup_api(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": "1100000000000000001", "channel_id": "1", "content": "x"})),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server),
        &[("DISCORD_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(d.status, DeliveryStatus::Delivered, "{report:?}");
    assert_eq!(
        d.receipt.as_ref().unwrap().id.as_deref(),
        Some("1100000000000000001")
    );
    let requests = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("discord_failed", body_json(&requests[0]));
}

#[tokio::test]
async fn should_honour_retry_after_from_the_429_body() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .and(path("/api/webhooks/223704706495545344/SeCrEtWeBhOoKtOkEn"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false})),
                ResponseTemplate::new(204),
            ],
        })
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server),
        &[("DISCORD_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(
        (report.deliveries[0].status, report.deliveries[0].attempts),
        (DeliveryStatus::Delivered, 2)
    );

    // The wait the delivery layer is told: the body's 0.25 s wins over the header's 1 s.
    let limited = setup_api(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false})),
    )
    .await;
    let notifier =
        crate::service_support::notifier(&config(&limited), &[("DISCORD_WEBHOOK_URL", WEBHOOK)]);
    let err = notifier
        .notify(&crate::service_support::sample("implement.failed"))
        .await
        .expect_err("429 is an error");
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(250))
    );
}

#[tokio::test]
async fn should_report_invalid_form_body_with_the_field() {
    let server = setup_api(ResponseTemplate::new(400).set_body_json(json!({
        "code": 50035, "message": "Invalid Form Body",
        "errors": {"embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}}
    })))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server),
        &[("DISCORD_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1));
    insta::assert_snapshot!(
        "discord_invalid_form_body",
        d.reason
            .clone()
            .unwrap()
            .replace(&server.uri(), "http://MOCK")
    );
}

#[tokio::test]
async fn should_say_the_webhook_was_deleted_on_unknown_webhook() {
    let server = setup_api(
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server),
        &[("DISCORD_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let reason = report.deliveries[0].reason.clone().unwrap();
    assert!(reason.contains("10015: Unknown Webhook"), "{reason}");
    assert!(
        reason.contains("create a new one and update DISCORD_WEBHOOK_URL"),
        "{reason}"
    );
    assert!(!reason.contains("SeCrEtWeBhOoKtOkEn"), "{reason}");
}
