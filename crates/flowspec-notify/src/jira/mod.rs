//! Jira Cloud (REST v3): one issue per spec, kept in sync with its events.
//!
//! ```yaml
//! integrations:
//!   jira:
//!     enabled: true
//!     base_url: "https://your-domain.atlassian.net"   # or JIRA_BASE_URL
//!     project_key: "PROJ"
//!     issue_type: "Story"
//!     transition_on_approve: "21"     # "In Progress" transition ID (or its name)
//!     transition_on_implement: "31"   # "Done" transition ID (or its name)
//!     field_mappings:
//!       spec_id: "customfield_10001"
//!       acceptance_criteria: "customfield_10002"
//!     notify_on: [spec_created, spec_approved, implementation_completed, implementation_failed]
//!     # email: "${JIRA_EMAIL}"          # the default variables
//!     # api_token: "${JIRA_API_TOKEN}"
//! ```
//!
//! For each notification:
//! 1. find the spec's issue: `GET /rest/api/3/search/jql` with
//!    `project = "PROJ" AND labels = "flowspec-FEAT-0001"` (the dedup label);
//! 2. none: create it, `POST /rest/api/3/issue` (summary, an Atlassian Document Format
//!    description, labels `flowspec` and the dedup label, the `field_mappings` custom
//!    fields) → `201`; found: comment on it, `POST …/comment` with an ADF body → `201`;
//! 3. when the event moves the spec to a status with a `transition_on_*` option
//!    (approved, implemented...), `GET …/transitions` and `POST …/transitions` with the
//!    transition found by id or name → `204`. A transition that is not available from
//!    the issue's current status (already applied) is skipped and noted in the receipt;
//! 4. when the event names a PR (`pr_url`), `POST …/remotelink` with
//!    `globalId: flowspec:pr:<url>` (updated, not duplicated, when sent again);
//! 5. with `create_subtasks: true`, one subtask per acceptance criterion of the event
//!    (`POST /rest/api/3/issue` with `parent`), skipping those the issue already has
//!    (`GET /rest/api/3/search/jql` with `parent = "PROJ-24"`).
//!
//! Auth: `Authorization: Basic base64(email:api_token)`. Errors are Jira's
//! `ErrorCollection` (`{"errorMessages": [...], "errors": {"field": "..."}}`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::event::FieldValue;
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use flowspec_http::reqwest::Method;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::events::spec_status;
use crate::http::{Answer, Endpoint, Post, classify_request, path_segment, truncate_chars};
use crate::template::KnownFields;

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{FieldKind, FieldMapping, JiraConfig};
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{acceptance_criteria, adf, dedup_label, service_error, summary};

/// Creates, comments on and transitions the Jira issue of each spec.
pub struct JiraNotifier {
    api: Endpoint,
    site: String,
    auth: SecretString,
    config: JiraConfig,
    client: HttpClient,
    // Issues created by this notifier (dedup label → key): search results are
    // eventually consistent, so a retry right after a create must not create again.
    created: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for JiraNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraNotifier")
            .field("api", &self.api.shown())
            .field("project_key", &self.config.project_key)
            .field("issue_type", &self.config.issue_type)
            .finish()
    }
}

impl JiraNotifier {
    /// The value of an event field for `field_mappings` (`spec_id` falls back to the
    /// notification's ID), or `None` when the event has none.
    fn event_value(n: &Notification, path: &str) -> Option<Value> {
        if let Some(v) = n.event.field(path) {
            return Some(match v {
                FieldValue::Str(s) => Value::String(s.to_owned()),
                FieldValue::Json(j) => j.clone(),
            });
        }
        let known = if path == "spec_id" { "id" } else { path };
        n.field(known).map(|s| Value::String(s.to_owned()))
    }

