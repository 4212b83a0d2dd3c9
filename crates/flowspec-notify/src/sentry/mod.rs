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
//! The API: the DSN `https://<public key>@<host>[/<path>]/<project id>`
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

use crate::http::{Endpoint, Post, classify, truncate_chars};

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{Dsn, SentryConfig};
pub use self::factory::Factory;
use self::wire::*;
pub use self::wire::{error_rate_limit, event_id};

/// Reports notifications to one Sentry project.
pub struct SentryNotifier {
    target: Endpoint,
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
