//! `integrations:` and `notifications:` in `.flowspec/flowspec.yaml`.
//!
//! ```yaml
//! notifications:                 # optional; defaults for every integration
//!   rate_limit:
//!     max_per_hour: 30
//!     max_per_day: 100
//!   retry_count: 3               # retries after the first attempt
//!   concurrency: 8               # integrations notified at the same time
//!   templates: {}                # see the `template` module
//! integrations:
//!   slack:                       # the kind is the key (or `kind: slack` to name it otherwise)
//!     enabled: true
//!     channel: "#engineering"
//!     notify_on: [spec_approved, implementation_completed, implementation_failed]
//!     max_per_hour: 20           # overrides notifications.rate_limit
//! ```
//!
//! Options every integration takes ([`SHARED_OPTIONS`]): `enabled` (default false), `kind`, its routing key (`notify_on`; `alert_on` for PagerDuty and
//! Opsgenie; `report_on` for Sentry), `max_per_hour`, `max_per_day`, `retry_count`,
//! `templates`; everything else is the service's own and is checked by its factory.
//! Without a routing key an integration receives the events its own options name
//! (webhook endpoint `events`, email `recipients`), or every event when they name none.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Key, Node, Value, Vars, suggest,
};
use flowspec_core::notifier::{Notifier, NotifierContext, NotifierFactory, SecretVar};
use flowspec_core::settings::Settings;

use crate::events::EventMatcher;
use crate::template::Templates;
use flowspec_core::notifier::NotifierRegistry;

/// Options read by the delivery layer for every integration (not passed to factories).
pub const SHARED_OPTIONS: &[&str] = &[
    "enabled",
    "kind",
    "notify_on",
    "alert_on",
    "report_on",
    "max_per_hour",
    "max_per_day",
    "retry_count",
    "templates",
];

const ROUTING_KEYS: &[&str] = &["notify_on", "alert_on", "report_on"];

/// The default number of retries after the first attempt.
pub const DEFAULT_RETRY_COUNT: u32 = 3;

/// The default number of integrations notified at once for one event.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The most retries accepted.
pub const MAX_RETRY_COUNT: u32 = 20;

/// Limits on how many notifications an integration sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// At most this many per clock hour.
    pub max_per_hour: Option<u64>,
    /// At most this many per UTC day.
    pub max_per_day: Option<u64>,
}

impl RateLimit {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.max_per_hour.is_some() || self.max_per_day.is_some()
    }
}

/// Whether an integration can send.
#[derive(Clone, Debug)]
pub enum State {
    /// Built and enabled.
    Ready(Arc<dyn Notifier>),
    /// Enabled, but these variables are not set.
    MissingSecrets(Vec<String>),
    /// `enabled` is not true.
    Disabled,
}

/// One configured integration (a webhook endpoint counts as one).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Integration {
    /// Its name (`slack`, `webhooks.analytics`).
    pub name: String,
    /// Its kind (`slack`, `webhooks`).
    pub kind: &'static str,
    /// The events it receives when routed by event.
    pub routes: EventMatcher,
    /// The routing key of its kind (`notify_on`, `alert_on`, `report_on`).
    pub routing_key: &'static str,
    /// Its rate limits (its own, else `notifications.rate_limit`).
    pub rate_limit: RateLimit,
    /// Delays between attempts (its length is the number of retries).
    pub retry_schedule: Vec<Duration>,
    /// Its templates.
    pub templates: Templates,
    /// Whether it can send.
    pub state: State,
    /// The variables its kind reads by default.
    pub secrets: &'static [SecretVar],
    /// Where it is configured (line in flowspec.yaml).
    pub line: Option<u32>,
}

impl Integration {
    /// The notifier, when ready.
    pub fn notifier(&self) -> Option<&Arc<dyn Notifier>> {
        match &self.state {
            State::Ready(n) => Some(n),
            _ => None,
        }
    }

    /// Whether `enabled: true`.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.state, State::Disabled)
    }
}

/// Everything read from `integrations:` and `notifications:`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct IntegrationsConfig {
    /// Every integration, in file order (disabled ones included).
    pub integrations: Vec<Integration>,
    /// `notifications.rate_limit`: the default for every integration.
    pub rate_limit: RateLimit,
    /// `notifications.concurrency`.
    pub concurrency: usize,
    /// `notifications.templates`.
    pub templates: Templates,
    /// Secret values read by the integrations (masked everywhere).
    pub secret_values: Vec<String>,
}

impl IntegrationsConfig {
    /// The integration called `name`.
    pub fn get(&self, name: &str) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.name == name)
    }

    /// Every integration name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.integrations.iter().map(|i| i.name.as_str())
    }
}

