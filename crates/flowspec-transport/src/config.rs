//! `transport:` of flowspec.yaml: where events go between machines.
//!
//! ```yaml
//! transport:
//!   url: ${FLOWSPEC_REDIS_URL}   # redis://[user:password@]host:port/db, rediss:// for TLS
//!   stream: flowspec:events      # default
//!   group: laptops               # the consumer group of `flowspec subscribe`
//!   # consumer: <hostname>-<pid> # default
//!   # max_len: 1000000           # approximate trimming of the stream (MAXLEN ~)
//!   # claim_idle: 60             # seconds before another consumer takes a dead one's entries
//!   # max_attempts: 5            # deliveries of an entry whose hooks fail, then dead letters
//!   # workers: 4                 # events a subscriber runs at the same time
//! ```

use std::time::Duration;

use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Node, Value, Vars, from_node_in, interpolate,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_core::settings::Settings;
use serde::Deserialize;

/// The section's name in flowspec.yaml.
pub const SECTION: &str = "transport";

/// The stream events go to when `stream` is not set.
pub const DEFAULT_STREAM: &str = "flowspec:events";

/// `transport:` of flowspec.yaml, resolved.
///
/// ```
/// use flowspec_core::config::Vars;
/// use flowspec_core::settings::Settings;
/// use flowspec_transport::TransportConfig;
///
/// let yaml = "transport:\n  url: ${REDIS_URL}\n  group: laptops\n";
/// let settings = Settings::parse("flowspec.yaml".as_ref(), yaml).unwrap();
/// let vars = Vars::from_pairs([("REDIS_URL", "redis://:hunter2@cache:6379/0")]);
/// let config = TransportConfig::from_settings(&settings, &vars).unwrap().unwrap();
/// assert_eq!(config.stream, "flowspec:events");
/// assert_eq!(config.group.as_deref(), Some("laptops"));
/// // The password never shows.
/// assert_eq!(config.target(), "redis://:***@cache:6379/0 stream flowspec:events");
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct TransportConfig {
    /// The server's URL, password included: expose it only to connect.
    pub url: SecretString,
    /// The stream events are published to and read from.
    pub stream: String,
    /// The consumer group of a subscriber (required to subscribe).
    pub group: Option<String>,
    /// This subscriber's name in its group: `<hostname>-<pid>` by default.
    pub consumer: String,
    /// Approximate length the stream is trimmed to on publish (`MAXLEN ~`).
    pub max_len: u64,
    /// How long an entry delivered to a consumer may stay unacknowledged before another
    /// consumer of the group takes it (the first one died or lost its connection).
    pub claim_idle: Duration,
    /// Deliveries of an entry whose hooks keep failing before it goes to the dead letters.
    pub max_attempts: u32,
    /// Where bad entries and entries out of attempts go: `<stream>:dead` by default.
    pub dead_letter_stream: String,
    /// Events a subscriber dispatches at the same time.
    pub workers: usize,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("url", &masked_url(self.url.expose_secret()))
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("max_len", &self.max_len)
            .field("claim_idle", &self.claim_idle)
            .field("max_attempts", &self.max_attempts)
            .field("dead_letter_stream", &self.dead_letter_stream)
            .field("workers", &self.workers)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Example: `${FLOWSPEC_REDIS_URL}` or `redis://localhost:6379/0`.
    url: String,
    /// Example: `flowspec:events`.
    stream: Option<String>,
    /// Example: `laptops`.
    group: Option<String>,
    /// Example: `build-box-1`.
    consumer: Option<String>,
    /// Example: `1000000`.
    max_len: Option<u64>,
    /// Seconds, or a duration with units. Example: `60` or `1m`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    claim_idle: Option<Duration>,
    /// Example: `5`.
    max_attempts: Option<u32>,
    /// Example: `flowspec:events:dead`.
    dead_letter_stream: Option<String>,
    /// Example: `4`.
    workers: Option<usize>,
}

