//! Jira Cloud REST v3 against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{
    bodies, config_error, fallback, notifier, requests, sample, sample_with,
};

const VARS: &[(&str, &str)] = &[
    ("JIRA_EMAIL", "bot@example.com"),
    ("JIRA_API_TOKEN", "jira-token-123"),
];
// base64("bot@example.com:jira-token-123")
const AUTH: &str = "Basic Ym90QGV4YW1wbGUuY29tOmppcmEtdG9rZW4tMTIz";
const JQL: &str = "project = \"PROJ\" AND labels = \"flowspec-FEAT-0001\"";

fn yaml(server: &MockServer, extra: &str) -> String {
    format!(
        r#"integrations:
  jira:
    enabled: true
    base_url: "https://your-domain.atlassian.net"
    api_url: "{}"
    project_key: "PROJ"
    issue_type: "Story"
    transition_on_approve: "21"
    transition_on_implement: "31"
    field_mappings:
      spec_id: "customfield_10001"
      acceptance_criteria: "customfield_10002"
{extra}"#,
        server.uri()
    )
}

async fn search_answers(server: &MockServer, issues: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("jql", JQL))
        .and(query_param("fields", "key,status"))
        .and(query_param("maxResults", "1"))
        .and(header("authorization", AUTH))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"issues": issues, "isLast": true})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_create_the_spec_issue_with_adf_and_custom_fields() {
    let server = MockServer::start().await;
    search_answers(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "10000", "key": "PROJ-24",
            "self": "https://your-domain.atlassian.net/rest/api/3/issue/10000"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/remotelink"))
        .and(header("authorization", AUTH))
        .and(body_partial_json(
            json!({"globalId": "flowspec:pr:https://github.com/org/repo/pull/42"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 10000})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "GET /rest/api/3/search/jql, POST /rest/api/3/issue, POST …/PROJ-24/remotelink",
    )
    .await;

    let n = sample_with(
        "spec.created",
        &[(
            "acceptance_criteria",
            json!(["Users can sign in", "Sessions expire after 24h"]),
        )],
    );
    let receipt = notifier(&yaml(&server, ""), VARS).notify(&n).await.unwrap();

    assert_eq!(receipt.id.as_deref(), Some("PROJ-24"));
    assert_eq!(
        receipt.url.as_deref(),
        Some("https://your-domain.atlassian.net/browse/PROJ-24")
    );
    assert_eq!(receipt.details["action"], "created");
    let create = &bodies(&server, "/rest/api/3/issue").await[0];
    assert_eq!(create["fields"]["customfield_10001"], "FEAT-0001");
    insta::assert_json_snapshot!("jira_create_issue_body", create);
}

#[tokio::test]
async fn should_comment_transition_and_link_the_pr_on_the_existing_issue() {
    let server = MockServer::start().await;
    search_answers(
        &server,
        json!([{"id": "10000", "key": "PROJ-24", "fields": {}}]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/comment"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "100"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .and(header("authorization", AUTH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"transitions": [
                {"id": "11", "name": "To Do", "to": {"id": "1", "name": "To Do"}},
                {"id": "31", "name": "Done", "hasScreen": false, "isAvailable": true,
                 "to": {"id": "10002", "name": "Done", "statusCategory": {"key": "done"}}}
            ]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .and(header("authorization", AUTH))
        .and(body_json(json!({"transition": {"id": "31"}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/remotelink"))
        .and(header("authorization", AUTH))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 10000, "self": "https://x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "search, comment, transitions, remotelink on PROJ-24",
    )
    .await;

    let receipt = notifier(&yaml(&server, ""), VARS)
        .notify(&sample("implement.completed"))
        .await
        .unwrap();

    assert_eq!(receipt.details["action"], "commented");
    assert_eq!(
        receipt.details["transition"],
        json!({"id": "31", "name": "Done"})
    );
    assert_eq!(
        requests(&server).await,
        [
            "GET /rest/api/3/search/jql",
            "POST /rest/api/3/issue/PROJ-24/comment",
            "GET /rest/api/3/issue/PROJ-24/transitions",
            "POST /rest/api/3/issue/PROJ-24/transitions",
            "POST /rest/api/3/issue/PROJ-24/remotelink",
        ]
    );
    insta::assert_json_snapshot!(
        "jira_comment_body",
        bodies(&server, "/rest/api/3/issue/PROJ-24/comment").await[0]
    );
    insta::assert_json_snapshot!(
        "jira_remote_link_body",
        bodies(&server, "/rest/api/3/issue/PROJ-24/remotelink").await[0]
    );
}

#[tokio::test]
async fn should_resolve_a_transition_named_instead_of_numbered() {
    let server = MockServer::start().await;
    search_answers(&server, json!([{"id": "10000", "key": "PROJ-24"}])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "100"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"transitions": [
                {"id": "21", "name": "Start work", "to": {"id": "3", "name": "In Progress"}}
            ]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .and(body_json(json!({"transition": {"id": "21"}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "transition 21 found by its target status name").await;

    let yaml = yaml(&server, "").replace(
        "transition_on_approve: \"21\"",
        "transition_on_approve: \"In Progress\"",
    );
    let receipt = notifier(&yaml, VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap();
    assert_eq!(receipt.details["transition"]["id"], "21");
}

#[tokio::test]
async fn should_skip_a_transition_the_issue_has_already_taken() {
    let server = MockServer::start().await;
    search_answers(&server, json!([{"id": "10000", "key": "PROJ-24"}])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "100"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"transitions": [
                {"id": "41", "name": "Reopen", "to": {"id": "1", "name": "To Do"}}
            ]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/transitions"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    fallback(&server, "no transition POST when 21 is not available").await;

    let receipt = notifier(&yaml(&server, ""), VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap();
    assert_eq!(receipt.details["transition"]["skipped"], "21");
    assert!(
        receipt.details["transition"]["reason"]
            .as_str()
            .unwrap()
            .contains("41 Reopen")
    );
}

#[tokio::test]
async fn should_not_create_a_second_issue_when_search_lags_behind() {
    let server = MockServer::start().await;
    // Search results are eventually consistent: the new issue is not found yet.
    search_answers(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "1", "key": "PROJ-1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-1/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "2"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-1/remotelink"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 3})))
        .mount(&server)
        .await;
    fallback(&server, "one create, then a comment on PROJ-1").await;

    let jira = notifier(&yaml(&server, ""), VARS);
    let first = jira.notify(&sample("spec.created")).await.unwrap();
    let second = jira.notify(&sample("implement.failed")).await.unwrap();
    assert_eq!(first.details["action"], "created");
    assert_eq!(second.details["action"], "commented");
    assert_eq!(second.id.as_deref(), Some("PROJ-1"));
}

#[tokio::test]
async fn should_explain_jira_400_error_collections() {
    let server = MockServer::start().await;
    search_answers(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorMessages": [],
            "errors": {"customfield_10002": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"},
            "status": 400
        })))
        .mount(&server)
        .await;
    fallback(&server, "search then create").await;

    let err = notifier(&yaml(&server, ""), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Rejected);
    assert!(!err.is_transient());
    assert_eq!(err.status(), Some(400));
    insta::assert_snapshot!(
        "jira_error_custom_field",
        err.to_string().replace(&server.uri(), "http://mock")
    );
}

#[tokio::test]
async fn should_explain_refused_credentials_without_showing_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
            "errors": {}
        })))
        .mount(&server)
        .await;

    let err = notifier(&yaml(&server, ""), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Auth);
    let text = err.to_string();
    assert!(
        !text.contains("jira-token-123") && !text.contains(AUTH),
        "{text}"
    );
    insta::assert_snapshot!(
        "jira_error_auth",
        text.replace(&server.uri(), "http://mock")
    );
}

#[tokio::test]
async fn should_check_credentials_with_myself() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accountId": "1"})))
        .expect(1)
        .mount(&server)
        .await;
    notifier(&yaml(&server, ""), VARS)
        .healthcheck()
        .await
        .unwrap();
}

#[test]
fn should_read_the_base_url_from_jira_base_url_when_not_written() {
    let yaml = r#"integrations:
  jira:
    enabled: true
    project_key: "PROJ"
"#;
    let mut vars = VARS.to_vec();
    vars.push(("JIRA_BASE_URL", "https://acme.atlassian.net"));
    let jira = notifier(yaml, &vars);
    assert_eq!(jira.target(), "https://acme.atlassian.net (project PROJ)");

    // Without it, the integration waits for the variable (listed as missing).
    let config = crate::service_support::load(yaml, VARS).unwrap();
    match &config.integrations[0].state {
        flowspec_notify::config::State::MissingSecrets(names) => {
            assert_eq!(names, &["JIRA_BASE_URL".to_owned()])
        }
        other => panic!("expected MissingSecrets, got {other:?}"),
    }
}

#[test]
fn should_suggest_the_transition_option_on_a_typo() {
    let err = config_error(
        r#"integrations:
  jira:
    enabled: true
    base_url: "https://your-domain.atlassian.net"
    project_key: "PROJ"
    transition_on_aprove: "21"
"#,
        VARS,
    );
    insta::assert_snapshot!("jira_config_typo", err);
}

#[test]
fn should_accept_typed_field_mappings_and_name_a_bad_type() {
    let yaml = |mapping: &str| {
        format!(
            "integrations:\n  jira:\n    enabled: true\n    base_url: \"https://x.atlassian.net\"\n    project_key: \"PROJ\"\n    field_mappings:\n      acceptance_criteria: {mapping}\n"
        )
    };
    notifier(&yaml("{field: \"customfield_10002\", type: adf}"), VARS);
    let err = config_error(
        &yaml("{field: \"customfield_10002\", type: richtext}"),
        VARS,
    );
    assert!(err.contains("richtext") && err.contains("adf"), "{err}");
    let err = config_error(&yaml("{field: \"customfield_10002\", typ: adf}"), VARS);
    assert!(err.contains("did you mean `type`?"), "{err}");
}

#[tokio::test]
async fn should_create_a_subtask_per_missing_acceptance_criterion() {
    let server = MockServer::start().await;
    search_answers(&server, json!([{"id": "10000", "key": "PROJ-24"}])).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PROJ-24/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "100"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("jql", "parent = \"PROJ-24\""))
        .and(query_param("fields", "summary"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issues": [
            {"id": "10001", "key": "PROJ-25", "fields": {"summary": "Users can sign in"}}
        ], "isLast": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(header("authorization", AUTH))
        .and(body_partial_json(
            json!({"fields": {"parent": {"key": "PROJ-24"}}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "10002", "key": "PROJ-26"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "search, comment, list subtasks, one subtask create",
    )
    .await;

    let n = sample_with(
        "spec.approved",
        &[(
            "acceptance_criteria",
            json!("- Users can sign in\n- Sessions expire after 24h\n"),
        )],
    );
    let yaml = yaml(
        &server,
        "    create_subtasks: true\n    subtask_type: \"Sub-task\"\n",
    )
    .replace("    transition_on_approve: \"21\"\n", "");
    let receipt = notifier(&yaml, VARS).notify(&n).await.unwrap();
    assert_eq!(receipt.details["subtasks_created"], 1);
    let created = bodies(&server, "/rest/api/3/issue").await;
    insta::assert_json_snapshot!("jira_subtask_body", created[0]);
}
