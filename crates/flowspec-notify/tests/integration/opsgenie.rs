//! Opsgenie Alert API against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, fallback, notifier, sample};

const VARS: &[(&str, &str)] = &[("OPSGENIE_API_KEY", "og-key-1234")];

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  opsgenie:
    enabled: true
    api_url: "{}"
    alert_on:
      - "implementation_failed"
    priority: "P3"
    tags:
      - "spec-automation"
      - "ci-cd"
"#,
        server.uri()
    )
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(json!({
        "result": "Request will be processed", "took": 0.302,
        "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120"
    }))
}

#[tokio::test]
async fn should_create_an_alert_with_alias_priority_and_tags() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/alerts"))
        .and(header("authorization", "GenieKey og-key-1234"))
        .and(header("content-type", "application/json"))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "POST /v2/alerts").await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap();
    assert_eq!(receipt.status, Some(202));
    assert_eq!(
        receipt.id.as_deref(),
        Some("43a29c5c-3dbf-4fa4-9c26-f4f71023e120")
    );
    let alert = &bodies(&server, "/v2/alerts").await[0];
    assert_eq!(alert["alias"], "flowspec/FEAT-0001/implement");
    insta::assert_json_snapshot!("opsgenie_create_body", alert);
}

#[tokio::test]
async fn should_close_the_alert_by_alias_on_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/alerts/flowspec%2FFEAT-0001%2Fimplement/close"))
        .and(query_param("identifierType", "alias"))
        .and(header("authorization", "GenieKey og-key-1234"))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "POST /v2/alerts/{alias}/close?identifierType=alias",
    )
    .await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.completed"))
        .await
        .unwrap();
    assert_eq!(receipt.details["action"], "close");
    let close = &bodies(&server, "/v2/alerts/flowspec%2FFEAT-0001%2Fimplement/close").await[0];
    assert_eq!(close["user"], "flowspec");
    assert_eq!(close["source"], "flowspec");
}

#[tokio::test]
async fn should_explain_a_422() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Request body is not processable. Please check the errors.",
            "errors": {"priority": "should be one of [P1, P2, P3, P4, P5]"},
            "took": 0.001, "requestId": "r-1"
        })))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Rejected);
    assert!(!err.is_transient());
    insta::assert_snapshot!(
        "opsgenie_error_422",
        err.to_string().replace(&server.uri(), "http://mock")
    );
}

#[tokio::test]
async fn should_explain_a_refused_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Could not authenticate", "took": 0.0, "requestId": "r-2"
        })))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Auth);
    assert!(!err.to_string().contains("og-key-1234"));
    assert!(err.to_string().contains("region: eu"), "{err}");
}

#[test]
fn should_pick_the_regional_host() {
    let us = notifier("integrations:\n  opsgenie:\n    enabled: true\n", VARS);
    assert_eq!(us.target(), "https://api.opsgenie.com");
    let eu = notifier(
        "integrations:\n  opsgenie:\n    enabled: true\n    region: eu\n",
        VARS,
    );
    assert_eq!(eu.target(), "https://api.eu.opsgenie.com");
}

#[test]
fn should_refuse_an_unknown_priority() {
    let err = crate::service_support::config_error(
        "integrations:\n  opsgenie:\n    enabled: true\n    priority: \"P9\"\n",
        VARS,
    );
    assert!(err.contains("unknown priority `P9`"), "{err}");
}
