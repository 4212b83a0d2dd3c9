//! Linear (GraphQL): one issue per spec, with labels, moved through workflow states
//! as the spec's events arrive.
//!
//! ```yaml
//! integrations:
//!   linear:
//!     enabled: true
//!     team_id: "TEAM_ID"          # the team's UUID or its key (`ENG`)
//!     labels: ["spec", "automated"]
//!     state_mappings:             # spec status → workflow state name
//!       draft: "Backlog"
//!       review: "In Review"
//!       approved: "Todo"
//!       implemented: "Done"
//!     notify_on: [spec_created, spec_approved, pr_created, implementation_completed]
//!     # api_key: "${LINEAR_API_KEY}"   # the default variable
//! ```
//!
//! For each notification, `POST https://api.linear.app/graphql` with
//! `Authorization: <API key>` (no `Bearer`; OAuth tokens `lin_oauth_…` get `Bearer`):
//! 1. one query: the team (id, workflow states), the configured labels, and the spec's
//!    issue — the team's issue whose title starts with `[FEAT-0001]`;
//! 2. none: `issueCreate` with the team, title `[FEAT-0001] User Authentication`, a
//!    Markdown description, the label ids and the mapped state; found: `commentCreate`
//!    with the notification, plus `issueUpdate` to the mapped state when it changes.
//!
//! Which status an event stands for: see [`crate::events::spec_status`]. GraphQL
//! errors come as `{"errors": [{"message", "extensions": {"code"}}]}`, with HTTP 200
//! or 400; `RATELIMITED` is a rate limit, `AUTHENTICATION_ERROR` an auth failure.

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
use crate::http::{Answer, Endpoint, Post, classify, truncate_chars};

mod config;
mod factory;
mod wire;

pub use self::config::LinearConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{markdown, title, title_prefix};

/// Creates and updates the Linear issue of each spec.
pub struct LinearNotifier {
    endpoint: Endpoint,
    auth: SecretString,
    config: LinearConfig,
    client: HttpClient,
    // Issues created by this notifier (title prefix → id): a retry right after a create
    // must not create a second one.
    created: Mutex<HashMap<String, (String, String, String)>>,
}

impl std::fmt::Debug for LinearNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearNotifier")
            .field("endpoint", &self.endpoint.shown())
            .field("team_id", &self.config.team_id)
            .finish()
    }
}

impl LinearNotifier {
    /// The lookup query and its variables for `n`.
    pub fn lookup_request(&self, n: &Notification) -> Value {
        let team = &self.config.team_id;
        let (by, ty) = if looks_like_uuid(team) {
            ("id", "ID!")
        } else {
            ("key", "String!")
        };
        let names: Vec<&String> = self
            .config
            .labels
            .iter()
            .filter(|l| !looks_like_uuid(l))
            .collect();
        let prefix = title_prefix(n);
        let mut vars_decl = format!("$team: {ty}");
        let mut body = format!(
            "teams(first: 1, filter: {{{by}: {{eq: $team}}}}) {{ nodes {{ id key states {{ nodes {{ id name type }} }} }} }}"
        );
        let mut variables = json!({"team": team});
        if !names.is_empty() {
            vars_decl.push_str(", $labels: [String!]!");
            body.push_str(" issueLabels(first: 250, filter: {name: {in: $labels}}) { nodes { id name team { id } } }");
            variables["labels"] = json!(names);
        }
        if let Some(prefix) = prefix {
            vars_decl.push_str(", $prefix: String!");
            body.push_str(&format!(
                " issues(first: 1, filter: {{team: {{{by}: {{eq: $team}}}}, title: {{startsWith: $prefix}}}}) {{ nodes {{ id identifier url state {{ id name }} }} }}"
            ));
            variables["prefix"] = prefix.into();
        }
        json!({
            "query": format!("query FlowspecLookup({vars_decl}) {{ {body} }}"),
            "variables": variables,
        })
    }

