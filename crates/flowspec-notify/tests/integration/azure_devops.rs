//! Azure DevOps work items against a mock of its API.

use flowspec_core::notifier::NotifyErrorKind;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::service_support::{bodies, fallback, notifier, requests, sample};

const VARS: &[(&str, &str)] = &[("AZURE_DEVOPS_PAT", "pat-secret-42")];
// base64(":pat-secret-42")
const AUTH: &str = "Basic OnBhdC1zZWNyZXQtNDI=";
const WIQL: &str = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS 'flowspec-FEAT-0001' ORDER BY [System.Id]";

fn yaml(server: &MockServer) -> String {
    format!(
        r#"integrations:
  azure_devops:
    enabled: true
    api_url: "{}"
    organization: "your-org"
    project: "your project"
    work_item_type: "User Story"
    area_path: "your-project\\Team"
    iteration_path: "your-project\\Sprint 1"
    state_mappings:
      approved: "Active"
      implemented: "Resolved"
"#,
        server.uri()
    )
}

async fn mount_wiql(server: &MockServer, items: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path("/your-org/your%20project/_apis/wit/wiql"))
        .and(query_param("api-version", "7.1"))
        .and(query_param("$top", "1"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"query": WIQL})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "queryType": "flat", "workItems": items
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn should_create_a_work_item_with_json_patch_and_paths() {
    let server = MockServer::start().await;
    mount_wiql(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/your-org/your%20project/_apis/wit/workitems/$User%20Story"))
        .and(query_param("api-version", "7.1"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json-patch+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 131489, "rev": 1,
            "fields": {"System.State": "New"},
            "_links": {"html": {"href": "https://dev.azure.com/your-org/your%20project/_workitems/edit/131489"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    fallback(&server, "POST …/wiql, then POST …/workitems/$User%20Story").await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap();
    assert_eq!(receipt.id.as_deref(), Some("131489"));
    assert_eq!(
        receipt.url.as_deref(),
        Some("https://dev.azure.com/your-org/your%20project/_workitems/edit/131489")
    );
    let patch = &bodies(
        &server,
        "/your-org/your%20project/_apis/wit/workitems/$User%20Story",
    )
    .await[0];
    assert_eq!(patch[3]["path"], "/fields/System.AreaPath");
    assert_eq!(patch[3]["value"], "your-project\\Team");
    insta::assert_json_snapshot!("azure_devops_create_patch", patch);
}

#[tokio::test]
async fn should_update_state_history_and_link_the_pr_once() {
    let server = MockServer::start().await;
    mount_wiql(
        &server,
        json!([{"id": 42, "url": "https://dev.azure.com/x"}]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/your-org/your%20project/_apis/wit/workitems/42"))
        .and(query_param("$expand", "relations"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "relations": [{"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "https://x"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/your-org/your%20project/_apis/wit/workitems/42"))
        .and(query_param("api-version", "7.1"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json-patch+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 42, "rev": 5})))
        .expect(1)
        .mount(&server)
        .await;
    fallback(
        &server,
        "wiql, GET work item 42 with relations, PATCH work item 42",
    )
    .await;

    let receipt = notifier(&yaml(&server), VARS)
        .notify(&sample("implement.completed"))
        .await
        .unwrap();
    assert_eq!(receipt.details["action"], "updated");
    assert_eq!(
        requests(&server).await,
        [
            "POST /your-org/your%20project/_apis/wit/wiql",
            "GET /your-org/your%20project/_apis/wit/workitems/42",
            "PATCH /your-org/your%20project/_apis/wit/workitems/42",
        ]
    );
    let patch = &bodies(&server, "/your-org/your%20project/_apis/wit/workitems/42").await;
    insta::assert_json_snapshot!("azure_devops_update_patch", patch.last().unwrap());
}

#[tokio::test]
async fn should_treat_a_sign_in_page_as_a_refused_pat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/your-org/your%20project/_apis/wit/wiql"))
        .respond_with(
            ResponseTemplate::new(203)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Sign In</body></html>"),
        )
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), NotifyErrorKind::Auth);
    assert_eq!(err.status(), Some(203));
    insta::assert_snapshot!("azure_devops_error_sign_in_page", err.to_string());
}

#[tokio::test]
async fn should_explain_a_refused_work_item_type() {
    let server = MockServer::start().await;
    mount_wiql(&server, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/your-org/your%20project/_apis/wit/workitems/$User%20Story"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "$id": "1",
            "message": "TF201036: You cannot create a work item of type User Story: the type does not exist in project your project.",
            "typeName": "Microsoft.TeamFoundation.WorkItemTracking.Server.WorkItemTypeNotFoundException",
            "typeKey": "WorkItemTypeNotFoundException",
            "errorCode": 0, "eventId": 3200
        })))
        .mount(&server)
        .await;
    let err = notifier(&yaml(&server), VARS)
        .notify(&sample("spec.created"))
        .await
        .unwrap_err();
    assert!(!err.is_transient());
    assert!(!err.to_string().contains("pat-secret-42"));
    insta::assert_snapshot!(
        "azure_devops_error_work_item_type",
        err.to_string().replace(&server.uri(), "http://mock")
    );
}

#[test]
fn should_read_organization_and_project_from_the_environment() {
    let yaml = "integrations:\n  azure_devops:\n    enabled: true\n";
    let vars = [
        ("AZURE_DEVOPS_ORG", "acme"),
        ("AZURE_DEVOPS_PROJECT", "app"),
        ("AZURE_DEVOPS_PAT", "p"),
    ];
    let n = notifier(yaml, &vars);
    assert_eq!(n.target(), "https://dev.azure.com (acme/app)");
}
