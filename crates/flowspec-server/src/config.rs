//! The `server:` section of `.flowspec/flowspec.yaml`.
//!
//! ```yaml
//! server:
//!   bind: 127.0.0.1:8080
//!   workers: 4                 # events dispatched at the same time
//!   max_body_bytes: 1048576    # larger requests: 413
//!   drain_timeout: 30s         # durations: seconds (`30`) or with units (`30s`, `1m`)
//!   lease: 30s                 # a dead receiver's events go to the others after this
//!   metrics_token: ${FLOWSPEC_METRICS_TOKEN}   # /metrics needs `Authorization: Bearer <it>`
//!   dashboard:                 # the browser dashboard under /ui/, off without a token
//!     token: ${FLOWSPEC_DASHBOARD_TOKEN}
//!     secure_cookie: true      # behind TLS: the session cookie is sent over HTTPS only
//!     session_ttl: 12h
//!   sources:
//!     github:
//!       secret: ${GITHUB_WEBHOOK_SECRET}
//!     gitlab:
//!       token: ${GITLAB_WEBHOOK_TOKEN}
//!     events:
//!       token: ${FLOWSPEC_EVENTS_TOKEN}
//! ```
//!
//! A source is served only when it has a secret: the one written in its section, or,
//! when the section gives none, its default variable, as declared in
//! [`SOURCES`]. A section written without a usable secret is
//! refused, never open.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Node, Vars, from_node_in, interpolate,
};
use std::collections::BTreeMap;

use crate::queue::RetrySchedule;
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_core::settings::Settings;
use flowspec_core::transport::Publisher;
use serde::Deserialize;

pub use crate::dashboard_config::DashboardSettings;
use crate::dashboard_config::RawDashboard;
use crate::sources::{SOURCES, SourceKind};

/// What to do with webhook kinds the server has no mapping for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownEvents {
    /// Record them as `<source>.<kind>` events (the default): hooks can still match them.
    #[default]
    Accept,
    /// Answer 202 `{"ignored": ...}` and store nothing.
    Ignore,
}

/// A token bucket per source: sustained rate and burst.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second. Example: `200`.
    pub per_second: f64,
    /// Requests allowed at once above the rate. Example: `400`.
    pub burst: u32,
}

/// The resolved credentials of one source: each key of its section (`secret`,
/// `token`, `signing_keys`) with its values. Debug never shows them.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    values: BTreeMap<&'static str, Vec<SecretString>>,
}

impl Credentials {
    /// The first value of `key`, if any.
    pub fn first(&self, key: &str) -> Option<&SecretString> {
        self.values.get(key).and_then(|v| v.first())
    }

    /// Every value of `key` (empty if none).
    pub fn all(&self, key: &str) -> &[SecretString] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.values.values().all(Vec::is_empty)
    }
}

/// The credentials of each source, by name; a source without any is not served.
#[derive(Clone, Debug, Default)]
pub struct SourceSecrets {
    by_source: BTreeMap<&'static str, Credentials>,
}

impl SourceSecrets {
    /// The credentials of `source`, if it has any.
    pub fn get(&self, source: &str) -> Option<&Credentials> {
        self.by_source.get(source).filter(|c| !c.is_empty())
    }

    /// Adds a value to a key of a source declared in [`SOURCES`] (tests and embedders
    /// configuring in code). An undeclared source or key is refused.
    ///
    /// ```
    /// use flowspec_core::secret::SecretString;
    /// use flowspec_server::ServerConfig;
    /// let mut config = ServerConfig::default();
    /// config.sources.set("github", "secret", SecretString::from("s3cret".to_owned())).unwrap();
    /// assert_eq!(config.enabled_sources(), ["github"]);
    /// assert!(config.sources.set("github", "token", SecretString::from("x".to_owned())).is_err());
    /// ```
    pub fn set(&mut self, source: &str, key: &str, value: SecretString) -> Result<(), String> {
        let kind = SourceKind::named(source).ok_or_else(|| format!("no source `{source}`"))?;
        let credential = kind
            .credentials
            .iter()
            .find(|c| c.key == key)
            .ok_or_else(|| format!("source `{source}` has no key `{key}`"))?;
        let values = self
            .by_source
            .entry(kind.name)
            .or_default()
            .values
            .entry(credential.key)
            .or_default();
        if !credential.list {
            values.clear();
        }
        values.push(value);
        Ok(())
    }
}

