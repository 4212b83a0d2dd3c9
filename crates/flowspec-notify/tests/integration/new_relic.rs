//! New Relic Event API against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, config_error, fallback, notifier, sample, sample_with};

const VARS: &[(&str, &str)] = &[("NEW_RELIC_API_KEY", "eu01xx-license-key-NRAL")];

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  new_relic:
    enabled: true
    api_url: "{}"
    account_id: "1234567"
    event_type: "SpecIngestion"
"#,
        server.uri()
    )
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true, "uuid": "c1a2b3"}))
}

#[tokio::test]
async fn should_post_one_flat_custom_event() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/accounts/1234567/events"))
        .and(header("api-key", "eu01xx-license-key-NRAL"))
        .and(header("content-type", "application/json"))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "POST /v1/accounts/1234567/events").await;

    let n = sample_with(
        "implement.failed",
        &[
            ("duration_seconds", json!(252)),
            ("dry_run", json!(false)),
            ("nested", json!({"a": 1})),
        ],
    );
    let receipt = notifier(&yaml(&server), VARS).notify(&n).await.unwrap();
    assert_eq!(receipt.id.as_deref(), Some("c1a2b3"));
    let events = &bodies(&server, "/v1/accounts/1234567/events").await[0];
    let event = &events[0];
    assert_eq!(event["eventType"], "SpecIngestion");
    assert_eq!(event["spec_id"], "FEAT-0001");
    assert_eq!(event["dry_run"], "false", "booleans are sent as text");
    assert!(event.get("nested").is_none(), "nested objects are left out");
    insta::assert_json_snapshot!("new_relic_events_body", events);
}

#[tokio::test]
async fn should_send_legacy_insert_keys_as_x_insert_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/accounts/1234567/events"))
        .and(header("x-insert-key", "NRII-legacy"))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "the X-Insert-Key header").await;
    notifier(&yaml(&server), &[("NEW_RELIC_API_KEY", "NRII-legacy")])
        .notify(&sample("implement.completed"))
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("api-key").is_none());
}

#[tokio::test]
async fn should_explain_a_refused_key_and_large_payloads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/accounts/1234567/events"))
        .respond_with(ResponseTemplate::new(403).set_body_string(""))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Auth);
    insta::assert_snapshot!(
        "new_relic_error_403",
        err.to_string().replace(&server.uri(), "http://mock")
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/accounts/1234567/events"))
        .respond_with(ResponseTemplate::new(413))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("larger than 1 MB"), "{err}");
}

#[test]
fn should_pick_the_regional_collector() {
    let us = notifier(
        "integrations:\n  new_relic:\n    enabled: true\n    account_id: 1234567\n",
        VARS,
    );
    assert_eq!(
        us.target(),
        "https://insights-collector.newrelic.com/… (account 1234567)"
    );
    let eu = notifier(
        "integrations:\n  new_relic:\n    enabled: true\n    account_id: \"1234567\"\n    region: eu\n",
        VARS,
    );
    assert!(
        eu.target()
            .starts_with("https://insights-collector.eu01.nr-data.net/")
    );
}

#[test]
fn should_refuse_a_bad_account_id_or_event_type() {
    let err = config_error(
        "integrations:\n  new_relic:\n    enabled: true\n    account_id: \"acme\"\n    event_type: \"Spec Ingestion\"\n",
        VARS,
    );
    insta::assert_snapshot!("new_relic_config_errors", err);
}
