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
//! The API: `POST
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

use crate::http::{Endpoint, Post, classify, truncate_chars};

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{NewRelicConfig, Region};
pub use self::factory::Factory;
use self::wire::*;

/// Sends custom events to one New Relic account.
pub struct NewRelicNotifier {
    target: Endpoint,
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
