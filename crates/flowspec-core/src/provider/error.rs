//! [`ProviderError`]: what went wrong talking to a CI platform, classified so that
//! the engine can retry and the CLI can explain.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::retry::{RetryDecision, Retryable};

/// What kind of failure a [`ProviderError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// The platform refused the credential (401, or 403 without a rate limit).
    /// [`ProviderError::token_var`] names the variable the token came from.
    Auth,
    /// The run, job, workflow or project does not exist (or is hidden from this
    /// token). [`ProviderError::suggestions`] lists what does exist, when known.
    NotFound,
    /// The rate limit is used up; [`ProviderError::reset_at`] says when it resets.
    RateLimited,
    /// A network failure, a timeout or a 5xx: trying later may work.
    Transient,
    /// The request is wrong: a bad input, a ref that does not exist, a 4xx.
    InvalidRequest,
    /// The provider cannot do this (Jenkins has no failed-only retry, CircleCI no
    /// commit status).
    Unsupported,
    /// The platform answered something unexpected (malformed JSON, an unknown
    /// shape, a refusal with its own message).
    Platform,
}

impl ProviderErrorKind {
    /// A lowercase name for JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderErrorKind::Auth => "auth",
            ProviderErrorKind::NotFound => "not_found",
            ProviderErrorKind::RateLimited => "rate_limited",
            ProviderErrorKind::Transient => "transient",
            ProviderErrorKind::InvalidRequest => "invalid_request",
            ProviderErrorKind::Unsupported => "unsupported",
            ProviderErrorKind::Platform => "platform",
        }
    }
}

/// A failed provider operation.
///
/// `Display` gives one paragraph that says what failed and how to fix it: the
/// variable of a rejected token, the workflows that exist, when a rate limit resets.
/// It never contains a secret or a full URL.
///
/// ```
/// use flowspec_core::provider::{ProviderError, ProviderErrorKind};
///
/// let err = ProviderError::new(ProviderErrorKind::NotFound, "workflow `deploy.yml` not found")
///     .with_suggestions(["ci.yml", "release.yml"]);
/// assert_eq!(err.kind(), ProviderErrorKind::NotFound);
/// assert!(err.to_string().contains("ci.yml, release.yml"));
/// ```
#[derive(Clone)]
pub struct ProviderError(Box<Details>);

#[derive(Clone)]
struct Details {
    kind: ProviderErrorKind,
    message: String,
    token_var: Option<String>,
    suggestions: Vec<String>,
    suggestion_label: String,
    status: Option<u16>,
    platform_message: Option<String>,
    retry_after: Option<Duration>,
    reset_at: Option<SystemTime>,
    maybe_sent: bool,
    idempotent: bool,
}

impl ProviderError {
    /// A new error of `kind`.
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError(Box::new(Details {
            kind,
            message: message.into(),
            token_var: None,
            suggestions: Vec::new(),
            suggestion_label: "these exist".into(),
            status: None,
            platform_message: None,
            retry_after: None,
            reset_at: None,
            maybe_sent: false,
            idempotent: true,
        }))
    }

    /// An operation this provider does not offer.
    pub fn unsupported(provider: &str, operation: &str) -> Self {
        ProviderError::new(
            ProviderErrorKind::Unsupported,
            format!("{provider} does not support {operation}"),
        )
    }

    /// An answer that could not be understood (malformed JSON, missing fields).
    pub fn malformed(what: &str, detail: impl fmt::Display) -> Self {
        ProviderError::new(
            ProviderErrorKind::Platform,
            format!("unexpected answer for {what}: {detail}"),
        )
    }

    /// Names the variable the rejected token came from (`GITHUB_TOKEN`).
    pub fn with_token_var(mut self, var: impl Into<String>) -> Self {
        self.0.token_var = Some(var.into());
        self
    }

    /// Lists what exists instead ("these workflows exist: ...").
    pub fn with_suggestions<S: Into<String>>(
        mut self,
        suggestions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.0.suggestions = suggestions.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the words before the suggestions ("workflows that exist").
    pub fn with_suggestion_label(mut self, label: impl Into<String>) -> Self {
        self.0.suggestion_label = label.into();
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Sets the platform's own error message.
    pub fn with_platform_message(mut self, message: impl Into<String>) -> Self {
        let message = message.into();
        if !message.trim().is_empty() {
            self.0.platform_message = Some(message);
        }
        self
    }

    /// Sets the wait the platform asked for.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.0.retry_after = wait;
        self
    }

    /// Sets when the rate limit resets.
    pub fn with_reset_at(mut self, at: Option<SystemTime>) -> Self {
        self.0.reset_at = at;
        self
    }

    /// Records whether the request may have reached the platform and whether
    /// repeating it is harmless; a transient failure of a request that may have
    /// been acted on and is not idempotent is not retried.
    pub fn with_delivery(mut self, maybe_sent: bool, idempotent: bool) -> Self {
        self.0.maybe_sent = maybe_sent;
        self.0.idempotent = idempotent;
        self
    }

    /// Puts `context` in front of the message (`trigger workflow ci.yml: ...`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ProviderErrorKind {
        self.0.kind
    }

    /// The message (without hints).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The variable the rejected token came from.
    pub fn token_var(&self) -> Option<&str> {
        self.0.token_var.as_deref()
    }

    /// What exists instead of what was not found.
    pub fn suggestions(&self) -> &[String] {
        &self.0.suggestions
    }

    /// The HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The platform's own message.
    pub fn platform_message(&self) -> Option<&str> {
        self.0.platform_message.as_deref()
    }

    /// The wait the platform asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// When the rate limit resets.
    pub fn reset_at(&self) -> Option<SystemTime> {
        self.0.reset_at
    }

    /// Whether the request may have reached the platform.
    pub fn maybe_sent(&self) -> bool {
        self.0.maybe_sent
    }

    /// Whether trying again later may work.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.0.kind,
            ProviderErrorKind::Transient | ProviderErrorKind::RateLimited
        )
    }
}

