//! New Relic Event API: one custom event per notification, queryable with NRQL.
//!
//! ```yaml
//! integrations:
//!   new_relic:
//!     enabled: true
//!     account_id: "1234567"
//!     event_type: "SpecIngestion"
//!     # region: "eu"                       # EU accounts: insights-collector.eu01.nr-data.net
//!     # api_key: "${NEW_RELIC_API_KEY}"    # the default variable
//! ```
//!
//! ```sql
//! SELECT * FROM SpecIngestion WHERE spec_id = 'FEAT-0001' SINCE 1 day ago
//! ```
//!
//! Contract (contracts.md B12): `POST
//! https://insights-collector.newrelic.com/v1/accounts/{ACCOUNT_ID}/events` (EU:
//! `insights-collector.eu01.nr-data.net`) with a JSON array of flat events (strings and
//! numbers only; booleans as `"true"`), `Api-Key: <INGEST - LICENSE key>` — or the
//! legacy `X-Insert-Key` for insert keys (`NRII-…`) → `200 {"success": true, "uuid"}`.
//! Bad events are dropped later, asynchronously: look for `NrIntegrationError` events.
//!
//! Attributes: `eventType`, `timestamp` (epoch seconds), `event` (`implementation_failed`),
//! `event_type` (`implement.failed`), `event_id`, `outcome`, `severity`, `title`,
//! `feature`, `spec_id`, `branch`, `pr`, `error`..., then the event's other flat data
//! fields (`pr_url`, `logs_url`...; nested objects are left out), and `durationSec`
//! when it reports a duration.

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::http::{Post, Target, classify, truncate_chars};

const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "NEW_RELIC_API_KEY",
    "Ingest license key (or a legacy insert key NRII-…)",
    "eu01xx0123456789abcdef0123456789abcdNRAL",
);

/// `integrations.new_relic` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRelicConfig {
    /// The key as `${VAR}` (default: `NEW_RELIC_API_KEY`). Example: `"${NEW_RELIC_API_KEY}"`.
    pub api_key: Option<String>,
    /// The account id (digits; a `${VAR}` works too). Example: `"1234567"`.
    #[serde(deserialize_with = "digits_or_text")]
    pub account_id: String,
    /// The `eventType` (letters, digits, `_`, `:`; default `FlowspecEvent`).
    /// Example: `"SpecIngestion"`.
    #[serde(default = "default_event_type")]
    pub event_type: String,
    /// `us` (default) or `eu`. Example: `"eu"`.
    pub region: Option<Region>,
    /// Replaces the regional collector host (a proxy, a mock); the path
    /// `/v1/accounts/{id}/events` is appended. Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

fn default_event_type() -> String {
    "FlowspecEvent".to_owned()
}

fn digits_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DigitsOrText {
        Number(u64),
        Text(String),
    }
    Ok(match DigitsOrText::deserialize(d)? {
        DigitsOrText::Number(n) => n.to_string(),
        DigitsOrText::Text(s) => s,
    })
}

/// The New Relic data center of the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `https://insights-collector.newrelic.com`.
    #[default]
    Us,
    /// `https://insights-collector.eu01.nr-data.net`.
    Eu,
}

impl Region {
    /// The Event API host of the region.
    pub fn api(self) -> &'static str {
        match self {
            Region::Us => "https://insights-collector.newrelic.com",
            Region::Eu => "https://insights-collector.eu01.nr-data.net",
        }
    }
}

/// Sends custom events to one New Relic account.
pub struct NewRelicNotifier {
    target: Target,
    key: SecretString,
    config: NewRelicConfig,
    client: HttpClient,
}

impl std::fmt::Debug for NewRelicNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelicNotifier")
            .field("target", &self.target.shown())
            .field("account_id", &self.config.account_id)
            .field("event_type", &self.config.event_type)
            .finish()
    }
}

/// A New Relic attribute value: strings (≤ 4096 characters) and numbers as they are,
/// booleans as text; anything else is left out.
fn attribute(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => Some(Value::String(truncate_chars(s, 4096))),
        Value::Number(_) => Some(value.clone()),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        _ => None,
    }
}

