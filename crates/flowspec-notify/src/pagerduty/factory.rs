//! Building the `pagerduty` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `pagerduty`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn describe(&self) -> &'static str {
        "PagerDuty Events API v2: trigger on failure, resolve on success, stable dedup keys"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  pagerduty:
    enabled: true
    alert_on:
      - "implementation_failed"
    severity: "warning"  # critical, error, warning, info
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            202,
            &json!({"status": "success", "message": "Event processed"}),
        ))
        .expect_request("POST", "/v2/enqueue")
    }

    fn routing_key(&self) -> &'static str {
        "alert_on"
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[ROUTING_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: PagerdutyConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("routing_key"), &ROUTING_KEY);
        let severity = match &parsed.severity {
            None => None,
            Some(s) => match parse_severity(s) {
                Some(s) => Some(s),
                None => {
                    errors.push(
                        cx.error(
                            config.get("severity"),
                            "severity",
                            format!("unknown severity `{s}`"),
                        )
                        .hint("use `critical`, `error`, `warning` or `info`"),
                    );
                    None
                }
            },
        };
        let resolve_on = parsed
            .resolve_on
            .clone()
            .unwrap_or_else(|| vec!["*.completed".to_owned()]);
        if let Err(m) = crate::events::EventMatcher::parse(&resolve_on) {
            errors.push(cx.error(config.get("resolve_on"), "resolve_on", m));
        }
        let target = Endpoint::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("v2/enqueue"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, target) = match (key, target) {
            (Ok(Some(k)), Ok(t)) if errors.is_empty() => (k, t),
            (k, t) => {
                for e in [k.err(), t.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let notifier = PagerdutyNotifier {
            target,
            routing_key: key,
            severity,
            config: parsed,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_extra_events(resolve_on),
        ])
    }
}
