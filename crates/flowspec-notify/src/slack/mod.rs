//! Slack, through an incoming webhook: `text` (the notification fallback) plus Block
//! Kit `blocks`.
//!
//! ```yaml
//! integrations:
//!   slack:
//!     enabled: true
//!     channel: "#engineering"        # honoured by legacy webhooks only
//!     notify_on: [spec_approved, implementation_completed, implementation_failed]
//!     mention_on_failure: ["@channel"]
//!     # webhook_url: "${SLACK_WEBHOOK_URL}"   # the default variable
//! ```
//!
//! The API: `POST` the JSON to the webhook URL (the URL is the
//! credential); success is `200` with the text body `ok`; errors are plain-text codes
//! (`400 invalid_payload`, `403 invalid_token`, `404 channel_not_found`,
//! `410 channel_is_archived`, `429` with `Retry-After`, `500 rollup_error`).

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, Receipt,
    SecretVar, ServiceError, WorkOutcome,
};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Endpoint, Post, classify, truncate_chars};

mod config;
mod factory;
mod wire;

pub use self::config::SlackConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;

/// Sends to one Slack incoming webhook.
pub struct SlackNotifier {
    target: Endpoint,
    config: SlackConfig,
    client: HttpClient,
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("target", &self.target.shown())
            .field("channel", &self.config.channel)
            .finish()
    }
}

impl SlackNotifier {
    /// Sends to the incoming webhook `webhook_url` with the default options (no
    /// channel override, no mentions), as `integrations.slack` does without YAML.
    ///
    /// ```no_run
    /// use flowspec_core::{Event, Notification, Notifier};
    /// use flowspec_notify::slack::SlackNotifier;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let notifier = SlackNotifier::new("https://hooks.slack.com/services/T000/B000/XXXX")?;
    /// let event = Event::builder("implement.failed").feature("auth").build()?;
    /// let notification = Notification::builder(event).summary("3 tests failed").build();
    /// let receipt = notifier.notify(&notification).await?;
    /// println!("sent: {receipt:?}");
    /// # Ok(()) }
    /// ```
    pub fn new(webhook_url: &str) -> Result<SlackNotifier, NotifyError> {
        SlackNotifier::with_config(webhook_url, SlackConfig::default())
    }

    /// Sends to `webhook_url` with `config`'s options (channel, sender, mentions on
    /// failure, `api_url`); `config.webhook_url` is ignored.
    pub fn with_config(
        webhook_url: &str,
        config: SlackConfig,
    ) -> Result<SlackNotifier, NotifyError> {
        let target = Endpoint::with_api_url(webhook_url, config.api_url.as_deref())
            .map_err(|m| NotifyError::config(format!("slack webhook_url: {m}")))?;
        Ok(SlackNotifier {
            target,
            config,
            client: HttpClient::without_redirects(),
        })
    }

    /// The JSON body for `n`.
    pub fn payload(&self, n: &Notification) -> Value {
        let mentions = if n.outcome == WorkOutcome::Failed {
            self.config
                .mention_on_failure
                .iter()
                .map(|m| mention(m))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            String::new()
        };
        let mut text = String::new();
        if !mentions.is_empty() {
            text.push_str(&mentions);
            text.push(' ');
        }
        text.push_str(&escape(&n.title));
        if !n.summary.is_empty() {
            text.push('\n');
            text.push_str(&escape(&n.summary));
        }
        let bullets: Vec<String> = n
            .fields
            .iter()
            .map(|f| format!("• *{}:* {}", escape(&f.label), escape(&f.value)))
            .collect();
        for b in &bullets {
            text.push('\n');
            text.push_str(b);
        }
        for link in &n.links {
            text.push_str(&format!("\n• <{}|{}>", link.url, escape(&link.title)));
        }

        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate_chars(&n.title, 150), "emoji": true}
        })];
        let mut intro = mentions.clone();
        if !n.summary.is_empty() {
            if !intro.is_empty() {
                intro.push(' ');
            }
            intro.push_str(&escape(&n.summary));
        }
        if !intro.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&intro, 3000)}}));
        }
        if !bullets.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&bullets.join("\n"), 3000)}}));
        }
        if !n.links.is_empty() {
            let buttons: Vec<Value> = n
                .links
                .iter()
                .take(25)
                .map(|l| json!({"type": "button", "text": {"type": "plain_text", "text": truncate_chars(&l.title, 75)}, "url": l.url}))
                .collect();
            blocks.push(json!({"type": "actions", "elements": buttons}));
        }
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("flowspec · `{}` · {}", n.event_name, n.event.timestamp_rfc3339())}]
        }));

        let mut body = json!({"text": text, "blocks": blocks});
        if let Some(channel) = &self.config.channel {
            body["channel"] = channel.clone().into();
        }
        if let Some(username) = &self.config.username {
            body["username"] = username.clone().into();
        }
        if let Some(icon) = &self.config.icon_emoji {
            body["icon_emoji"] = icon.clone().into();
        }
        body
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let body = self.payload(n);
        match Post::json(&self.target, &body).send(&self.client).await {
            Ok(answer) => Ok(Receipt::new().with_status(answer.status)),
            Err(e) => {
                let code = e
                    .body()
                    .map(str::trim)
                    .filter(|b| !b.is_empty() && !b.contains(char::is_whitespace) && b.len() < 64);
                let service = code.map(|c| ServiceError::new(c).with_code(c));
                let mut err = classify(&e, &self.target, service);
                if let Some(h) = code.and_then(hint) {
                    err = err.with_hint(h);
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_turn_mentions_into_slack_syntax() {
        assert_eq!(mention("@channel"), "<!channel>");
        assert_eq!(mention("here"), "<!here>");
        assert_eq!(mention("U0123ABCDE"), "<@U0123ABCDE>");
        assert_eq!(mention("subteam^S0123"), "<!subteam^S0123>");
        assert_eq!(mention("@team"), "@team");
    }

    #[test]
    fn should_escape_mrkdwn_control_characters() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
    }
}
