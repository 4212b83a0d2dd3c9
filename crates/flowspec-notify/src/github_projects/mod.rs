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
//! For each notification, `POST https://api.github.com/graphql` with
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
use crate::http::{Answer, Endpoint, Post, classify};
use crate::template::KnownFields;

mod config;
mod factory;
mod wire;

pub use self::config::GithubProjectsConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{draft_title, drafts_request, project_request};

/// Adds items to a GitHub project and sets their status.
pub struct GithubProjectsNotifier {
    endpoint: Endpoint,
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
