//! Datadog: an event per notification (`/api/v1/events`) and the seed's metrics
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
//! Contract (contracts.md B11), header `DD-API-KEY` (the application key
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
    Outcome, Receipt, SecretVar, ServiceError, Severity,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use flowspec_http::reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Post, Target, classify_request, truncate_chars};

const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "DATADOG_API_KEY",
    "API key",
    "0123456789abcdef0123456789abcdef",
);
const APP_KEY: SecretVar = SecretVar::optional(
    "app_key",
    "DATADOG_APP_KEY",
    "Application key (not needed to submit events and metrics; read only to mask it)",
    "fedcba9876543210fedcba9876543210fedcba98",
);

/// Datadog sites and their API hosts (contracts.md B11), with short names.
pub const SITES: &[(&str, &str, &str)] = &[
    ("datadoghq.com", "us1", "https://api.datadoghq.com"),
    ("us3.datadoghq.com", "us3", "https://api.us3.datadoghq.com"),
    ("us5.datadoghq.com", "us5", "https://api.us5.datadoghq.com"),
    ("datadoghq.eu", "eu1", "https://api.datadoghq.eu"),
    ("ap1.datadoghq.com", "ap1", "https://api.ap1.datadoghq.com"),
    ("ap2.datadoghq.com", "ap2", "https://api.ap2.datadoghq.com"),
    ("ddog-gov.com", "us1-fed", "https://api.ddog-gov.com"),
    (
        "us2.ddog-gov.com",
        "us2-fed",
        "https://api.us2.ddog-gov.com",
    ),
    ("uk1.datadoghq.com", "uk1", "https://api.uk1.datadoghq.com"),
];

/// The API host of a site (`datadoghq.eu`, `app.datadoghq.eu`, or a short name
/// such as `eu`, `us3`, `ap1`).
///
/// ```
/// use flowspec_notify::datadog::site_api;
/// assert_eq!(site_api("datadoghq.eu"), Some("https://api.datadoghq.eu"));
/// assert_eq!(site_api("us5"), Some("https://api.us5.datadoghq.com"));
/// assert_eq!(site_api("datadoghq.org"), None);
/// ```
pub fn site_api(site: &str) -> Option<&'static str> {
    let site = site.trim().to_ascii_lowercase();
    let site = site
        .trim_start_matches("https://")
        .trim_start_matches("app.")
        .trim_start_matches("api.")
        .trim_end_matches('/');
    let site = if site == "eu" {
        "eu1"
    } else if site == "us" {
        "us1"
    } else {
        site
    };
    SITES
        .iter()
        .find(|(full, short, _)| *full == site || *short == site)
        .map(|(_, _, api)| *api)
}

/// `integrations.datadog` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogConfig {
    /// The API key as `${VAR}` (default: `DATADOG_API_KEY`). Example: `"${DATADOG_API_KEY}"`.
    pub api_key: Option<String>,
    /// The application key as `${VAR}` (default: `DATADOG_APP_KEY`); optional, never
    /// sent. Example: `"${DATADOG_APP_KEY}"`.
    pub app_key: Option<String>,
    /// The Datadog site (default `datadoghq.com`). Example: `"datadoghq.eu"`.
    #[serde(default = "default_site")]
    pub site: String,
    /// Whether to send the metrics (default true). Example: `true`.
    #[serde(default = "yes")]
    pub send_metrics: bool,
    /// The metrics' prefix (default `flowspec`). Example: `"spec_ingestion"`.
    #[serde(default = "default_prefix")]
    pub metric_prefix: String,
    /// Whether to send an event per notification (default true). Example: `true`.
    #[serde(default = "yes")]
    pub send_events: bool,
    /// Tags of events and metrics. Example: `["team:platform", "env:production"]`.
    #[serde(default)]
    pub event_tags: Vec<String>,
    /// Replaces the site's API host (a proxy, a mock). Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

fn default_site() -> String {
    "datadoghq.com".to_owned()
}

fn default_prefix() -> String {
    "flowspec".to_owned()
}

fn yes() -> bool {
    true
}

/// Sends events and metrics to Datadog.
pub struct DatadogNotifier {
    base: Target,
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

/// The event's time (epoch seconds), or now when it is older than `max_age` or in
/// the future: Datadog refuses events older than 18 hours and metric points older than
/// an hour (a notification replayed from the dead letters later is still counted).
fn recent(n: &Notification, max_age: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let at = n.event.timestamp().timestamp();
    if at > now || now - at > max_age {
        now
    } else {
        at
    }
}

/// The duration an event reports, in seconds.
fn duration_seconds(n: &Notification) -> Option<f64> {
    let number = |path: &str| match n.event.field(path)? {
        FieldValue::Json(Value::Number(x)) => x.as_f64(),
        FieldValue::Json(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    number("duration_seconds")
        .or_else(|| number("duration"))
        .or_else(|| number("duration_ms").map(|ms| ms / 1000.0))
        .filter(|d| d.is_finite() && *d >= 0.0)
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
            (Outcome::Completed, _) => "success",
            (Outcome::Failed, _) | (_, Severity::Error | Severity::Critical) => "error",
            (Outcome::Cancelled, _) | (_, Severity::Warning) => "warning",
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
            Outcome::Completed => "success",
            Outcome::Failed => "failure",
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

/// Datadog's error body: `{"errors": ["..."]}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let mut errors = v
        .get("errors")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned);
    let mut service = ServiceError::new(errors.next()?);
    for e in errors {
        service = service.with_detail(e);
    }
    Some(service)
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
            Target::new(api)
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
            client: HttpClient::shared(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
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