    /// The `fields` of the create request.
    pub fn create_fields(&self, n: &Notification) -> Result<Map<String, Value>, NotifyError> {
        let mut labels = vec!["flowspec".to_owned(), dedup_label(n)];
        labels.extend(self.config.labels.iter().cloned());
        labels.dedup();
        let mut fields = Map::new();
        fields.insert("project".into(), json!({"key": self.config.project_key}));
        fields.insert("issuetype".into(), json!({"name": self.config.issue_type}));
        fields.insert("summary".into(), summary(n).into());
        fields.insert("labels".into(), json!(labels));
        fields.insert("description".into(), adf(n));
        for (path, mapping) in &self.config.field_mappings {
            let Some(value) = Self::event_value(n, path) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let converted = match mapping.kind() {
                FieldKind::Auto => match value {
                    Value::Array(_) | Value::Object(_) => value_adf(&value),
                    Value::Bool(b) => Value::String(b.to_string()),
                    other => other,
                },
                FieldKind::Text => Value::String(truncate_chars(&scalar_text(&value), 255)),
                FieldKind::Adf => value_adf(&value),
                FieldKind::Number => match &value {
                    Value::Number(_) => value.clone(),
                    other => match scalar_text(other).trim().parse::<f64>() {
                        Ok(x) => json!(x),
                        Err(_) => {
                            return Err(NotifyError::config(format!(
                                "`field_mappings.{path}` is a number field, but the event's `{path}` is `{}`",
                                truncate_chars(&scalar_text(other), 40)
                            )));
                        }
                    },
                },
                FieldKind::Option => json!({"value": scalar_text(&value)}),
                FieldKind::Labels => {
                    let items = match &value {
                        Value::Array(items) => items.iter().map(scalar_text).collect(),
                        other => vec![scalar_text(other)],
                    };
                    json!(
                        items
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .map(|s| s.replace(char::is_whitespace, "-"))
                            .collect::<Vec<_>>()
                    )
                }
            };
            fields.insert(mapping.field().to_owned(), converted);
        }
        Ok(fields)
    }