/// The validated server settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Events dispatched at the same time.
    pub workers: usize,
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// How long a client may take to send the request headers.
    pub header_timeout: Duration,
    /// How long a client may take to send the body (408 beyond).
    pub body_timeout: Duration,
    /// On SIGTERM, how long running dispatches may take to finish.
    pub drain_timeout: Duration,
    /// How long this receiver's hold on an event, a hook run and a concurrency slot
    /// lasts without renewal (renewed every third of it). When a receiver on another
    /// machine dies, the others take its work over after this long (on the same
    /// machine at once: its pid is gone).
    pub lease: Duration,
    /// Unmapped webhook kinds.
    pub unknown_events: UnknownEvents,
    /// How long delivery ids are remembered to refuse replays.
    pub replay_window: Duration,
    /// How far a signed timestamp may be from now (Standard Webhooks).
    pub timestamp_tolerance: Duration,
    /// Per-source rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// Retries of events whose hooks failed, then dead letters.
    pub retry: RetrySchedule,
    /// The sources and their secrets.
    pub sources: SourceSecrets,
    /// When set, `GET /metrics` answers only requests with
    /// `Authorization: Bearer <token>` (401 otherwise). Off by default.
    pub metrics_token: Option<SecretString>,
    /// Where every accepted event is also published (from the durable outbox, retried
    /// until the transport takes it). `None` (the default): events stay on this
    /// machine. See [`ServerConfig::publish_to`].
    pub publisher: Option<Arc<dyn Publisher>>,
    /// The browser dashboard's login and sessions; `None` (no token): no dashboard.
    pub dashboard: Option<DashboardSettings>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 4,
            max_body_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            unknown_events: UnknownEvents::Accept,
            replay_window: Duration::from_secs(24 * 3600),
            timestamp_tolerance: Duration::from_secs(300),
            rate_limit: Some(RateLimit {
                per_second: 500.0,
                burst: 1000,
            }),
            retry: RetrySchedule::default(),
            sources: SourceSecrets::default(),
            metrics_token: None,
            publisher: None,
            dashboard: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `host:port`. Example: `127.0.0.1:8080`.
    bind: Option<String>,
    /// Example: `4`.
    workers: Option<usize>,
    /// Example: `1048576`.
    max_body_bytes: Option<usize>,
    /// Seconds, or a duration with units. Example: `10` or `10s`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    header_timeout: Option<Duration>,
    /// Seconds, or a duration with units. Example: `10` or `10s`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    body_timeout: Option<Duration>,
    /// Seconds, or a duration with units. Example: `30` or `30s`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    drain_timeout: Option<Duration>,
    /// Seconds, or a duration with units. Example: `30` or `30s`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    lease: Option<Duration>,
    unknown_events: Option<UnknownEvents>,
    /// Seconds, or a duration with units. Example: `86400` or `24h`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    replay_window: Option<Duration>,
    /// Seconds, or a duration with units. Example: `300` or `5m`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    timestamp_tolerance: Option<Duration>,
    /// `false` turns the per-source limit off.
    rate_limit: Option<RawRateLimit>,
    queue: Option<RawQueue>,
    /// A token `/metrics` requires as `Authorization: Bearer`, from a variable.
    /// Example: `${FLOWSPEC_METRICS_TOKEN}`.
    metrics_token: Option<String>,
    /// The dashboard's token and sessions.
    dashboard: Option<RawDashboard>,
    /// `name: {key: value}` per source of [`SOURCES`].
    sources: Option<BTreeMap<String, Option<BTreeMap<String, RawCredential>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRateLimit {
    Off(bool),
    On(RateLimit),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    /// Example: `5`.
    max_attempts: Option<u32>,
    /// The wait before the second attempt (doubling), seconds or with units.
    /// Example: `10` or `10s`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    retry_base: Option<Duration>,
    /// The longest wait, seconds or with units. Example: `600` or `10m`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    retry_max: Option<Duration>,
}

