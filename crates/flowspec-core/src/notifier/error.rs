//! Why a notification was not delivered: [`NotifyError`], classified by
//! [`NotifyErrorKind`] for the delivery layer's retries, with the service's own
//! [`ServiceError`].

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::retry::{RetryDecision, Retryable};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
