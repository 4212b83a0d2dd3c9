//! Where events come from: one file per source, the same shape each, and one table,
//! [`SOURCES`], that declares each source once: its name, path, authentication and
//! the variables its credentials are read from.
//!
//! | source | path | authentication | replay key (refused again within `replay_window`) |
//! |---|---|---|---|
//! | [`events`] | `POST /events` | bearer token, `X-Signature-256` HMAC, or Standard Webhooks | `webhook-id`; the body's SHA-256 for `X-Signature-256`; `Idempotency-Key` with a bearer token |
//! | [`github`] | `POST /webhooks/github` | `X-Hub-Signature-256` HMAC | the body's SHA-256 (`X-GitHub-Delivery`, required, makes the event id) |
//! | [`gitlab`] | `POST /webhooks/gitlab` | `X-Gitlab-Token` | `Idempotency-Key` / `X-Gitlab-Event-UUID` |
//! | [`circleci`] | `POST /webhooks/circleci` | `circleci-signature: v1=<hex>` HMAC | the payload's `id` |
//! | [`jenkins`] | `POST /webhooks/jenkins` | token in `X-Flowspec-Token` or `?token=` | — |
//!
//! Ids are namespaced per source: every event a forge source maps has the id
//! `<source>-<delivery>` (`github-72d3…`, `jenkins-app-58-completed`; a generated one
//! when the delivery has none), and `/events` may neither use those prefixes nor claim
//! a forge's `source`, so one source can never take another's ids.
//!
//! Each source's variables are in its [`SourceKind`] (`github::KIND.credentials`);
//! [`default_variables`] lists them all.
//!
//! A source authenticates a request (constant-time comparisons; nothing about the
//! secret in the answer) and maps its body to flowspec events. Adding one is a file
//! here (a [`SourceKind`] constant and a [`Source`] implementation) and a line in
//! [`SOURCES`].

pub mod circleci;
pub mod events;
pub mod github;
pub mod gitlab;
pub mod jenkins;

use axum::http::{HeaderMap, StatusCode};
use flowspec_core::Event;

use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// Every source the server knows, each declared once.
pub const SOURCES: &[&SourceKind] = &[
    &events::KIND,
    &github::KIND,
    &gitlab::KIND,
    &circleci::KIND,
    &jenkins::KIND,
];

/// A source as declared in [`SOURCES`].
#[derive(Debug)]
pub struct SourceKind {
    /// The name (`github`): the key under `server.sources`, and the `source` of its
    /// events, metrics and logs.
    pub name: &'static str,
    /// The path it is served on (`/webhooks/github`).
    pub path: &'static str,
    /// How it authenticates, in a few words (`X-Hub-Signature-256 HMAC`).
    pub scheme: &'static str,
    /// Its credentials: the keys of its section, each with its default variable.
    pub credentials: &'static [Credential],
    /// Builds the source from its resolved credentials.
    /// Builds the source from its resolved credentials (`None` without the ones it
    /// needs).
    pub build: fn(&Credentials, &ServerConfig) -> Option<Box<dyn Source>>,
}

impl SourceKind {
    /// The source named `name`.
    pub fn named(name: &str) -> Option<&'static SourceKind> {
        SOURCES.iter().copied().find(|k| k.name == name)
    }

    /// The default variables of its credentials (`GITHUB_WEBHOOK_SECRET`).
    pub fn variables(&self) -> impl Iterator<Item = &'static str> {
        self.credentials.iter().filter_map(|c| c.variable)
    }
}

/// Checks a credential's value; the error says what is wrong without the value.
pub type CheckValue = fn(&str) -> Result<(), String>;

/// One credential of a source: a key of its `server.sources.<name>` section.
#[derive(Debug)]
pub struct Credential {
    /// The key (`secret`, `token`, `signing_keys`).
    pub key: &'static str,
    /// The variable read when the section does not write the key.
    pub variable: Option<&'static str>,
    /// Whether the key takes a list (several keys for rotation).
    pub list: bool,
    /// Checks a value when the config is read (a malformed signing key); the message
    /// says what is wrong without the value.
    pub check: Option<CheckValue>,
}

