//! Sentry: reports failures as Sentry events, in an envelope sent to the project of
//! the DSN.
//!
//! ```yaml
//! integrations:
//!   sentry:
//!     enabled: true
//!     environment: "production"
//!     report_on:
//!       - "implementation_failed"
//!       - "validation_failed"
//!     # release: "app@1.2.3"          # default: the event's `release` or `version` field
//!     # dsn: "${SENTRY_DSN}"          # the default variable
//! ```
//!
//! Contract (contracts.md B13): the DSN `https://<public key>@<host>[/<path>]/<project id>`
//! gives the endpoint `POST https://<host>[/<path>]/api/<project id>/envelope/` and the
//! header `X-Sentry-Auth: Sentry sentry_version=7, sentry_client=flowspec/<version>,
//! sentry_key=<public key>`; the body (`application/x-sentry-envelope`) is three lines:
//! the envelope header, the item header `{"type":"event",...}`, and the event
//! (`event_id`, `level`, `environment`, `release`, `message`, `exception` with the
//! error, `tags`, `extra`, and a `fingerprint` that groups the reports of one spec and
//! event type).
//!
//! Rate limits: a `429` waits `X-Sentry-Rate-Limits` (which wins), else `Retry-After`,
//! else 60 s; `X-Sentry-Rate-Limits` on a `200` is honoured too. While the `error`
//! category is limited, notifications are not sent: they fail at once as rate limited
//! with the remaining wait, for the delivery layer to retry or drop.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::event::FieldValue;
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, Severity,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use flowspec_http::reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::http::{Post, Target, classify, truncate_chars};

const DSN: SecretVar = SecretVar::required(
    "dsn",
    "SENTRY_DSN",
    "Data source name (Project Settings → Client Keys)",
    "https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/4505",
);

/// The wait after a `429` that names none.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// `integrations.sentry` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentryConfig {
    /// The DSN as `${VAR}` (default: `SENTRY_DSN`). Example: `"${SENTRY_DSN}"`.
    pub dsn: Option<String>,
    /// The `environment` of the reports (default: the event's `environment` field).
    /// Example: `"production"`.
    pub environment: Option<String>,
    /// The `release` (default: the event's `release` or `version` field).
    /// Example: `"app@1.2.3"`.
    pub release: Option<String>,
    /// Replaces scheme, host and port of the DSN's endpoint (a relay, a mock).
    /// Example: `"http://127.0.0.1:9000"`.
    pub api_url: Option<String>,
}

/// The parts of a DSN.
#[derive(Clone)]
pub struct Dsn {
    /// The public key (`sentry_key`).
    pub public_key: String,
    secret_key: Option<SecretString>,
    /// The project id.
    pub project_id: String,
    /// The envelope endpoint.
    pub envelope_url: String,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsn")
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

impl Dsn {
    /// Parses `{PROTOCOL}://{PUBLIC_KEY}[:{SECRET_KEY}]@{HOST}{PATH}/{PROJECT_ID}`.
    /// Errors never contain the DSN.
    ///
    /// ```
    /// use flowspec_notify::sentry::Dsn;
    /// let dsn = Dsn::parse("https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/4505").unwrap();
    /// assert_eq!(dsn.project_id, "4505");
    /// assert_eq!(dsn.envelope_url, "https://o123.ingest.sentry.io/api/4505/envelope/");
    /// let hosted = Dsn::parse("https://key@sentry.example.com/sentry/7").unwrap();
    /// assert_eq!(hosted.envelope_url, "https://sentry.example.com/sentry/api/7/envelope/");
    /// ```
    pub fn parse(dsn: &str) -> Result<Dsn, String> {
        let url = url::Url::parse(dsn.trim()).map_err(|_| {
            "the DSN is not a URL (expected https://<key>@<host>/<project id>)".to_owned()
        })?;
        if url.username().is_empty() {
            return Err(
                "the DSN has no public key (expected https://<key>@<host>/<project id>)".into(),
            );
        }
        let host = url
            .host_str()
            .ok_or_else(|| "the DSN has no host".to_owned())?;
        let mut segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let project_id = segments
            .pop()
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| "the DSN does not end with a numeric project id".to_owned())?
            .to_owned();
        let prefix: String = segments.iter().map(|s| format!("/{s}")).collect();
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Dsn {
            public_key: url.username().to_owned(),
            secret_key: url.password().map(|p| SecretString::from(p.to_owned())),
            envelope_url: format!(
                "{}://{host}{port}{prefix}/api/{project_id}/envelope/",
                url.scheme()
            ),
            project_id,
        })
    }

    /// The `X-Sentry-Auth` header value.
    pub fn auth_header(&self) -> String {
        let mut header = format!(
            "Sentry sentry_version=7, sentry_client=flowspec/{}, sentry_key={}",
            env!("CARGO_PKG_VERSION"),
            self.public_key
        );
        if let Some(secret) = &self.secret_key {
            header.push_str(&format!(", sentry_secret={}", secret.expose_secret()));
        }
        header
    }
}

