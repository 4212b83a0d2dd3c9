//! Custom webhooks: payload, HMAC and Standard Webhooks signatures, idempotency key,
//! retry schedule, 410 Gone, dead letters and replay.

use flowspec_notify::signature::{SigningKey, verify_sha256_header, verify_standard};
use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Sequence, audit, body_json, counter, fallback, hub};

const HMAC: &str = "It's a Secret to Everybody";
const WHSEC_NEW: &str = "whsec_dGhpcyBpcyBhIG5ldyBrZXkgZm9yIHRlc3Rz";
const WHSEC_OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("WEBHOOK_TOKEN", "tok_live_123456"),
        ("WEBHOOK_SECRET_ANALYTICS", HMAC),
        ("WHSEC_NEW", WHSEC_NEW),
        ("WHSEC_OLD", WHSEC_OLD),
    ]
}

fn config(server: &MockServer, extra: &str) -> String {
    format!(
        r#"integrations:
  webhooks:
    enabled: true
    api_url: "{uri}"
    endpoints:
      - name: "internal-system"
        url: "https://internal.example.com/spec-webhook"
        events: ["spec_approved", "implementation_completed"]
        headers:
          Authorization: "Bearer ${{WEBHOOK_TOKEN}}"
        retry_count: 3
      - name: "analytics"
        url: "https://analytics.example.com/events"
        events: ["implementation_completed", "implementation_failed"]
        secret: "${{WEBHOOK_SECRET_ANALYTICS}}"
        signing_keys: ["${{WHSEC_NEW}}", "${{WHSEC_OLD}}"]
{extra}"#,
        uri = server.uri()
    )
}

#[tokio::test]
async fn should_post_the_event_payload_with_auth_header_to_each_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/spec-webhook"))
        .and(header("authorization", "Bearer tok_live_123456"))
        .and(header("content-type", "application/json"))
        .and(header("x-flowspec-event", "implement.completed"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .and(header_exists("x-signature-256"))
        .and(header_exists("webhook-signature"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    fallback(&server, "POST /spec-webhook or /events").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&config(&server, ""), &vars(), dir.path());
    let report = hub
        .dispatch(
            &sample_event("implement.completed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(report.deliveries.len(), 2, "{report:?}");
    assert!(
        report
            .deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered),
        "{report:?}"
    );
    let requests = server.received_requests().await.unwrap();
    let internal = requests
        .iter()
        .find(|r| r.url.path() == "/spec-webhook")
        .unwrap();
    insta::assert_json_snapshot!("webhook_payload_completed", body_json(internal));
    // Only `implementation_failed` goes to analytics, nothing to internal-system.
    let failed = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(
        failed
            .deliveries
            .iter()
            .map(|d| d.integration.as_str())
            .collect::<Vec<_>>(),
        ["webhooks.analytics"]
    );
}

#[tokio::test]
async fn should_sign_the_exact_bytes_with_hmac_and_standard_webhooks_keys() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&config(&server, ""), &vars(), dir.path());
    hub.dispatch(
        &sample_event("implement.failed"),
        &DeliveryRequest::to(vec!["webhooks.analytics".into()], "test"),
    )
    .await;
    let requests = server.received_requests().await.unwrap();
    let r = &requests[0];
    let h = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert!(
        verify_sha256_header(HMAC.as_bytes(), &r.body, &h("x-signature-256")),
        "X-Signature-256 must verify over the raw body"
    );
    let id = h("webhook-id");
    assert_eq!(id, h("idempotency-key"));
    assert_eq!(id, h("x-flowspec-delivery"));
    let now = chrono::Utc::now().timestamp();
    for key in [WHSEC_NEW, WHSEC_OLD] {
        let key = SigningKey::parse(key).unwrap();
        assert!(
            verify_standard(
                &key,
                &id,
                &h("webhook-timestamp"),
                &r.body,
                &h("webhook-signature"),
                now,
                300
            ),
            "each rotation key must verify"
        );
    }
    assert_eq!(h("webhook-signature").split(' ').count(), 2);
}

#[tokio::test]
async fn should_retry_with_the_same_delivery_id_then_keep_a_dead_letter_and_replay_it() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .and(path("/spec-webhook"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![
                ResponseTemplate::new(503),
                ResponseTemplate::new(502),
                ResponseTemplate::new(500),
                ResponseTemplate::new(504),
                ResponseTemplate::new(200),
            ],
        })
        .expect(5)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&config(&server, ""), &vars(), dir.path());
    let report = hub
        .dispatch(
            &sample_event("implement.completed"),
            &DeliveryRequest::to(vec!["webhooks.internal-system".into()], "test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(
        (d.status, d.attempts),
        (DeliveryStatus::Failed, 4),
        "retry_count: 3 means 4 attempts"
    );
    let ids: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(ids.iter().all(|i| *i == d.delivery_id), "{ids:?}");

    let state = hub.state().await.unwrap();
    let letters = state.dead_letters(true).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, d.delivery_id);
    let replayed = hub.replay(&d.delivery_id).await.unwrap();
    assert_eq!(replayed.status, DeliveryStatus::Delivered);
    assert!(
        state.dead_letters(true).await.unwrap().is_empty(),
        "a replayed letter is no longer pending"
    );
    let last = server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(
        last.headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        d.delivery_id
    );
    let lines = audit(dir.path());
    assert_eq!(lines.last().unwrap()["via"], "replay");
    let text = std::fs::read_to_string(dir.path().join("audit.log")).unwrap();
    assert!(
        !text.contains("tok_live_123456"),
        "secrets never reach the audit log"
    );
}

