//! PagerDuty Events API v2: triggers an alert when something fails, and resolves the
//! same alert when it later succeeds.
//!
//! ```yaml
//! integrations:
//!   pagerduty:
//!     enabled: true
//!     alert_on:
//!       - "implementation_failed"
//!     severity: "warning"            # critical, error, warning, info
//!     # resolve_on: ["*.completed"]   # the default: successes resolve their alert
//!     # routing_key: "${PAGERDUTY_ROUTING_KEY}"   # the default variable
//! ```
//!
//! Contract (contracts.md B9): `POST https://events.pagerduty.com/v2/enqueue`, no auth
//! header (the integration key is the body's `routing_key`), success `202`
//! `{"status": "success", "dedup_key": ...}`; `400` `{"status": "invalid event",
//! "errors": [...]}` is not retried; `429` and `5xx` are.
//!
//! The dedup key is stable per spec and kind of work: `flowspec/FEAT-0001/implement`
//! for `implement.failed` and `implement.completed` alike, so the success resolves the
//! alert its failure opened, and a second failure adds to the open alert instead of
//! paging again. Events whose outcome is *completed* send `event_action: resolve`;
//! every other event sends `trigger`. `resolve_on` routes the successes to this
//! integration even though `alert_on` lists only failures.

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Outcome, Receipt, SecretVar, ServiceError, Severity,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::{Post, Target, classify, truncate_chars};
use crate::template::parse_severity;

const ROUTING_KEY: SecretVar = SecretVar::required(
    "routing_key",
    "PAGERDUTY_ROUTING_KEY",
    "Events API v2 routing (integration) key",
    "0123456789abcdef0123456789abcdef",
);

const DEFAULT_API: &str = "https://events.pagerduty.com";

/// `integrations.pagerduty` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// The integration key as `${VAR}` (default: `PAGERDUTY_ROUTING_KEY`).
    /// Example: `"${PAGERDUTY_ROUTING_KEY}"`.
    pub routing_key: Option<String>,
    /// The severity of triggered alerts: `critical`, `error`, `warning` or `info`
    /// (default: from the event — `error` for failures). An event's own `severity`
    /// field wins. Example: `"warning"`.
    pub severity: Option<String>,
    /// Events that resolve their alert (default `["*.completed"]`; `[]` never
    /// resolves). Example: `["implementation_completed"]`.
    pub resolve_on: Option<Vec<String>>,
    /// `payload.source` (default: the event's source, else `flowspec`).
    /// Example: `"github-actions/acme/app"`.
    pub source: Option<String>,
    /// `payload.component`. Example: `"spec-automation"`.
    pub component: Option<String>,
    /// `payload.group`. Example: `"platform"`.
    pub group: Option<String>,
    /// Replaces `https://events.pagerduty.com` (EU accounts:
    /// `https://events.eu.pagerduty.com`; a proxy, a mock); `/v2/enqueue` is appended.
    /// Example: `"https://events.eu.pagerduty.com"`.
    pub api_url: Option<String>,
}

/// Sends trigger and resolve events to one PagerDuty service.
pub struct PagerdutyNotifier {
    target: Target,
    routing_key: SecretString,
    severity: Option<Severity>,
    config: PagerdutyConfig,
    client: HttpClient,
}

impl std::fmt::Debug for PagerdutyNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerdutyNotifier")
            .field("target", &self.target.shown())
            .field("severity", &self.severity)
            .finish()
    }
}

/// The dedup key of `n`: `flowspec/<subject>/<first segment of the event type>`, the
/// same for a failure and the later success of the same work. At most 255 characters.
///
/// ```
/// use flowspec_notify::pagerduty::dedup_key;
/// use flowspec_notify::testing::sample_notification;
/// assert_eq!(dedup_key(&sample_notification("implement.failed")), "flowspec/FEAT-0001/implement");
/// assert_eq!(dedup_key(&sample_notification("implement.completed")), "flowspec/FEAT-0001/implement");
/// ```
pub fn dedup_key(n: &Notification) -> String {
    let family = n
        .event
        .event_type()
        .as_str()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    truncate_chars(&format!("{}/{family}", n.dedup_key()), 255)
}

impl PagerdutyNotifier {
    /// The severity of a trigger for `n`.
    pub fn severity_of(&self, n: &Notification) -> Severity {
        let own = match n.event.field("severity") {
            Some(flowspec_core::event::FieldValue::Json(Value::String(s))) => {
                parse_severity(&s.to_ascii_lowercase())
            }
            _ => None,
        };
        own.or(self.severity).unwrap_or(n.severity)
    }

