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
//! The API: `Authorization: GenieKey <key>`;
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
    Receipt, SecretVar, ServiceError, WorkOutcome,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::{Endpoint, Post, classify, path_segment, truncate_chars};

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{OpsgenieConfig, Region};
pub use self::factory::Factory;
pub use self::wire::{alias, service_error};

/// Creates and closes Opsgenie alerts.
pub struct OpsgenieNotifier {
    base: Endpoint,
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

#[async_trait]
impl Notifier for OpsgenieNotifier {
    fn target(&self) -> String {
        self.base.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let closing = n.outcome == WorkOutcome::Completed;
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