/// A credential as written: one value, or a list (`signing_keys`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawCredential {
    One(String),
    Many(Vec<String>),
}

impl ServerConfig {
    /// Reads `server:` from flowspec.yaml (the defaults when absent) and resolves the
    /// sources' secrets from `vars`.
    pub fn from_settings(settings: &Settings, vars: &Vars) -> Result<ServerConfig, ConfigErrors> {
        let raw: Raw = match settings.section("server") {
            Some(node) if node.value != flowspec_core::config::Value::Null => from_node_in(
                node,
                "server",
                settings.file().unwrap_or("flowspec.yaml".as_ref()),
                settings.text(),
            )?,
            _ => Raw::default(),
        };
        let node = settings.section("server");
        let mut errors = ConfigErrors::default();
        let locate = |error: ConfigError| match settings.file() {
            Some(file) => error.in_file(file, settings.text()),
            None => error,
        };
        let mut config = ServerConfig::default();
        if let Some(bind) = &raw.bind {
            match bind.parse() {
                Ok(addr) => config.bind = addr,
                Err(_) => errors.push(locate(
                    at(
                        node,
                        "bind",
                        ConfigError::new(
                            ConfigErrorKind::InvalidValue,
                            format!("invalid `bind` address `{bind}`"),
                        ),
                    )
                    .hint("write host:port, e.g. `127.0.0.1:8080` or `0.0.0.0:8080`"),
                )),
            }
        }
        if let Some(workers) = raw.workers {
            config.workers = workers.max(1);
        }
        if let Some(max) = raw.max_body_bytes {
            config.max_body_bytes = max;
        }
        let seconds =
            |v: Option<Duration>, default: Duration| v.filter(|d| !d.is_zero()).unwrap_or(default);
        config.header_timeout = seconds(raw.header_timeout, config.header_timeout);
        config.body_timeout = seconds(raw.body_timeout, config.body_timeout);
        config.drain_timeout = seconds(raw.drain_timeout, config.drain_timeout);
        // Below a second, renewals (a third of it) would keep the database busy.
        config.lease = seconds(raw.lease, config.lease).max(Duration::from_secs(1));
        config.replay_window = seconds(raw.replay_window, config.replay_window);
        config.timestamp_tolerance = seconds(raw.timestamp_tolerance, config.timestamp_tolerance);
        config.unknown_events = raw.unknown_events.unwrap_or_default();
        match raw.rate_limit {
            Some(RawRateLimit::Off(false)) => config.rate_limit = None,
            Some(RawRateLimit::Off(true)) | None => {}
            Some(RawRateLimit::On(limit)) => config.rate_limit = Some(limit),
        }
        if let Some(queue) = raw.queue {
            if let Some(n) = queue.max_attempts {
                config.retry.max_attempts = n.max(1);
            }
            let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            if let Some(d) = queue.retry_base {
                config.retry.base_delay_ms = ms(d);
            }
            if let Some(d) = queue.retry_max {
                config.retry.max_delay_ms = ms(d);
            }
        }
        if let Some(text) = &raw.metrics_token {
            let field = "metrics_token";
            let locate_here = |e| locate(at(node, field, e));
            let before = errors.len();
            config.metrics_token =
                resolve_secret(Some(text), field, "", vars, &mut errors, &locate_here);
            // Unset variables are reported by `resolve_secret`; an empty value here.
            if config.metrics_token.is_none() && errors.len() == before {
                errors.push(locate_here(
                    ConfigError::new(
                        ConfigErrorKind::MissingField,
                        "`server.metrics_token` is empty, so /metrics would be open: it is refused",
                    )
                    .hint("set the variable it names, or remove the line to serve /metrics without a token"),
                ));
            }
        }

        if let Some(dashboard) = &raw.dashboard {
            let locate_here = |e| locate(at(node, "dashboard.token", e));
            config.dashboard = dashboard.resolve(vars, &mut errors, &locate_here);
        }

        let sources = raw.sources.unwrap_or_default();
        for (name, section) in &sources {
            let Some(kind) = SourceKind::named(name) else {
                let known = SOURCES.iter().map(|k| k.name);
                let hint = match flowspec_core::config::suggest(name, known) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "the sources are {}",
                        SOURCES
                            .iter()
                            .map(|k| format!("`{}`", k.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                errors.push(locate(
                    at(
                        node,
                        &format!("sources.{name}"),
                        ConfigError::new(
                            ConfigErrorKind::UnknownField,
                            format!("unknown source `{name}`"),
                        ),
                    )
                    .hint(hint),
                ));
                continue;
            };
            for key in section.iter().flat_map(|s| s.keys()) {
                if !kind.credentials.iter().any(|c| c.key == key) {
                    let keys = kind.credentials.iter().map(|c| c.key);
                    let hint = match flowspec_core::config::suggest(key, keys) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "`{name}` takes {}",
                            kind.credentials
                                .iter()
                                .map(|c| format!("`{}`", c.key))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    errors.push(locate(
                        at(
                            node,
                            &format!("sources.{name}.{key}"),
                            ConfigError::new(
                                ConfigErrorKind::UnknownField,
                                format!("unknown key `{key}` in source `{name}`"),
                            ),
                        )
                        .hint(hint),
                    ));
                }
            }
        }
        for kind in SOURCES {
            let section = sources.get(kind.name);
            let mut credentials = Credentials::default();
            for credential in kind.credentials {
                let written: Vec<&String> = match section
                    .and_then(|s| s.as_ref())
                    .and_then(|s| s.get(credential.key))
                {
                    None => Vec::new(),
                    Some(RawCredential::One(v)) => vec![v],
                    Some(RawCredential::Many(vs)) => vs.iter().collect(),
                };
                let mut values = Vec::new();
                if written.is_empty() {
                    let default = credential.variable.unwrap_or("");
                    let field = format!("sources.{}.{}", kind.name, credential.key);
                    values.extend(resolve_secret(
                        None,
                        &field,
                        default,
                        vars,
                        &mut errors,
                        &|e| locate(at(node, &field, e)),
                    ));
                }
                for (i, text) in written.iter().enumerate() {
                    let field = if credential.list {
                        format!("sources.{}.{}[{i}]", kind.name, credential.key)
                    } else {
                        format!("sources.{}.{}", kind.name, credential.key)
                    };
                    let Some(value) =
                        resolve_secret(Some(text), &field, "", vars, &mut errors, &|e| {
                            locate(at(node, &field, e))
                        })
                    else {
                        continue;
                    };
                    if let Some(check) = credential.check
                        && let Err(message) = check(value.expose_secret())
                    {
                        errors.push(locate(at(
                            node,
                            &field,
                            ConfigError::new(ConfigErrorKind::InvalidValue, message),
                        )));
                        continue;
                    }
                    values.push(value);
                }
                if !values.is_empty() {
                    credentials.values.insert(credential.key, values);
                }
            }
            // A section written without a usable secret is a mistake, not an open door.
            if section.is_some() && credentials.is_empty() {
                let first = &kind.credentials[0];
                let set = match first.variable {
                    Some(var) => {
                        format!("set {var} in the environment or .flowspec/hooks/.env, or ")
                    }
                    None => String::new(),
                };
                errors.push(locate(
                    at(
                        node,
                        &format!("sources.{}", kind.name),
                        ConfigError::new(
                            ConfigErrorKind::MissingField,
                            format!(
                                "source `{}` has no secret, so it would be open: it is refused",
                                kind.name
                            ),
                        ),
                    )
                    .hint(format!(
                        "{set}write `{}: ${{VAR}}` in server.sources.{}",
                        first.key, kind.name
                    )),
                ));
            }
            if !credentials.is_empty() {
                config.sources.by_source.insert(kind.name, credentials);
            }
        }
        errors.into_result(config)
    }

    /// Publishes every event the receiver accepts to `publisher` as well: each is
    /// recorded in an outbox in the transaction that stores it, and a task of the
    /// receiver publishes the outbox in arrival order, retrying while the transport is
    /// down (the receiver keeps accepting meanwhile; `/readyz` shows the backlog).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use flowspec_core::Event;
    /// use flowspec_core::transport::{PublishError, Publisher};
    /// use flowspec_server::ServerConfig;
    ///
    /// struct Discard;
    ///
    /// #[async_trait::async_trait]
    /// impl Publisher for Discard {
    ///     async fn publish(&self, events: &[Event]) -> Result<Vec<String>, PublishError> {
    ///         Ok(events.iter().map(|e| e.id().to_string()).collect())
    ///     }
    ///     fn target(&self) -> String {
    ///         "nowhere".into()
    ///     }
    /// }
    ///
    /// let config = ServerConfig::default().publish_to(Arc::new(Discard));
    /// assert_eq!(config.publisher.map(|p| p.target()).as_deref(), Some("nowhere"));
    /// ```
    pub fn publish_to(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// The names of the sources that will be served, in [`SOURCES`] order.
    pub fn enabled_sources(&self) -> Vec<&'static str> {
        SOURCES
            .iter()
            .filter(|k| self.sources.get(k.name).is_some())
            .map(|k| k.name)
            .collect()
    }
}

/// A secret written as `${VAR}` in the section, or, when absent, the default variable.
pub(crate) fn resolve_secret(
    explicit: Option<&String>,
    field: &str,
    default_var: &str,
    vars: &Vars,
    errors: &mut ConfigErrors,
    locate: &dyn Fn(ConfigError) -> ConfigError,
) -> Option<SecretString> {
    match explicit {
        Some(text) => match interpolate(text, vars) {
            Ok(value) if !value.value.is_empty() => Some(SecretString::from(value.value)),
            Ok(_) => None,
            Err(e) => {
                errors.push(locate(
                    ConfigError::new(
                        ConfigErrorKind::UnsetVariable,
                        format!("`server.{field}`: {e}"),
                    )
                    .hint("set the variable, or remove the line to use the default variable"),
                ));
                None
            }
        },
        None if default_var.is_empty() => None,
        None => vars
            .get(default_var)
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.to_owned())),
    }
}