/// Reads the `integrations:` and `notifications:` sections of `settings`.
pub fn load(
    settings: &Settings,
    vars: &Vars,
    registry: &NotifierRegistry,
) -> Result<IntegrationsConfig, ConfigErrors> {
    parse(
        settings.section("integrations"),
        settings.section("notifications"),
        settings.file(),
        settings.text(),
        vars,
        registry,
    )
}

/// Reads the two sections given as nodes (`file` and `text` locate errors).
pub fn parse(
    integrations: Option<&Node>,
    notifications: Option<&Node>,
    file: Option<&Path>,
    text: Option<Arc<str>>,
    vars: &Vars,
    registry: &NotifierRegistry,
) -> Result<IntegrationsConfig, ConfigErrors> {
    let mut cx = Loader {
        file,
        text: text.clone(),
        errors: ConfigErrors::default(),
    };
    let mut out = IntegrationsConfig {
        concurrency: DEFAULT_CONCURRENCY,
        ..IntegrationsConfig::default()
    };
    let mut default_retry = DEFAULT_RETRY_COUNT;
    if let Some(node) = notifications.filter(|n| n.value != Value::Null) {
        cx.notifications(node, &mut out, &mut default_retry);
    }
    if let Some(node) = integrations.filter(|n| n.value != Value::Null) {
        match node.as_map() {
            Some(entries) => {
                for (key, entry) in entries {
                    cx.integration(key, entry, vars, registry, &mut out, default_retry);
                }
            }
            None => cx.push(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!("`integrations` must be a mapping of integration names, found {}", node.value.kind()),
                )
                .at(node.loc)
                .path("integrations")
                .hint("write `integrations:` then one entry per service, e.g. `slack: {enabled: true}`"),
            ),
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for integration in &out.integrations {
        if seen.contains(&integration.name.as_str()) {
            cx.push(ConfigError::new(
                ConfigErrorKind::Duplicate,
                format!("two integrations are named `{}`", integration.name),
            ));
        }
        seen.push(&integration.name);
    }
    let errors = std::mem::take(&mut cx.errors);
    out.secret_values.sort();
    out.secret_values.dedup();
    errors.into_result(out)
}

struct Loader<'a> {
    file: Option<&'a Path>,
    text: Option<Arc<str>>,
    errors: ConfigErrors,
}