impl TransportConfig {
    /// A configuration for `url` with every default (stream `flowspec:events`, no group).
    ///
    /// ```
    /// let config = flowspec_transport::TransportConfig::new("redis://127.0.0.1:6379").unwrap();
    /// assert_eq!(config.dead_letter_stream, "flowspec:events:dead");
    /// ```
    pub fn new(url: &str) -> Result<TransportConfig, ConfigError> {
        check_url(url)?;
        Ok(TransportConfig {
            url: SecretString::from(url.to_owned()),
            stream: DEFAULT_STREAM.to_owned(),
            group: None,
            consumer: default_consumer(),
            max_len: 1_000_000,
            claim_idle: Duration::from_secs(60),
            max_attempts: 5,
            dead_letter_stream: format!("{DEFAULT_STREAM}:dead"),
            workers: 4,
        })
    }

    /// Sets the stream (and the dead letters to `<stream>:dead` unless set apart).
    pub fn stream(mut self, stream: impl Into<String>) -> Self {
        let stream = stream.into();
        if self.dead_letter_stream == format!("{}:dead", self.stream) {
            self.dead_letter_stream = format!("{stream}:dead");
        }
        self.stream = stream;
        self
    }

    /// Sets the consumer group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Reads `transport:` from flowspec.yaml: `None` when there is no such section.
    pub fn from_settings(
        settings: &Settings,
        vars: &Vars,
    ) -> Result<Option<TransportConfig>, ConfigErrors> {
        let Some(node) = settings.section(SECTION) else {
            return Ok(None);
        };
        if node.value == Value::Null {
            return Ok(None);
        }
        let file = settings.file().unwrap_or("flowspec.yaml".as_ref());
        let locate = |error: ConfigError, field: &str| {
            let error = error.path(format!("{SECTION}.{field}"));
            let error = match node.get(field) {
                Some(n) => error.at(n.loc),
                None => error.at(node.loc),
            };
            error.in_file(file, settings.text())
        };
        let raw: Raw = from_node_in(node, SECTION, file, settings.text())?;
        let url = match interpolate(&raw.url, vars) {
            Ok(url) => url.value,
            Err(e) => {
                return Err(locate(
                    ConfigError::new(ConfigErrorKind::UnsetVariable, format!("`transport.url`: {e}"))
                        .hint("set the variable to redis://[user:password@]host:port/db (rediss:// for TLS)"),
                    "url",
                )
                .into());
            }
        };
        let mut config = TransportConfig::new(url.trim()).map_err(|e| locate(e, "url"))?;
        let mut errors = ConfigErrors::default();
        let mut name = |value: Option<String>, field: &str| -> Option<String> {
            let value = value?;
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                errors.push(locate(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`transport.{field}` must be a non-empty name without control characters"),
                    )
                    .hint("remove the line to use the default"),
                    field,
                ));
                return None;
            }
            Some(value)
        };
        if let Some(stream) = name(raw.stream, "stream") {
            config = config.stream(stream);
        }
        config.group = name(raw.group, "group");
        if let Some(consumer) = name(raw.consumer, "consumer") {
            config.consumer = consumer;
        }
        if let Some(dead) = name(raw.dead_letter_stream, "dead_letter_stream") {
            config.dead_letter_stream = dead;
        }
        if config.dead_letter_stream == config.stream {
            errors.push(locate(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    "`transport.dead_letter_stream` is the event stream itself",
                )
                .hint("name another stream, or remove the line for `<stream>:dead`"),
                "dead_letter_stream",
            ));
        }
        if let Some(max_len) = raw.max_len {
            config.max_len = max_len.max(1);
        }
        if let Some(idle) = raw.claim_idle {
            // Below a second, a slow hook's entry would be taken from a live consumer.
            config.claim_idle = idle.max(Duration::from_secs(1));
        }
        if let Some(n) = raw.max_attempts {
            config.max_attempts = n.max(1);
        }
        if let Some(n) = raw.workers {
            config.workers = n.max(1);
        }
        errors.into_result(config).map(Some)
    }

    /// Where events go, without the password:
    /// `redis://:***@cache:6379/0 stream flowspec:events`.
    pub fn target(&self) -> String {
        format!(
            "{} stream {}",
            masked_url(self.url.expose_secret()),
            self.stream
        )
    }

    /// The URL with its password replaced by `***`.
    pub fn masked_url(&self) -> String {
        masked_url(self.url.expose_secret())
    }
}

