//! Notifiers: telling people and systems what happened.
//!
//! - [`Notification`]: what to say — the [`Event`], a title, a summary, ordered
//!   [`Field`]s (ID, title, branch, PR, error...), [`Link`]s, a [`Severity`] and an
//!   [`Outcome`]. Each service renders it natively (Slack blocks, a Teams Adaptive
//!   Card, Discord embeds, an email with a text and an HTML part, a Jira ADF document...).
//! - [`Notifier`]: one configured destination. Object-safe (`Arc<dyn Notifier>`), one
//!   attempt per call: the delivery layer owns retries, rate limits, audit and dead
//!   letters, and decides from [`NotifyError::is_transient`] and
//!   [`NotifyError::retry_after`] whether and when to try again.
//! - [`NotifierFactory`]: builds notifiers of one kind (`slack`, `pagerduty`) from their
//!   `integrations:` entry in `.flowspec/flowspec.yaml`, with a [`NotifierContext`] that
//!   resolves `${VAR}` and the service's default secret variables ([`SecretVar`]).
//!
//! The implementations live in the `flowspec-notify` crate; embedders add their own by
//! implementing these two traits.
//!
//! ```
//! use async_trait::async_trait;
//! use flowspec_core::Event;
//! use flowspec_core::notifier::{Notification, Notifier, NotifyError, Outcome, Receipt};
//!
//! #[derive(Debug)]
//! struct Stdout;
//!
//! #[async_trait]
//! impl Notifier for Stdout {
//!     fn target(&self) -> String {
//!         "stdout".into()
//!     }
//!     async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
//!         println!("{}: {}", n.title, n.summary);
//!         Ok(Receipt::new())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let event = Event::builder("implement.completed").feature("auth").build().unwrap();
//! let n = Notification::builder(event)
//!     .title("✅ Spec Implementation Completed")
//!     .field("ID", "FEAT-0001")
//!     .outcome(Outcome::Completed)
//!     .build();
//! let notifier: std::sync::Arc<dyn Notifier> = std::sync::Arc::new(Stdout);
//! notifier.notify(&n).await.unwrap();
//! # });
//! ```

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, InterpolateError, Interpolated, Node, Vars,
    from_node, interpolate,
};
use crate::event::Event;
use crate::retry::{RetryDecision, Retryable};

// ---------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------

/// How serious a notification is. Services map it to their own scale (PagerDuty
/// `severity`, Opsgenie `priority`, Datadog `alert_type`, Sentry `level`, colors).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something happened (started, completed, created).
    #[default]
    Info,
    /// Needs attention soon.
    Warning,
    /// Something failed.
    Error,
    /// Something failed badly: page someone.
    Critical,
}

impl Severity {
    /// `info`, `warning`, `error` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the work the event is about stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Outcome {
    /// Work began (`implement.started`).
    Started,
    /// Work finished successfully (`implement.completed`, `pr.merged`).
    Completed,
    /// Work failed (`implement.failed`, `validate.failed`).
    Failed,
    /// Work was cancelled.
    Cancelled,
    /// Something to know that is none of the above (`spec.created`, `spec.approved`).
    #[default]
    Info,
}

impl Outcome {
    /// The outcome of an event type, from its last segment: `started`/`triggered` →
    /// started; `completed`/`succeeded`/`success`/`passed`/`merged`/`resolved` →
    /// completed; `failed`/`failure`/`error`/`errored`/`timeout` → failed;
    /// `cancelled`/`canceled`/`aborted` → cancelled; anything else → info.
    ///
    /// ```
    /// use flowspec_core::notifier::Outcome;
    /// assert_eq!(Outcome::of_event_type("implement.failed"), Outcome::Failed);
    /// assert_eq!(Outcome::of_event_type("spec.created"), Outcome::Info);
    /// ```
    pub fn of_event_type(event_type: &str) -> Outcome {
        let last = event_type.rsplit(['.', '_']).next().unwrap_or(event_type);
        match last {
            "started" | "start" | "triggered" | "running" => Outcome::Started,
            "completed" | "complete" | "succeeded" | "success" | "passed" | "merged"
            | "resolved" | "done" | "deployed" => Outcome::Completed,
            "failed" | "failure" | "error" | "errored" | "timeout" | "timedout" => Outcome::Failed,
            "cancelled" | "canceled" | "aborted" => Outcome::Cancelled,
            _ => Outcome::Info,
        }
    }

    /// `started`, `completed`, `failed`, `cancelled` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Info => "info",
        }
    }

    /// The severity this outcome has unless configured otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            Outcome::Failed => Severity::Error,
            Outcome::Cancelled => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One labelled value of a notification (`ID: FEAT-0001`, `Branch: spec/feat-0001`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// A stable lowercase key for machines (`id`, `title`, `branch`, `pr`, `error`).
    pub key: String,
    /// The label shown to people (`ID`, `Title`, `Branch`, `PR`, `Error`).
    pub label: String,
    /// The value, plain text.
    pub value: String,
}