    /// The transition configured for the status `n`'s event moves the spec to.
    pub fn transition_for(&self, n: &Notification) -> Option<(&'static str, &str)> {
        let c = &self.config;
        match spec_status(&n.event)?.as_str() {
            "in_progress" => c.transition_on_start.as_deref().map(|t| ("start", t)),
            "review" => c.transition_on_review.as_deref().map(|t| ("review", t)),
            "approved" => c.transition_on_approve.as_deref().map(|t| ("approve", t)),
            "implemented" => c
                .transition_on_implement
                .as_deref()
                .map(|t| ("implement", t)),
            _ => None,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &str,
    ) -> Result<Answer, NotifyError> {
        let target = self.api.join(path).map_err(NotifyError::config)?;
        let mut request = match body {
            Some(body) => Post::json(&target, body),
            None => Post::bytes(&target, Vec::new(), "application/json"),
        };
        request.method = method.clone();
        let request = request
            .header("Authorization", self.auth.expose_secret())?
            .header("Accept", "application/json")?;
        match request.send(&self.client).await {
            Ok(answer) => Ok(answer),
            Err(e) => {
                let service = e.body().and_then(service_error);
                let mut err =
                    classify_request(&e, &method, &target, service).context(format!("Jira {step}"));
                if let Some(h) = self.hint(err.kind(), err.service_error()) {
                    err = err.with_hint(h);
                }
                Err(err)
            }
        }
    }

    fn hint(&self, kind: NotifyErrorKind, service: Option<&ServiceError>) -> Option<String> {
        let text = service.map(|s| s.to_string()).unwrap_or_default();
        Some(match kind {
            NotifyErrorKind::Auth => "Jira refused the credentials: JIRA_EMAIL must be the Atlassian account's email and JIRA_API_TOKEN an API token from id.atlassian.com/manage/api-tokens, with access to the project".to_owned(),
            NotifyErrorKind::NotFound => format!(
                "check `project_key` (`{}`) and that the account can browse it",
                self.config.project_key
            ),
            NotifyErrorKind::Rejected if text.contains("customfield_") => {
                "check `field_mappings`: the custom field IDs (Jira Admin → Custom Fields) and their types (multi-line text fields take `type: adf`, select lists `type: option`)".to_owned()
            }
            NotifyErrorKind::Rejected if text.contains("issuetype") => format!(
                "issue type `{}` does not exist in project `{}`: set `issue_type`",
                self.config.issue_type, self.config.project_key
            ),
            _ => return None,
        })
    }

    async fn find_issue(&self, label: &str) -> Result<Option<String>, NotifyError> {
        if let Some(key) = self
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(label)
        {
            return Ok(Some(key.clone()));
        }
        let jql = format!(
            "project = {} AND labels = {}",
            jql_quote(&self.config.project_key),
            jql_quote(label)
        );
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("jql", &jql)
            .append_pair("fields", "key,status")
            .append_pair("maxResults", "1")
            .finish();
        let answer = self
            .call(
                Method::GET,
                &format!("rest/api/3/search/jql?{query}"),
                None,
                "search for the spec's issue",
            )
            .await?;
        let body = answer.json().unwrap_or(Value::Null);
        let Some(issues) = body.get("issues").and_then(Value::as_array) else {
            return Err(unexpected("search", &answer));
        };
        Ok(issues
            .first()
            .and_then(|i| i.get("key"))
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    async fn transition(&self, key: &str, wanted: &str) -> Result<Value, NotifyError> {
        let path = format!("rest/api/3/issue/{}/transitions", path_segment(key));
        let answer = self
            .call(Method::GET, &path, None, "list transitions")
            .await?;
        let body = answer.json().unwrap_or(Value::Null);
        let Some(available) = body.get("transitions").and_then(Value::as_array) else {
            return Err(unexpected("list transitions", &answer));
        };
        let name_of = |t: &Value| t["name"].as_str().unwrap_or_default().to_owned();
        let found = available.iter().find(|t| {
            t["id"].as_str() == Some(wanted)
                || name_of(t).eq_ignore_ascii_case(wanted)
                || t["to"]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        });
        let Some(found) = found else {
            let list = available
                .iter()
                .map(|t| format!("{} {}", t["id"].as_str().unwrap_or("?"), name_of(t)))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(
                message = "Jira transition not available; skipped.",
                issue = key,
                transition = wanted,
                available = %list
            );
            return Ok(json!({
                "skipped": wanted,
                "reason": format!("not available from the issue's current status (available: {list})"),
            }));
        };
        let id = found["id"].as_str().unwrap_or(wanted).to_owned();
        self.call(
            Method::POST,
            &path,
            Some(&json!({"transition": {"id": id}})),
            "transition the issue",
        )
        .await?;
        Ok(json!({"id": id, "name": name_of(found)}))
    }

    /// Creates the subtasks of `key` that are missing for `n`'s acceptance criteria
    /// (all of them when the issue was just created); returns how many it created.
    async fn subtasks(
        &self,
        n: &Notification,
        key: &str,
        new_issue: bool,
    ) -> Result<usize, NotifyError> {
        let wanted = acceptance_criteria(n);
        if wanted.is_empty() {
            return Ok(0);
        }
        let existing: Vec<String> = if new_issue {
            Vec::new()
        } else {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("jql", &format!("parent = {}", jql_quote(key)))
                .append_pair("fields", "summary")
                .append_pair("maxResults", "100")
                .finish();
            let answer = self
                .call(
                    Method::GET,
                    &format!("rest/api/3/search/jql?{query}"),
                    None,
                    "list the subtasks",
                )
                .await?;
            let body = answer.json().unwrap_or(Value::Null);
            let Some(issues) = body.get("issues").and_then(Value::as_array) else {
                return Err(unexpected("list the subtasks", &answer));
            };
            issues
                .iter()
                .filter_map(|i| i["fields"]["summary"].as_str().map(str::to_owned))
                .collect()
        };
        let mut created = 0;
        for summary in wanted.iter().filter(|w| !existing.contains(w)) {
            let body = Self::subtask(&self.config, key, summary);
            self.call(
                Method::POST,
                "rest/api/3/issue",
                Some(&body),
                "create a subtask",
            )
            .await?;
            created += 1;
        }
        Ok(created)
    }

    /// The create body of one subtask of `parent`.
    pub fn subtask(config: &JiraConfig, parent: &str, summary: &str) -> Value {
        json!({"fields": {
            "project": {"key": config.project_key},
            "parent": {"key": parent},
            "issuetype": {"name": config.subtask_type},
            "summary": summary,
            "labels": ["flowspec"],
        }})
    }

    /// The remote link body for a PR URL.
    pub fn remote_link(n: &Notification, pr_url: &str) -> Value {
        let title = match n.field("pr") {
            Some(pr) => format!("Pull request {pr}"),
            None => "Pull request".to_owned(),
        };
        let mut object = json!({"url": pr_url, "title": title});
        if let Some(t) = n.field("title") {
            object["summary"] = t.into();
        }
        if n.event.event_type().as_str() == "pr.merged" {
            object["status"] = json!({"resolved": true});
        }
        json!({
            "globalId": format!("flowspec:pr:{pr_url}"),
            "application": {"type": "flowspec", "name": "flowspec"},
            "relationship": "implemented by",
            "object": object,
        })
    }
}

#[async_trait]
impl Notifier for JiraNotifier {
    fn target(&self) -> String {
        format!("{} (project {})", self.api.shown(), self.config.project_key)
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let label = dedup_label(n);
        let existing = self.find_issue(&label).await?;
        let (key, status, action) = match existing {
            Some(key) => {
                let body = json!({"body": adf(n)});
                let answer = self
                    .call(
                        Method::POST,
                        &format!("rest/api/3/issue/{}/comment", path_segment(&key)),
                        Some(&body),
                        "comment on the issue",
                    )
                    .await?;
                (key, answer.status, "commented")
            }
            None => {
                let body = json!({"fields": self.create_fields(n)?});
                let answer = self
                    .call(
                        Method::POST,
                        "rest/api/3/issue",
                        Some(&body),
                        "create the issue",
                    )
                    .await?;
                let Some(key) = answer
                    .json()
                    .and_then(|v| v.get("key").and_then(Value::as_str).map(str::to_owned))
                else {
                    return Err(unexpected("create the issue", &answer));
                };
                self.created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(label, key.clone());
                (key, answer.status, "created")
            }
        };
        let mut receipt = Receipt::new()
            .with_status(status)
            .with_id(key.clone())
            .with_url(format!("{}/browse/{key}", self.site))
            .with_detail("action", action);
        if let Some((_, wanted)) = self.transition_for(n) {
            let done = self.transition(&key, wanted).await?;
            receipt = receipt.with_detail("transition", done);
        }
        if let Some(url) = KnownFields::of(&n.event).pr_url {
            self.call(
                Method::POST,
                &format!("rest/api/3/issue/{}/remotelink", path_segment(&key)),
                Some(&Self::remote_link(n, &url)),
                "link the PR",
            )
            .await?;
            receipt = receipt.with_detail("linked", url);
        }
        if self.config.create_subtasks {
            let created = self.subtasks(n, &key, action == "created").await?;
            if created > 0 {
                receipt = receipt.with_detail("subtasks_created", created);
            }
        }
        Ok(receipt)
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        self.call(
            Method::GET,
            "rest/api/3/myself",
            None,
            "check the credentials",
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_notification;

    #[test]
    fn should_render_the_failure_as_an_adf_document() {
        let n = sample_notification("implement.failed");
        insta::assert_json_snapshot!("jira_adf_failed", adf(&n));
    }

    #[test]
    fn should_read_jira_error_collections() {
        let s = service_error(
            r#"{"errorMessages":["Issue does not exist"],"errors":{"summary":"You must specify a summary of the issue."},"status":400}"#,
        )
        .unwrap();
        assert_eq!(
            s.to_string(),
            "Issue does not exist; summary: You must specify a summary of the issue."
        );
        assert_eq!(service_error("not json"), None);
    }

    #[test]
    fn should_quote_jql_literals() {
        assert_eq!(jql_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            dedup_label(&sample_notification("spec.created")),
            "flowspec-FEAT-0001"
        );
    }
}
