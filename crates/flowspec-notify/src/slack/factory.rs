//! Building the `slack` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};

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

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::text(200, "ok"))
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[WEBHOOK_URL]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: SlackConfig = cx.deserialize(config)?;
        let url = cx
            .secret(config.get("webhook_url"), &WEBHOOK_URL)?
            .expect("required");
        let target = Endpoint::with_api_url(
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
            client: HttpClient::without_redirects(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