impl Field {
    /// A field; `key` is the label in snake_case.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        let label = label.into();
        let key = label
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Field {
            key,
            label,
            value: value.into(),
        }
    }

    /// Sets the machine key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
}

/// A link shown as a button or anchor (`View PR`, `Logs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The text (`View PR`, `View Details`).
    pub title: String,
    /// The URL.
    pub url: String,
}

impl Link {
    /// A link.
    pub fn new(title: impl Into<String>, url: impl Into<String>) -> Self {
        Link {
            title: title.into(),
            url: url.into(),
        }
    }
}

/// What to tell: built from an event by the templates of `flowspec-notify`, or by hand
/// with [`Notification::builder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// The event being notified about.
    pub event: Event,
    /// The event's name as written in `notify_on` lists (`implementation_failed`), or
    /// its dotted type when it has no such name.
    pub event_name: String,
    /// One line (`❌ Spec Implementation Failed`).
    pub title: String,
    /// Plain text body, one or more lines (may be empty: fields carry the details).
    pub summary: String,
    /// Labelled values, in display order.
    pub fields: Vec<Field>,
    /// Links, in display order.
    pub links: Vec<Link>,
    /// How serious it is.
    pub severity: Severity,
    /// Started, completed, failed...
    pub outcome: Outcome,
    /// What the notification is about (a spec id such as `FEAT-0001`, or the feature):
    /// the base of dedup keys, aliases and issue titles.
    pub subject: Option<String>,
}

impl Notification {
    /// Starts a notification about `event`. Outcome and severity default from the
    /// event type; the title defaults to the event type.
    pub fn builder(event: Event) -> NotificationBuilder {
        let outcome = Outcome::of_event_type(event.event_type().as_str());
        NotificationBuilder {
            n: Notification {
                event_name: event.event_type().to_string(),
                title: event.event_type().to_string(),
                summary: String::new(),
                fields: Vec::new(),
                links: Vec::new(),
                severity: outcome.default_severity(),
                outcome,
                subject: event.feature().map(str::to_owned),
                event,
            },
        }
    }

    /// The value of the field with `key`, if any.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_str())
    }

    /// A stable key for deduplicating alerts about the same subject
    /// (`flowspec/FEAT-0001`): PagerDuty `dedup_key`, Opsgenie `alias`, Jira labels.
    /// Without a subject, the event id.
    pub fn dedup_key(&self) -> String {
        match &self.subject {
            Some(subject) => format!("flowspec/{subject}"),
            None => format!("flowspec/{}", self.event.id()),
        }
    }

    /// The title, then the summary, then one `• Label: value` line per field: the
    /// plain-text rendering used where a service takes only text.
    pub fn to_text(&self) -> String {
        let mut out = self.title.clone();
        if !self.summary.is_empty() {
            out.push('\n');
            out.push_str(&self.summary);
        }
        for field in &self.fields {
            out.push_str(&format!("\n• {}: {}", field.label, field.value));
        }
        for link in &self.links {
            out.push_str(&format!("\n• {}: {}", link.title, link.url));
        }
        out
    }
}

/// Builds a [`Notification`].
#[derive(Clone, Debug)]
#[must_use]
pub struct NotificationBuilder {
    n: Notification,
}

impl NotificationBuilder {
    /// Sets the name used in routing lists (`implementation_failed`).
    pub fn event_name(mut self, name: impl Into<String>) -> Self {
        self.n.event_name = name.into();
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.n.title = title.into();
        self
    }

    /// Sets the summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.n.summary = summary.into();
        self
    }

    /// Adds a field.
    pub fn field(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.n.fields.push(Field::new(label, value));
        self
    }

    /// Adds a field built by hand.
    pub fn push_field(mut self, field: Field) -> Self {
        self.n.fields.push(field);
        self
    }

    /// Adds a link.
    pub fn link(mut self, title: impl Into<String>, url: impl Into<String>) -> Self {
        self.n.links.push(Link::new(title, url));
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.n.severity = severity;
        self
    }

    /// Sets the outcome (the severity follows unless set afterwards).
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.n.outcome = outcome;
        self.n.severity = outcome.default_severity();
        self
    }

    /// Sets the subject (a spec id, a feature).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.n.subject = Some(subject.into());
        self
    }

    /// The notification.
    pub fn build(self) -> Notification {
        self.n
    }
}

/// What a service said when it accepted a notification.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Receipt {
    /// The HTTP status (or SMTP reply code) of the accepting answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The id the service gave (message id, issue key, dedup key, request id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where to see the result (issue URL, alert URL), when the service says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Anything else worth keeping in the audit line (no secrets).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

