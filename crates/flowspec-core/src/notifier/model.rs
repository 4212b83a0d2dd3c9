//! What a notification says: [`Notification`] (built with [`NotificationBuilder`]),
//! its [`Field`]s and [`Link`]s, its [`Severity`] and [`WorkOutcome`], and the
//! [`Receipt`] a service gives when it accepts one.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::Event;

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
pub enum WorkOutcome {
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

impl WorkOutcome {
    /// The outcome of an event type, from its last segment: `started`/`triggered` →
    /// started; `completed`/`succeeded`/`success`/`passed`/`merged`/`resolved` →
    /// completed; `failed`/`failure`/`error`/`errored`/`timeout` → failed;
    /// `cancelled`/`canceled`/`aborted` → cancelled; anything else → info.
    ///
    /// ```
    /// use flowspec_core::notifier::WorkOutcome;
    /// assert_eq!(WorkOutcome::of_event_type("implement.failed"), WorkOutcome::Failed);
    /// assert_eq!(WorkOutcome::of_event_type("spec.created"), WorkOutcome::Info);
    /// ```
    pub fn of_event_type(event_type: &str) -> WorkOutcome {
        let last = event_type.rsplit(['.', '_']).next().unwrap_or(event_type);
        match last {
            "started" | "start" | "triggered" | "running" => WorkOutcome::Started,
            "completed" | "complete" | "succeeded" | "success" | "passed" | "merged"
            | "resolved" | "done" | "deployed" => WorkOutcome::Completed,
            "failed" | "failure" | "error" | "errored" | "timeout" | "timedout" => {
                WorkOutcome::Failed
            }
            "cancelled" | "canceled" | "aborted" => WorkOutcome::Cancelled,
            _ => WorkOutcome::Info,
        }
    }

    /// `started`, `completed`, `failed`, `cancelled` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOutcome::Started => "started",
            WorkOutcome::Completed => "completed",
            WorkOutcome::Failed => "failed",
            WorkOutcome::Cancelled => "cancelled",
            WorkOutcome::Info => "info",
        }
    }

    /// The severity this outcome has unless configured otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            WorkOutcome::Failed => Severity::Error,
            WorkOutcome::Cancelled => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

impl fmt::Display for WorkOutcome {
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
    pub outcome: WorkOutcome,
    /// What the notification is about (a spec id such as `FEAT-0001`, or the feature):
    /// the base of dedup keys, aliases and issue titles.
    pub subject: Option<String>,
}

impl Notification {
    /// Starts a notification about `event`. WorkOutcome and severity default from the
    /// event type; the title defaults to the event type.
    pub fn builder(event: Event) -> NotificationBuilder {
        let outcome = WorkOutcome::of_event_type(event.event_type().as_str());
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
    pub fn outcome(mut self, outcome: WorkOutcome) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(t: &str) -> Event {
        Event::builder(t).feature("auth").build().unwrap()
    }

    #[test]
    fn should_derive_outcome_and_severity_from_the_event_type() {
        let n = Notification::builder(event("implement.failed")).build();
        assert_eq!(
            (n.outcome, n.severity),
            (WorkOutcome::Failed, Severity::Error)
        );
        let n = Notification::builder(event("implement.started")).build();
        assert_eq!(
            (n.outcome, n.severity),
            (WorkOutcome::Started, Severity::Info)
        );
        assert_eq!(
            WorkOutcome::of_event_type("pr.merged"),
            WorkOutcome::Completed
        );
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
}