/// Reports notifications to one Sentry project.
pub struct SentryNotifier {
    target: Target,
    auth: SecretString,
    config: SentryConfig,
    client: HttpClient,
    limited_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SentryNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryNotifier")
            .field("target", &self.target.shown())
            .field("environment", &self.config.environment)
            .finish()
    }
}

/// The Sentry `event_id` of `n`: its event id without dashes when it is a UUID, else
/// derived from it. The same event always gets the same id, so Sentry drops a
/// repeated report.
pub fn event_id(n: &Notification) -> String {
    let id = n.event.id().as_str();
    match uuid::Uuid::parse_str(id) {
        Ok(u) => u.simple().to_string(),
        Err(_) => Sha256::digest(id.as_bytes())[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

fn text_field(n: &Notification, path: &str) -> Option<String> {
    match n.event.field(path)? {
        FieldValue::Str(s) => Some(s.to_owned()),
        FieldValue::Json(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        FieldValue::Json(Value::Number(x)) => Some(x.to_string()),
        _ => None,
    }
}

/// The longest wait `X-Sentry-Rate-Limits` asks for the `error` category (an entry
/// without categories applies to all).
///
/// ```
/// use std::time::Duration;
/// use flowspec_notify::sentry::error_rate_limit;
/// let h = "60:error;transaction:organization:quota_exceeded, 2700::project";
/// assert_eq!(error_rate_limit(h), Some(Duration::from_secs(2700)));
/// assert_eq!(error_rate_limit("30:transaction:key"), None);
/// ```
pub fn error_rate_limit(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.trim().split(':');
            let secs = parts.next()?.trim().parse::<f64>().ok()?;
            let categories = parts.next().unwrap_or("");
            let applies = categories.trim().is_empty()
                || categories
                    .split(';')
                    .any(|c| matches!(c.trim(), "error" | "default"));
            (applies && secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
        })
        .max()
}

impl SentryNotifier {
    /// The event payload for `n`.
    pub fn event(&self, n: &Notification) -> Value {
        let level = match n.severity {
            Severity::Critical => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut tags = Map::new();
        tags.insert("event".into(), n.event_name.clone().into());
        tags.insert("event_type".into(), n.event.event_type().as_str().into());
        tags.insert("outcome".into(), n.outcome.as_str().into());
        for key in ["id", "branch", "pr"] {
            if let Some(v) = n.field(key) {
                let name = if key == "id" { "spec_id" } else { key };
                tags.insert(name.into(), truncate_chars(v, 200).into());
            }
        }
        if let Some(feature) = n.event.feature() {
            tags.insert("feature".into(), truncate_chars(feature, 200).into());
        }
        let mut extra = Map::new();
        for f in &n.fields {
            extra.insert(f.label.clone(), f.value.clone().into());
        }
        for l in &n.links {
            extra.insert(l.title.clone(), l.url.clone().into());
        }
        extra.insert("event_id".into(), n.event.id().as_str().into());
        let mut fingerprint = vec![
            "flowspec".to_owned(),
            n.event.event_type().as_str().to_owned(),
        ];
        if let Some(subject) = &n.subject {
            fingerprint.push(subject.clone());
        }
        let mut event = json!({
            "event_id": event_id(n),
            "timestamp": n.event.timestamp_rfc3339(),
            "platform": "other",
            "level": level,
            "logger": "flowspec",
            "message": {"formatted": truncate_chars(&n.to_text(), 8192)},
            "tags": tags,
            "extra": extra,
            "fingerprint": fingerprint,
        });
        if let Some(error) = n.field("error") {
            event["exception"] = json!({"values": [{
                "type": n.event_name,
                "value": truncate_chars(error, 8192),
            }]});
        }
        let environment = self
            .config
            .environment
            .clone()
            .or_else(|| text_field(n, "environment"));
        if let Some(env) = environment {
            event["environment"] = env.into();
        }
        let release = self
            .config
            .release
            .clone()
            .or_else(|| text_field(n, "release"))
            .or_else(|| text_field(n, "version"));
        if let Some(release) = release {
            event["release"] = release.into();
        }
        event
    }

    /// The envelope for `n`, sent at `sent_at` (RFC 3339).
    pub fn envelope(&self, n: &Notification, sent_at: &str) -> Vec<u8> {
        let event = serde_json::to_string(&self.event(n)).unwrap_or_default();
        let header = json!({"event_id": event_id(n), "sent_at": sent_at});
        let item =
            json!({"type": "event", "content_type": "application/json", "length": event.len()});
        format!("{header}\n{item}\n{event}\n").into_bytes()
    }

    fn limit(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut limited = self.limited_until.lock().unwrap_or_else(|e| e.into_inner());
        if limited.is_none_or(|u| u < until) {
            *limited = Some(until);
        }
    }

    fn remaining_limit(&self) -> Option<Duration> {
        let mut limited = self.limited_until.lock().unwrap_or_else(|e| e.into_inner());
        match *limited {
            Some(until) if until > Instant::now() => Some(until - Instant::now()),
            Some(_) => {
                *limited = None;
                None
            }
            None => None,
        }
    }

    fn limit_from(&self, headers: &HeaderMap) {
        if let Some(wait) = headers
            .get("x-sentry-rate-limits")
            .and_then(|v| v.to_str().ok())
            .and_then(error_rate_limit)
        {
            self.limit(wait);
        }
    }
}

#[async_trait]
impl Notifier for SentryNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        if let Some(wait) = self.remaining_limit() {
            return Err(NotifyError::rate_limited(
                format!(
                    "Sentry: not sent to {}: Sentry's rate limit for errors is in effect",
                    self.target.shown()
                ),
                Some(wait),
            ));
        }
        let sent_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let post = Post::bytes(
            &self.target,
            self.envelope(n, &sent_at),
            "application/x-sentry-envelope",
        )
        .header("X-Sentry-Auth", self.auth.expose_secret())?;
        match post.send(&self.client).await {
            Ok(answer) => {
                self.limit_from(&answer.headers);
                let id = answer
                    .json()
                    .and_then(|v| v["id"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| event_id(n));
                Ok(Receipt::new().with_status(answer.status).with_id(id))
            }
            Err(e) => {
                let mut err = classify(&e, &self.target, None).context("Sentry");
                if e.status().map(|s| s.as_u16()) == Some(429) {
                    let wait = e
                        .header("x-sentry-rate-limits")
                        .and_then(error_rate_limit)
                        .or(e.retry_after())
                        .unwrap_or(DEFAULT_WAIT);
                    self.limit(wait);
                    err = err
                        .with_kind(NotifyErrorKind::RateLimited)
                        .with_retry_after(wait);
                }
                if err.kind() == NotifyErrorKind::Auth {
                    err = err.with_hint("Sentry refused the DSN's key: copy the DSN again from Project Settings → Client Keys into SENTRY_DSN");
                }
                Err(err)
            }
        }
    }
}

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
        let target = Target::with_api_url(&dsn.envelope_url, parsed.api_url.as_deref())
            .map_err(|m| cx.error(config.get("api_url").or(config.get("dsn")), "dsn", m))?;
        let notifier = SentryNotifier {
            target,
            auth: SecretString::from(dsn.auth_header()),
            config: parsed,
            client: HttpClient::shared(),
            limited_until: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_refuse_dsns_without_key_or_project() {
        assert!(Dsn::parse("https://o1.ingest.sentry.io/4505").is_err());
        assert!(Dsn::parse("https://k@o1.ingest.sentry.io/").is_err());
        let err = Dsn::parse("not a dsn with secret-ish text").unwrap_err();
        assert!(!err.contains("secret-ish"));
    }

    #[test]
    fn should_derive_a_stable_event_id_from_any_event_id() {
        let event = flowspec_core::Event::builder("implement.failed")
            .id("ci-run-812")
            .build()
            .unwrap();
        let n = crate::template::default_notification(&event);
        let id = event_id(&n);
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(id, event_id(&n));
    }

    #[test]
    fn should_add_the_secret_of_legacy_dsns() {
        let dsn = Dsn::parse("https://pub:priv@sentry.example.com:9000/3").unwrap();
        assert_eq!(
            dsn.envelope_url,
            "https://sentry.example.com:9000/api/3/envelope/"
        );
        assert!(
            dsn.auth_header()
                .ends_with("sentry_key=pub, sentry_secret=priv")
        );
        assert!(!format!("{dsn:?}").contains("priv"));
    }
}
