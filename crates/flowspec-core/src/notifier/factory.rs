//! Building notifiers from configuration: one [`NotifierFactory`] per service, the
//! [`NotifierContext`] it builds with, and a [`NotifierRegistry`] that finds factories
//! by their `integrations:` key.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::Notifier;
use crate::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, InterpolateError, Interpolated, Node, Vars,
    from_node, interpolate,
};
use crate::registry::{Registered, Registry};

/// A secret (or setting) an integration reads from the environment when its config
/// does not name one with `${VAR}` (`SLACK_WEBHOOK_URL`, `JIRA_API_TOKEN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretVar {
    /// The config option that may name it explicitly (`webhook_url`, `smtp.password`).
    pub option: &'static str,
    /// The environment variable read by default (`SLACK_WEBHOOK_URL`).
    pub env: &'static str,
    /// Whether the integration cannot work without it.
    pub required: bool,
    /// What it is, for `flowspec integrations list` and the docs.
    pub description: &'static str,
    /// A realistic fake value (docs, and the conformance suite builds with it).
    pub example: &'static str,
    /// Whether the value is a secret (masked, never written in config files). Settings
    /// read from the environment by default, such as `SMTP_HOST` or `JIRA_BASE_URL`,
    /// are not.
    pub sensitive: bool,
}

impl SecretVar {
    /// A required secret: `option` in the config, else the variable `env`.
    pub const fn required(
        option: &'static str,
        env: &'static str,
        description: &'static str,
        example: &'static str,
    ) -> Self {
        SecretVar {
            option,
            env,
            required: true,
            description,
            example,
            sensitive: true,
        }
    }

    /// An optional secret.
    pub const fn optional(
        option: &'static str,
        env: &'static str,
        description: &'static str,
        example: &'static str,
    ) -> Self {
        SecretVar {
            option,
            env,
            required: false,
            description,
            example,
            sensitive: true,
        }
    }

    /// A required setting that is not secret (`SMTP_HOST`, `JIRA_BASE_URL`): it may be
    /// written in the config file, and is read from `env` when it is not.
    pub const fn setting(
        option: &'static str,
        env: &'static str,
        description: &'static str,
        example: &'static str,
    ) -> Self {
        SecretVar {
            option,
            env,
            required: true,
            description,
            example,
            sensitive: false,
        }
    }
}

/// Builds notifiers of one kind from their `integrations:` entry.
///
/// Registered in a plain list (`flowspec_notify::BUILTIN`); embedders add their own at
/// runtime. The options every integration shares (`enabled`, the routing key, rate
/// limits, templates, retries) are read by the delivery layer and removed from the
/// node before [`build`](NotifierFactory::build) sees it; `api_url` is left in for the
/// factory, which must accept it (HTTPS, or plain HTTP to loopback).
pub trait NotifierFactory: Send + Sync {
    /// The key under `integrations:` (`slack`, `pagerduty`): lowercase snake_case.
    fn kind(&self) -> &'static str;

    /// One line for listings and docs.
    fn describe(&self) -> &'static str;

    /// A complete `integrations:` snippet using this kind (checked by tests: with the
    /// [`secrets`](NotifierFactory::secrets)' example values set it must build a ready
    /// notifier).
    fn example_yaml(&self) -> &'static str;

    /// How this kind's service answers when it accepts a notification, for the
    /// conformance suite in `flowspec_notify::testing`, which runs every registered
    /// kind against a fake service. The default: an HTTP service answering `200` with
    /// an empty body.
    fn example(&self) -> Example {
        Example::http(ExampleAnswer::new(200))
    }

    /// The routing key that lists the events this integration receives:
    /// `notify_on` (the default), `alert_on` (PagerDuty, Opsgenie), `report_on` (Sentry).
    fn routing_key(&self) -> &'static str {
        "notify_on"
    }

    /// The environment variables read when the config names none.
    fn secrets(&self) -> &'static [SecretVar] {
        &[]
    }

    /// Validates the service options (`config`, without the shared options) and
    /// builds the notifier(s). Most kinds build one; `webhooks` builds one per endpoint.
    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors>;
}

impl<T: NotifierFactory + ?Sized> NotifierFactory for &T {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
    fn describe(&self) -> &'static str {
        (**self).describe()
    }
    fn example_yaml(&self) -> &'static str {
        (**self).example_yaml()
    }
    fn example(&self) -> Example {
        (**self).example()
    }
    fn routing_key(&self) -> &'static str {
        (**self).routing_key()
    }
    fn secrets(&self) -> &'static [SecretVar] {
        (**self).secrets()
    }
    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        (**self).build(config, cx)
    }
}