impl Loader<'_> {
    fn push(&mut self, error: ConfigError) {
        let error = match self.file {
            Some(file) if error.file().is_none() => error.in_file(file, self.text.clone()),
            _ => error,
        };
        self.errors.push(error);
    }

    fn notifications(
        &mut self,
        node: &Node,
        out: &mut IntegrationsConfig,
        default_retry: &mut u32,
    ) {
        const FIELDS: &[&str] = &["rate_limit", "retry_count", "concurrency", "templates"];
        let Some(entries) = node.as_map() else {
            self.push(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "`notifications` must be a mapping, found {}",
                        node.value.kind()
                    ),
                )
                .at(node.loc)
                .path("notifications"),
            );
            return;
        };
        for (key, value) in entries {
            let path = format!("notifications.{}", key.name);
            match key.name.as_str() {
                "rate_limit" => {
                    if let Some(limit) = self.rate_limit(value, &path) {
                        out.rate_limit = limit;
                    }
                }
                "retry_count" => {
                    if let Some(n) = self.retry_count(value, &path) {
                        *default_retry = n;
                    }
                }
                "concurrency" => match value.value {
                    Value::Int(n) if (1..=1024).contains(&n) => out.concurrency = n as usize,
                    _ => self.push(
                        ConfigError::new(
                            ConfigErrorKind::InvalidValue,
                            "`concurrency` must be a number from 1 to 1024",
                        )
                        .at(value.loc)
                        .path(path),
                    ),
                },
                "templates" => match Templates::parse(value, &path) {
                    Ok(t) => out.templates = t,
                    Err(errors) => errors.into_iter().for_each(|e| self.push(e)),
                },
                other => self.unknown(key, other, FIELDS, "notifications"),
            }
        }
    }

    fn unknown(&mut self, key: &Key, name: &str, known: &[&str], path: &str) {
        let hint = match suggest(name, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "known options: {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.push(
            ConfigError::new(
                ConfigErrorKind::UnknownField,
                format!("unknown field `{name}`"),
            )
            .at(key.loc)
            .path(path)
            .hint(hint),
        );
    }

    fn rate_limit(&mut self, node: &Node, path: &str) -> Option<RateLimit> {
        let Some(entries) = node.as_map() else {
            self.push(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    "`rate_limit` must be a mapping with `max_per_hour` and/or `max_per_day`",
                )
                .at(node.loc)
                .path(path),
            );
            return None;
        };
        let mut limit = RateLimit::default();
        for (key, value) in entries {
            let field_path = format!("{path}.{}", key.name);
            match key.name.as_str() {
                "max_per_hour" => limit.max_per_hour = self.limit(value, &field_path),
                "max_per_day" => limit.max_per_day = self.limit(value, &field_path),
                other => self.unknown(key, other, &["max_per_hour", "max_per_day"], path),
            }
        }
        Some(limit)
    }

    fn limit(&mut self, node: &Node, path: &str) -> Option<u64> {
        match node.value {
            Value::Int(n) if n >= 1 => Some(n as u64),
            _ => {
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("expected a positive whole number, found {node}"),
                    )
                    .at(node.loc)
                    .path(path),
                );
                None
            }
        }
    }

    fn retry_count(&mut self, node: &Node, path: &str) -> Option<u32> {
        match node.value {
            Value::Int(n) if (0..=MAX_RETRY_COUNT as i64).contains(&n) => Some(n as u32),
            _ => {
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`retry_count` must be a number from 0 to {MAX_RETRY_COUNT}, found {node}"),
                    )
                    .at(node.loc)
                    .path(path),
                );
                None
            }
        }
    }

    fn routes(&mut self, node: &Node, path: &str) -> Option<EventMatcher> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::String(_) => vec![node],
            _ => {
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "expected a list of event names, found {}",
                            node.value.kind()
                        ),
                    )
                    .at(node.loc)
                    .path(path)
                    .hint("e.g. `[implementation_completed, implementation_failed]`"),
                );
                return None;
            }
        };
        let mut matcher = EventMatcher::none();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else {
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("expected an event name, found {}", item.value.kind()),
                    )
                    .at(item.loc)
                    .path(format!("{path}[{i}]")),
                );
                ok = false;
                continue;
            };
            match EventMatcher::parse([text]) {
                Ok(m) => matcher.extend(m),
                Err(message) => {
                    self.push(
                        ConfigError::new(ConfigErrorKind::InvalidValue, message)
                            .at(item.loc)
                            .path(format!("{path}[{i}]")),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(matcher)
    }

    #[allow(clippy::too_many_arguments)]
    fn integration(
        &mut self,
        key: &Key,
        node: &Node,
        vars: &Vars,
        registry: &NotifierRegistry,
        out: &mut IntegrationsConfig,
        default_retry: u32,
    ) {
        let path = format!("integrations.{}", key.name);
        let Some(entries) = node.as_map() else {
            self.push(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "integration `{}` must be a mapping of options, found {}",
                        key.name,
                        node.value.kind()
                    ),
                )
                .at(node.loc)
                .path(path)
                .hint("at least `enabled: true`"),
            );
            return;
        };
        let kind_name = match node.get("kind") {
            Some(k) => match k.as_str() {
                Some(s) => s.to_owned(),
                None => {
                    self.push(
                        ConfigError::new(ConfigErrorKind::InvalidValue, "`kind` must be a string")
                            .at(k.loc)
                            .path(format!("{path}.kind")),
                    );
                    return;
                }
            },
            None => key.name.clone(),
        };
        let Some(factory) = registry.get(&kind_name) else {
            let at = node.get("kind").map_or(key.loc, |k| k.loc);
            if let Some(message) = registry.compiled_out(&kind_name) {
                self.push(
                    ConfigError::new(ConfigErrorKind::InvalidValue, message)
                        .at(at)
                        .path(path)
                        .hint(format!(
                            "build flowspec-notify with `features = [\"{kind_name}\"]` (the default features include every notifier)"
                        )),
                );
                return;
            }
            let hint = match suggest(&kind_name, registry.kinds()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "known kinds: {} (name an entry freely and set `kind:` to use a kind twice)",
                    registry
                        .kinds()
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.push(
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!("unknown integration kind `{kind_name}`"),
                )
                .at(at)
                .path(path)
                .hint(hint),
            );
            return;
        };
        let errors_before = self.errors.len();
        let enabled = match node.get("enabled") {
            None => false,
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(other) => {
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`enabled` must be true or false, found {other}"),
                    )
                    .at(other.loc)
                    .path(format!("{path}.enabled")),
                );
                false
            }
        };
        let routing_key = factory.routing_key();
        let mut routes: Option<EventMatcher> = None;
        for rk in ROUTING_KEYS {
            let Some(value) = node.get(rk) else { continue };
            if *rk != routing_key {
                let (k, _) = entries
                    .iter()
                    .find(|(k, _)| k.name == *rk)
                    .expect("present");
                self.push(
                    ConfigError::new(
                        ConfigErrorKind::UnknownField,
                        format!(
                            "`{}` integrations are routed with `{routing_key}`, not `{rk}`",
                            factory.kind()
                        ),
                    )
                    .at(k.loc)
                    .path(path.clone())
                    .hint(format!("rename `{rk}` to `{routing_key}`")),
                );
                continue;
            }
            routes = self.routes(value, &format!("{path}.{rk}"));
        }
        let mut rate_limit = out.rate_limit;
        if let Some(v) = node.get("max_per_hour") {
            rate_limit.max_per_hour = self.limit(v, &format!("{path}.max_per_hour"));
        }
        if let Some(v) = node.get("max_per_day") {
            rate_limit.max_per_day = self.limit(v, &format!("{path}.max_per_day"));
        }
        let retry_count = match node.get("retry_count") {
            Some(v) => self
                .retry_count(v, &format!("{path}.retry_count"))
                .unwrap_or(default_retry),
            None => default_retry,
        };
        let templates = match node.get("templates") {
            Some(t) => match Templates::parse(t, &format!("{path}.templates")) {
                Ok(t) => t,
                Err(errors) => {
                    errors.into_iter().for_each(|e| self.push(e));
                    Templates::default()
                }
            },
            None => Templates::default(),
        };

        // The service's own options.
        let own: Vec<(Key, Node)> = entries
            .iter()
            .filter(|(k, _)| !SHARED_OPTIONS.contains(&k.name.as_str()))
            .cloned()
            .collect();
        let own = Node {
            value: Value::Map(own),
            loc: node.loc,
        };
        let cx = NotifierContext::new(&key.name, path.clone(), vars)
            .in_file(self.file, self.text.clone())
            .enabled(enabled);
        let built = factory.build(&own, &cx);
        out.secret_values.extend(cx.secret_values());
        let base = |name: String, state: State| Integration {
            name,
            kind: factory.kind(),
            routes: EventMatcher::none(),
            routing_key,
            rate_limit,
            retry_schedule: exponential(retry_count),
            templates: templates.clone(),
            state,
            secrets: factory.secrets(),
            line: Some(key.loc.line).filter(|l| *l > 0),
        };
        match built {
            Ok(built) => {
                if self.errors.len() > errors_before {
                    return;
                }
                for b in built {
                    let own_events = match EventMatcher::parse(&b.events) {
                        Ok(m) => m,
                        Err(message) => {
                            self.push(
                                ConfigError::new(ConfigErrorKind::InvalidValue, message)
                                    .path(path.clone()),
                            );
                            continue;
                        }
                    };
                    let mut matcher = match (&routes, own_events.is_empty()) {
                        (Some(r), _) => r.clone(),
                        (None, false) => EventMatcher::none(),
                        (None, true) => EventMatcher::all(),
                    };
                    matcher.extend(own_events);
                    match EventMatcher::parse(&b.extra_events) {
                        Ok(extra) => matcher.extend(extra),
                        Err(message) => {
                            self.push(
                                ConfigError::new(ConfigErrorKind::InvalidValue, message)
                                    .path(path.clone()),
                            );
                            continue;
                        }
                    }
                    let state = if enabled {
                        State::Ready(b.notifier.clone())
                    } else {
                        State::Disabled
                    };
                    let mut integration = base(b.name.clone(), state);
                    integration.routes = matcher;
                    if let Some(schedule) = b.retry_schedule {
                        integration.retry_schedule = schedule;
                    }
                    out.integrations.push(integration);
                }
            }
            Err(errors) => {
                let missing = cx.missing_secrets();
                let only_missing = !missing.is_empty()
                    && errors
                        .iter()
                        .all(|e| e.kind() == ConfigErrorKind::UnsetVariable);
                if only_missing
                    || (!enabled
                        && errors
                            .iter()
                            .all(|e| e.kind() == ConfigErrorKind::UnsetVariable))
                {
                    let state = if enabled {
                        State::MissingSecrets(missing)
                    } else {
                        State::Disabled
                    };
                    let mut integration = base(key.name.clone(), state);
                    integration.routes = routes.unwrap_or_else(EventMatcher::all);
                    out.integrations.push(integration);
                } else {
                    for e in errors {
                        if e.kind() != ConfigErrorKind::UnsetVariable || enabled {
                            self.push(e);
                        }
                    }
                }
            }
        }
    }
}

/// Delays for `retries` retries: 1 s, 2 s, 4 s... up to 60 s.
pub fn exponential(retries: u32) -> Vec<Duration> {
    (0..retries)
        .map(|i| Duration::from_secs(1u64 << i.min(6)).min(Duration::from_secs(60)))
        .collect()
}

/// The factory of `kind` in `registry`, for callers that only know the name.
pub fn factory<'r>(
    registry: &'r NotifierRegistry,
    kind: &str,
) -> Option<&'r Arc<dyn NotifierFactory>> {
    registry.get(kind)
}