/// Points an error at `server.<path>` when the node exists.
fn at(server: Option<&Node>, path: &str, error: ConfigError) -> ConfigError {
    let mut node = server;
    for part in path.split('.') {
        let name = part.split('[').next().unwrap_or(part);
        node = node.and_then(|n| n.get(name));
    }
    let error = error.path(format!("server.{path}"));
    match node.or(server) {
        Some(n) => error.at(n.loc),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn load(yaml: &str, vars: &[(&str, &str)]) -> Result<ServerConfig, ConfigErrors> {
        let settings = Settings::parse(Path::new("flowspec.yaml"), yaml).unwrap();
        ServerConfig::from_settings(&settings, &Vars::from_pairs(vars.iter().copied()))
    }

    #[test]
    fn should_enable_only_sources_with_a_secret() {
        let config = load("", &[("GITHUB_WEBHOOK_SECRET", "gh-secret")]).unwrap();
        assert_eq!(config.enabled_sources(), ["github"]);
        let config = load(
            "server:\n  sources:\n    events:\n      token: ${T}\n",
            &[("T", "tok-1234")],
        )
        .unwrap();
        assert_eq!(config.enabled_sources(), ["events"]);
        assert!(
            !format!("{config:?}").contains("tok-1234"),
            "Debug must not show secrets"
        );
    }

    #[test]
    fn should_refuse_a_listed_source_without_a_secret() {
        let err = load("server:\n  sources:\n    gitlab: {}\n", &[]).unwrap_err();
        let e = err.iter().next().unwrap();
        assert!(e.message().contains("refused"), "{e}");
        assert_eq!(e.key_path(), "server.sources.gitlab");
        assert_eq!(e.line_column().map(|(l, _)| l), Some(3));
    }

    #[test]
    fn should_refuse_unknown_sources_and_keys_with_a_suggestion() {
        let err = load("server:\n  sources:\n    githib: {secret: x}\n", &[]).unwrap_err();
        let e = err.iter().next().unwrap();
        assert_eq!(e.hint_text(), Some("did you mean `github`?"));
        assert_eq!(e.line_column().map(|(l, _)| l), Some(3));
        let err = load("server:\n  sources:\n    gitlab: {secret: x}\n", &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown key `secret` in source `gitlab`"),
            "{err}"
        );
        let err = load(
            "server:\n  sources:\n    events:\n      signing_keys: [\"whsec_not base64!\"]\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.iter()
                .any(|e| e.key_path() == "server.sources.events.signing_keys[0]"),
            "{err}"
        );
    }

    #[test]
    fn should_read_the_metrics_token_from_a_variable_and_refuse_an_empty_one() {
        assert!(
            load("", &[]).unwrap().metrics_token.is_none(),
            "off by default"
        );
        let config = load(
            "server:\n  metrics_token: ${M}\n",
            &[("M", "metrics-token-1234")],
        )
        .unwrap();
        assert_eq!(
            config.metrics_token.as_ref().map(|t| t.expose_secret()),
            Some("metrics-token-1234")
        );
        assert!(!format!("{config:?}").contains("metrics-token-1234"));
        let err = load("server:\n  metrics_token: ${M}\n", &[("M", "")]).unwrap_err();
        let e = err.iter().next().unwrap();
        assert_eq!(e.key_path(), "server.metrics_token");
        assert!(e.message().contains("would be open"), "{e}");
        let err = load("server:\n  metrics_token: ${NOPE}\n", &[]).unwrap_err();
        assert_eq!(
            err.iter().next().unwrap().key_path(),
            "server.metrics_token",
            "{err}"
        );
    }

    #[test]
    fn should_locate_typos_and_bad_values() {
        let err = load("server:\n  bnd: 1.2.3.4\n", &[]).unwrap_err();
        assert_eq!(
            err.iter().next().unwrap().hint_text(),
            Some("did you mean `bind`?")
        );
        let err = load("server:\n  bind: localhost\n", &[]).unwrap_err();
        assert!(err.to_string().contains("invalid `bind` address"), "{err}");
    }

    #[test]
    fn should_read_limits_and_queue_settings() {
        let config = load(
            "server:\n  bind: 0.0.0.0:9000\n  workers: 8\n  max_body_bytes: 2048\n  rate_limit: false\n  queue: {max_attempts: 3, retry_base: 1}\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert_eq!((config.workers, config.max_body_bytes), (8, 2048));
        assert!(config.rate_limit.is_none());
        assert_eq!(
            (config.retry.max_attempts, config.retry.base_delay_ms),
            (3, 1000)
        );
    }

    #[test]
    fn should_read_durations_as_seconds_or_with_units() {
        let config = load(
            "server:\n  drain_timeout: 1m\n  header_timeout: 5\n  replay_window: 2h\n  queue: {retry_base: 1.5, retry_max: 10m}\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.drain_timeout, Duration::from_secs(60));
        assert_eq!(config.header_timeout, Duration::from_secs(5));
        assert_eq!(config.replay_window, Duration::from_secs(7200));
        assert_eq!(
            (config.retry.base_delay_ms, config.retry.max_delay_ms),
            (1500, 600_000)
        );
        let err = load("server:\n  drain_timeout: soon\n", &[]).unwrap_err();
        let e = err.iter().next().unwrap();
        assert!(e.to_string().contains("`soon` is not a duration"), "{e}");
        assert_eq!(e.line_column().map(|(l, _)| l), Some(2));
    }
}
