//! Discord, through a channel webhook: `content` plus one embed (title, color,
//! fields, link, footer, timestamp).
//!
//! ```yaml
//! integrations:
//!   discord:
//!     enabled: true
//!     notify_on: [implementation_completed, implementation_failed]
//!     username: "Spec Bot"
//!     avatar_url: "https://example.com/bot-avatar.png"
//!     # webhook_url: "${DISCORD_WEBHOOK_URL}"
//!     # thread_id: "1234567890"      # post into a thread
//! ```
//!
//! The API: `POST /api/webhooks/{id}/{token}?wait=true` → `200` with
//! the message (its id goes into the receipt). Limits are enforced before sending
//! (content 2000, title 256, description 4096, 25 fields of 256/1024, 6000 in all).
//! `allowed_mentions: {parse: []}` keeps event data from pinging `@everyone`. Errors:
//! `429 {"retry_after": 0.529}` (seconds, float: honoured exactly), `400 {"code":
//! 50035, "errors": {...}}`, `404 {"code": 10015, "message": "Unknown Webhook"}`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError, WorkOutcome,
};
use flowspec_core::secret::ExposeSecret;
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Endpoint, Post, classify, truncate_chars};

mod config;
mod factory;
mod wire;

pub use self::config::DiscordConfig;
use self::config::*;
pub use self::factory::Factory;
use self::wire::*;

/// Sends to one Discord webhook.
pub struct DiscordNotifier {
    target: Endpoint,
    config: DiscordConfig,
    client: HttpClient,
}

impl std::fmt::Debug for DiscordNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordNotifier")
            .field("target", &self.target.shown())
            .field("username", &self.config.username)
            .finish()
    }
}

impl DiscordNotifier {
    /// Sends to the Discord webhook `webhook_url` with the default sender and
    /// channel, as `integrations.discord` does without YAML.
    ///
    /// ```no_run
    /// use flowspec_core::{Event, Notification, Notifier};
    /// use flowspec_notify::discord::DiscordNotifier;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let notifier = DiscordNotifier::new("https://discord.com/api/webhooks/1234/XXXX")?;
    /// let event = Event::builder("implement.failed").feature("auth").build()?;
    /// let notification = Notification::builder(event).summary("3 tests failed").build();
    /// let receipt = notifier.notify(&notification).await?;
    /// println!("sent: {receipt:?}");
    /// # Ok(()) }
    /// ```
    pub fn new(webhook_url: &str) -> Result<DiscordNotifier, NotifyError> {
        let mut full = url::Url::parse(webhook_url)
            .map_err(|_| NotifyError::config("discord webhook_url is not a URL"))?;
        full.query_pairs_mut().append_pair("wait", "true");
        let target = Endpoint::new(full.as_str())
            .map_err(|m| NotifyError::config(format!("discord webhook_url: {m}")))?;
        Ok(DiscordNotifier {
            target,
            config: DiscordConfig {
                webhook_url: None,
                username: None,
                avatar_url: None,
                thread_id: None,
                api_url: None,
            },
            client: HttpClient::without_redirects(),
        })
    }

    /// The JSON body for `n`, within Discord's limits.
    pub fn payload(&self, n: &Notification) -> Value {
        let title = truncate_chars(&n.title, 256);
        let mut budget: usize = 6000 - title.chars().count();
        let description = truncate_chars(&n.summary, 4096.min(budget));
        budget -= description.chars().count();
        let footer = format!("flowspec · {}", n.event_name);
        budget = budget.saturating_sub(footer.chars().count());
        let mut fields = Vec::new();
        for f in n.fields.iter().take(25) {
            let name = truncate_chars(&f.label, 256);
            let value = truncate_chars(if f.value.is_empty() { "—" } else { &f.value }, 1024);
            let cost = name.chars().count() + value.chars().count();
            if cost > budget {
                break;
            }
            budget -= cost;
            fields
                .push(json!({"name": name, "value": value, "inline": value.chars().count() <= 40}));
        }
        let mut embed = json!({
            "title": title,
            "color": color(n.outcome),
            "fields": fields,
            "footer": {"text": footer},
            "timestamp": n.event.timestamp_rfc3339(),
        });
        if !description.is_empty() {
            embed["description"] = description.into();
        }
        if let Some(link) = n.links.first() {
            embed["url"] = link.url.clone().into();
        }
        let mut content = truncate_chars(&n.title, 2000);
        for link in &n.links {
            let line = format!("\n[{}](<{}>)", link.title, link.url);
            if content.chars().count() + line.chars().count() <= 2000 {
                content.push_str(&line);
            }
        }
        let mut body = json!({
            "content": content,
            "allowed_mentions": {"parse": []},
            "embeds": [embed],
        });
        if let Some(username) = &self.config.username {
            body["username"] = truncate_chars(username, 80).into();
        }
        if let Some(avatar) = &self.config.avatar_url {
            body["avatar_url"] = avatar.clone().into();
        }
        body
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        match Post::json(&self.target, &self.payload(n))
            .send(&self.client)
            .await
        {
            Ok(answer) => {
                let mut receipt = Receipt::new().with_status(answer.status);
                if let Some(id) = answer
                    .json()
                    .and_then(|j| j.get("id").and_then(Value::as_str).map(str::to_owned))
                {
                    receipt = receipt.with_id(id);
                }
                Ok(receipt)
            }
            Err(e) => {
                let json = e.body_json();
                let service = json.as_ref().and_then(|j| {
                    let message = j.get("message").and_then(Value::as_str)?;
                    let mut s = ServiceError::new(message);
                    if let Some(code) = j.get("code").and_then(Value::as_i64).filter(|c| *c != 0) {
                        s = s.with_code(code.to_string());
                    }
                    if let Some(errors) = j.get("errors") {
                        let mut lines = Vec::new();
                        flatten_errors("", errors, &mut lines);
                        for line in lines {
                            s = s.with_detail(line);
                        }
                    }
                    Some(s)
                });
                let code = service.as_ref().and_then(|s| s.code.clone());
                let mut err = classify(&e, &self.target, service);
                // The body's `retry_after` (float seconds) is more precise than the header.
                if let Some(wait) = json
                    .as_ref()
                    .and_then(|j| j.get("retry_after"))
                    .and_then(Value::as_f64)
                {
                    err = err
                        .with_kind(NotifyErrorKind::RateLimited)
                        .with_retry_after(Duration::from_secs_f64(wait.max(0.0)));
                }
                match code.as_deref() {
                    Some("10015") => err = err.with_hint(
                        "the webhook was deleted: create a new one and update DISCORD_WEBHOOK_URL",
                    ),
                    Some("50035") => err = err.with_hint(
                        "Discord refused a field of the message: check custom templates for length",
                    ),
                    Some("50006") => err = err.with_hint("the message was empty"),
                    _ => {}
                }
                Err(err)
            }
        }
    }
}