    async fn graphql(&self, request: &Value, step: &str) -> Result<Value, NotifyError> {
        let post = Post::json(&self.endpoint, request)
            .header("Authorization", self.auth.expose_secret())?;
        let answer = match post.send(&self.client).await {
            Ok(answer) => answer,
            Err(e) => {
                let from_body = e
                    .body_json()
                    .and_then(|b| b.get("errors").and_then(Value::as_array).cloned());
                let mut err = classify(&e, &self.endpoint, None).context(format!("Linear {step}"));
                if let Some(errors) = from_body.filter(|e| !e.is_empty()) {
                    let (kind, service) = graphql_error(&errors);
                    err = err.with_service_error(service);
                    // A 400 carrying RATELIMITED or AUTHENTICATION_ERROR is that, not a bad request.
                    if err.kind() == NotifyErrorKind::Rejected && kind != NotifyErrorKind::Rejected
                    {
                        err = err.with_kind(kind);
                    }
                }
                return Err(with_hint(err));
            }
        };
        let body = answer.json().ok_or_else(|| unexpected(step, &answer))?;
        if let Some(errors) = body
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let (kind, service) = graphql_error(errors);
            let err = NotifyError::new(kind, format!("Linear {step}: GraphQL error"))
                .with_status(answer.status)
                .with_service_error(service);
            return Err(with_hint(err));
        }
        match body.get("data") {
            Some(data) if data.is_object() => Ok(data.clone()),
            _ => Err(unexpected(step, &answer)),
        }
    }

    async fn lookup(&self, n: &Notification) -> Result<Lookup, NotifyError> {
        let data = self
            .graphql(&self.lookup_request(n), "look up the team and issue")
            .await?;
        let Some(team) = data["teams"]["nodes"].as_array().and_then(|t| t.first()) else {
            return Err(NotifyError::config(format!(
                "Linear: no team `{}` (or the API key cannot see it)",
                self.config.team_id
            ))
            .with_hint("set `team_id` to the team's UUID or key (Linear → Settings → Teams)"));
        };
        let team_id = team["id"].as_str().unwrap_or_default().to_owned();
        let states = team["states"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["id"].as_str()?.to_owned(), s["name"].as_str()?.to_owned())))
            .collect();
        let found: Vec<(String, Option<String>, String)> = data["issueLabels"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| {
                Some((
                    l["name"].as_str()?.to_owned(),
                    l["team"]["id"].as_str().map(str::to_owned),
                    l["id"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let mut labels = Vec::new();
        for wanted in &self.config.labels {
            if looks_like_uuid(wanted) {
                labels.push(wanted.clone());
                continue;
            }
            // The team's own label, else a workspace label.
            let pick = found
                .iter()
                .filter(|(name, _, _)| name == wanted)
                .find(|(_, team, _)| team.as_deref() == Some(team_id.as_str()))
                .or_else(|| {
                    found
                        .iter()
                        .find(|(name, team, _)| name == wanted && team.is_none())
                });
            match pick {
                Some((_, _, id)) => labels.push(id.clone()),
                None => {
                    return Err(NotifyError::config(format!(
                        "Linear: label `{wanted}` does not exist in team `{}` or the workspace",
                        self.config.team_id
                    ))
                    .with_hint("create the label in Linear, or remove it from `labels`"));
                }
            }
        }
        let issue = data["issues"]["nodes"]
            .as_array()
            .and_then(|i| i.first())
            .and_then(|i| {
                Some((
                    i["id"].as_str()?.to_owned(),
                    i["identifier"].as_str().unwrap_or_default().to_owned(),
                    i["url"].as_str().unwrap_or_default().to_owned(),
                    i["state"]["id"].as_str().map(str::to_owned),
                ))
            });
        Ok(Lookup {
            team_id,
            states,
            labels,
            issue,
        })
    }

    /// The state id the event maps to, if `state_mappings` names one.
    fn mapped_state(
        &self,
        n: &Notification,
        states: &[(String, String)],
    ) -> Result<Option<String>, NotifyError> {
        let Some(status) = spec_status(&n.event) else {
            return Ok(None);
        };
        let Some(name) = self.config.state_mappings.get(&status) else {
            return Ok(None);
        };
        match states.iter().find(|(_, s)| s.eq_ignore_ascii_case(name)) {
            Some((id, _)) => Ok(Some(id.clone())),
            None => Err(NotifyError::config(format!(
                "Linear: `state_mappings.{status}` names `{name}`, which is not a workflow state of team `{}`",
                self.config.team_id
            ))
            .with_hint(format!(
                "use one of: {}",
                states.iter().map(|(_, s)| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The `issueCreate` request for `n`.
    pub fn create_request(
        &self,
        n: &Notification,
        team_id: &str,
        labels: &[String],
        state: Option<&str>,
    ) -> Value {
        let mut input = json!({
            "teamId": team_id,
            "title": title(n),
            "description": markdown(n),
        });
        if !labels.is_empty() {
            input["labelIds"] = json!(labels);
        }
        if let Some(state) = state {
            input["stateId"] = state.into();
        }
        if let Some(p) = self.config.priority {
            input["priority"] = p.into();
        }
        json!({
            "query": "mutation FlowspecIssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier url } } }",
            "variables": {"input": input},
        })
    }

    /// The request that comments on an existing issue and, when `state` is given,
    /// moves it.
    pub fn update_request(n: &Notification, issue_id: &str, state: Option<&str>) -> Value {
        match state {
            Some(state) => json!({
                "query": "mutation FlowspecIssueUpdate($issue: String!, $body: String!, $state: String!) { commentCreate(input: {issueId: $issue, body: $body}) { success } issueUpdate(id: $issue, input: {stateId: $state}) { success } }",
                "variables": {"issue": issue_id, "body": markdown(n), "state": state},
            }),
            None => json!({
                "query": "mutation FlowspecComment($issue: String!, $body: String!) { commentCreate(input: {issueId: $issue, body: $body}) { success } }",
                "variables": {"issue": issue_id, "body": markdown(n)},
            }),
        }
    }
}

#[async_trait]
impl Notifier for LinearNotifier {
    fn target(&self) -> String {
        format!("{} (team {})", self.endpoint.shown(), self.config.team_id)
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let prefix = title_prefix(n);
        let lookup = self.lookup(n).await?;
        let state = self.mapped_state(n, &lookup.states)?;
        let remembered = prefix.as_ref().and_then(|p| {
            self.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(p)
                .cloned()
        });
        let existing = lookup
            .issue
            .clone()
            .or(remembered.map(|(id, ident, url)| (id, ident, url, None)));
        match existing {
            Some((id, identifier, url, current)) => {
                let moved = state.as_deref().filter(|s| current.as_deref() != Some(*s));
                let data = self
                    .graphql(&Self::update_request(n, &id, moved), "comment on the issue")
                    .await?;
                if data["commentCreate"]["success"] != true {
                    return Err(NotifyError::new(
                        NotifyErrorKind::Service,
                        "Linear comment on the issue: `success` was not true",
                    ));
                }
                let mut receipt = Receipt::new()
                    .with_status(200)
                    .with_id(identifier)
                    .with_url(url)
                    .with_detail("action", "commented");
                if moved.is_some() {
                    receipt =
                        receipt.with_detail("state", spec_status(&n.event).unwrap_or_default());
                }
                Ok(receipt)
            }
            None => {
                let data = self
                    .graphql(
                        &self.create_request(n, &lookup.team_id, &lookup.labels, state.as_deref()),
                        "create the issue",
                    )
                    .await?;
                let created = &data["issueCreate"];
                let (Some(true), Some(id)) = (
                    created["success"].as_bool(),
                    created["issue"]["id"].as_str(),
                ) else {
                    return Err(NotifyError::new(
                        NotifyErrorKind::Service,
                        "Linear create the issue: no issue in the answer",
                    ));
                };
                let identifier = created["issue"]["identifier"]
                    .as_str()
                    .unwrap_or(id)
                    .to_owned();
                let url = created["issue"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(prefix) = prefix {
                    self.created
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(prefix, (id.to_owned(), identifier.clone(), url.clone()));
                }
                let mut receipt = Receipt::new()
                    .with_status(200)
                    .with_id(identifier)
                    .with_detail("action", "created");
                if !url.is_empty() {
                    receipt = receipt.with_url(url);
                }
                Ok(receipt)
            }
        }
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        self.graphql(
            &json!({"query": "query FlowspecViewer { viewer { id } }"}),
            "check the API key",
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
    fn should_render_markdown_with_fields_error_and_links() {
        let n = sample_notification("implement.failed");
        insta::assert_snapshot!("linear_markdown_failed", markdown(&n));
        assert_eq!(title(&n), "[FEAT-0001] User Authentication");
    }

    #[test]
    fn should_tell_uuids_from_keys() {
        assert!(looks_like_uuid("9cfb482a-81e3-4154-b5b9-2c805e70a02d"));
        assert!(!looks_like_uuid("ENG"));
    }
}