impl fmt::Debug for dyn NotifierFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotifierFactory({})", self.kind())
    }
}

/// How a kind's service behaves when it accepts a notification: what the conformance
/// suite's fake service answers, and the requests it expects. The sample config is
/// [`NotifierFactory::example_yaml`]; the variables it needs are
/// [`NotifierFactory::secrets`].
///
/// ```
/// use flowspec_core::notifier::{Example, ExampleAnswer};
/// let example = Example::http(ExampleAnswer::text(200, "ok")).expect_request("POST", "/services/T/B/x");
/// assert_eq!(example.answer.as_ref().unwrap().body, "ok");
/// assert_eq!(example.requests, [("POST", "/services/T/B/x")]);
/// assert!(Example::not_http().answer.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Example {
    /// The answer to every request (one body that satisfies the lookups and the
    /// creates a notification makes); `None` for a kind that does not speak HTTP
    /// (email), whose HTTP checks are skipped.
    pub answer: Option<ExampleAnswer>,
    /// Requests (method, path under `api_url`) one notification must make.
    pub requests: Vec<(&'static str, &'static str)>,
}

impl Example {
    /// An HTTP kind whose service answers `answer`.
    pub fn http(answer: ExampleAnswer) -> Self {
        Example {
            answer: Some(answer),
            requests: Vec::new(),
        }
    }

    /// A kind that does not speak HTTP.
    pub fn not_http() -> Self {
        Example {
            answer: None,
            requests: Vec::new(),
        }
    }

    /// Adds a request (`POST`, `/v2/enqueue`) one notification must make.
    pub fn expect_request(mut self, method: &'static str, path: &'static str) -> Self {
        self.requests.push((method, path));
        self
    }
}

/// An HTTP answer of a service: a status and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExampleAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// Its content type, when there is a body.
    pub content_type: Option<&'static str>,
}

impl ExampleAnswer {
    /// `status` with an empty body.
    pub fn new(status: u16) -> Self {
        ExampleAnswer {
            status,
            body: String::new(),
            content_type: None,
        }
    }

    /// `status` with a plain-text body.
    pub fn text(status: u16, body: &str) -> Self {
        ExampleAnswer {
            status,
            body: body.to_owned(),
            content_type: Some("text/plain"),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        ExampleAnswer {
            status,
            body: body.to_string(),
            content_type: Some("application/json"),
        }
    }
}

/// The notifier kinds known to a program, by `integrations:` key: the built-in ones
/// (`flowspec_notify::registry()`) plus any an embedder adds.
///
/// ```
/// use flowspec_core::notifier::NotifierRegistry;
/// let registry = NotifierRegistry::new();
/// assert!(registry.get("slack").is_none());
/// assert!(registry.kinds().is_empty());
/// ```
pub type NotifierRegistry = Registry<dyn NotifierFactory>;

impl Registered for dyn NotifierFactory {
    fn kind(&self) -> &'static str {
        NotifierFactory::kind(self)
    }

    fn shared(factory: &'static Self) -> Arc<Self> {
        Arc::new(factory)
    }
}

/// A notifier built by a factory, with what the delivery layer needs to know about it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Built {
    /// The integration's name: its key (`slack`), or `key.endpoint` for kinds that
    /// build several (`webhooks.analytics`).
    pub name: String,
    /// The notifier.
    pub notifier: Arc<dyn Notifier>,
    /// Events this notifier receives by its own options (a webhook endpoint's
    /// `events`, the keys of email `recipients`), on top of the routing key.
    pub events: Vec<String>,
    /// Retry delays of its own (`retry_count`, `retry_schedule`): one delay per retry.
    pub retry_schedule: Option<Vec<Duration>>,
    /// Events added to whatever the routing key selects, without narrowing an
    /// integration that has no routing key (PagerDuty's `resolve_on`: the successes
    /// that resolve the alerts `alert_on` opened).
    pub extra_events: Vec<String>,
}

impl Built {
    /// The integration's one notifier.
    pub fn new(name: impl Into<String>, notifier: Arc<dyn Notifier>) -> Self {
        Built {
            name: name.into(),
            notifier,
            events: Vec::new(),
            retry_schedule: None,
            extra_events: Vec::new(),
        }
    }

    /// Adds events routed to it by its own options.
    pub fn with_events(mut self, events: Vec<String>) -> Self {
        self.events = events;
        self
    }

