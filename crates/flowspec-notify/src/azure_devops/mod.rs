//! Azure DevOps Boards: one work item per spec, created and updated with JSON Patch.
//!
//! ```yaml
//! integrations:
//!   azure_devops:
//!     enabled: true
//!     organization: "your-org"           # or AZURE_DEVOPS_ORG
//!     project: "your-project"            # or AZURE_DEVOPS_PROJECT
//!     work_item_type: "User Story"
//!     area_path: "your-project\\Team"
//!     iteration_path: "your-project\\Sprint 1"
//!     notify_on: [spec_created, spec_approved, implementation_completed, implementation_failed]
//!     # pat: "${AZURE_DEVOPS_PAT}"         # the default variable
//! ```
//!
//! For each notification, with `Authorization: Basic base64(":" + PAT)`:
//! 1. find the spec's work item with a WIQL query
//!    (`POST /{org}/{project}/_apis/wit/wiql?api-version=7.1`) on its dedup tag
//!    `flowspec-FEAT-0001`;
//! 2. none: `POST /{org}/{project}/_apis/wit/workitems/$User%20Story?api-version=7.1`
//!    with a JSON Patch (`application/json-patch+json`): title, HTML description, tags
//!    (`flowspec; flowspec-FEAT-0001`), area and iteration paths, a `Hyperlink` relation
//!    to the PR;
//! 3. found: `PATCH /{org}/{project}/_apis/wit/workitems/{id}?api-version=7.1` adding the
//!    notification to the discussion (`System.History`), the mapped `System.State`
//!    (`state_mappings`), and the PR link when it is new.
//!
//! A bad or expired PAT may be answered with `203` and an HTML sign-in page instead of
//! `401`: any non-JSON 2xx answer is treated as an auth failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use flowspec_http::reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::events::spec_status;
use crate::http::{Answer, Endpoint, Post, classify_request, path_segment, truncate_chars};
use crate::template::KnownFields;

mod config;
mod factory;
mod wire;

pub use self::config::AzureDevopsConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{dedup_tag, html, service_error, title};

/// Creates and updates the Azure DevOps work item of each spec.
pub struct AzureDevopsNotifier {
    base: Endpoint,
    organization: String,
    project: String,
    auth: SecretString,
    config: AzureDevopsConfig,
    client: HttpClient,
    // Work items created by this notifier (dedup tag → id), for retries right after a
    // create (WIQL results may lag).
    created: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for AzureDevopsNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureDevopsNotifier")
            .field("base", &self.base.shown())
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("work_item_type", &self.config.work_item_type)
            .finish()
    }
}

impl AzureDevopsNotifier {
    fn path(&self, rest: &str) -> String {
        format!(
            "{}/{}/_apis/wit/{rest}",
            path_segment(&self.organization),
            path_segment(&self.project)
        )
    }

    /// The JSON Patch that creates the work item of `n`.
    pub fn create_patch(&self, n: &Notification) -> Value {
        let mut tags = vec!["flowspec".to_owned(), dedup_tag(n)];
        tags.extend(self.config.tags.iter().cloned());
        tags.dedup();
        let mut ops = vec![
            json!({"op": "add", "path": "/fields/System.Title", "value": title(n)}),
            json!({"op": "add", "path": "/fields/System.Description", "value": html(n)}),
            json!({"op": "add", "path": "/fields/System.Tags", "value": tags.join("; ")}),
        ];
        if let Some(area) = &self.config.area_path {
            ops.push(json!({"op": "add", "path": "/fields/System.AreaPath", "value": area}));
        }
        if let Some(iteration) = &self.config.iteration_path {
            ops.push(
                json!({"op": "add", "path": "/fields/System.IterationPath", "value": iteration}),
            );
        }
        if let Some(url) = KnownFields::of(&n.event).pr_url {
            ops.push(hyperlink(&url));
        }
        Value::Array(ops)
    }

    /// The JSON Patch that updates an existing work item: the discussion entry, the
    /// mapped state, and the PR link unless `linked` already.
    pub fn update_patch(&self, n: &Notification, linked: bool) -> Value {
        let mut ops =
            vec![json!({"op": "add", "path": "/fields/System.History", "value": html(n)})];
        if let Some(state) = spec_status(&n.event).and_then(|s| self.config.state_mappings.get(&s))
        {
            ops.push(json!({"op": "add", "path": "/fields/System.State", "value": state}));
        }
        if let Some(url) = KnownFields::of(&n.event).pr_url.filter(|_| !linked) {
            ops.push(hyperlink(&url));
        }
        Value::Array(ops)
    }

