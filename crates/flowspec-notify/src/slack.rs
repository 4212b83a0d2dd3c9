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
//! Contract (contracts.md B1): `POST` the JSON to the webhook URL (the URL is the
//! credential); success is `200` with the text body `ok`; errors are plain-text codes
//! (`400 invalid_payload`, `403 invalid_token`, `404 channel_not_found`,
//! `410 channel_is_archived`, `429` with `Retry-After`, `500 rollup_error`).

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, Outcome, Receipt,
    SecretVar, ServiceError,
};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Post, Target, classify, truncate_chars};

const WEBHOOK_URL: SecretVar = SecretVar::required(
    "webhook_url",
    "SLACK_WEBHOOK_URL",
    "Incoming webhook URL",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
);

/// `integrations.slack` options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The webhook URL as `${VAR}` (default: `SLACK_WEBHOOK_URL`). Example: `"${SLACK_WEBHOOK_URL}"`.
    pub webhook_url: Option<String>,
    /// The channel (legacy webhooks only; app webhooks post to their own channel).
    /// Example: `"#engineering"`.
    pub channel: Option<String>,
    /// The sender name (legacy webhooks only). Example: `"Spec Bot"`.
    pub username: Option<String>,
    /// The sender icon (legacy webhooks only). Example: `":robot_face:"`.
    pub icon_emoji: Option<String>,
    /// Who to mention when something failed: `@channel`, `@here`, `@everyone`, a user
    /// id `U0123ABCD`, or a user group `subteam^S0123ABCD`. Example: `["@channel"]`.
    #[serde(default)]
    pub mention_on_failure: Vec<String>,
    /// Replaces scheme, host and port of the webhook URL (a relay, a mock).
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

/// Sends to one Slack incoming webhook.
pub struct SlackNotifier {
    target: Target,
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
    /// The JSON body for `n`.
    pub fn payload(&self, n: &Notification) -> Value {
        let mentions = if n.outcome == Outcome::Failed {
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

/// Slack's mention syntax for `@channel`, `@here`, `@everyone`, user and group ids;
/// anything else is kept as written.
fn mention(m: &str) -> String {
    let bare = m.trim().trim_start_matches('@');
    match bare {
        "channel" | "here" | "everyone" => format!("<!{bare}>"),
        _ if bare.starts_with("subteam^") => format!("<!{bare}>"),
        _ if bare.len() >= 9
            && (bare.starts_with('U') || bare.starts_with('W'))
            && bare
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            format!("<@{bare}>")
        }
        _ => m.to_owned(),
    }
}

/// Escapes `&`, `<` and `>` as Slack's mrkdwn requires.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The hint for one of Slack's error codes.
fn hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_payload" => {
            "Slack refused the JSON or its blocks; check custom templates for very long or malformed text"
        }
        "no_text" => "the message had neither text nor blocks",
        "invalid_token" | "no_service" | "no_service_id" | "no_team" => {
            "the webhook was revoked or the URL is wrong: create a new incoming webhook and update SLACK_WEBHOOK_URL"
        }
        "channel_not_found" => {
            "the webhook's channel no longer exists or the app was removed from it"
        }
        "channel_is_archived" => {
            "the channel is archived: unarchive it or point the webhook elsewhere, then `flowspec notify enable slack`"
        }
        "action_prohibited" => "a workspace admin restricted this webhook",
        "user_not_found" => "a mentioned user does not exist",
        _ => return None,
    })
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

/// `slack`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn describe(&self) -> &'static str {
        "Slack incoming webhook: text plus Block Kit blocks, mentions on failure"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  slack:
    enabled: true
    channel: "#engineering"
    notify_on:
      - "spec_approved"
      - "implementation_completed"
      - "implementation_failed"
    mention_on_failure: ["@channel"]
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[WEBHOOK_URL]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: SlackConfig = cx.deserialize(config)?;
        let url = cx
            .secret(config.get("webhook_url"), &WEBHOOK_URL)?
            .expect("required");
        let target = Target::with_api_url(
            flowspec_core::secret::ExposeSecret::expose_secret(&url),
            parsed.api_url.as_deref(),
        )
        .map_err(|m| {
            cx.error(
                config.get("api_url").or(config.get("webhook_url")),
                "webhook_url",
                m,
            )
        })?;
        let notifier = SlackNotifier {
            target,
            config: parsed,
            client: HttpClient::shared(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
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
