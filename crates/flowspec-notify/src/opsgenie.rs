//! Opsgenie Alert API: creates an alert when something fails and closes it when the
//! same work later succeeds.
//!
//! ```yaml
//! integrations:
//!   opsgenie:
//!     enabled: true
//!     alert_on:
//!       - "implementation_failed"
//!     priority: "P3"
//!     tags: ["spec-automation", "ci-cd"]
//!     # region: "eu"                   # EU accounts: api.eu.opsgenie.com
//!     # close_on: ["*.completed"]      # the default: successes close their alert
//!     # api_key: "${OPSGENIE_API_KEY}" # the default variable
//! ```
//!
//! Contract (contracts.md B10): `Authorization: GenieKey <key>`;
//! `POST /v2/alerts` → `202` `{"result": "Request will be processed", "requestId"}`
//! (accepted, processed asynchronously); `POST /v2/alerts/{alias}/close?identifierType=alias`
//! → `202`. Errors are `{"message", "took", "requestId"}` with `400`, `401`/`403`,
//! `404`, `422`, `429`.
//!
//! The alias (Opsgenie's dedup key) is the same as PagerDuty's dedup key,
//! `flowspec/FEAT-0001/implement`: a repeated failure raises the open alert's count,
//! and the later `implement.completed` closes it. Events whose outcome is *completed*
//! close; every other event creates.

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Outcome, Receipt, SecretVar, ServiceError,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::{Post, Target, classify, path_segment, truncate_chars};

const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "OPSGENIE_API_KEY",
    "API integration key",
    "0e1f2a3b-4c5d-6e7f-8a9b-0c1d2e3f4a5b",
);

/// `integrations.opsgenie` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// The API key as `${VAR}` (default: `OPSGENIE_API_KEY`). Example: `"${OPSGENIE_API_KEY}"`.
    pub api_key: Option<String>,
    /// `P1` (highest) to `P5`; default `P3`, or `P2` for events with severity
    /// `critical`. Example: `"P3"`.
    pub priority: Option<String>,
    /// Tags of the alerts. Example: `["spec-automation", "ci-cd"]`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `us` (default, `api.opsgenie.com`) or `eu` (`api.eu.opsgenie.com`): an EU
    /// account's key fails against the US host. Example: `"eu"`.
    pub region: Option<Region>,
    /// Teams (names) notified of the alerts. Example: `["platform"]`.
    #[serde(default)]
    pub responders: Vec<String>,
    /// Events that close their alert (default `["*.completed"]`; `[]` never closes).
    /// Example: `["implementation_completed"]`.
    pub close_on: Option<Vec<String>>,
    /// Replaces the regional host (a proxy, a mock). Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

/// The Opsgenie region of the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `https://api.opsgenie.com`.
    #[default]
    Us,
    /// `https://api.eu.opsgenie.com`.
    Eu,
}

impl Region {
    /// The API host of the region.
    pub fn api(self) -> &'static str {
        match self {
            Region::Us => "https://api.opsgenie.com",
            Region::Eu => "https://api.eu.opsgenie.com",
        }
    }
}

/// Creates and closes Opsgenie alerts.
pub struct OpsgenieNotifier {
    base: Target,
    auth: SecretString,
    priority: Option<String>,
    config: OpsgenieConfig,
    client: HttpClient,
}

impl std::fmt::Debug for OpsgenieNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsgenieNotifier")
            .field("base", &self.base.shown())
            .field("priority", &self.priority)
            .finish()
    }
}

/// The alias of `n` (at most 512 characters): see [`crate::pagerduty::dedup_key`].
pub fn alias(n: &Notification) -> String {
    truncate_chars(&crate::pagerduty::dedup_key(n), 512)
}

impl OpsgenieNotifier {
    /// The create-alert body for `n`.
    pub fn alert(&self, n: &Notification) -> Value {
        let message = match n.field("id") {
            Some(id) if !n.title.contains(id) => format!("{}: {id}", n.title),
            _ => n.title.clone(),
        };
        let mut description = n.to_text();
        if description.starts_with(&n.title) {
            description = description[n.title.len()..].trim_start().to_owned();
        }
        let mut details = Map::new();
        details.insert("event".into(), n.event_name.clone().into());
        details.insert("event_id".into(), n.event.id().as_str().into());
        for f in &n.fields {
            details.insert(f.key.clone(), truncate_chars(&f.value, 1000).into());
        }
        for l in &n.links {
            details.insert(l.title.clone(), l.url.clone().into());
        }
        let priority = self.priority.clone().unwrap_or_else(|| {
            if n.severity == flowspec_core::notifier::Severity::Critical {
                "P2".to_owned()
            } else {
                "P3".to_owned()
            }
        });
        let mut body = json!({
            "message": truncate_chars(&message, 130),
            "alias": alias(n),
            "description": truncate_chars(&description, 15_000),
            "tags": self.config.tags,
            "details": details,
            "source": "flowspec",
            "priority": priority,
        });
        if let Some(subject) = &n.subject {
            body["entity"] = truncate_chars(subject, 512).into();
        }
        if !self.config.responders.is_empty() {
            body["responders"] = self
                .config
                .responders
                .iter()
                .map(|t| json!({"type": "team", "name": t}))
                .collect();
        }
        body
    }

