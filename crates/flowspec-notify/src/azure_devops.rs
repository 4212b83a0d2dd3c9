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
//! For each notification (contracts.md B7), with `Authorization: Basic base64(":" + PAT)`:
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
use crate::http::{Answer, Post, Target, classify_request, path_segment, truncate_chars};
use crate::template::KnownFields;

const ORG: SecretVar = SecretVar::setting(
    "organization",
    "AZURE_DEVOPS_ORG",
    "Organization name",
    "your-org",
);
const PROJECT: SecretVar = SecretVar::setting(
    "project",
    "AZURE_DEVOPS_PROJECT",
    "Project name",
    "your-project",
);
const PAT: SecretVar = SecretVar::required(
    "pat",
    "AZURE_DEVOPS_PAT",
    "Personal access token (Work Items: Read & Write)",
    "azdopat0123456789abcdefexampletokenforflowspecxyz",
);

const DEFAULT_API: &str = "https://dev.azure.com";
const API_VERSION: &str = "api-version=7.1";

/// `integrations.azure_devops` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureDevopsConfig {
    /// The organization (default: `AZURE_DEVOPS_ORG`). Example: `"your-org"`.
    pub organization: Option<String>,
    /// The project (default: `AZURE_DEVOPS_PROJECT`). Example: `"your-project"`.
    pub project: Option<String>,
    /// The personal access token as `${VAR}` (default: `AZURE_DEVOPS_PAT`).
    /// Example: `"${AZURE_DEVOPS_PAT}"`.
    pub pat: Option<String>,
    /// The type of new work items (default `Task`). Example: `"User Story"`.
    #[serde(default = "default_type")]
    pub work_item_type: String,
    /// `System.AreaPath` of new work items. Example: `"your-project\\Team"`.
    pub area_path: Option<String>,
    /// `System.IterationPath` of new work items. Example: `"your-project\\Sprint 1"`.
    pub iteration_path: Option<String>,
    /// Tags of new work items besides `flowspec` and the dedup tag. Example: `["spec"]`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) →
    /// `System.State` set on the work item (names depend on the process template).
    /// Example: `{approved: "Active", implemented: "Resolved"}`.
    #[serde(default)]
    pub state_mappings: BTreeMap<String, String>,
    /// Replaces `https://dev.azure.com` (Azure DevOps Server, a proxy, a mock).
    /// Example: `"https://tfs.example.com/tfs"`.
    pub api_url: Option<String>,
}

fn default_type() -> String {
    "Task".to_owned()
}

/// Creates and updates the Azure DevOps work item of each spec.
pub struct AzureDevopsNotifier {
    base: Target,
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

/// `text` with `&`, `<`, `>` and `"` escaped for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The notification as HTML (`System.Description`, `System.History`).
pub fn html(n: &Notification) -> String {
    let mut out = format!("<p><b>{}</b></p>", escape(&n.title));
    for line in n.summary.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&format!("<p>{}</p>", escape(line)));
    }
    let items: Vec<String> = n
        .fields
        .iter()
        .filter(|f| f.key != "error" && !f.value.is_empty())
        .map(|f| format!("<li><b>{}:</b> {}</li>", escape(&f.label), escape(&f.value)))
        .collect();
    if !items.is_empty() {
        out.push_str(&format!("<ul>{}</ul>", items.concat()));
    }
    if let Some(error) = n.field("error").filter(|e| !e.is_empty()) {
        out.push_str(&format!(
            "<p><b>Error:</b></p><pre>{}</pre>",
            escape(&truncate_chars(error, 10_000))
        ));
    }
    if !n.links.is_empty() {
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("<a href=\"{}\">{}</a>", escape(&l.url), escape(&l.title)))
            .collect();
        out.push_str(&format!("<p>{}</p>", links.join(" · ")));
    }
    out.push_str(&format!(
        "<p><i>flowspec · {} · {}</i></p>",
        escape(&n.event_name),
        escape(&n.event.timestamp_rfc3339())
    ));
    out
}

/// The tag that marks the work item of a notification's subject (`flowspec-FEAT-0001`).
pub fn dedup_tag(n: &Notification) -> String {
    n.dedup_key()
        .chars()
        .map(|c| {
            if c == ';' || c == '/' || c == ',' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// The title of a new work item: `FEAT-0001: User Authentication`.
pub fn title(n: &Notification) -> String {
    let text = match (n.field("id"), n.field("title")) {
        (Some(id), Some(title)) => format!("{id}: {title}"),
        (None, Some(title)) => title.to_owned(),
        _ => n.title.clone(),
    };
    truncate_chars(&text.replace(['\n', '\r'], " "), 255)
}

fn hyperlink(url: &str) -> Value {
    json!({"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": url}})
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

/// Azure DevOps' error body: `{"message": "...", "typeKey": "...", ...}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?.to_owned();
    let mut service = ServiceError::new(message);
    if let Some(code) = v.get("typeKey").and_then(Value::as_str) {
        service = service.with_code(code);
    }
    Some(service)
}

fn not_json(step: &str, answer: &Answer) -> NotifyError {
    if answer.status == 203 || answer.body.trim_start().starts_with('<') {
        return NotifyError::new(
            NotifyErrorKind::Auth,
            format!(
                "Azure DevOps {step}: answered {} with a sign-in page instead of JSON",
                answer.status
            ),
        )
        .with_status(answer.status)
        .with_hint("the PAT is invalid or expired: create a new one and set AZURE_DEVOPS_PAT");
    }
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "Azure DevOps {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
}

fn receipt(item: &Value, action: &str) -> Receipt {
    let mut r = Receipt::new()
        .with_status(200)
        .with_detail("action", action);
    if let Some(id) = item["id"].as_u64() {
        r = r.with_id(id.to_string());
    }
    if let Some(url) = item["_links"]["html"]["href"].as_str() {
        r = r.with_url(url);
    }
    r
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

/// `azure_devops`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "azure_devops"
    }

    fn describe(&self) -> &'static str {
        "Azure DevOps Boards: one work item per spec via JSON Patch, area/iteration paths, state sync"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  azure_devops:
    enabled: true
    organization: "your-org"
    project: "your-project"
    work_item_type: "User Story"
    area_path: "your-project\\Team"
    iteration_path: "your-project\\Sprint 1"
    notify_on:
      - "spec_created"
      - "spec_approved"
      - "implementation_completed"
      - "implementation_failed"
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[ORG, PROJECT, PAT]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: AzureDevopsConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let org = cx
            .secret(config.get("organization"), &ORG)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        let project = cx
            .secret(config.get("project"), &PROJECT)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        let pat = cx.secret(config.get("pat"), &PAT);
        let mappings = config.get("state_mappings");
        for status in parsed.state_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("state_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(format!(
                        "spec statuses: {}",
                        crate::events::SPEC_STATUSES.join(", ")
                    )),
                );
            }
        }
        if parsed.work_item_type.trim().is_empty() {
            errors.push(cx.error(
                config.get("work_item_type"),
                "work_item_type",
                "`work_item_type` must not be empty",
            ));
        }
        let base = Target::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (organization, project, pat, base) = match (org, project, pat, base) {
            (Ok(o), Ok(p), Ok(Some(t)), Ok(b)) if errors.is_empty() => (o, p, t, b),
            (o, p, t, b) => {
                for e in [o.err(), p.err(), t.err(), b.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!(":{}", pat.expose_secret()));
        let notifier = AzureDevopsNotifier {
            base,
            organization: organization.trim().to_owned(),
            project: project.trim().to_owned(),
            auth: SecretString::from(format!("Basic {basic}")),
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