/// `eventType` may hold letters, digits, `_` and `:`, and starts with a letter.
fn valid_event_type(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 255
        && t.starts_with(|c: char| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl NewRelicNotifier {
    /// The request body for `n`: an array of one flat event.
    pub fn events(&self, n: &Notification) -> Value {
        let mut e = Map::new();
        e.insert("eventType".into(), self.config.event_type.clone().into());
        e.insert("timestamp".into(), n.event.timestamp().timestamp().into());
        e.insert("event".into(), n.event_name.clone().into());
        e.insert("event_type".into(), n.event.event_type().as_str().into());
        e.insert("event_id".into(), n.event.id().as_str().into());
        e.insert("outcome".into(), n.outcome.as_str().into());
        e.insert("severity".into(), n.severity.as_str().into());
        e.insert("message".into(), truncate_chars(&n.title, 4096).into());
        if let Some(feature) = n.event.feature() {
            e.insert("feature".into(), feature.into());
        }
        if let Some(source) = n.event.source() {
            e.insert("source".into(), source.into());
        }
        for f in &n.fields {
            let key = if f.key == "id" {
                "spec_id"
            } else {
                f.key.as_str()
            };
            e.insert(key.into(), truncate_chars(&f.value, 4096).into());
        }
        for (k, v) in n.event.data() {
            if e.len() >= 255 {
                break;
            }
            if k.len() > 255 || e.contains_key(k) {
                continue;
            }
            if let Some(v) = attribute(v) {
                e.insert(k.clone(), v);
            }
        }
        if let Some(d) = n
            .event
            .data()
            .get("duration_seconds")
            .or(n.event.data().get("duration"))
            .and_then(Value::as_f64)
        {
            e.insert("durationSec".into(), json!(d));
        }
        json!([e])
    }
}

#[async_trait]
impl Notifier for NewRelicNotifier {
    fn target(&self) -> String {
        format!(
            "{} (account {})",
            self.target.shown(),
            self.config.account_id
        )
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let header = if self.key.expose_secret().starts_with("NRII-") {
            "X-Insert-Key"
        } else {
            "Api-Key"
        };
        let post =
            Post::json(&self.target, &self.events(n)).header(header, self.key.expose_secret())?;
        match post.send(&self.client).await {
            Ok(answer) => {
                let body = answer.json().unwrap_or(Value::Null);
                if body["success"] == false {
                    return Err(NotifyError::rejected(format!(
                        "New Relic refused the events: {}",
                        crate::http::truncate(answer.body.trim(), 300)
                    ))
                    .with_status(answer.status));
                }
                let mut receipt = Receipt::new().with_status(answer.status);
                if let Some(uuid) = body["uuid"].as_str() {
                    receipt = receipt.with_id(uuid);
                }
                Ok(receipt)
            }
            Err(e) => {
                let mut err = classify(&e, &self.target, None).context("New Relic");
                let status = err.status().unwrap_or_default();
                err = match (err.kind(), status) {
                    (NotifyErrorKind::Auth, _) => err.with_hint(
                        "New Relic refused the key: NEW_RELIC_API_KEY must be an INGEST - LICENSE key of this account (or an insert key NRII-…), and EU accounts need `region: eu`",
                    ),
                    (_, 413) => err.with_hint("the events are larger than 1 MB"),
                    (_, 415) => err.with_hint("New Relic expects Content-Type: application/json"),
                    _ => err,
                };
                Err(err)
            }
        }
    }
}

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
            Target::new(base)
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
            client: HttpClient::shared(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_validate_event_types() {
        assert!(valid_event_type("SpecIngestion"));
        assert!(valid_event_type("flowspec:event_1"));
        assert!(!valid_event_type("Spec Ingestion"));
        assert!(!valid_event_type("1Spec"));
    }

    #[test]
    fn should_flatten_attributes() {
        assert_eq!(attribute(&json!(true)), Some(json!("true")));
        assert_eq!(attribute(&json!({"a": 1})), None);
        assert_eq!(attribute(&json!(3)), Some(json!(3)));
    }
}