impl Credential {
    /// A single secret read from `variable` unless written.
    pub const fn secret(key: &'static str, variable: &'static str) -> Self {
        Credential {
            key,
            variable: Some(variable),
            list: false,
            check: None,
        }
    }
}

/// Every source's default variables, for messages (`GITHUB_WEBHOOK_SECRET, …`).
pub fn default_variables() -> String {
    SOURCES
        .iter()
        .flat_map(|k| k.variables())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a source sees of a request.
#[derive(Debug)]
pub struct IncomingRequest<'a> {
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received (signatures cover these bytes).
    pub body: &'a [u8],
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// Now, in Unix seconds (injectable for tests of timestamp tolerance).
    pub now: i64,
}

impl IncomingRequest<'_> {
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
    /// Its declaration in [`SOURCES`].
    fn kind(&self) -> &'static SourceKind;

    /// The name (`github`), used in metrics, logs and the `source` field of events.
    fn name(&self) -> &'static str {
        self.kind().name
    }

    /// The path it is served on.
    fn path(&self) -> &'static str {
        self.kind().path
    }

    /// How it authenticates, for the startup line.
    fn scheme(&self) -> String {
        self.kind().scheme.to_owned()
    }

    /// Checks the credentials; returns the key used against replays, if any (a signed
    /// delivery id, or the digest of a signed body): a key seen within
    /// `replay_window` is refused with `409 replayed`.
    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject>;

    /// Maps the body to events.
    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        unknown: UnknownEvents,
    ) -> Result<Decoded, Reject>;
}

/// The sources that have a credential configured, in [`SOURCES`] order. Warns (in
/// the log) about each of their secrets shorter than [`MIN_SECRET_BYTES`].
pub fn enabled(config: &ServerConfig) -> Vec<Box<dyn Source>> {
    for warning in short_secrets(config) {
        tracing::warn!(
            message = "A source secret is short enough to be guessed.",
            key_path = %warning.key_path,
            hint = %warning.hint(),
        );
    }
    SOURCES
        .iter()
        .filter_map(|kind| {
            let credentials = config.sources.get(kind.name)?;
            (kind.build)(credentials, config)
        })
        .collect()
}

/// Secrets shorter than this many bytes are reported when the server starts.
pub const MIN_SECRET_BYTES: usize = 16;

/// A source secret shorter than [`MIN_SECRET_BYTES`], named by its key path, never by
/// its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortSecret {
    /// Where it is configured (`server.sources.github.secret`,
    /// `server.sources.events.signing_keys[1]`).
    pub key_path: String,
}

impl ShortSecret {
    /// What to do about it.
    pub fn hint(&self) -> String {
        format!(
            "use at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32` \
             (Standard Webhooks keys: `whsec_` and the base64 of 24 to 64 random bytes)"
        )
    }
}

impl std::fmt::Display for ShortSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is shorter than {MIN_SECRET_BYTES} bytes and can be guessed: {}",
            self.key_path,
            self.hint()
        )
    }
}

