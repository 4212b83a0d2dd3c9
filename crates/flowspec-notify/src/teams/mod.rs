//! Microsoft Teams, through a Workflows (Power Automate) webhook: "When a Teams
//! webhook request is received" posts the Adaptive Card found in `attachments[]`.
//! The legacy Office 365 connectors are retired and not supported.
//!
//! ```yaml
//! integrations:
//!   teams:
//!     enabled: true
//!     notify_on: [implementation_completed, implementation_failed]
//!     use_adaptive_cards: true       # color-coded header, facts, buttons; false: a plain card
//!     # webhook_url: "${TEAMS_WEBHOOK_URL}"
//! ```
//!
//! The API: `POST` `{"type": "message", "attachments": [{"contentType":
//! "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <card>}]}`;
//! any 2xx is success (Workflows answer `202`). Throttling shows up as `429`, or as a
//! `200` whose body says "Microsoft Teams endpoint returned HTTP error 429".

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, Receipt,
    SecretVar, WorkOutcome,
};
use flowspec_core::secret::ExposeSecret;
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Endpoint, Post, classify};

mod config;
mod factory;
mod wire;

pub use self::config::TeamsConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;

/// Sends to one Teams Workflows webhook.
pub struct TeamsNotifier {
    target: Endpoint,
    adaptive: bool,
    client: HttpClient,
}

impl std::fmt::Debug for TeamsNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamsNotifier")
            .field("target", &self.target.shown())
            .field("adaptive", &self.adaptive)
            .finish()
    }
}

impl TeamsNotifier {
    /// Sends Adaptive Cards to the Workflows webhook `webhook_url`, as
    /// `integrations.teams` does without YAML.
    ///
    /// ```no_run
    /// use flowspec_core::{Event, Notification, Notifier};
    /// use flowspec_notify::teams::TeamsNotifier;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let notifier = TeamsNotifier::new("https://prod-00.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=XXXX")?;
    /// let event = Event::builder("implement.failed").feature("auth").build()?;
    /// let notification = Notification::builder(event).summary("3 tests failed").build();
    /// let receipt = notifier.notify(&notification).await?;
    /// println!("sent: {receipt:?}");
    /// # Ok(()) }
    /// ```
    pub fn new(webhook_url: &str) -> Result<TeamsNotifier, NotifyError> {
        let target = Endpoint::new(webhook_url)
            .map_err(|m| NotifyError::config(format!("teams webhook_url: {m}")))?;
        Ok(TeamsNotifier {
            target,
            adaptive: true,
            client: HttpClient::without_redirects(),
        })
    }

    /// The same notifier sending plain text cards instead of Adaptive Cards
    /// (`use_adaptive_cards: false`).
    pub fn plain_cards(mut self) -> TeamsNotifier {
        self.adaptive = false;
        self
    }

    /// The JSON body for `n`.
    pub fn payload(&self, n: &Notification) -> Value {
        let card = if self.adaptive {
            let (color, style) = colors(n.outcome);
            let mut body = vec![json!({
                "type": "Container",
                "style": style,
                "bleed": true,
                "items": [{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "color": color, "text": n.title, "wrap": true}]
            })];
            if !n.summary.is_empty() {
                body.push(json!({"type": "TextBlock", "text": n.summary, "wrap": true}));
            }
            if !n.fields.is_empty() {
                let facts: Vec<Value> = n
                    .fields
                    .iter()
                    .map(|f| json!({"title": f.label, "value": f.value}))
                    .collect();
                body.push(json!({"type": "FactSet", "facts": facts}));
            }
            body.push(json!({
                "type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
                "text": format!("flowspec · {} · {}", n.event_name, n.event.timestamp_rfc3339())
            }));
            let actions: Vec<Value> = n
                .links
                .iter()
                .map(|l| json!({"type": "Action.OpenUrl", "title": l.title, "url": l.url}))
                .collect();
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            });
            if !actions.is_empty() {
                card["actions"] = actions.into();
            }
            card
        } else {
            json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.2",
                "body": [{"type": "TextBlock", "text": n.to_text(), "wrap": true}],
            })
        };
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }]
        })
    }
}

#[async_trait]
impl Notifier for TeamsNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        match Post::json(&self.target, &self.payload(n))
            .send(&self.client)
            .await
        {
            Ok(answer) if answer.body.contains(THROTTLED) => Err(NotifyError::rate_limited(
                format!(
                    "POST {}: Teams throttled the webhook ({THROTTLED})",
                    self.target.shown()
                ),
                None,
            )
            .with_status(answer.status)),
            Ok(answer) => Ok(Receipt::new().with_status(answer.status)),
            Err(e) => {
                let mut err = classify(&e, &self.target, None);
                if e.body().is_some_and(|b| b.contains(THROTTLED)) {
                    err = err.with_kind(flowspec_core::notifier::NotifyErrorKind::RateLimited);
                }
                if matches!(e.status().map(|s| s.as_u16()), Some(400)) {
                    err = err.with_hint("the flow could not read the card: use the \"Post card in a chat or channel\" Workflows template, which reads `attachments`");
                }
                Err(err)
            }
        }
    }
}
