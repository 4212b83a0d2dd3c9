//! Building the `new_relic` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `new_relic`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "new_relic"
    }

    fn describe(&self) -> &'static str {
        "New Relic Event API: a custom event per notification (account, US or EU region)"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  new_relic:
    enabled: true
    account_id: "1234567"
    event_type: "SpecIngestion"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            200,
            &json!({"success": true, "uuid": "u1"}),
        ))
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: NewRelicConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        let account = cx.interpolate(config.get("account_id"), "account_id", &parsed.account_id);
        let account = match account {
            Ok(a) if !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()) => Some(a),
            Ok(a) => {
                errors.push(
                    cx.error(
                        config.get("account_id"),
                        "account_id",
                        format!("`account_id` must be the account's number, found `{a}`"),
                    )
                    .hint("find it in New Relic → Administration → Access management, or in the URL (`accounts/1234567`)"),
                );
                None
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if !valid_event_type(&parsed.event_type) {
            errors.push(
                cx.error(
                    config.get("event_type"),
                    "event_type",
                    format!(
                        "`{}` is not a valid New Relic event type",
                        parsed.event_type
                    ),
                )
                .hint(
                    "start with a letter; use letters, digits, `_` and `:` (e.g. `SpecIngestion`)",
                ),
            );
        }
        let base = parsed
            .api_url
            .as_deref()
            .unwrap_or(parsed.region.unwrap_or_default().api());
        let target = account.as_ref().map(|account| {
            Endpoint::new(base)
                .and_then(|t| t.join(&format!("v1/accounts/{account}/events")))
                .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")))
        });
        let (key, target) = match (key, target) {
            (Ok(Some(k)), Some(Ok(t))) if errors.is_empty() => (k, t),
            (k, t) => {
                for e in [k.err(), t.and_then(Result::err)].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let mut config = parsed;
        config.account_id = account.unwrap_or_default();
        let notifier = NewRelicNotifier {
            target,
            key,
            config,
            client: HttpClient::without_redirects(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
