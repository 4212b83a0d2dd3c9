//! GitHub Projects (v2, GraphQL): puts each spec's PR (or a draft issue for the spec)
//! on a project board and moves its Status as the spec's events arrive.
//!
//! ```yaml
//! integrations:
//!   github_projects:
//!     enabled: true
//!     project_number: 1              # github.com/orgs/ORG/projects/NUMBER
//!     status_field: "Status"
//!     status_mappings:               # spec status → option of the Status field
//!       draft: "Backlog"
//!       review: "In Review"
//!       approved: "Ready"
//!       implemented: "Done"
//!     # owner: "your-org"            # default: GITHUB_REPOSITORY_OWNER (set in Actions)
//!     # token: "${GITHUB_TOKEN}"     # needs the `project` scope (a PAT or an app token)
//! ```
//!
//! For each notification (contracts.md B8), `POST https://api.github.com/graphql` with
//! `Authorization: Bearer <token>`:
//! 1. one query: the project of `owner` (a user or an organization) with its status
//!    field and options, and the node id of the event's PR or issue (`pr_url`,
//!    `issue_url`) when it has one;
//! 2. the item: `addProjectV2ItemById` for the PR or issue (GitHub returns the existing
//!    item when it is already on the board); without one, the spec's draft issue
//!    (`[FEAT-0001] User Authentication`), found among the project's items or created
//!    with `addProjectV2DraftIssue`;
//! 3. when the event maps to a status, `updateProjectV2ItemFieldValue` with the
//!    single-select option.
//!
//! GitHub answers GraphQL errors with HTTP 200 and `{"errors": [{"type", "message"}]}`.
//! The workflow `GITHUB_TOKEN` of Actions cannot reach user or organization projects.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::events::spec_status;
use crate::http::{Answer, Post, Target, classify};
use crate::template::KnownFields;

const TOKEN: SecretVar = SecretVar::required(
    "token",
    "GITHUB_TOKEN",
    "Token with the `project` scope (classic PAT or GitHub App)",
    "ghp_0123456789abcdefExampleTokenForFlowspec0",
);
const OWNER: SecretVar = SecretVar::setting(
    "owner",
    "GITHUB_REPOSITORY_OWNER",
    "User or organization owning the project (set by GitHub Actions)",
    "your-org",
);

const DEFAULT_API: &str = "https://api.github.com";
/// Pages of 100 items searched for a spec's draft issue.
const MAX_ITEM_PAGES: usize = 10;

/// `integrations.github_projects` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubProjectsConfig {
    /// The token as `${VAR}` (default: `GITHUB_TOKEN`). Example: `"${PROJECTS_TOKEN}"`.
    pub token: Option<String>,
    /// The user or organization owning the project (default:
    /// `GITHUB_REPOSITORY_OWNER`). Example: `"your-org"`.
    pub owner: Option<String>,
    /// The project number (from `github.com/orgs/ORG/projects/NUMBER`). Example: `1`.
    pub project_number: u64,
    /// The single-select field moved by `status_mappings` (default `Status`).
    /// Example: `"Status"`.
    #[serde(default = "default_field")]
    pub status_field: String,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) → an
    /// option of `status_field`. Example: `{review: "In Review", implemented: "Done"}`.
    #[serde(default)]
    pub status_mappings: BTreeMap<String, String>,
    /// Replaces `https://api.github.com` (GitHub Enterprise Server:
    /// `https://ghe.example.com/api`); `/graphql` is appended.
    /// Example: `"https://ghe.example.com/api"`.
    pub api_url: Option<String>,
}

fn default_field() -> String {
    "Status".to_owned()
}

/// Adds items to a GitHub project and sets their status.
pub struct GithubProjectsNotifier {
    endpoint: Target,
    owner: String,
    auth: SecretString,
    config: GithubProjectsConfig,
    client: HttpClient,
    // Draft items created by this notifier (title prefix → item id), for retries.
    created: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for GithubProjectsNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubProjectsNotifier")
            .field("endpoint", &self.endpoint.shown())
            .field("owner", &self.owner)
            .field("project_number", &self.config.project_number)
            .finish()
    }
}

/// The project as the lookup query found it.
#[derive(Debug)]
struct Project {
    id: String,
    url: Option<String>,
    field: Option<(String, Vec<(String, String)>)>,
    content: Option<String>,
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
fn content_url(n: &Notification) -> Option<String> {
    KnownFields::of(&n.event)
        .pr_url
        .or_else(|| match n.event.field("issue_url") {
            Some(flowspec_core::event::FieldValue::Json(Value::String(s))) if !s.is_empty() => {
                Some(s.clone())
            }
            _ => None,
        })
}

impl GithubProjectsNotifier {
    async fn graphql(&self, request: &Value, step: &str) -> Result<Value, NotifyError> {
        let post = Post::json(&self.endpoint, request)
            .header(
                "Authorization",
                &format!("Bearer {}", self.auth.expose_secret()),
            )?
            .header("Accept", "application/vnd.github+json")?;
        let answer = match post.send(&self.client).await {
            Ok(answer) => answer,
            Err(e) => {
                let err = classify(&e, &self.endpoint, None).context(format!("GitHub {step}"));
                return Err(self.with_hint(err));
            }
        };
        let body = answer.json().ok_or_else(|| unexpected(step, &answer))?;
        if let Some(errors) = body
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let (kind, service) = graphql_error(errors);
            let err = NotifyError::new(kind, format!("GitHub {step}: GraphQL error"))
                .with_status(answer.status)
                .with_service_error(service);
            return Err(self.with_hint(err));
        }
        match body.get("data") {
            Some(data) if data.is_object() => Ok(data.clone()),
            _ => Err(unexpected(step, &answer)),
        }
    }

