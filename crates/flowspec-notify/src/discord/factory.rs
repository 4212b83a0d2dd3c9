//! Building the `discord` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `discord`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "discord"
    }

    fn describe(&self) -> &'static str {
        "Discord channel webhook: content plus a color-coded embed with fields"
    }

    fn example_yaml(&self) -> &'static str {
        r#"integrations:
  discord:
    enabled: true
    notify_on:
      - "implementation_completed"
      - "implementation_failed"
    username: "Spec Bot"
    avatar_url: "https://example.com/bot-avatar.png"
"#
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            200,
            &json!({"id": "1234", "channel_id": "5678"}),
        ))
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[WEBHOOK_URL]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: DiscordConfig = cx.deserialize(config)?;
        let url = cx
            .secret(config.get("webhook_url"), &WEBHOOK_URL)?
            .expect("required");
        let mut full = url::Url::parse(url.expose_secret()).map_err(|_| {
            cx.error(
                config.get("webhook_url"),
                "webhook_url",
                "DISCORD_WEBHOOK_URL is not a URL",
            )
        })?;
        {
            let mut query = full.query_pairs_mut();
            query.append_pair("wait", "true");
            if let Some(thread) = &parsed.thread_id {
                query.append_pair("thread_id", thread);
            }
        }
        let target =
            Endpoint::with_api_url(full.as_str(), parsed.api_url.as_deref()).map_err(|m| {
                cx.error(
                    config.get("api_url").or(config.get("webhook_url")),
                    "webhook_url",
                    m,
                )
            })?;
        let notifier = DiscordNotifier {
            target,
            config: parsed,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