/// The configured source secrets shorter than [`MIN_SECRET_BYTES`] (for a Standard
/// Webhooks key, its decoded bytes), in [`SOURCES`] order, then `server.metrics_token`.
pub fn short_secrets(config: &ServerConfig) -> Vec<ShortSecret> {
    use flowspec_core::secret::ExposeSecret;
    let mut short = Vec::new();
    for kind in SOURCES {
        let Some(credentials) = config.sources.get(kind.name) else {
            continue;
        };
        for credential in kind.credentials {
            let values = credentials.all(credential.key);
            for (i, value) in values.iter().enumerate() {
                let value = value.expose_secret();
                let bytes = if credential.key == "signing_keys" {
                    flowspec_http::signature::SigningKey::parse(value).map_or(0, |k| k.byte_len())
                } else {
                    value.len()
                };
                if bytes < MIN_SECRET_BYTES {
                    let key_path = if credential.list {
                        format!("server.sources.{}.{}[{i}]", kind.name, credential.key)
                    } else {
                        format!("server.sources.{}.{}", kind.name, credential.key)
                    };
                    short.push(ShortSecret { key_path });
                }
            }
        }
    }
    if let Some(token) = &config.metrics_token
        && token.expose_secret().len() < MIN_SECRET_BYTES
    {
        short.push(ShortSecret {
            key_path: "server.metrics_token".to_owned(),
        });
    }
    short
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
/// the whole original payload under `payload` so hooks can read anything. The id is
/// `<source>-<delivery>`, or `<source>-<generated>` without a delivery: each source's
/// ids start with its name.
pub(crate) fn mapped_event(
    event_type: &str,
    source: &str,
    delivery: Option<String>,
    fields: serde_json::Map<String, serde_json::Value>,
    payload: serde_json::Value,
) -> Result<Event, Reject> {
    let delivery =
        delivery.unwrap_or_else(|| flowspec_core::event::EventId::generate().to_string());
    Event::builder(event_type)
        .source(source)
        .fields(fields)
        .field("payload", payload)
        .id(format!("{source}-{delivery}"))
        .build()
        .map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str, &str)]) -> ServerConfig {
        let mut config = ServerConfig::default();
        for (source, key, value) in pairs {
            config
                .sources
                .set(source, key, (*value).to_owned().into())
                .unwrap();
        }
        config
    }

    #[test]
    fn should_report_short_source_secrets_by_key_path_never_by_value() {
        let mut config = config(&[
            ("github", "secret", "hunter2"),
            ("gitlab", "token", "a-long-enough-gitlab-token"),
            ("jenkins", "token", "fifteen-bytes!!"),
            ("events", "token", "sixteen-bytes-ok"),
            // 12 bytes once decoded, then 32.
            ("events", "signing_keys", "whsec_c2hvcnQta2V5LTEy"),
            (
                "events",
                "signing_keys",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
        ]);
        config.metrics_token = Some("short".to_owned().into());
        let short = short_secrets(&config);
        let paths: Vec<&str> = short.iter().map(|s| s.key_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "server.sources.events.signing_keys[0]",
                "server.sources.github.secret",
                "server.sources.jenkins.token",
                "server.metrics_token",
            ]
        );
        let text = short[1].to_string();
        assert_eq!(
            text,
            "`server.sources.github.secret` is shorter than 16 bytes and can be guessed: use at least 16 random bytes, e.g. `openssl rand -hex 32` (Standard Webhooks keys: `whsec_` and the base64 of 24 to 64 random bytes)"
        );
        for s in &short {
            for secret in ["hunter2", "fifteen-bytes!!", "c2hvcnQta2V5LTEy"] {
                assert!(!s.to_string().contains(secret), "{s}");
            }
        }
    }

    #[test]
    fn should_declare_each_source_once_with_its_own_path() {
        for (i, kind) in SOURCES.iter().enumerate() {
            assert!(
                SOURCES[..i]
                    .iter()
                    .all(|o| o.name != kind.name && o.path != kind.path)
            );
            assert!(kind.path.starts_with('/') && !kind.credentials.is_empty());
            assert_eq!(
                SourceKind::named(kind.name).map(|k| k.path),
                Some(kind.path)
            );
        }
        assert!(default_variables().contains("GITHUB_WEBHOOK_SECRET"));
    }

    /// docs/serve.md's table of sources names each source, its path and variables.
    #[test]
    fn should_match_the_sources_in_the_serve_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/serve.md");
        let doc = std::fs::read_to_string(path).expect("docs/serve.md");
        for kind in SOURCES {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", kind.name)))
                .unwrap_or_else(|| panic!("docs/serve.md has no row for `{}`", kind.name));
            let rows: String = doc
                .lines()
                .skip_while(|l| *l != row)
                .take_while(|l| *l == row || l.starts_with("| |"))
                .collect();
            for var in kind.variables() {
                assert!(
                    rows.contains(var),
                    "docs/serve.md: `{}` without {var}",
                    kind.name
                );
            }
            assert!(doc.contains(kind.path), "docs/serve.md lacks {}", kind.path);
        }
    }
}
