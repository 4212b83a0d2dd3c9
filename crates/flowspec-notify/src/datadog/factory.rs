//! Building the `datadog` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `datadog`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "datadog"
    }

    fn describe(&self) -> &'static str {
        "Datadog: an event per notification and processed/success/failure/duration metrics; any site"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  datadog:
    enabled: true
    site: "datadoghq.com"
    send_metrics: true
    metric_prefix: "spec_ingestion"
    send_events: true
    event_tags:
      - "team:platform"
      - "env:production"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            202,
            &json!({"status": "ok", "errors": []}),
        ))
        .expect_request("POST", "/api/v1/events")
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY, APP_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: DatadogConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        // Read only so that its value is masked wherever it could appear.
        if let Err(e) = cx.secret(config.get("app_key"), &APP_KEY) {
            errors.push(e);
        }
        let api = match (&parsed.api_url, site_api(&parsed.site)) {
            (Some(url), _) => Some(url.as_str()),
            (None, Some(api)) => Some(api),
            (None, None) => {
                let known: Vec<&str> = SITES.iter().map(|(s, _, _)| *s).collect();
                let hint = match flowspec_core::config::suggest(&parsed.site, known.iter().copied())
                {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("Datadog sites: {}", known.join(", ")),
                };
                errors.push(
                    cx.error(
                        config.get("site"),
                        "site",
                        format!("unknown Datadog site `{}`", parsed.site),
                    )
                    .hint(hint),
                );
                None
            }
        };
        let prefix_ok = !parsed.metric_prefix.is_empty()
            && parsed
                .metric_prefix
                .starts_with(|c: char| c.is_ascii_alphabetic())
            && parsed
                .metric_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !prefix_ok {
            errors.push(
                cx.error(
                    config.get("metric_prefix"),
                    "metric_prefix",
                    format!(
                        "`{}` is not a valid metric name prefix",
                        parsed.metric_prefix
                    ),
                )
                .hint("start with a letter; use letters, digits, `_` and `.`"),
            );
        }
        if !parsed.send_events && !parsed.send_metrics {
            errors.push(cx.error(
                config.get("send_events"),
                "send_events",
                "`send_events` and `send_metrics` are both false: nothing would be sent",
            ));
        }
        let base = api.map(|api| {
            Endpoint::new(api)
                .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")))
        });
        let (key, base) = match (key, base) {
            (Ok(Some(k)), Some(Ok(b))) if errors.is_empty() => (k, b),
            (k, b) => {
                for e in [k.err(), b.and_then(Result::err)].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let notifier = DatadogNotifier {
            base,
            api_key: key,
            config: parsed,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
