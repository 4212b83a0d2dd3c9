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
//! The API: `POST https://events.pagerduty.com/v2/enqueue`, no auth
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
    Receipt, SecretVar, ServiceError, Severity, WorkOutcome,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::{Endpoint, Post, classify, truncate_chars};
use crate::template::parse_severity;

mod config;
mod factory;
mod wire;

pub use self::config::PagerdutyConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{dedup_key, service_error};

/// Sends trigger and resolve events to one PagerDuty service.
pub struct PagerdutyNotifier {
    target: Endpoint,
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
        if n.outcome == WorkOutcome::Completed {
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
