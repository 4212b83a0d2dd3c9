//! What GitHub is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

pub(super) const DEFAULT_API: &str = "https://api.github.com";

/// Pages of 100 items searched for a spec's draft issue.
pub(super) const MAX_ITEM_PAGES: usize = 10;

/// The project as the lookup query found it.
#[derive(Debug)]
pub(super) struct Project {
    pub(super) id: String,
    pub(super) url: Option<String>,
    pub(super) field: Option<(String, Vec<(String, String)>)>,
    pub(super) content: Option<String>,
}

/// The lookup query: the project, its status field, and the content node of `url`.
pub fn project_request(owner: &str, number: u64, field: &str, url: Option<&str>) -> Value {
    let project = "repositoryOwner(login: $owner) { ... on ProjectV2Owner { projectV2(number: $number) { id url field(name: $field) { ... on ProjectV2SingleSelectField { id options { id name } } } } } }";
    match url {
        Some(url) => json!({
            "query": format!("query FlowspecProject($owner: String!, $number: Int!, $field: String!, $url: URI!) {{ {project} resource(url: $url) {{ __typename ... on PullRequest {{ id }} ... on Issue {{ id }} }} }}"),
            "variables": {"owner": owner, "number": number, "field": field, "url": url},
        }),
        None => json!({
            "query": format!("query FlowspecProject($owner: String!, $number: Int!, $field: String!) {{ {project} }}"),
            "variables": {"owner": owner, "number": number, "field": field},
        }),
    }
}

/// The PR or issue an event is about, if it names one.
pub(super) fn content_url(n: &Notification) -> Option<String> {
    KnownFields::of(&n.event)
        .pr_url
        .or_else(|| match n.event.field("issue_url") {
            Some(flowspec_core::event::FieldValue::Json(Value::String(s))) if !s.is_empty() => {
                Some(s.clone())
            }
            _ => None,
        })
}

/// The query listing a project's items (100 at a time) with their draft titles.
pub fn drafts_request(project_id: &str, after: Option<&str>) -> Value {
    json!({
        "query": "query FlowspecItems($project: ID!, $after: String) { node(id: $project) { ... on ProjectV2 { items(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id content { ... on DraftIssue { title } } } } } } }",
        "variables": {"project": project_id, "after": after},
    })
}

/// The title of a spec's draft issue: `[FEAT-0001] User Authentication`.
pub fn draft_title(n: &Notification) -> String {
    crate::linear::title(n)
}

/// The kind and service error of GitHub's GraphQL `errors`.
pub(super) fn graphql_error(errors: &[Value]) -> (NotifyErrorKind, ServiceError) {
    let first = &errors[0];
    let code = first["type"].as_str().map(str::to_owned);
    let kind = match code.as_deref() {
        Some("NOT_FOUND") => NotifyErrorKind::NotFound,
        Some("FORBIDDEN") | Some("INSUFFICIENT_SCOPES") => NotifyErrorKind::Auth,
        Some("RATE_LIMITED") => NotifyErrorKind::RateLimited,
        _ => NotifyErrorKind::Rejected,
    };
    let mut service = ServiceError::new(first["message"].as_str().unwrap_or("GraphQL error"));
    if let Some(code) = code {
        service = service.with_code(code);
    }
    for e in errors.iter().skip(1) {
        if let Some(m) = e["message"].as_str() {
            service = service.with_detail(m);
        }
    }
    (kind, service)
}

pub(super) fn unexpected(step: &str, answer: &Answer) -> NotifyError {
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "GitHub {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
}
