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
//! For each notification (contracts.md B6), `POST https://api.linear.app/graphql` with
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
use crate::http::{Answer, Post, Target, classify, truncate_chars};

const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "LINEAR_API_KEY",
    "API key",
    "lin_api_0123456789abcdefExampleKeyForFlowspec",
);

const DEFAULT_API: &str = "https://api.linear.app";

/// `integrations.linear` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// The API key as `${VAR}` (default: `LINEAR_API_KEY`). Example: `"${LINEAR_API_KEY}"`.
    pub api_key: Option<String>,
    /// The team: its UUID (Settings → Teams) or its key. Example: `"ENG"`.
    pub team_id: String,
    /// Labels of new issues, by name (team or workspace labels) or id.
    /// Example: `["spec", "automated"]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) →
    /// workflow state name. Example: `{approved: "Todo", implemented: "Done"}`.
    #[serde(default)]
    pub state_mappings: BTreeMap<String, String>,
    /// Priority of new issues: 0 none, 1 urgent, 2 high, 3 medium, 4 low.
    /// Example: `3`.
    pub priority: Option<u8>,
    /// Replaces `https://api.linear.app` (a proxy, a mock); `/graphql` is appended.
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

/// Creates and updates the Linear issue of each spec.
pub struct LinearNotifier {
    endpoint: Target,
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

/// The Markdown description of an issue (and the body of comments).
pub fn markdown(n: &Notification) -> String {
    let mut out = format!("**{}**\n", n.title.trim());
    if !n.summary.trim().is_empty() {
        out.push('\n');
        out.push_str(n.summary.trim());
        out.push('\n');
    }
    let fields: Vec<String> = n
        .fields
        .iter()
        .filter(|f| f.key != "error" && !f.value.is_empty())
        .map(|f| format!("- **{}:** {}", f.label, f.value))
        .collect();
    if !fields.is_empty() {
        out.push('\n');
        out.push_str(&fields.join("\n"));
        out.push('\n');
    }
    if let Some(error) = n.field("error").filter(|e| !e.is_empty()) {
        out.push_str(&format!(
            "\n**Error:**\n\n```\n{}\n```\n",
            truncate_chars(error, 10_000).replace("```", "'''")
        ));
    }
    if !n.links.is_empty() {
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("[{}]({})", l.title, l.url))
            .collect();
        out.push('\n');
        out.push_str(&links.join(" · "));
        out.push('\n');
    }
    out.push_str(&format!(
        "\n_flowspec · {} · {}_",
        n.event_name,
        n.event.timestamp_rfc3339()
    ));
    out
}

/// The title prefix that marks the issue of a notification's subject (`[FEAT-0001]`),
/// or `None` without a subject.
pub fn title_prefix(n: &Notification) -> Option<String> {
    n.subject.as_ref().map(|s| format!("[{s}]"))
}

/// The title of a new issue: `[FEAT-0001] User Authentication`.
pub fn title(n: &Notification) -> String {
    let name = n.field("title").unwrap_or(&n.title);
    let text = match title_prefix(n) {
        Some(prefix) => format!("{prefix} {name}"),
        None => name.to_owned(),
    };
    truncate_chars(&text.replace(['\n', '\r'], " "), 255)
}

fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && text.matches('-').count() == 4
}

/// What the lookup query found.
#[derive(Debug)]
struct Lookup {
    team_id: String,
    states: Vec<(String, String)>,
    labels: Vec<String>,
    issue: Option<(String, String, String, Option<String>)>,
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

/// The kind and service error of a GraphQL `errors` array.
fn graphql_error(errors: &[Value]) -> (NotifyErrorKind, ServiceError) {
    let first = &errors[0];
    let code = first["extensions"]["code"].as_str().map(str::to_owned);
    let message = first["extensions"]["userPresentableMessage"]
        .as_str()
        .or(first["message"].as_str())
        .unwrap_or("GraphQL error")
        .to_owned();
    let kind = match code.as_deref() {
        Some("RATELIMITED") => NotifyErrorKind::RateLimited,
        Some("AUTHENTICATION_ERROR") | Some("FORBIDDEN") => NotifyErrorKind::Auth,
        Some("INTERNAL_SERVER_ERROR") => NotifyErrorKind::Transient,
        _ => NotifyErrorKind::Rejected,
    };
    let mut service = ServiceError::new(message);
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

fn with_hint(err: NotifyError) -> NotifyError {
    match err.kind() {
        NotifyErrorKind::Auth => err.with_hint(
            "Linear refused the API key: create one under Settings → API and set LINEAR_API_KEY",
        ),
        _ => err,
    }
}

fn unexpected(step: &str, answer: &Answer) -> NotifyError {
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "Linear {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
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

/// `linear`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "linear"
    }

    fn describe(&self) -> &'static str {
        "Linear (GraphQL): one issue per spec with labels; comments and workflow states follow its events"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  linear:
    enabled: true
    team_id: "TEAM_ID"
    labels:
      - "spec"
      - "automated"
    state_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Todo"
      implemented: "Done"
    notify_on:
      - "spec_created"
      - "spec_approved"
      - "pr_created"
      - "implementation_completed"
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: LinearConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        if parsed.team_id.trim().is_empty() {
            errors.push(cx.error(
                config.get("team_id"),
                "team_id",
                "`team_id` must not be empty",
            ));
        }
        if let Some(p) = parsed.priority.filter(|p| *p > 4) {
            errors.push(cx.error(
                config.get("priority"),
                "priority",
                format!("`priority` must be 0 (none) to 4 (low), found {p}"),
            ));
        }
        let mappings = config.get("state_mappings");
        for status in parsed.state_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                let hint = match flowspec_core::config::suggest(
                    status,
                    crate::events::SPEC_STATUSES.iter().copied(),
                ) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("spec statuses: {}", crate::events::SPEC_STATUSES.join(", ")),
                };
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("state_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(hint),
                );
            }
        }
        let endpoint = Target::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("graphql"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, endpoint) = match (key, endpoint) {
            (Ok(Some(k)), Ok(e)) if errors.is_empty() => (k, e),
            (k, e) => {
                for err in [k.err(), e.err()].into_iter().flatten() {
                    errors.push(err);
                }
                return Err(errors);
            }
        };
        let auth = if key.expose_secret().starts_with("lin_oauth_") {
            SecretString::from(format!("Bearer {}", key.expose_secret()))
        } else {
            key
        };
        let notifier = LinearNotifier {
            endpoint,
            auth,
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
