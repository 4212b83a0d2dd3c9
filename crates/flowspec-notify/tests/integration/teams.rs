//! Microsoft Teams Workflows webhooks.

use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Sequence, body_json, counter, fallback, hub};

const WEBHOOK: &str = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TopSecretSig";

fn config(server: &MockServer, adaptive: bool) -> String {
    format!(
        "integrations:\n  teams:\n    enabled: true\n    notify_on: [implementation_completed, implementation_failed]\n    use_adaptive_cards: {adaptive}\n    api_url: \"{}\"\n",
        server.uri()
    )
}

async fn setup_api(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/workflows/abc123/triggers/manual/paths/invoke"))
        .and(query_param("sig", "TopSecretSig"))
        .and(header("content-type", "application/json"))
        .respond_with(response)
        .mount(&server)
        .await;
    fallback(
        &server,
        "POST /workflows/abc123/triggers/manual/paths/invoke?sig=…",
    )
    .await;
    server
}

#[tokio::test]
async fn should_post_a_color_coded_adaptive_card_in_attachments() {
    let server = setup_api(ResponseTemplate::new(202)).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server, true),
        &[("TEAMS_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    for event_type in ["implement.completed", "implement.failed"] {
        let report = hub
            .dispatch(
                &sample_event(event_type),
                &DeliveryRequest::by_event("test"),
            )
            .await;
        assert_eq!(
            report.deliveries[0].status,
            DeliveryStatus::Delivered,
            "{report:?}"
        );
    }
    let requests = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("teams_adaptive_completed", body_json(&requests[0]));
    let failed = body_json(&requests[1]);
    let card = &failed["attachments"][0]["content"];
    assert_eq!(card["body"][0]["items"][0]["color"], "Attention");
    assert_eq!(
        failed["attachments"][0]["contentUrl"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn should_send_a_plain_card_without_adaptive_cards() {
    let server = setup_api(ResponseTemplate::new(202)).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server, false),
        &[("TEAMS_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    hub.dispatch(
        &sample_event("implement.failed"),
        &DeliveryRequest::by_event("test"),
    )
    .await;
    let requests = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("teams_plain_failed", body_json(&requests[0]));
}

#[tokio::test]
async fn should_retry_when_teams_throttles_inside_a_200() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![
                ResponseTemplate::new(200).set_body_string(
                    "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0",
                ),
                ResponseTemplate::new(202),
            ],
        })
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(&server, true),
        &[("TEAMS_WEBHOOK_URL", WEBHOOK)],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 2));
}
