//! Building the `opsgenie` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `opsgenie`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "opsgenie"
    }

    fn describe(&self) -> &'static str {
        "Opsgenie alerts: create with alias, priority and tags; close on success; US or EU"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  opsgenie:
    enabled: true
    alert_on:
      - "implementation_failed"
    priority: "P3"
    tags:
      - "spec-automation"
      - "ci-cd"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            202,
            &json!({"result": "Request will be processed", "requestId": "r1"}),
        ))
        .expect_request("POST", "/v2/alerts")
    }

    fn routing_key(&self) -> &'static str {
        "alert_on"
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: OpsgenieConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        let priority = parsed
            .priority
            .as_ref()
            .map(|p| p.trim().to_ascii_uppercase());
        if let Some(p) = &priority
            && !matches!(p.as_str(), "P1" | "P2" | "P3" | "P4" | "P5")
        {
            errors.push(
                cx.error(
                    config.get("priority"),
                    "priority",
                    format!("unknown priority `{p}`"),
                )
                .hint("use `P1` (highest) to `P5` (lowest)"),
            );
        }
        let close_on = parsed
            .close_on
            .clone()
            .unwrap_or_else(|| vec!["*.completed".to_owned()]);
        if let Err(m) = crate::events::EventMatcher::parse(&close_on) {
            errors.push(cx.error(config.get("close_on"), "close_on", m));
        }
        let api = parsed
            .api_url
            .as_deref()
            .unwrap_or(parsed.region.unwrap_or_default().api());
        let base = Endpoint::new(api)
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, base) = match (key, base) {
            (Ok(Some(k)), Ok(b)) if errors.is_empty() => (k, b),
            (k, b) => {
                for e in [k.err(), b.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let notifier = OpsgenieNotifier {
            base,
            auth: key,
            priority,
            config: parsed,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_extra_events(close_on),
        ])
    }
}
