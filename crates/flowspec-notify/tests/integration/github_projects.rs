//! GitHub Projects v2 (GraphQL) against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, fallback, notifier, sample};

const VARS: &[(&str, &str)] = &[
    ("GITHUB_TOKEN", "ghp_testtoken123"),
    ("GITHUB_REPOSITORY_OWNER", "acme"),
];

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  github_projects:
    enabled: true
    api_url: "{}"
    project_number: 1
    status_field: "Status"
    status_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Ready"
      implemented: "Done"
"#,
        server.uri()
    )
}

fn project_answer(resource: Option<Value>) -> Value {
    let mut data = json!({"repositoryOwner": {"projectV2": {
        "id": "PVT_kw1", "url": "https://github.com/orgs/acme/projects/1",
        "field": {"id": "PVTSSF_status", "options": [
            {"id": "opt_backlog", "name": "Backlog"},
            {"id": "opt_review", "name": "In Review"},
            {"id": "opt_ready", "name": "Ready"},
            {"id": "opt_done", "name": "Done"}
        ]}
    }}});
    if let Some(r) = resource {
        data["resource"] = r;
    }
    json!({"data": data})
}

async fn mount(server: &MockServer, operation: &str, answer: Value, times: u64) {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer ghp_testtoken123"))
        .and(body_string_contains(operation))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_add_the_pr_and_set_its_status() {
    let server = MockServer::start().await;
    mount(
        &server,
        "query FlowspecProject",
        project_answer(Some(json!({"__typename": "PullRequest", "id": "PR_kw42"}))),
        1,
    )
    .await;
    mount(
        &server,
        "mutation FlowspecAddItem",
        json!({"data": {"addProjectV2ItemById": {"item": {"id": "PVTI_pr"}}}}),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {
            "project": "PVT_kw1", "item": "PVTI_pr", "field": "PVTSSF_status", "option": "opt_done"
        }})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "updateProjectV2ItemFieldValue": {"projectV2Item": {"id": "PVTI_pr"}}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "FlowspecProject, FlowspecAddItem, FlowspecSetStatus (Done)",
    )
    .await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.completed"))
        .await
        .unwrap();
    assert_eq!(receipt.id.as_deref(), Some("PVTI_pr"));
    assert_eq!(receipt.details["status"], "Done");
    assert_eq!(
        receipt.url.as_deref(),
        Some("https://github.com/orgs/acme/projects/1")
    );
    let sent = bodies(&server, "/graphql").await;
    insta::assert_json_snapshot!("github_projects_requests_pr", sent);
}

#[tokio::test]
async fn should_create_a_draft_for_a_spec_without_pr() {
    let server = MockServer::start().await;
    mount(&server, "query FlowspecProject", project_answer(None), 1).await;
    mount(
        &server,
        "query FlowspecItems",
        json!({"data": {"node": {"items": {
            "pageInfo": {"hasNextPage": false, "endCursor": null},
            "nodes": [{"id": "PVTI_other", "content": {"title": "[FEAT-0002] Billing"}},
                      {"id": "PVTI_issue", "content": {}}]
        }}}}),
        1,
    )
    .await;
    mount(
        &server,
        "mutation FlowspecAddDraft",
        json!({"data": {"addProjectV2DraftIssue": {"projectItem": {"id": "PVTI_draft"}}}}),
        1,
    )
    .await;
    mount(
        &server,
        "mutation FlowspecSetStatus",
        json!({"data": {"updateProjectV2ItemFieldValue": {"projectV2Item": {"id": "PVTI_draft"}}}}),
        1,
    )
    .await;
    fallback(
        &server,
        "FlowspecProject, FlowspecItems, FlowspecAddDraft, FlowspecSetStatus",
    )
    .await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap();
    assert_eq!(receipt.details["action"], "created_draft");
    assert_eq!(receipt.details["status"], "Ready");
    let sent = bodies(&server, "/graphql").await;
    assert_eq!(
        sent[2]["variables"]["title"],
        "[FEAT-0001] User Authentication"
    );
    assert_eq!(sent[3]["variables"]["option"], "opt_ready");
    insta::assert_json_snapshot!("github_projects_requests_draft", sent);
}

#[tokio::test]
async fn should_find_the_spec_draft_on_a_later_page() {
    let server = MockServer::start().await;
    mount(&server, "query FlowspecProject", project_answer(None), 1).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(
            json!({"variables": {"project": "PVT_kw1", "after": null}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"node": {"items": {
                "pageInfo": {"hasNextPage": true, "endCursor": "c1"},
                "nodes": [{"id": "PVTI_a", "content": {"title": "[FEAT-0009] Other"}}]
            }}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"project": "PVT_kw1", "after": "c1"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"node": {"items": {
            "pageInfo": {"hasNextPage": false, "endCursor": "c2"},
            "nodes": [{"id": "PVTI_spec", "content": {"title": "[FEAT-0001] User Authentication"}}]
        }}}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(
            json!({"variables": {"item": "PVTI_spec", "option": "opt_ready"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "updateProjectV2ItemFieldValue": {"projectV2Item": {"id": "PVTI_spec"}}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    mount(&server, "mutation FlowspecAddDraft", json!({}), 0).await;
    fallback(&server, "two pages of items, then the status of PVTI_spec").await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap();
    assert_eq!(receipt.details["action"], "found_draft");
    assert_eq!(receipt.id.as_deref(), Some("PVTI_spec"));
}

async fn error_for(answer: Value) -> flowspec_core::notifier::NotifyError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("ghp_testtoken123"));
    err
}

#[tokio::test]
async fn should_read_graphql_errors_returned_with_200() {
    let not_found = error_for(json!({
        "data": {"repositoryOwner": null},
        "errors": [{"type": "NOT_FOUND", "path": ["repositoryOwner"],
                    "message": "Could not resolve to a ProjectV2 with the number 1."}]
    }))
    .await;
    assert_eq!(not_found.kind(), NotifyErrorKind::NotFound);
    assert_eq!(not_found.status(), Some(200));
    insta::assert_snapshot!("github_projects_error_not_found", not_found.to_string());

    let scopes = error_for(json!({"errors": [{"type": "INSUFFICIENT_SCOPES",
        "message": "Your token has not been granted the required scopes to execute this query. The 'id' field requires one of the following scopes: ['read:project']"}]}))
    .await;
    assert_eq!(scopes.kind(), NotifyErrorKind::Auth);
    assert!(!scopes.is_transient());
}

#[tokio::test]
async fn should_name_a_status_option_the_field_lacks() {
    let server = MockServer::start().await;
    mount(&server, "query FlowspecProject", project_answer(None), 1).await;
    let yaml = yaml(&server).replace("approved: \"Ready\"", "approved: \"Approved\"");
    let err = notifier(&yaml, VARS)
        .notify(&sample("spec.approved"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Config);
    insta::assert_snapshot!("github_projects_error_unknown_option", err.to_string());
}