    /// Adds events on top of the routing key's (see [`Built::extra_events`]).
    pub fn with_extra_events(mut self, events: Vec<String>) -> Self {
        self.extra_events = events;
        self
    }

    /// Sets its own retry delays.
    pub fn with_retry_schedule(mut self, schedule: Vec<Duration>) -> Self {
        self.retry_schedule = Some(schedule);
        self
    }
}

/// What a factory may use while building: the integration's name and place in the
/// file, `${VAR}` resolution, and the default secret variables.
pub struct NotifierContext<'a> {
    name: &'a str,
    key_path: String,
    vars: &'a Vars,
    file: Option<&'a Path>,
    file_text: Option<Arc<str>>,
    enabled: bool,
    secret_values: RefCell<Vec<String>>,
    missing: RefCell<Vec<String>>,
}

impl fmt::Debug for NotifierContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierContext")
            .field("name", &self.name)
            .field("key_path", &self.key_path)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl<'a> NotifierContext<'a> {
    /// A context for the integration `name` at `key_path` (`integrations.slack`).
    pub fn new(name: &'a str, key_path: impl Into<String>, vars: &'a Vars) -> Self {
        NotifierContext {
            name,
            key_path: key_path.into(),
            vars,
            file: None,
            file_text: None,
            enabled: true,
            secret_values: RefCell::default(),
            missing: RefCell::default(),
        }
    }

    /// Sets the file the entry comes from (for error snippets).
    pub fn in_file(mut self, file: Option<&'a Path>, text: Option<Arc<str>>) -> Self {
        self.file = file;
        self.file_text = text;
        self
    }

    /// Marks the integration disabled: it is validated, but missing secrets are fine.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The integration's name (`slack`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// The key path of the entry (`integrations.slack`).
    pub fn key_path(&self) -> &str {
        &self.key_path
    }

    /// Whether the integration is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The variables for `${VAR}`.
    pub fn vars(&self) -> &Vars {
        self.vars
    }

    /// Attaches the file to an error.
    pub fn locate(&self, error: ConfigError) -> ConfigError {
        match (error.file(), self.file) {
            (None, Some(file)) => error.in_file(file, self.file_text.clone()),
            _ => error,
        }
    }

    /// Deserializes the service options with located errors (use
    /// `#[serde(deny_unknown_fields)]`).
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        node: &Node,
    ) -> Result<T, ConfigError> {
        from_node(node, &self.key_path).map_err(|e| self.locate(e))
    }

    /// An error at `node`, under `key_path.field`.
    pub fn error(
        &self,
        node: Option<&Node>,
        field: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        self.error_kind(ConfigErrorKind::InvalidValue, node, field, message)
    }

    /// An error of `kind` at `node`, under `key_path.field`.
    pub fn error_kind(
        &self,
        kind: ConfigErrorKind,
        node: Option<&Node>,
        field: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        let path = if field.is_empty() {
            self.key_path.clone()
        } else {
            format!("{}.{field}", self.key_path)
        };
        let mut error = ConfigError::new(kind, message).path(path);
        if let Some(node) = node {
            error = error.at(node.loc);
        }
        self.locate(error)
    }

    /// Replaces `${VAR}` in a non-secret option. Values of secret-looking variables
    /// used here are still masked.
    pub fn interpolate(
        &self,
        node: Option<&Node>,
        field: &str,
        text: &str,
    ) -> Result<String, ConfigError> {
        let out = self.expand(node, field, text)?;
        Ok(out.value)
    }

    /// Replaces `${VAR}` in an option whose value must stay secret (a header holding a
    /// token); every variable it reads is masked.
    pub fn interpolate_secret(
        &self,
        node: Option<&Node>,
        field: &str,
        text: &str,
    ) -> Result<SecretString, ConfigError> {
        let out = self.expand(node, field, text)?;
        if !out.vars.is_empty() {
            self.secret_values.borrow_mut().push(out.value.clone());
        }
        Ok(SecretString::from(out.value))
    }

    /// Resolves a secret: the option's value when given (for a sensitive `var` it must
    /// be a `${VAR}` reference — secrets are never written in config files), else the
    /// default variable of `var`. `Ok(None)` when an optional secret is absent; a missing
    /// required secret is an [`ConfigErrorKind::UnsetVariable`] error and is listed by
    /// [`NotifierContext::missing_secrets`].
    pub fn secret(
        &self,
        given: Option<&Node>,
        var: &SecretVar,
    ) -> Result<Option<SecretString>, ConfigError> {
        let (value, env_name) = match given
            .filter(|n| !matches!(n.value, crate::config::Value::Null))
        {
            Some(node) => {
                let Some(text) = node.scalar_text() else {
                    return Err(self.error(
                        Some(node),
                        var.option,
                        format!(
                            "`{}` must be a string such as \"${{{}}}\"",
                            var.option, var.env
                        ),
                    ));
                };
                if var.sensitive && (!text.trim_start().starts_with("${") || !text.contains('}')) {
                    // Located by line and column only: a snippet would print the secret.
                    let mut error = ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`{}` is a secret and must not be written in the config file", var.option),
                    )
                    .path(format!("{}.{}", self.key_path, var.option))
                    .at(node.loc)
                    .hint(format!(
                        "reference an environment variable instead: `{}: \"${{{}}}\"` (set it in the environment or .flowspec/hooks/.env)",
                        var.option, var.env
                    ));
                    if let Some(file) = self.file {
                        error = error.in_file(file, None);
                    }
                    return Err(error);
                }
                match interpolate(&text, self.vars) {
                    Ok(out) => (
                        Some(out.value),
                        out.vars.first().cloned().unwrap_or_default(),
                    ),
                    Err(InterpolateError::Unset { name }) => (None, name),
                    Err(e) => return Err(self.error(Some(node), var.option, e.to_string())),
                }
            }
            None => (
                self.vars.get(var.env).map(str::to_owned),
                var.env.to_owned(),
            ),
        };
        match value {
            Some(v) if !v.is_empty() => {
                if var.sensitive {
                    self.secret_values.borrow_mut().push(v.clone());
                }
                Ok(Some(SecretString::from(v)))
            }
            _ if !var.required => Ok(None),
            _ => {
                self.missing.borrow_mut().push(env_name.clone());
                Err(self
                    .error_kind(
                        ConfigErrorKind::UnsetVariable,
                        given,
                        var.option,
                        format!(
                            "secret `{env_name}` is not set (needed for `{}`)",
                            var.option
                        ),
                    )
                    .hint(format!(
                        "set {env_name} in the environment or in .flowspec/hooks/.env"
                    )))
            }
        }
    }

    /// Secret values resolved so far (the delivery layer masks them everywhere).
    pub fn secret_values(&self) -> Vec<String> {
        self.secret_values.borrow().clone()
    }

    /// Required variables that were not set.
    pub fn missing_secrets(&self) -> Vec<String> {
        self.missing.borrow().clone()
    }

    fn expand(
        &self,
        node: Option<&Node>,
        field: &str,
        text: &str,
    ) -> Result<Interpolated, ConfigError> {
        match interpolate(text, self.vars) {
            Ok(out) => {
                for name in &out.vars {
                    if crate::secret::looks_secret(name)
                        && let Some(v) = self.vars.get(name)
                    {
                        self.secret_values.borrow_mut().push(v.to_owned());
                    }
                }
                Ok(out)
            }
            Err(InterpolateError::Unset { name }) => {
                self.missing.borrow_mut().push(name.clone());
                Err(self
                    .error_kind(
                        ConfigErrorKind::UnsetVariable,
                        node,
                        field,
                        format!("environment variable `{name}` is not set (used by `{field}`)"),
                    )
                    .hint(format!(
                        "set {name} in the environment or in .flowspec/hooks/.env, or use ${{{name}:-default}}"
                    )))
            }
            Err(e) => Err(self.error(node, field, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_refuse_literal_secrets_and_read_default_variables() {
        let vars = Vars::from_pairs([(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/x",
        )]);
        let cx = NotifierContext::new("slack", "integrations.slack", &vars);
        let var = SecretVar::required("webhook_url", "SLACK_WEBHOOK_URL", "webhook", "https://x");
        let got = cx.secret(None, &var).unwrap().unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&got),
            "https://hooks.slack.com/services/T/B/x"
        );
        let literal = Node::parse("https://hooks.slack.com/services/T/B/x").unwrap();
        let err = cx.secret(Some(&literal), &var).unwrap_err();
        assert!(
            err.to_string()
                .contains("must not be written in the config file"),
            "{err}"
        );
        assert!(!err.to_string().contains("services/T"), "{err}");

        let empty = Vars::default();
        let cx = NotifierContext::new("slack", "integrations.slack", &empty);
        let err = cx.secret(None, &var).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::UnsetVariable);
        assert_eq!(cx.missing_secrets(), ["SLACK_WEBHOOK_URL"]);
    }
}