/// `<hostname>-<pid>`: unique per running subscriber, readable in `--status`.
pub fn default_consumer() -> String {
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    let host = if host.is_empty() { "flowspec" } else { &host };
    format!("{host}-{}", std::process::id())
}

/// Refuses what is not a `redis://` or `rediss://` URL, without echoing a password.
fn check_url(url: &str) -> Result<(), ConfigError> {
    let hint = "write redis://[user:password@]host:port/db, or rediss:// for TLS";
    let parsed = url::Url::parse(url).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!("`transport.url` is not a URL ({e})"),
        )
        .hint(hint)
    })?;
    if !matches!(parsed.scheme(), "redis" | "rediss") {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "`transport.url` has scheme `{}`; flowspec speaks to Redis",
                parsed.scheme()
            ),
        )
        .hint(hint));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            "`transport.url` names no host",
        )
        .hint(hint));
    }
    Ok(())
}

/// `url` with the password replaced by `***` (the whole text replaced when unparsable).
pub(crate) fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<invalid url>".to_owned(),
    }
}

/// `transport.<field>` of `node`, for errors found later (a subscriber without a group).
pub fn missing_group_error(settings: &Settings) -> ConfigError {
    let node: Option<&Node> = settings.section(SECTION);
    let error = ConfigError::new(
        ConfigErrorKind::MissingField,
        "subscribing needs a consumer group: `transport.group` is not set",
    )
    .path(format!("{SECTION}.group"))
    .hint("add `group: <name>` under `transport:` (machines of one group share the events; each group gets every event), or pass --group");
    let error = match node {
        Some(n) => error.at(n.loc),
        None => error,
    };
    match settings.file() {
        Some(file) => error.in_file(file, settings.text()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, vars: &[(&str, &str)]) -> Result<Option<TransportConfig>, ConfigErrors> {
        let settings = Settings::parse("flowspec.yaml".as_ref(), yaml).unwrap();
        TransportConfig::from_settings(&settings, &Vars::from_pairs(vars.iter().copied()))
    }

    #[test]
    fn should_read_every_field_and_keep_the_password_out_of_debug_and_target() {
        let yaml = "transport:\n  url: ${R}\n  stream: s\n  group: g\n  consumer: c\n  max_len: 10\n  claim_idle: 2m\n  max_attempts: 3\n  workers: 8\n";
        let config = parse(yaml, &[("R", "rediss://me:s3cret-pw@cache.example:6380/2")])
            .unwrap()
            .unwrap();
        assert_eq!(config.stream, "s");
        assert_eq!(config.dead_letter_stream, "s:dead");
        assert_eq!(config.group.as_deref(), Some("g"));
        assert_eq!(config.consumer, "c");
        assert_eq!(config.max_len, 10);
        assert_eq!(config.claim_idle, Duration::from_secs(120));
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.workers, 8);
        assert_eq!(
            config.target(),
            "rediss://me:***@cache.example:6380/2 stream s"
        );
        assert!(!format!("{config:?}").contains("s3cret-pw"));
    }

    #[test]
    fn should_name_the_field_and_line_of_a_bad_url_without_its_password() {
        let yaml = "state: {}\ntransport:\n  url: http://u:pw-123@host/\n";
        let error = parse(yaml, &[]).unwrap_err();
        let text = error.render(false);
        assert!(text.contains("transport.url"), "{text}");
        assert!(text.contains("scheme `http`"), "{text}");
        assert!(text.contains("flowspec.yaml:3"), "{text}");
        let first = error.iter().next().unwrap();
        assert!(!first.message().contains("pw-123"));
    }

    #[test]
    fn should_say_which_variable_is_unset_and_suggest_a_mistyped_key() {
        let unset = parse("transport:\n  url: ${NOPE}\n", &[]).unwrap_err();
        assert!(unset.render(false).contains("NOPE"));
        let typo = parse("transport:\n  url: redis://h\n  gruop: x\n", &[]).unwrap_err();
        assert!(typo.render(false).contains("did you mean `group`?"));
    }

    #[test]
    fn should_default_the_consumer_to_host_and_pid() {
        let config = parse("transport:\n  url: redis://h\n", &[])
            .unwrap()
            .unwrap();
        assert!(
            config
                .consumer
                .ends_with(&format!("-{}", std::process::id()))
        );
        assert!(config.group.is_none());
    }
}
