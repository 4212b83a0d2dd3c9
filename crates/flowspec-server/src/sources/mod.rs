//! Where events come from: one file per source, the same shape each.
//!
//! | source | path | authentication | delivery id (replay protection) |
//! |---|---|---|---|
//! | [`events`] | `POST /events` | bearer token, `X-Signature-256` HMAC, or Standard Webhooks | `webhook-id`, `Idempotency-Key`, or the signature |
//! | [`github`] | `POST /webhooks/github` | `X-Hub-Signature-256` HMAC | `X-GitHub-Delivery` |
//! | [`gitlab`] | `POST /webhooks/gitlab` | `X-Gitlab-Token` | `Idempotency-Key` / `X-Gitlab-Event-UUID` |
//! | [`circleci`] | `POST /webhooks/circleci` | `circleci-signature: v1=<hex>` HMAC | the payload's `id` |
//! | [`jenkins`] | `POST /webhooks/jenkins` | token in `X-Flowspec-Token` or `?token=` | — |
//!
//! A source authenticates a request (constant-time comparisons; nothing about the
//! secret in the answer) and maps its body to flowspec events.

pub mod circleci;
pub mod events;
pub mod github;
pub mod gitlab;
pub mod jenkins;

use axum::http::{HeaderMap, StatusCode};
use flowspec_core::Event;

use crate::config::{ServerConfig, UnknownEvents};

/// What a source sees of a request.
#[derive(Debug)]
pub struct Request<'a> {
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received (signatures cover these bytes).
    pub body: &'a [u8],
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// Now, in Unix seconds (injectable for tests of timestamp tolerance).
    pub now: i64,
}

impl Request<'_> {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// A query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }
}

/// Why a request is refused. The message is for the sender: it names what is wrong,
/// never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code for scripts and metrics (`bad_signature`, `missing_signature`...).
    pub code: &'static str,
    /// A human message.
    pub message: String,
}

impl Reject {
    /// 401: missing or wrong credentials.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status: StatusCode::UNAUTHORIZED,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

/// What a body becomes.
#[derive(Debug)]
pub enum Decoded {
    /// Events to store and dispatch.
    Events(Vec<Event>),
    /// Nothing to do (an unknown kind with `unknown_events: ignore`, a ping).
    Ignored(String),
}

/// One intake source.
pub trait Source: Send + Sync {
    /// The name (`github`), used in metrics, logs and the `source` field of events.
    fn name(&self) -> &'static str;

    /// The path it is served on.
    fn path(&self) -> &'static str;

    /// How it authenticates, for the startup line.
    fn scheme(&self) -> String;

    /// Checks the credentials; returns the delivery id used against replays, if any.
    fn authenticate(&self, request: &Request<'_>) -> Result<Option<String>, Reject>;

    /// Maps the body to events.
    fn decode(&self, request: &Request<'_>, unknown: UnknownEvents) -> Result<Decoded, Reject>;
}

/// The sources that have a secret configured.
pub fn enabled(config: &ServerConfig) -> Vec<Box<dyn Source>> {
    let s = &config.sources;
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if s.events.is_configured() {
        sources.push(Box::new(events::EventsSource::new(
            s.events.clone(),
            config.timestamp_tolerance,
        )));
    }
    if let Some(secret) = &s.github {
        sources.push(Box::new(github::GithubSource::new(secret.clone())));
    }
    if let Some(token) = &s.gitlab {
        sources.push(Box::new(gitlab::GitlabSource::new(token.clone())));
    }
    if let Some(secret) = &s.circleci {
        sources.push(Box::new(circleci::CircleciSource::new(secret.clone())));
    }
    if let Some(token) = &s.jenkins {
        sources.push(Box::new(jenkins::JenkinsSource::new(token.clone())));
    }
    sources
}

/// Parses a JSON body, with the position of a syntax error.
pub(crate) fn json_body(body: &[u8]) -> Result<serde_json::Value, Reject> {
    serde_json::from_slice(body).map_err(|e| {
        Reject::bad_request(
            "bad_json",
            format!(
                "the body is not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// A string field of a JSON object, by dotted path.
pub(crate) fn text<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(value, |v, key| v.get(key))?
        .as_str()
}

/// Builds an event from mapped fields: the type, then `fields` at the top level, and
/// the whole original payload under `payload` so hooks can read anything.
pub(crate) fn mapped_event(
    event_type: &str,
    source: &str,
    id: Option<String>,
    fields: serde_json::Map<String, serde_json::Value>,
    payload: serde_json::Value,
) -> Result<Event, Reject> {
    let mut builder = Event::builder(event_type)
        .source(source)
        .fields(fields)
        .field("payload", payload);
    if let Some(id) = id {
        builder = builder.id(id);
    }
    builder.build().map_err(|e| {
        Reject::bad_request(
            "bad_event",
            format!("cannot map the payload to an event: {e}"),
        )
    })
}

/// Turns a webhook kind (`workflow_job`, `Pipeline Hook`) into an event type segment.
pub(crate) fn segment(kind: &str) -> String {
    let cleaned: String = kind
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('_');
    if trimmed.is_empty() {
        "unknown".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Copies a present, non-null JSON value into the event's fields.
pub(crate) fn put_field(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: Option<&serde_json::Value>,
) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        fields.insert(key.to_owned(), v.clone());
    }
}

/// Whether a commit id is all zeros: what forges send as `after` for a deleted branch.
pub(crate) fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Whole seconds between two RFC 3339 times.
pub(crate) fn duration_secs(start: Option<&str>, end: Option<&str>) -> Option<i64> {
    let start = chrono::DateTime::parse_from_rfc3339(start?).ok()?;
    let end = chrono::DateTime::parse_from_rfc3339(end?).ok()?;
    Some((end - start).num_seconds()).filter(|s| *s >= 0)
}
