//! Building the `teams` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};

/// `teams`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "teams"
    }

    fn describe(&self) -> &'static str {
        "Microsoft Teams Workflows webhook with an Adaptive Card (color-coded, facts, buttons)"
    }

    fn example_yaml(&self) -> &'static str {
        r#"integrations:
  teams:
    enabled: true
    notify_on:
      - "implementation_completed"
      - "implementation_failed"
    use_adaptive_cards: true
"#
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::new(202))
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[WEBHOOK_URL]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: TeamsConfig = cx.deserialize(config)?;
        let url = cx
            .secret(config.get("webhook_url"), &WEBHOOK_URL)?
            .expect("required");
        if url
            .expose_secret()
            .contains(".webhook.office.com/webhookb2/")
        {
            tracing::warn!(
                message = "TEAMS_WEBHOOK_URL is a legacy Office 365 connector URL; those are retired. Create a Workflows webhook instead.",
                integration = %cx.name()
            );
        }
        let target = Endpoint::with_api_url(url.expose_secret(), parsed.api_url.as_deref())
            .map_err(|m| {
                cx.error(
                    config.get("api_url").or(config.get("webhook_url")),
                    "webhook_url",
                    m,
                )
            })?;
        let notifier = TeamsNotifier {
            target,
            adaptive: parsed.use_adaptive_cards,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