    fn with_hint(&self, err: NotifyError) -> NotifyError {
        match err.kind() {
            NotifyErrorKind::Auth => err.with_hint(
                "GitHub refused the token: it needs the `project` scope (a classic PAT or an app token; the workflow GITHUB_TOKEN cannot reach projects)",
            ),
            NotifyErrorKind::NotFound => err.with_hint(format!(
                "check `owner` (`{}`) and `project_number` ({}), and that the token can see the project",
                self.owner, self.config.project_number
            )),
            _ => err,
        }
    }

    async fn project(&self, url: Option<&str>) -> Result<Project, NotifyError> {
        let data = self
            .graphql(
                &project_request(
                    &self.owner,
                    self.config.project_number,
                    &self.config.status_field,
                    url,
                ),
                "look up the project",
            )
            .await?;
        let project = &data["repositoryOwner"]["projectV2"];
        let Some(id) = project["id"].as_str() else {
            return Err(self.with_hint(NotifyError::new(
                NotifyErrorKind::NotFound,
                format!(
                    "GitHub: project #{} of `{}` not found",
                    self.config.project_number, self.owner
                ),
            )));
        };
        let field = project["field"]["id"].as_str().map(|fid| {
            let options = project["field"]["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| {
                    Some((o["id"].as_str()?.to_owned(), o["name"].as_str()?.to_owned()))
                })
                .collect();
            (fid.to_owned(), options)
        });
        let content = data["resource"]["id"].as_str().map(str::to_owned);
        if url.is_some() && content.is_none() {
            return Err(NotifyError::new(
                NotifyErrorKind::NotFound,
                "GitHub: the event's PR or issue URL does not resolve to a pull request or issue the token can see",
            ));
        }
        Ok(Project {
            id: id.to_owned(),
            url: project["url"].as_str().map(str::to_owned),
            field,
            content,
        })
    }

    /// The option id for `n`'s status, if `status_mappings` names one.
    fn option_for(
        &self,
        n: &Notification,
        project: &Project,
    ) -> Result<Option<(String, String)>, NotifyError> {
        let Some(status) = spec_status(&n.event) else {
            return Ok(None);
        };
        let Some(wanted) = self.config.status_mappings.get(&status) else {
            return Ok(None);
        };
        let Some((field_id, options)) = &project.field else {
            return Err(NotifyError::config(format!(
                "GitHub: project #{} has no single-select field `{}`",
                self.config.project_number, self.config.status_field
            ))
            .with_hint("set `status_field` to the name of a single-select field of the project"));
        };
        match options.iter().find(|(_, name)| name.eq_ignore_ascii_case(wanted)) {
            Some((id, _)) => Ok(Some((field_id.clone(), id.clone()))),
            None => Err(NotifyError::config(format!(
                "GitHub: `status_mappings.{status}` names `{wanted}`, which is not an option of `{}`",
                self.config.status_field
            ))
            .with_hint(format!(
                "options: {}",
                options.iter().map(|(_, n)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    async fn find_draft(
        &self,
        project_id: &str,
        prefix: &str,
    ) -> Result<Option<String>, NotifyError> {
        if let Some(id) = self
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(prefix)
        {
            return Ok(Some(id.clone()));
        }
        let mut after: Option<String> = None;
        for _ in 0..MAX_ITEM_PAGES {
            let data = self
                .graphql(
                    &drafts_request(project_id, after.as_deref()),
                    "list the project's items",
                )
                .await?;
            let items = &data["node"]["items"];
            let Some(nodes) = items["nodes"].as_array() else {
                return Err(NotifyError::new(
                    NotifyErrorKind::Service,
                    "GitHub list the project's items: the answer has no items",
                ));
            };
            for node in nodes {
                if node["content"]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(prefix))
                {
                    return Ok(node["id"].as_str().map(str::to_owned));
                }
            }
            match (
                items["pageInfo"]["hasNextPage"].as_bool(),
                items["pageInfo"]["endCursor"].as_str(),
            ) {
                (Some(true), Some(cursor)) => after = Some(cursor.to_owned()),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
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
fn graphql_error(errors: &[Value]) -> (NotifyErrorKind, ServiceError) {
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

fn unexpected(step: &str, answer: &Answer) -> NotifyError {
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

#[async_trait]
impl Notifier for GithubProjectsNotifier {
    fn target(&self) -> String {
        format!(
            "{} (project {}/{})",
            self.endpoint.shown(),
            self.owner,
            self.config.project_number
        )
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let url = content_url(n);
        let project = self.project(url.as_deref()).await?;
        let option = self.option_for(n, &project)?;
        let (item, action) = match &project.content {
            Some(content) => {
                let data = self
                    .graphql(
                        &json!({
                            "query": "mutation FlowspecAddItem($project: ID!, $content: ID!) { addProjectV2ItemById(input: {projectId: $project, contentId: $content}) { item { id } } }",
                            "variables": {"project": project.id, "content": content},
                        }),
                        "add the item",
                    )
                    .await?;
                let item = data["addProjectV2ItemById"]["item"]["id"]
                    .as_str()
                    .map(str::to_owned);
                (item, "added")
            }
            None => {
                let prefix = crate::linear::title_prefix(n);
                let found = match &prefix {
                    Some(p) => self.find_draft(&project.id, p).await?,
                    None => None,
                };
                match found {
                    Some(item) => (Some(item), "found_draft"),
                    None => {
                        let data = self
                            .graphql(
                                &json!({
                                    "query": "mutation FlowspecAddDraft($project: ID!, $title: String!, $body: String) { addProjectV2DraftIssue(input: {projectId: $project, title: $title, body: $body}) { projectItem { id } } }",
                                    "variables": {"project": project.id, "title": draft_title(n), "body": crate::linear::markdown(n)},
                                }),
                                "add a draft issue",
                            )
                            .await?;
                        let item = data["addProjectV2DraftIssue"]["projectItem"]["id"]
                            .as_str()
                            .map(str::to_owned);
                        if let (Some(p), Some(i)) = (prefix, &item) {
                            self.created
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(p, i.clone());
                        }
                        (item, "created_draft")
                    }
                }
            }
        };
        let Some(item) = item else {
            return Err(NotifyError::new(
                NotifyErrorKind::Service,
                "GitHub: the answer has no project item id",
            ));
        };
        let mut receipt = Receipt::new()
            .with_status(200)
            .with_id(item.clone())
            .with_detail("action", action);
        if let Some(url) = &project.url {
            receipt = receipt.with_url(url.clone());
        }
        if let Some((field, option)) = option {
            self.graphql(
                &json!({
                    "query": "mutation FlowspecSetStatus($project: ID!, $item: ID!, $field: ID!, $option: String!) { updateProjectV2ItemFieldValue(input: {projectId: $project, itemId: $item, fieldId: $field, value: {singleSelectOptionId: $option}}) { projectV2Item { id } } }",
                    "variables": {"project": project.id, "item": item, "field": field, "option": option},
                }),
                "set the status",
            )
            .await?;
            let status = spec_status(&n.event).unwrap_or_default();
            let name = self
                .config
                .status_mappings
                .get(&status)
                .cloned()
                .unwrap_or_default();
            receipt = receipt.with_detail("status", name);
        }
        Ok(receipt)
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        self.project(None).await.map(|_| ())
    }
}

/// `github_projects`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "github_projects"
    }

    fn describe(&self) -> &'static str {
        "GitHub Projects (v2): adds each spec's PR or a draft issue to a board and sets its Status"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  github_projects:
    enabled: true
    project_number: 1
    status_field: "Status"
    status_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Ready"
      implemented: "Done"
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[TOKEN, OWNER]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: GithubProjectsConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let token = cx.secret(config.get("token"), &TOKEN);
        let owner = cx
            .secret(config.get("owner"), &OWNER)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        if parsed.project_number == 0 {
            errors.push(cx.error(
                config.get("project_number"),
                "project_number",
                "`project_number` starts at 1 (it is the number in the project's URL)",
            ));
        }
        let mappings = config.get("status_mappings");
        for status in parsed.status_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("status_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(format!(
                        "spec statuses: {}",
                        crate::events::SPEC_STATUSES.join(", ")
                    )),
                );
            }
        }
        let endpoint = Target::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("graphql"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (token, owner, endpoint) = match (token, owner, endpoint) {
            (Ok(Some(t)), Ok(o), Ok(e)) if errors.is_empty() => (t, o, e),
            (t, o, e) => {
                for err in [t.err(), o.err(), e.err()].into_iter().flatten() {
                    errors.push(err);
                }
                return Err(errors);
            }
        };
        let notifier = GithubProjectsNotifier {
            endpoint,
            owner: owner.trim().to_owned(),
            auth: token,
            config: parsed,
            client: HttpClient::shared(),
            created: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_ask_for_the_content_node_only_with_a_url() {
        let with = project_request(
            "acme",
            1,
            "Status",
            Some("https://github.com/acme/app/pull/42"),
        );
        assert!(
            with["query"]
                .as_str()
                .unwrap()
                .contains("resource(url: $url)")
        );
        let without = project_request("acme", 1, "Status", None);
        assert!(!without["query"].as_str().unwrap().contains("resource"));
        assert_eq!(without["variables"]["number"], 1);
    }
}