    /// The close-alert body for `n`.
    pub fn close(n: &Notification) -> Value {
        json!({
            "user": "flowspec",
            "source": "flowspec",
            "note": truncate_chars(&n.to_text(), 25_000),
        })
    }
}

/// Opsgenie's error body: `{"message", "errors": {"field": "..."}, "requestId"}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?.to_owned();
    let mut service = ServiceError::new(message);
    if let Some(errors) = v.get("errors").and_then(Value::as_object) {
        for (field, m) in errors {
            service = service.with_detail(format!("{field}: {}", m.as_str().unwrap_or_default()));
        }
    }
    Some(service)
}

#[async_trait]
impl Notifier for OpsgenieNotifier {
    fn target(&self) -> String {
        self.base.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let closing = n.outcome == Outcome::Completed;
        let (target, body, action) = if closing {
            let path = format!(
                "v2/alerts/{}/close?identifierType=alias",
                path_segment(&alias(n))
            );
            (self.base.join(&path), Self::close(n), "close")
        } else {
            (self.base.join("v2/alerts"), self.alert(n), "create")
        };
        let target = target.map_err(NotifyError::config)?;
        let post = Post::json(&target, &body).header(
            "Authorization",
            &format!("GenieKey {}", self.auth.expose_secret()),
        )?;
        match post.send(&self.client).await {
            Ok(answer) => {
                let mut receipt = Receipt::new()
                    .with_status(answer.status)
                    .with_detail("action", action)
                    .with_detail("alias", alias(n));
                if let Some(id) = answer
                    .json()
                    .and_then(|v| v["requestId"].as_str().map(str::to_owned))
                {
                    receipt = receipt.with_id(id);
                }
                Ok(receipt)
            }
            // Nothing open under this alias: nothing to close.
            Err(e) if closing && e.status().map(|s| s.as_u16()) == Some(404) => Ok(Receipt::new()
                .with_status(404)
                .with_detail("action", "close")
                .with_detail("alias", alias(n))
                .with_detail("note", "no open alert with this alias")),
            Err(e) => {
                let service = e.body().and_then(service_error);
                let mut err = classify(&e, &target, service).context(format!("Opsgenie {action}"));
                match err.kind() {
                    NotifyErrorKind::Auth => {
                        err = err.with_hint("Opsgenie refused the key: use the API key of an \"API\" integration (with create and update rights) in OPSGENIE_API_KEY; EU accounts need `region: eu`");
                    }
                    NotifyErrorKind::Rejected => {
                        err = err.with_hint("Opsgenie refused the alert (check `priority`, `tags` and `responders`)");
                    }
                    _ => {}
                }
                Err(err)
            }
        }
    }
}

/// `opsgenie`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "opsgenie"
    }

    fn describe(&self) -> &'static str {
        "Opsgenie alerts: create with alias, priority and tags; close on success; US or EU"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  opsgenie:
    enabled: true
    alert_on:
      - "implementation_failed"
    priority: "P3"
    tags:
      - "spec-automation"
      - "ci-cd"
"##
    }

    fn routing_key(&self) -> &'static str {
        "alert_on"
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: OpsgenieConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        let priority = parsed
            .priority
            .as_ref()
            .map(|p| p.trim().to_ascii_uppercase());
        if let Some(p) = &priority
            && !matches!(p.as_str(), "P1" | "P2" | "P3" | "P4" | "P5")
        {
            errors.push(
                cx.error(
                    config.get("priority"),
                    "priority",
                    format!("unknown priority `{p}`"),
                )
                .hint("use `P1` (highest) to `P5` (lowest)"),
            );
        }
        let close_on = parsed
            .close_on
            .clone()
            .unwrap_or_else(|| vec!["*.completed".to_owned()]);
        if let Err(m) = crate::events::EventMatcher::parse(&close_on) {
            errors.push(cx.error(config.get("close_on"), "close_on", m));
        }
        let api = parsed
            .api_url
            .as_deref()
            .unwrap_or(parsed.region.unwrap_or_default().api());
        let base = Target::new(api)
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, base) = match (key, base) {
            (Ok(Some(k)), Ok(b)) if errors.is_empty() => (k, b),
            (k, b) => {
                for e in [k.err(), b.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let notifier = OpsgenieNotifier {
            base,
            auth: key,
            priority,
            config: parsed,
            client: HttpClient::shared(),
        };
        Ok(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_extra_events(close_on),
        ])
    }
}
