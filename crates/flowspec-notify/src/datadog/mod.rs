//! Datadog: an event per notification (`/api/v1/events`) and its metrics
//! (`/api/v2/series`).
//!
//! ```yaml
//! integrations:
//!   datadog:
//!     enabled: true
//!     site: "datadoghq.com"          # datadoghq.eu, us3.datadoghq.com, us5, ap1, ...
//!     send_metrics: true
//!     metric_prefix: "spec_ingestion"
//!     send_events: true
//!     event_tags: ["team:platform", "env:production"]
//!     # api_key: "${DATADOG_API_KEY}"  # the default variable
//! ```
//!
//! The API, header `DD-API-KEY` (the application key
//! `DATADOG_APP_KEY` is not needed to submit, and is never sent):
//! - event: `POST /api/v1/events` with `title`, `text` (Markdown in `%%% … %%%`),
//!   `alert_type` (`error`, `success`, `info`, `warning`), `tags`, `aggregation_key`
//!   (the spec), `source_type_name: flowspec`, `date_happened` → `202`;
//! - metrics, for events that end work (completed or failed outcome):
//!   `POST /api/v2/series` with `<prefix>.processed` (count 1), `<prefix>.success` or
//!   `<prefix>.failure` (count 1), and `<prefix>.duration` (gauge, seconds) when the
//!   event carries `duration_seconds`, `duration` (seconds) or `duration_ms` → `202`.
//!
//! The event is sent first: when metrics then fail, a retry sends the event again
//! (Datadog groups it with the first by `aggregation_key`) rather than counting twice.
//! Errors are `{"errors": ["..."]}`; `403` means a wrong key or site. Points and
//! events carry the event's time, or the time of sending when the event is older than
//! Datadog accepts (an hour for points, 18 hours for events).

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::event::FieldValue;
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError, Severity, WorkOutcome,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use flowspec_http::reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Endpoint, Post, classify_request, truncate_chars};

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{DatadogConfig, site_api};
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{SITES, service_error};

/// Sends events and metrics to Datadog.
pub struct DatadogNotifier {
    base: Endpoint,
    api_key: SecretString,
    config: DatadogConfig,
    client: HttpClient,
}

impl std::fmt::Debug for DatadogNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogNotifier")
            .field("base", &self.base.shown())
            .field("site", &self.config.site)
            .field("send_events", &self.config.send_events)
            .field("send_metrics", &self.config.send_metrics)
            .finish()
    }
}

impl DatadogNotifier {
    fn tags(&self, n: &Notification) -> Vec<String> {
        let mut tags = self.config.event_tags.clone();
        tags.push(format!("event:{}", n.event_name));
        tags.push(format!("outcome:{}", n.outcome));
        tags
    }

    /// The event body for `n`.
    pub fn event(&self, n: &Notification) -> Value {
        let mut text = String::new();
        if !n.summary.trim().is_empty() {
            text.push_str(n.summary.trim());
            text.push('\n');
        }
        for f in &n.fields {
            if f.key == "error" {
                text.push_str(&format!("\n**{}:**\n```\n{}\n```\n", f.label, f.value));
            } else {
                text.push_str(&format!("- **{}:** {}\n", f.label, f.value));
            }
        }
        for l in &n.links {
            text.push_str(&format!("[{}]({})\n", l.title, l.url));
        }
        let alert_type = match (n.outcome, n.severity) {
            (WorkOutcome::Completed, _) => "success",
            (WorkOutcome::Failed, _) | (_, Severity::Error | Severity::Critical) => "error",
            (WorkOutcome::Cancelled, _) | (_, Severity::Warning) => "warning",
            _ => "info",
        };
        let mut tags = self.tags(n);
        if let Some(id) = n.field("id") {
            tags.push(format!("spec_id:{id}"));
        }
        json!({
            "title": truncate_chars(&n.title, 500),
            "text": format!("%%% \n{}\n %%%", truncate_chars(text.trim_end(), 3980)),
            "alert_type": alert_type,
            "priority": "normal",
            "tags": tags,
            "aggregation_key": truncate_chars(&n.dedup_key(), 100),
            "source_type_name": "flowspec",
            "date_happened": recent(n, 17 * 3600),
        })
    }

