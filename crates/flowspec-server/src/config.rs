//! The `server:` section of `.flowspec/flowspec.yaml`.
//!
//! ```yaml
//! server:
//!   bind: 127.0.0.1:8080
//!   workers: 4                 # events dispatched at the same time
//!   max_body_bytes: 1048576    # larger requests: 413
//!   drain_timeout: 30s         # durations: seconds (`30`) or with units (`30s`, `1m`)
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
//! when the section gives none, the conventional variable (`GITHUB_WEBHOOK_SECRET`,
//! `GITLAB_WEBHOOK_TOKEN`, `FLOWSPEC_EVENTS_TOKEN`, `CIRCLECI_WEBHOOK_SECRET`,
//! `JENKINS_WEBHOOK_TOKEN`). A source without one is refused, never open.

use std::net::SocketAddr;
use std::time::Duration;

use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Node, Vars, from_node_in, interpolate,
};
use flowspec_core::queue::RetrySchedule;
use flowspec_core::secret::SecretString;
use flowspec_core::settings::Settings;
use flowspec_http::signature::SigningKey;
use serde::Deserialize;

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

/// How `/events` authenticates (any configured scheme the request satisfies).
#[derive(Clone, Debug, Default)]
pub struct EventsAuth {
    /// `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// `X-Signature-256: sha256=<hex HMAC of the body>`.
    pub secret: Option<SecretString>,
    /// Standard Webhooks keys (`whsec_...`); several for rotation.
    pub signing_keys: Vec<SigningKey>,
}

impl EventsAuth {
    /// Whether any scheme is configured.
    pub fn is_configured(&self) -> bool {
        self.token.is_some() || self.secret.is_some() || !self.signing_keys.is_empty()
    }
}

/// The secrets of each source; `None` means the source is not served.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SourceSecrets {
    /// GitHub's webhook secret (HMAC `X-Hub-Signature-256`).
    pub github: Option<SecretString>,
    /// GitLab's secret token (`X-Gitlab-Token`).
    pub gitlab: Option<SecretString>,
    /// `/events` authentication.
    pub events: EventsAuth,
    /// CircleCI's webhook signing secret (`circleci-signature: v1=<hex>`).
    pub circleci: Option<SecretString>,
    /// A token Jenkins sends (`X-Flowspec-Token` header or `?token=`).
    pub jenkins: Option<SecretString>,
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
            unknown_events: UnknownEvents::Accept,
            replay_window: Duration::from_secs(24 * 3600),
            timestamp_tolerance: Duration::from_secs(300),
            rate_limit: Some(RateLimit {
                per_second: 500.0,
                burst: 1000,
            }),
            retry: RetrySchedule::default(),
            sources: SourceSecrets::default(),
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
    sources: Option<RawSources>,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    github: Option<RawSecret>,
    gitlab: Option<RawToken>,
    events: Option<RawEvents>,
    circleci: Option<RawSecret>,
    jenkins: Option<RawToken>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecret {
    secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    token: Option<String>,
    secret: Option<String>,
    signing_keys: Option<Vec<String>>,
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

        let sources = raw.sources.unwrap_or_default();
        let secret = |explicit: Option<&String>,
                      field: &str,
                      default_var: &str,
                      errors: &mut ConfigErrors| {
            resolve_secret(explicit, field, default_var, vars, errors, &|e| {
                locate(at(node, field, e))
            })
        };
        let s = &mut config.sources;
        s.github = secret(
            sources.github.as_ref().and_then(|x| x.secret.as_ref()),
            "sources.github.secret",
            "GITHUB_WEBHOOK_SECRET",
            &mut errors,
        );
        s.gitlab = secret(
            sources.gitlab.as_ref().and_then(|x| x.token.as_ref()),
            "sources.gitlab.token",
            "GITLAB_WEBHOOK_TOKEN",
            &mut errors,
        );
        s.circleci = secret(
            sources.circleci.as_ref().and_then(|x| x.secret.as_ref()),
            "sources.circleci.secret",
            "CIRCLECI_WEBHOOK_SECRET",
            &mut errors,
        );
        s.jenkins = secret(
            sources.jenkins.as_ref().and_then(|x| x.token.as_ref()),
            "sources.jenkins.token",
            "JENKINS_WEBHOOK_TOKEN",
            &mut errors,
        );
        let events = sources.events.unwrap_or_default();
        s.events.token = secret(
            events.token.as_ref(),
            "sources.events.token",
            "FLOWSPEC_EVENTS_TOKEN",
            &mut errors,
        );
        s.events.secret = secret(
            events.secret.as_ref(),
            "sources.events.secret",
            "FLOWSPEC_EVENTS_SECRET",
            &mut errors,
        );
        for (i, key) in events.signing_keys.unwrap_or_default().iter().enumerate() {
            let field = format!("sources.events.signing_keys[{i}]");
            if let Some(value) = secret(Some(key), &field, "", &mut errors) {
                use flowspec_core::secret::ExposeSecret;
                match SigningKey::parse(value.expose_secret()) {
                    Ok(k) => s.events.signing_keys.push(k),
                    Err(message) => errors.push(locate(at(
                        node,
                        &field,
                        ConfigError::new(ConfigErrorKind::InvalidValue, message),
                    ))),
                }
            }
        }
        // A section written without a usable secret is a mistake, not an open door.
        let listed = [
            (
                "github",
                sources.github.is_some(),
                config.sources.github.is_some(),
                "GITHUB_WEBHOOK_SECRET",
                "secret",
            ),
            (
                "gitlab",
                sources.gitlab.is_some(),
                config.sources.gitlab.is_some(),
                "GITLAB_WEBHOOK_TOKEN",
                "token",
            ),
            (
                "circleci",
                sources.circleci.is_some(),
                config.sources.circleci.is_some(),
                "CIRCLECI_WEBHOOK_SECRET",
                "secret",
            ),
            (
                "jenkins",
                sources.jenkins.is_some(),
                config.sources.jenkins.is_some(),
                "JENKINS_WEBHOOK_TOKEN",
                "token",
            ),
            (
                "events",
                node.and_then(|n| n.get("sources"))
                    .and_then(|s| s.get("events"))
                    .is_some(),
                config.sources.events.is_configured(),
                "FLOWSPEC_EVENTS_TOKEN",
                "token",
            ),
        ];
        for (name, written, has_secret, var, field) in listed {
            if written && !has_secret {
                errors.push(locate(
                    at(node, &format!("sources.{name}"), ConfigError::new(
                        ConfigErrorKind::MissingField,
                        format!("source `{name}` has no secret, so it would be open: it is refused"),
                    ))
                    .hint(format!("set {var} in the environment or .flowspec/hooks/.env, or `{field}: ${{VAR}}` in server.sources.{name}")),
                ));
            }
        }
        errors.into_result(config)
    }

    /// The names of the sources that will be served.
    pub fn enabled_sources(&self) -> Vec<&'static str> {
        let s = &self.sources;
        [
            ("events", s.events.is_configured()),
            ("github", s.github.is_some()),
            ("gitlab", s.gitlab.is_some()),
            ("circleci", s.circleci.is_some()),
            ("jenkins", s.jenkins.is_some()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect()
    }
}

/// A secret written as `${VAR}` in the section, or, when absent, the default variable.
fn resolve_secret(
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
