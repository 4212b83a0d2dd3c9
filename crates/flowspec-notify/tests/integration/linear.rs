//! Linear GraphQL against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, fallback, notifier, sample};

const KEY: &str = "lin_api_testkey0123456789";
const VARS: &[(&str, &str)] = &[("LINEAR_API_KEY", KEY)];
const TEAM: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  linear:
    enabled: true
    api_url: "{}"
    team_id: "{TEAM}"
    labels:
      - "spec"
      - "automated"
    state_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Todo"
      implemented: "Done"
"#,
        server.uri()
    )
}

fn lookup_answer(issues: Value) -> Value {
    json!({"data": {
        "teams": {"nodes": [{"id": TEAM, "key": "ENG", "states": {"nodes": [
            {"id": "st-backlog", "name": "Backlog", "type": "backlog"},
            {"id": "st-todo", "name": "Todo", "type": "unstarted"},
            {"id": "st-review", "name": "In Review", "type": "started"},
            {"id": "st-done", "name": "Done", "type": "completed"}
        ]}}]},
        "issueLabels": {"nodes": [
            {"id": "lb-spec-other", "name": "spec", "team": {"id": "other-team"}},
            {"id": "lb-spec", "name": "spec", "team": {"id": TEAM}},
            {"id": "lb-auto", "name": "automated", "team": null}
        ]},
        "issues": {"nodes": issues}
    }})
}

async fn mount_lookup(server: &MockServer, issues: Value) {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", KEY))
        .and(header("content-type", "application/json"))
        .and(body_string_contains("query FlowspecLookup"))
        .respond_with(ResponseTemplate::new(200).set_body_json(lookup_answer(issues)))
        .expect(1)
        .mount(server)
        .await;
}

async fn graphql_bodies(server: &MockServer) -> Vec<Value> {
    bodies(server, "/graphql").await
}

#[tokio::test]
async fn should_create_the_spec_issue_with_team_labels_and_state() {
    let server = MockServer::start().await;
    mount_lookup(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", KEY))
        .and(body_string_contains("mutation FlowspecIssueCreate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"issueCreate": {
            "success": true,
            "issue": {"id": "iss-1", "identifier": "ENG-123", "url": "https://linear.app/acme/issue/ENG-123"}
        }}})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "POST /graphql: FlowspecLookup, then FlowspecIssueCreate",
    )
    .await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap();

    assert_eq!(receipt.id.as_deref(), Some("ENG-123"));
    assert_eq!(
        receipt.url.as_deref(),
        Some("https://linear.app/acme/issue/ENG-123")
    );
    let sent = graphql_bodies(&server).await;
    insta::assert_json_snapshot!("linear_lookup_request", sent[0]);
    let input = &sent[1]["variables"]["input"];
    // The team's own `spec` label wins over another team's; `automated` is a workspace label.
    assert_eq!(input["labelIds"], json!(["lb-spec", "lb-auto"]));
    assert_eq!(input["stateId"], "st-backlog");
    insta::assert_json_snapshot!("linear_create_request", sent[1]);
}

#[tokio::test]
async fn should_comment_and_move_the_existing_issue() {
    let server = MockServer::start().await;
    mount_lookup(
        &server,
        json!([{"id": "iss-1", "identifier": "ENG-123", "url": "https://linear.app/acme/issue/ENG-123",
                "state": {"id": "st-backlog", "name": "Backlog"}}]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("mutation FlowspecIssueUpdate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "commentCreate": {"success": true},
            "issueUpdate": {"success": true}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "FlowspecLookup, then FlowspecIssueUpdate").await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap();
    assert_eq!(receipt.details["action"], "commented");
    assert_eq!(receipt.details["state"], "approved");
    let update = &graphql_bodies(&server).await[1];
    assert_eq!(update["variables"]["issue"], "iss-1");
    assert_eq!(update["variables"]["state"], "st-todo");
    insta::assert_json_snapshot!("linear_update_request", update);
}

#[tokio::test]
async fn should_only_comment_when_the_event_maps_to_no_state() {
    let server = MockServer::start().await;
    mount_lookup(
        &server,
        json!([{"id": "iss-1", "identifier": "ENG-123", "url": "u", "state": {"id": "st-todo"}}]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("mutation FlowspecComment("))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"commentCreate": {"success": true}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "FlowspecLookup, then FlowspecComment").await;

    notifier(&yaml(&server), VARS)
        .notify(&sample("implement.failed"))
        .await
        .unwrap();
}

/// The error of one notification answered with `status` and `body`, and its text
/// with the mock's address replaced.
async fn error_for(status: u16, body: Value) -> (flowspec_core::notifier::NotifyError, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(KEY));
    let text = err.to_string().replace(&server.uri(), "http://mock");
    (err, text)
}

#[tokio::test]
async fn should_treat_graphql_errors_in_a_200_as_failures() {
    let (err, text) = error_for(
        200,
        json!({"errors": [{"message": "Argument Validation Error", "extensions": {
            "code": "INVALID_INPUT", "userPresentableMessage": "teamId must be a UUID."}}]}),
    )
    .await;
    assert_eq!(err.kind(), NotifyErrorKind::Rejected);
    assert_eq!(err.status(), Some(200));
    insta::assert_snapshot!("linear_error_invalid_input", text);
}

#[tokio::test]
async fn should_classify_rate_limits_and_bad_keys_sent_with_400() {
    let (limited, _) = error_for(
        400,
        json!({"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]}),
    )
    .await;
    assert_eq!(limited.kind(), NotifyErrorKind::RateLimited);
    assert!(limited.is_transient());

    let (auth, text) = error_for(
        400,
        json!({"errors": [{"message": "Authentication required, not authenticated",
            "extensions": {"code": "AUTHENTICATION_ERROR"}}]}),
    )
    .await;
    assert_eq!(auth.kind(), NotifyErrorKind::Auth);
    assert!(!auth.is_transient());
    insta::assert_snapshot!("linear_error_auth", text);
}

#[tokio::test]
async fn should_name_a_state_mapping_the_team_lacks() {
    let server = MockServer::start().await;
    mount_lookup(&server, json!([])).await;
    let yaml = yaml(&server).replace("draft: \"Backlog\"", "draft: \"Icebox\"");
    let err = notifier(&yaml, VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Config);
    insta::assert_snapshot!("linear_error_unknown_state", err.to_string());
}

#[tokio::test]
async fn should_send_oauth_tokens_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer lin_oauth_abc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"viewer": {"id": "u1"}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    notifier(&yaml(&server), &[("LINEAR_API_KEY", "lin_oauth_abc")])
        .healthcheck()
        .await
        .unwrap();
}

#[test]
fn should_refuse_unknown_spec_statuses_in_state_mappings() {
    let err = crate::service_support::config_error(
        r#"integrations:
  linear:
    enabled: true
    team_id: "ENG"
    state_mappings:
      aproved: "Todo"
"#,
        VARS,
    );
    assert!(err.contains("did you mean `approved`?"), "{err}");
}