    /// The series body for `n`, or `None` when the event does not end work.
    pub fn series(&self, n: &Notification) -> Option<Value> {
        let result = match n.outcome {
            WorkOutcome::Completed => "success",
            WorkOutcome::Failed => "failure",
            _ => return None,
        };
        let prefix = &self.config.metric_prefix;
        let timestamp = recent(n, 50 * 60);
        let tags = self.tags(n);
        let count = |name: String| {
            json!({
                "metric": name,
                "type": 1,
                "interval": 10,
                "points": [{"timestamp": timestamp, "value": 1.0}],
                "tags": tags,
            })
        };
        let mut series = vec![
            count(format!("{prefix}.processed")),
            count(format!("{prefix}.{result}")),
        ];
        if let Some(d) = duration_seconds(n) {
            series.push(json!({
                "metric": format!("{prefix}.duration"),
                "type": 3,
                "unit": "second",
                "points": [{"timestamp": timestamp, "value": d}],
                "tags": tags,
            }));
        }
        Some(json!({"series": series}))
    }

    async fn post(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &str,
    ) -> Result<u16, NotifyError> {
        let target = self.base.join(path).map_err(NotifyError::config)?;
        let mut request = match body {
            Some(b) => Post::json(&target, b),
            None => Post::bytes(&target, Vec::new(), "application/json"),
        };
        request.method = method.clone();
        let request = request.header("DD-API-KEY", self.api_key.expose_secret())?;
        match request.send(&self.client).await {
            Ok(answer) => Ok(answer.status),
            Err(e) => {
                let service = e.body().and_then(service_error);
                let mut err = classify_request(&e, &method, &target, service)
                    .context(format!("Datadog {step}"));
                match err.kind() {
                    NotifyErrorKind::Auth => {
                        err = err.with_hint(format!(
                            "Datadog refused DATADOG_API_KEY on site `{}`: check the key (Organization Settings → API Keys) and that `site` is the account's site",
                            self.config.site
                        ));
                    }
                    NotifyErrorKind::Rejected => {
                        err = err.with_hint(
                            "Datadog refused the payload (tags, metric names or timestamps)",
                        );
                    }
                    _ => {}
                }
                Err(err)
            }
        }
    }
}

#[async_trait]
impl Notifier for DatadogNotifier {
    fn target(&self) -> String {
        self.base.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let mut receipt = Receipt::new();
        if self.config.send_events {
            let status = self
                .post(
                    Method::POST,
                    "api/v1/events",
                    Some(&self.event(n)),
                    "post the event",
                )
                .await?;
            receipt = receipt.with_status(status).with_detail("event", true);
        }
        if self.config.send_metrics
            && let Some(series) = self.series(n)
        {
            let count = series["series"].as_array().map_or(0, Vec::len);
            let status = self
                .post(
                    Method::POST,
                    "api/v2/series",
                    Some(&series),
                    "submit the metrics",
                )
                .await?;
            receipt = receipt.with_status(status).with_detail("metrics", count);
        }
        Ok(receipt)
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        self.post(Method::GET, "api/v1/validate", None, "validate the API key")
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowspec_core::Event;

    fn at(seconds_ago: i64) -> Notification {
        let ts = chrono::Utc::now() - chrono::Duration::seconds(seconds_ago);
        let event = Event::builder("implement.failed")
            .timestamp(ts)
            .build()
            .unwrap();
        crate::template::default_notification(&event)
    }

    #[test]
    fn should_keep_recent_times_and_replace_old_ones() {
        let recent_one = at(120);
        assert_eq!(
            recent(&recent_one, 3600),
            recent_one.event.timestamp().timestamp()
        );
        let old = at(7200);
        assert!((recent(&old, 3600) - chrono::Utc::now().timestamp()).abs() < 5);
    }

    #[test]
    fn should_read_durations_in_seconds_or_milliseconds() {
        let event = Event::builder("implement.completed")
            .field("duration_ms", 2500)
            .build()
            .unwrap();
        let n = crate::template::default_notification(&event);
        assert_eq!(duration_seconds(&n), Some(2.5));
    }
}
