//! Building the `sentry` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `sentry`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "sentry"
    }

    fn describe(&self) -> &'static str {
        "Sentry: failures as events in an envelope to the DSN's project, with environment and release"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  sentry:
    enabled: true
    environment: "production"
    report_on:
      - "implementation_failed"
      - "validation_failed"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(200, &json!({"id": "e1"})))
    }

    fn routing_key(&self) -> &'static str {
        "report_on"
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[DSN]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: SentryConfig = cx.deserialize(config)?;
        let dsn = cx.secret(config.get("dsn"), &DSN)?.expect("required");
        let dsn = Dsn::parse(dsn.expose_secret()).map_err(|m| {
            cx.error(config.get("dsn"), "dsn", m)
                .hint("copy the DSN from Sentry → Project Settings → Client Keys (DSN)")
        })?;
        let target = Endpoint::with_api_url(&dsn.envelope_url, parsed.api_url.as_deref())
            .map_err(|m| cx.error(config.get("api_url").or(config.get("dsn")), "dsn", m))?;
        let notifier = SentryNotifier {
            target,
            auth: SecretString::from(dsn.auth_header()),
            config: parsed,
            client: HttpClient::without_redirects(),
            limited_until: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