impl Retryable for ProviderError {
    fn decision(&self) -> RetryDecision {
        match self.0.kind {
            ProviderErrorKind::RateLimited => RetryDecision::Retry {
                after: self.0.retry_after,
            },
            ProviderErrorKind::Transient if !self.0.maybe_sent || self.0.idempotent => {
                RetryDecision::Retry {
                    after: self.0.retry_after,
                }
            }
            _ => RetryDecision::Stop,
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        f.write_str(&d.message)?;
        if let Some(message) = &d.platform_message
            && !d.message.contains(message.as_str())
        {
            write!(f, ": {message}")?;
        }
        match d.kind {
            ProviderErrorKind::Auth => {
                if let Some(var) = &d.token_var {
                    write!(
                        f,
                        " (hint: the token comes from `{var}`; check that it is set, not expired, and has the scopes this needs)"
                    )?;
                }
            }
            ProviderErrorKind::RateLimited => {
                if let Some(at) = d.reset_at {
                    let at: chrono::DateTime<chrono::Utc> = at.into();
                    write!(
                        f,
                        " (rate limit resets at {})",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )?;
                } else if let Some(wait) = d.retry_after {
                    write!(f, " (retry in {}s)", wait.as_secs().max(1))?;
                }
            }
            _ => {}
        }
        if !d.suggestions.is_empty() {
            write!(f, " ({}: {})", d.suggestion_label, d.suggestions.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderError")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("status", &self.0.status)
            .field("token_var", &self.0.token_var)
            .finish()
    }
}

impl std::error::Error for ProviderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_name_the_token_variable_on_auth_errors() {
        let err = ProviderError::new(ProviderErrorKind::Auth, "GitHub refused the token")
            .with_status(401)
            .with_platform_message("Bad credentials")
            .with_token_var("GH_TOKEN");
        assert_eq!(
            err.to_string(),
            "GitHub refused the token: Bad credentials (hint: the token comes from `GH_TOKEN`; check that it is set, not expired, and has the scopes this needs)"
        );
    }

    #[test]
    fn should_retry_only_transient_and_rate_limited_errors() {
        let transient = ProviderError::new(ProviderErrorKind::Transient, "502");
        assert!(matches!(transient.decision(), RetryDecision::Retry { .. }));
        let ambiguous = transient.clone().with_delivery(true, false);
        assert_eq!(ambiguous.decision(), RetryDecision::Stop);
        let limited = ProviderError::new(ProviderErrorKind::RateLimited, "slow down")
            .with_delivery(true, false)
            .with_retry_after(Some(Duration::from_secs(3)));
        assert_eq!(
            limited.decision(),
            RetryDecision::Retry {
                after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            ProviderError::new(ProviderErrorKind::Auth, "no").decision(),
            RetryDecision::Stop
        );
    }
}