impl Receipt {
    /// An empty receipt.
    pub fn new() -> Self {
        Receipt::default()
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Adds a detail.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

/// What kind of failure a [`NotifyError`] is; decides retries and what the delivery
/// layer does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotifyErrorKind {
    /// The integration is misconfigured or a secret is missing: fix the config.
    Config,
    /// The credential was refused (401/403, revoked webhook, bad key).
    Auth,
    /// The target does not exist (deleted webhook, unknown channel or project).
    NotFound,
    /// The target said it is gone for good (HTTP 410): the delivery layer disables the
    /// integration until it is re-enabled.
    Gone,
    /// The service asked us to slow down (429, Slack/Discord limits); see
    /// [`NotifyError::retry_after`].
    RateLimited,
    /// A network failure, timeout or server error (5xx, SMTP 4xx): may work later.
    Transient,
    /// The service refused this notification (invalid payload, a missing required
    /// field): sending it again will not help.
    Rejected,
    /// The service answered something unexpected.
    Service,
}

impl NotifyErrorKind {
    /// The snake_case name used in audit lines and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyErrorKind::Config => "config",
            NotifyErrorKind::Auth => "auth",
            NotifyErrorKind::NotFound => "not_found",
            NotifyErrorKind::Gone => "gone",
            NotifyErrorKind::RateLimited => "rate_limited",
            NotifyErrorKind::Transient => "transient",
            NotifyErrorKind::Rejected => "rejected",
            NotifyErrorKind::Service => "service",
        }
    }
}

/// The error body of a service, modelled instead of flattened into a string: Slack's
/// `invalid_payload`, Discord's `{"code": 50035, "message": ...}`, PagerDuty's
/// `{"status": "invalid event", "errors": [...]}`, Jira's `errorMessages`/`errors`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServiceError {
    /// The service's own code (`invalid_payload`, `50035`, `RATELIMITED`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The service's message.
    pub message: String,
    /// Further messages (Jira `errorMessages` and `errors`, PagerDuty `errors`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl ServiceError {
    /// A service error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ServiceError {
            code: None,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Sets the code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Adds a detail line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.message.is_empty()) {
            (Some(code), true) => f.write_str(code)?,
            (Some(code), false) if *code != self.message => write!(f, "{code}: {}", self.message)?,
            _ => f.write_str(&self.message)?,
        }
        for detail in &self.details {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

/// Why a notification was not delivered.
///
/// `Display` gives one line: the message, the HTTP status, the service's own error,
/// and a hint when one is known. It never contains a secret (webhook URLs are shown
/// redacted by the notifiers).
#[derive(Clone)]
pub struct NotifyError(Box<ErrorDetails>);

#[derive(Clone)]
struct ErrorDetails {
    kind: NotifyErrorKind,
    message: String,
    status: Option<u16>,
    retry_after: Option<Duration>,
    service: Option<ServiceError>,
    hint: Option<String>,
}

impl NotifyError {
    /// A new error.
    pub fn new(kind: NotifyErrorKind, message: impl Into<String>) -> Self {
        NotifyError(Box::new(ErrorDetails {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
            service: None,
            hint: None,
        }))
    }

    /// A configuration problem.
    pub fn config(message: impl Into<String>) -> Self {
        NotifyError::new(NotifyErrorKind::Config, message)
    }

    /// A failure that may go away (network, 5xx).
    pub fn transient(message: impl Into<String>) -> Self {
        NotifyError::new(NotifyErrorKind::Transient, message)
    }

    /// The service refused the notification itself.
    pub fn rejected(message: impl Into<String>) -> Self {
        NotifyError::new(NotifyErrorKind::Rejected, message)
    }

    /// The service asked to wait `retry_after` (if it said).
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        let mut e = NotifyError::new(NotifyErrorKind::RateLimited, message);
        e.0.retry_after = retry_after;
        e
    }

    /// Sets the HTTP status (or SMTP reply code).
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Sets the wait the service asked for.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.0.retry_after = Some(wait);
        self
    }

    /// Attaches the service's error body.
    pub fn with_service_error(mut self, service: ServiceError) -> Self {
        self.0.service = Some(service);
        self
    }

    /// Adds how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Changes the kind (for example a 404 that means a deleted webhook → `Config`).
    pub fn with_kind(mut self, kind: NotifyErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// Puts context in front of the message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }

    /// The kind.
    pub fn kind(&self) -> NotifyErrorKind {
        self.0.kind
    }

    /// Whether trying again later could succeed (rate limited or transient).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.0.kind,
            NotifyErrorKind::RateLimited | NotifyErrorKind::Transient
        )
    }

    /// The wait the service asked for (`Retry-After`, Discord's `retry_after`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The HTTP status (or SMTP reply code), when there was an answer.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The service's own error, when it sent one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        self.0.service.as_ref()
    }

    /// The message alone.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if let Some(service) = &self.0.service {
            write!(f, ": {service}")?;
        }
        if self.0.kind == NotifyErrorKind::RateLimited
            && let Some(wait) = self.0.retry_after
        {
            write!(f, " (rate limited; retry in {:.1}s)", wait.as_secs_f64())?;
        }
        if let Some(hint) = &self.0.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyError")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("status", &self.0.status)
            .field("retry_after", &self.0.retry_after)
            .field("service", &self.0.service)
            .finish()
    }
}

