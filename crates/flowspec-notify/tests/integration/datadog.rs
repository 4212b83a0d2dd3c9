//! Datadog events and metrics against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, config_error, fallback, notifier, sample, sample_with};

const VARS: &[(&str, &str)] = &[
    ("DATADOG_API_KEY", "dd-api-key-0001"),
    ("DATADOG_APP_KEY", "dd-app-key-0002"),
];

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  datadog:
    enabled: true
    api_url: "{}"
    site: "datadoghq.com"
    send_metrics: true
    metric_prefix: "spec_ingestion"
    send_events: true
    event_tags:
      - "team:platform"
      - "env:production"
"#,
        server.uri()
    )
}

async fn accept(server: &MockServer, route: &str, answer: serde_json::Value, times: u64) {
    Mock::given(method("POST"))
        .and(path(route))
        .and(header("dd-api-key", "dd-api-key-0001"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(202).set_body_json(answer))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_send_the_event_and_its_metrics() {
    let server = MockServer::start().await;
    accept(
        &server,
        "/api/v1/events",
        json!({"status": "ok", "event": {"id": 1}}),
        1,
    )
    .await;
    accept(&server, "/api/v2/series", json!({"errors": []}), 1).await;
    fallback(&server, "POST /api/v1/events then POST /api/v2/series").await;

    let n = sample_with("implement.failed", &[("duration_seconds", json!(252))]);
    let receipt = notifier(&yaml(&server), VARS).notify(&n).await.unwrap();
    assert_eq!(receipt.details["metrics"], 3);

    let series = &bodies(&server, "/api/v2/series").await[0];
    let names: Vec<&str> = series["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "spec_ingestion.processed",
            "spec_ingestion.failure",
            "spec_ingestion.duration"
        ]
    );
    // The sample event is older than Datadog accepts: sent with the time of sending.
    let now = chrono::Utc::now().timestamp();
    let event = &bodies(&server, "/api/v1/events").await[0];
    assert!((event["date_happened"].as_i64().unwrap() - now).abs() < 60);
    assert!(
        (series["series"][0]["points"][0]["timestamp"]
            .as_i64()
            .unwrap()
            - now)
            .abs()
            < 60
    );
    insta::with_settings!({filters => vec![(r#""(date_happened|timestamp)": \d+"#, r#""$1": "[now]""#)]}, {
        insta::assert_json_snapshot!("datadog_event_body", event);
        insta::assert_json_snapshot!("datadog_series_body", series);
    });
    // The application key is never sent.
    for request in server.received_requests().await.unwrap() {
        assert!(request.headers.get("dd-application-key").is_none());
    }
}

#[tokio::test]
async fn should_count_successes_and_skip_metrics_for_started_work() {
    let server = MockServer::start().await;
    accept(&server, "/api/v1/events", json!({"status": "ok"}), 2).await;
    accept(&server, "/api/v2/series", json!({"errors": []}), 1).await;
    fallback(&server, "two events, one series").await;
    let dd = notifier(&yaml(&server), VARS);
    dd.notify(&sample("implement.started")).await.unwrap();
    dd.notify(&sample("implement.completed")).await.unwrap();
    let series = &bodies(&server, "/api/v2/series").await[0]["series"];
    assert_eq!(series[1]["metric"], "spec_ingestion.success");
    assert_eq!(
        series.as_array().unwrap().len(),
        2,
        "no duration without one"
    );
}

#[tokio::test]
async fn should_explain_a_403() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/events"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": ["Forbidden"]})))
        .expect(1)
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Auth);
    assert!(!err.to_string().contains("dd-api-key-0001"));
    insta::assert_snapshot!(
        "datadog_error_403",
        err.to_string().replace(&server.uri(), "http://mock")
    );
}

#[tokio::test]
async fn should_validate_the_key_in_the_healthcheck() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/validate"))
        .and(header("dd-api-key", "dd-api-key-0001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"valid": true})))
        .expect(1)
        .mount(&server)
        .await;
    notifier(&yaml(&server), VARS).healthcheck().await.unwrap();
}

#[test]
fn should_pick_the_host_of_the_site() {
    for (site, host) in [
        ("datadoghq.com", "https://api.datadoghq.com"),
        ("datadoghq.eu", "https://api.datadoghq.eu"),
        ("us3.datadoghq.com", "https://api.us3.datadoghq.com"),
        ("us5", "https://api.us5.datadoghq.com"),
        ("ap1", "https://api.ap1.datadoghq.com"),
        ("ddog-gov.com", "https://api.ddog-gov.com"),
    ] {
        let dd = notifier(
            &format!("integrations:\n  datadog:\n    enabled: true\n    site: \"{site}\"\n"),
            VARS,
        );
        assert_eq!(dd.target(), host, "site {site}");
    }
}

#[test]
fn should_suggest_the_site_on_a_typo() {
    let err = config_error(
        "integrations:\n  datadog:\n    enabled: true\n    site: \"datadoghq.eux\"\n",
        VARS,
    );
    insta::assert_snapshot!("datadog_config_site", err);
}