    /// The Events API body for `n`.
    pub fn payload(&self, n: &Notification) -> Value {
        let key = dedup_key(n);
        if n.outcome == Outcome::Completed {
            return json!({
                "routing_key": self.routing_key.expose_secret(),
                "event_action": "resolve",
                "dedup_key": key,
            });
        }
        let mut details = Map::new();
        details.insert("event".into(), n.event_name.clone().into());
        details.insert("event_id".into(), n.event.id().as_str().into());
        for f in &n.fields {
            details.insert(f.key.clone(), truncate_chars(&f.value, 2000).into());
        }
        let summary = if n.summary.trim().is_empty() {
            match (n.field("id"), n.field("title")) {
                (Some(id), Some(title)) => format!("{}: {id} {title}", n.title),
                (Some(id), None) => format!("{}: {id}", n.title),
                _ => n.title.clone(),
            }
        } else {
            format!(
                "{}: {}",
                n.title,
                n.summary.lines().next().unwrap_or_default()
            )
        };
        let source = self
            .config
            .source
            .clone()
            .or_else(|| n.event.source().map(str::to_owned))
            .unwrap_or_else(|| "flowspec".to_owned());
        let mut payload = json!({
            "summary": truncate_chars(&summary, 1024),
            "source": source,
            "severity": self.severity_of(n).as_str(),
            "timestamp": n.event.timestamp_rfc3339(),
            "class": n.event_name,
            "custom_details": details,
        });
        if let Some(c) = &self.config.component {
            payload["component"] = c.clone().into();
        }
        if let Some(g) = &self.config.group {
            payload["group"] = g.clone().into();
        }
        let mut body = json!({
            "routing_key": self.routing_key.expose_secret(),
            "event_action": "trigger",
            "dedup_key": key,
            "payload": payload,
            "client": "flowspec",
        });
        if let Some(first) = n.links.first() {
            body["client_url"] = first.url.clone().into();
        }
        if !n.links.is_empty() {
            body["links"] = n
                .links
                .iter()
                .map(|l| json!({"href": l.url, "text": l.title}))
                .collect();
        }
        body
    }
}

/// PagerDuty's error body: `{"status", "message", "errors": [...]}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut service = ServiceError::new(message);
    if let Some(status) = v.get("status").and_then(Value::as_str) {
        service = service.with_code(status);
    }
    for e in v
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = e.as_str() {
            service = service.with_detail(e);
        }
    }
    (!service.message.is_empty() || !service.details.is_empty()).then_some(service)
}

#[async_trait]
impl Notifier for PagerdutyNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let body = self.payload(n);
        let action = body["event_action"].as_str().unwrap_or_default().to_owned();
        match Post::json(&self.target, &body).send(&self.client).await {
            Ok(answer) => {
                let key = answer
                    .json()
                    .and_then(|v| v["dedup_key"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| dedup_key(n));
                Ok(Receipt::new()
                    .with_status(answer.status)
                    .with_id(key)
                    .with_detail("event_action", action))
            }
            Err(e) => {
                let service = e.body().and_then(service_error);
                let mut err = classify(&e, &self.target, service).context("PagerDuty");
                match err.kind() {
                    NotifyErrorKind::Rejected => {
                        err = err.with_hint("PagerDuty refused the event (fix the payload or `severity`; not retried)");
                    }
                    NotifyErrorKind::Auth | NotifyErrorKind::NotFound => {
                        err = err.with_hint("check PAGERDUTY_ROUTING_KEY: the Events API v2 integration key of the service");
                    }
                    _ => {}
                }
                Err(err)
            }
        }
    }
}

/// `pagerduty`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn describe(&self) -> &'static str {
        "PagerDuty Events API v2: trigger on failure, resolve on success, stable dedup keys"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  pagerduty:
    enabled: true
    alert_on:
      - "implementation_failed"
    severity: "warning"  # critical, error, warning, info
"##
    }

    fn routing_key(&self) -> &'static str {
        "alert_on"
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[ROUTING_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: PagerdutyConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("routing_key"), &ROUTING_KEY);
        let severity = match &parsed.severity {
            None => None,
            Some(s) => match parse_severity(s) {
                Some(s) => Some(s),
                None => {
                    errors.push(
                        cx.error(
                            config.get("severity"),
                            "severity",
                            format!("unknown severity `{s}`"),
                        )
                        .hint("use `critical`, `error`, `warning` or `info`"),
                    );
                    None
                }
            },
        };
        let resolve_on = parsed
            .resolve_on
            .clone()
            .unwrap_or_else(|| vec!["*.completed".to_owned()]);
        if let Err(m) = crate::events::EventMatcher::parse(&resolve_on) {
            errors.push(cx.error(config.get("resolve_on"), "resolve_on", m));
        }
        let target = Target::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("v2/enqueue"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, target) = match (key, target) {
            (Ok(Some(k)), Ok(t)) if errors.is_empty() => (k, t),
            (k, t) => {
                for e in [k.err(), t.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let notifier = PagerdutyNotifier {
            target,
            routing_key: key,
            severity,
            config: parsed,
            client: HttpClient::shared(),
        };
        Ok(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_extra_events(resolve_on),
        ])
    }
}