impl std::error::Error for NotifyError {}

impl Retryable for NotifyError {
    fn decision(&self) -> RetryDecision {
        if self.is_transient() {
            RetryDecision::Retry {
                after: self.0.retry_after,
            }
        } else {
            RetryDecision::Stop
        }
    }
}

// ---------------------------------------------------------------------------------
// The trait
// ---------------------------------------------------------------------------------

/// One configured destination: a Slack webhook, an SMTP relay and its recipients, a
/// PagerDuty routing key. Object-safe: hold it as `Arc<dyn Notifier>`.
///
/// Contract (checked by the conformance suite in `flowspec_notify::testing`, see
/// docs/notifier-spec.md):
/// - [`notify`](Notifier::notify) makes **one** attempt and never retries or sleeps
///   itself; it classifies failures ([`NotifyErrorKind`]) and passes on the wait the
///   service asked for.
/// - Nothing it returns or prints (errors, [`target`](Notifier::target), `Debug`,
///   receipts) contains a secret.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Where notifications go, safe to print (`https://hooks.slack.com/…`,
    /// `smtp://smtp.example.com:587`): shown in listings and audit lines.
    fn target(&self) -> String;

    /// Sends one notification, one attempt.
    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError>;

    /// Checks the configuration and, where the service offers a side-effect-free call,
    /// that the credential works. Never sends a message. The default does nothing.
    async fn healthcheck(&self) -> Result<(), NotifyError> {
        Ok(())
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for &T {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for Box<T> {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for Arc<T> {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

fn _obj_safe(_: &dyn Notifier, _: &dyn NotifierFactory) {}

// ---------------------------------------------------------------------------------
// Factories
// ---------------------------------------------------------------------------------

/// A secret (or setting) an integration reads from the environment when its config
/// does not name one with `${VAR}`: seed 003's secrets reference table.
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

    /// A complete `integrations:` snippet using this kind (checked by tests).
    fn example_yaml(&self) -> &'static str;

    /// The routing key that lists the events this integration receives:
    /// `notify_on` (the default), `alert_on` (PagerDuty, Opsgenie), `report_on` (Sentry).
    fn routing_key(&self) -> &'static str {
        "notify_on"
    }

    /// The environment variables read when the config names none (seed 003's table).
    fn secrets(&self) -> &'static [SecretVar] {
        &[]
    }

    /// Validates the service options (`config`, without the shared options) and
    /// builds the notifier(s). Most kinds build one; `webhooks` builds one per endpoint.
    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors>;
}

impl fmt::Debug for dyn NotifierFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotifierFactory({})", self.kind())
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

    fn event(t: &str) -> Event {
        Event::builder(t).feature("auth").build().unwrap()
    }

    #[test]
    fn should_derive_outcome_and_severity_from_the_event_type() {
        let n = Notification::builder(event("implement.failed")).build();
        assert_eq!((n.outcome, n.severity), (Outcome::Failed, Severity::Error));
        let n = Notification::builder(event("implement.started")).build();
        assert_eq!((n.outcome, n.severity), (Outcome::Started, Severity::Info));
        assert_eq!(Outcome::of_event_type("pr.merged"), Outcome::Completed);
        assert_eq!(n.dedup_key(), "flowspec/auth");
    }

    #[test]
    fn should_render_plain_text_with_bullets() {
        let n = Notification::builder(event("implement.completed"))
            .title("✅ Done")
            .field("ID", "FEAT-0001")
            .field("PR", "#42")
            .build();
        assert_eq!(n.to_text(), "✅ Done\n• ID: FEAT-0001\n• PR: #42");
        assert_eq!(n.field("pr"), Some("#42"));
    }

    #[test]
    fn should_classify_transient_errors_for_the_retry_loop() {
        let limited = NotifyError::rate_limited("slow down", Some(Duration::from_millis(529)));
        assert!(limited.is_transient());
        assert_eq!(
            limited.decision(),
            RetryDecision::Retry {
                after: Some(Duration::from_millis(529))
            }
        );
        let rejected = NotifyError::rejected("400 Bad Request")
            .with_service_error(ServiceError::new("").with_code("invalid_payload"));
        assert!(!rejected.is_transient());
        assert_eq!(rejected.to_string(), "400 Bad Request: invalid_payload");
    }

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