    /// The WIQL query that finds the work item tagged `tag`.
    pub fn wiql(tag: &str) -> Value {
        json!({"query": format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS '{}' ORDER BY [System.Id]",
            tag.replace('\'', "''")
        )})
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&Value, &'static str)>,
        step: &str,
    ) -> Result<Value, NotifyError> {
        let target = self.base.join(path).map_err(NotifyError::config)?;
        let mut request = match body {
            Some((body, content_type)) => Post::bytes(
                &target,
                serde_json::to_vec(body).unwrap_or_default(),
                content_type,
            ),
            None => Post::bytes(&target, Vec::new(), "application/json"),
        };
        request.method = method.clone();
        let request = request
            .header("Authorization", self.auth.expose_secret())?
            .header("Accept", "application/json")?;
        let answer = match request.send(&self.client).await {
            Ok(answer) => answer,
            Err(e) => {
                let service = e.body().and_then(service_error);
                let mut err = classify_request(&e, &method, &target, service)
                    .context(format!("Azure DevOps {step}"));
                if let Some(h) = self.hint(&err) {
                    err = err.with_hint(h);
                }
                return Err(err);
            }
        };
        match answer.json() {
            Some(v) if answer.status != 203 => Ok(v),
            _ => Err(not_json(step, &answer)),
        }
    }

    fn hint(&self, err: &NotifyError) -> Option<String> {
        let code = err
            .service_error()
            .and_then(|s| s.code.clone())
            .unwrap_or_default();
        Some(match err.kind() {
            _ if code.contains("WorkItemType") => format!(
                "work item type `{}` does not exist in this project's process: set `work_item_type`",
                self.config.work_item_type
            ),
            _ if code.contains("RuleValidation") => "a field value was refused (area/iteration path, or a `state_mappings` state that does not exist in this process)".to_owned(),
            NotifyErrorKind::Auth => "Azure DevOps refused the PAT: create one with the \"Work Items: Read & Write\" scope for this organization and set AZURE_DEVOPS_PAT".to_owned(),
            NotifyErrorKind::NotFound => format!(
                "check `organization` (`{}`) and `project` (`{}`)",
                self.organization, self.project
            ),
            _ => return None,
        })
    }

    async fn find(&self, tag: &str) -> Result<Option<u64>, NotifyError> {
        if let Some(id) = self
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tag)
        {
            return Ok(Some(*id));
        }
        let body = self
            .call(
                Method::POST,
                &format!("{}?{API_VERSION}&$top=1", self.path("wiql")),
                Some((&Self::wiql(tag), "application/json")),
                "query the spec's work item",
            )
            .await?;
        let Some(items) = body.get("workItems").and_then(Value::as_array) else {
            return Err(NotifyError::new(
                NotifyErrorKind::Service,
                "Azure DevOps query the spec's work item: the answer has no `workItems`",
            ));
        };
        Ok(items.first().and_then(|i| i["id"].as_u64()))
    }

    async fn has_link(&self, id: u64, url: &str) -> Result<bool, NotifyError> {
        let item = self
            .call(
                Method::GET,
                &format!(
                    "{}?$expand=relations&{API_VERSION}",
                    self.path(&format!("workitems/{id}"))
                ),
                None,
                "read the work item's links",
            )
            .await?;
        Ok(item["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["rel"] == "Hyperlink" && r["url"].as_str() == Some(url)))
    }
}

#[async_trait]
impl Notifier for AzureDevopsNotifier {
    fn target(&self) -> String {
        format!(
            "{} ({}/{})",
            self.base.shown(),
            self.organization,
            self.project
        )
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let tag = dedup_tag(n);
        const PATCH: &str = "application/json-patch+json";
        match self.find(&tag).await? {
            Some(id) => {
                let linked = match KnownFields::of(&n.event).pr_url {
                    Some(url) => self.has_link(id, &url).await?,
                    None => true,
                };
                let item = self
                    .call(
                        Method::PATCH,
                        &format!("{}?{API_VERSION}", self.path(&format!("workitems/{id}"))),
                        Some((&self.update_patch(n, linked), PATCH)),
                        "update the work item",
                    )
                    .await?;
                Ok(receipt(&item, "updated"))
            }
            None => {
                let item = self
                    .call(
                        Method::POST,
                        &format!(
                            "{}?{API_VERSION}",
                            self.path(&format!(
                                "workitems/${}",
                                path_segment(&self.config.work_item_type)
                            ))
                        ),
                        Some((&self.create_patch(n), PATCH)),
                        "create the work item",
                    )
                    .await?;
                let Some(id) = item["id"].as_u64() else {
                    return Err(NotifyError::new(
                        NotifyErrorKind::Service,
                        "Azure DevOps create the work item: the answer has no `id`",
                    ));
                };
                self.created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(tag, id);
                Ok(receipt(&item, "created"))
            }
        }
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        let path = format!(
            "{}/_apis/projects/{}?{API_VERSION}",
            path_segment(&self.organization),
            path_segment(&self.project)
        );
        self.call(Method::GET, &path, None, "read the project")
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_notification;

    #[test]
    fn should_escape_html_in_descriptions() {
        assert_eq!(
            escape("<b>\"x\" & y</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
        let n = sample_notification("implement.failed");
        insta::assert_snapshot!("azure_devops_html_failed", html(&n));
    }

    #[test]
    fn should_quote_wiql_literals() {
        let q = AzureDevopsNotifier::wiql("flowspec-it's");
        assert!(q["query"].as_str().unwrap().contains("'flowspec-it''s'"));
    }
}
