//! Sentry envelopes against a mock of its API.

use std::time::Duration;

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::{Value, json};
use wiremock::matchers::{HeaderExactMatcher, header, headers, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{config_error, fallback, notifier, sample, sample_with};

const DSN: &str = "https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/4505";
const VARS: &[(&str, &str)] = &[("SENTRY_DSN", DSN)];
const ENVELOPE: &str = "/api/4505/envelope/";

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  sentry:
    enabled: true
    api_url: "{}"
    environment: "production"
    report_on:
      - "implementation_failed"
      - "validation_failed"
"#,
        server.uri()
    )
}

/// `X-Sentry-Auth` (wiremock splits header values at commas: match the parts in order).
fn auth(key: &str) -> HeaderExactMatcher {
    headers(
        "x-sentry-auth",
        vec![
            "Sentry sentry_version=7".to_owned(),
            format!("sentry_client=flowspec/{}", env!("CARGO_PKG_VERSION")),
            format!("sentry_key={key}"),
        ],
    )
}

#[tokio::test]
async fn should_send_an_event_envelope_to_the_dsn_project() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENVELOPE))
        .and(auth("e12d836b15bb49d7bbf99e64295d995b"))
        .and(header("content-type", "application/x-sentry-envelope"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "0193a5e200007000800000000000000"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "POST /api/4505/envelope/").await;

    let n = sample_with("implement.failed", &[("release", json!("app@1.2.3"))]);
    let receipt = notifier(&yaml(&server), VARS).notify(&n).await.unwrap();
    assert_eq!(receipt.status, Some(200));

    let body =
        String::from_utf8(server.received_requests().await.unwrap()[0].body.clone()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 3, "envelope header, item header, event");
    let item: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(item["type"], "event");
    assert_eq!(
        item["length"],
        lines[2].len(),
        "length counts the event's bytes"
    );
    let event: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(event["event_id"], "0193a5e2000070008000000000000001");
    assert_eq!(event["environment"], "production");
    assert_eq!(event["release"], "app@1.2.3");
    assert!(
        !body.contains("@o123"),
        "the DSN is not repeated in the body"
    );
    insta::with_settings!({filters => vec![(r#""sent_at":"[^"]+""#, r#""sent_at":"[sent_at]""#)]}, {
        insta::assert_snapshot!("sentry_envelope", body);
    });
}

#[tokio::test]
async fn should_stop_sending_while_sentry_rate_limits_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENVELOPE))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "5")
                .insert_header(
                    "x-sentry-rate-limits",
                    "120:error;transaction:project:quota_exceeded",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sentry = notifier(&yaml(&server), VARS);

    let first = sentry
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(first.kind(), NotifyErrorKind::RateLimited);
    assert_eq!(
        first.retry_after(),
        Some(Duration::from_secs(120)),
        "X-Sentry-Rate-Limits wins"
    );

    // Limited: the next report is not sent at all (the mock expects one request).
    let second = sentry.notify(&sample("validate.failed")).await.unwrap_err();
    assert_eq!(second.kind(), NotifyErrorKind::RateLimited);
    assert!(second.retry_after().unwrap() > Duration::from_secs(100));
    insta::assert_snapshot!(
        "sentry_error_limited",
        second
            .to_string()
            .replace(&server.uri(), "http://mock")
            .replace(|c: char| c.is_ascii_digit(), "N")
    );
}

#[tokio::test]
async fn should_honour_rate_limits_announced_on_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENVELOPE))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-sentry-rate-limits", "60::organization")
                .set_body_json(json!({"id": "x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sentry = notifier(&yaml(&server), VARS);
    sentry.notify(&sample("implement.failed")).await.unwrap();
    let err = sentry
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::RateLimited);
}

#[tokio::test]
async fn should_wait_a_minute_after_a_bare_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENVELOPE))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn should_keep_the_path_prefix_of_self_hosted_dsns() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sentry/api/7/envelope/"))
        .and(auth("pubkey"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "POST /sentry/api/7/envelope/").await;
    notifier(
        &yaml(&server),
        &[("SENTRY_DSN", "https://pubkey@sentry.example.com/sentry/7")],
    )
    .notify(&sample("implement.failed"))
    .await
    .unwrap();
}

#[test]
fn should_refuse_a_malformed_dsn_without_echoing_it() {
    let err = config_error(
        "integrations:\n  sentry:\n    enabled: true\n",
        &[("SENTRY_DSN", "https://o123.ingest.sentry.io/4505")],
    );
    assert!(err.contains("no public key"), "{err}");
    assert!(!err.contains("o123.ingest"), "{err}");
}