#[tokio::test]
async fn should_follow_an_explicit_retry_schedule() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![ResponseTemplate::new(503)],
        })
        .expect(3)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "integrations:\n  webhooks:\n    enabled: true\n    endpoints:\n      - name: x\n        url: \"{}/x\"\n        retry_schedule: [\"50ms\", \"100ms\"]\n        retry_count: 9\n",
        server.uri()
    );
    let config = crate::load(&yaml, &[]).unwrap();
    let hub = flowspec_notify::Notifications::builder(config)
        .audit_log(dir.path().join("audit.log"))
        .build();
    let started = std::time::Instant::now();
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(
        report.deliveries[0].attempts, 3,
        "two delays in the schedule: three attempts, whatever retry_count says"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn should_disable_an_endpoint_after_410_until_enabled_again() {
    let server = MockServer::start().await;
    let calls = counter();
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(Sequence {
            calls: calls.clone(),
            responses: vec![ResponseTemplate::new(410), ResponseTemplate::new(200)],
        })
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&config(&server, ""), &vars(), dir.path());
    let to = || DeliveryRequest::to(vec!["webhooks.analytics".into()], "test");
    let first = hub.dispatch(&sample_event("implement.failed"), &to()).await;
    assert_eq!(
        (first.deliveries[0].status, first.deliveries[0].attempts),
        (DeliveryStatus::Failed, 1),
        "410 is not retried"
    );
    let skipped = hub.dispatch(&sample_event("implement.failed"), &to()).await;
    assert_eq!(skipped.deliveries[0].status, DeliveryStatus::Skipped);
    insta::assert_snapshot!(
        "webhook_disabled_reason",
        skipped.deliveries[0].reason.clone().unwrap()
    );
    assert!(
        hub.state()
            .await
            .unwrap()
            .enable("webhooks.analytics")
            .await
            .unwrap()
    );
    let again = hub.dispatch(&sample_event("implement.failed"), &to()).await;
    assert_eq!(again.deliveries[0].status, DeliveryStatus::Delivered);
}

#[test]
fn should_refuse_literal_secrets_and_plain_http_endpoints() {
    let yaml = "integrations:\n  webhooks:\n    enabled: true\n    endpoints:\n      - name: a\n        url: \"http://hooks.example.com/x\"\n        secret: \"hunter2-literal\"\n";
    let err = crate::load(yaml, &[]).unwrap_err().to_string();
    assert!(!err.contains("hunter2-literal"), "{err}");
    insta::assert_snapshot!("webhook_config_errors", err);
}
