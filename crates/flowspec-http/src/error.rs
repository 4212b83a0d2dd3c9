//! Classified HTTP errors.

use std::fmt;
use std::time::{Duration, SystemTime};

use flowspec_core::retry::{RetryDecision, Retryable};
use reqwest::StatusCode;

/// What kind of failure an [`HttpError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// 401, or 403 without a rate limit: the credential was refused.
    Auth,
    /// 404 (or 410 Gone).
    NotFound,
    /// 429, or 403 with the rate limit used up.
    RateLimited,
    /// The connection failed, timed out, or the server answered 5xx/408.
    Transient,
    /// The request itself is wrong (4xx other than the above, a bad URL or target).
    InvalidRequest,
    /// The server answered something unusable (malformed JSON, an unexpected shape).
    Platform,
}

/// An HTTP failure: its kind, the status and body when there was a response, and
/// the wait the server asked for. `Display` never shows the full URL.
#[derive(Clone)]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
    status: Option<StatusCode>,
    body: Option<String>,
    retry_after: Option<Duration>,
    reset_at: Option<SystemTime>,
    headers: Option<Box<reqwest::header::HeaderMap>>,
    target: Option<String>,
    // Whether the request may have reached the server: decides if repeating it is safe.
    maybe_sent: bool,
    idempotent: bool,
}

/// The most of an error body kept.
pub(crate) const MAX_ERROR_BODY: usize = 16 * 1024;

impl HttpError {
    /// A new error without a response.
    pub fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        HttpError {
            kind,
            message: message.into(),
            status: None,
            body: None,
            retry_after: None,
            reset_at: None,
            headers: None,
            target: None,
            maybe_sent: false,
            idempotent: true,
        }
    }

    /// An error for a non-2xx response (for clients that received the response
    /// through another library, such as octocrab): classified exactly like
    /// [`HttpClient::send`](crate::HttpClient::send) does. `target` is shown in
    /// messages: pass `METHOD` and a redacted URL, never a secret.
    pub fn from_status(
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: String,
        target: String,
    ) -> Self {
        let retry_after = crate::rate_limit::retry_after(headers, SystemTime::now());
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && (crate::rate_limit::exhausted(headers) || body_mentions_rate_limit(&body)));
        let kind = if rate_limited {
            HttpErrorKind::RateLimited
        } else {
            match status.as_u16() {
                401 | 403 => HttpErrorKind::Auth,
                404 | 410 => HttpErrorKind::NotFound,
                408 | 500..=599 => HttpErrorKind::Transient,
                _ => HttpErrorKind::InvalidRequest,
            }
        };
        HttpError {
            kind,
            message: format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
            status: Some(status),
            body: Some(body),
            retry_after,
            reset_at: crate::rate_limit::reset_at(headers),
            headers: Some(Box::new(headers.clone())),
            target: Some(target),
            maybe_sent: true,
            idempotent: true,
        }
    }

    /// An error for a transport failure (no response).
    pub(crate) fn from_transport(error: &reqwest::Error, target: String) -> Self {
        let connect = error.is_connect();
        // A refused redirect (another origin, a downgrade) will not change on retry.
        let kind = if error.is_builder() || error.is_redirect() {
            HttpErrorKind::InvalidRequest
        } else {
            HttpErrorKind::Transient
        };
        let what = if connect {
            "cannot connect"
        } else if error.is_timeout() {
            "timed out"
        } else if error.is_body() || error.is_decode() {
            "the response body could not be read"
        } else if error.is_redirect() {
            "redirect refused"
        } else {
            "request failed"
        };
        // reqwest's Display includes the URL: use the error's source chain without it.
        let detail = std::error::Error::source(error)
            .map(|s| format!(": {}", root_cause(s)))
            .unwrap_or_default();
        HttpError {
            kind,
            message: format!("{what}{detail}"),
            maybe_sent: !connect,
            target: Some(target),
            ..HttpError::new(kind, "")
        }
    }

    /// Marks whether the request may be repeated without harm.
    pub(crate) fn with_idempotency(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Adds context (e.g. "trigger workflow `ci.yml`") in front of the message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The kind.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The response body (at most 16 KiB), when there was one.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// The body as JSON, if it is.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
    }

    /// The wait the server asked for (`Retry-After` or a rate-limit reset).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// A response header, when there was a response and the header is text (services
    /// signal rate limits in their own headers, such as Sentry's `X-Sentry-Rate-Limits`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref()?.get(name)?.to_str().ok()
    }

    /// When the rate limit resets, if the server said.
    pub fn reset_at(&self) -> Option<SystemTime> {
        self.reset_at
    }

    /// Whether the request may have reached the server (so repeating a non-idempotent
    /// request could do it twice).
    pub fn maybe_sent(&self) -> bool {
        self.maybe_sent
    }

    /// The message without the target.
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn body_mentions_rate_limit(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("rate limit") || lower.contains("secondary rate")
}

impl Retryable for HttpError {
    fn decision(&self) -> RetryDecision {
        match self.kind {
            // Nothing was done: always safe to wait and repeat.
            HttpErrorKind::RateLimited => RetryDecision::Retry {
                after: self.retry_after,
            },
            HttpErrorKind::Transient if !self.maybe_sent || self.idempotent => {
                RetryDecision::Retry {
                    after: self.retry_after,
                }
            }
            _ => RetryDecision::Stop,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(target) = &self.target {
            write!(f, "{target}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(detail) = self.body.as_deref().and_then(summarize_body) {
            write!(f, ": {detail}")?;
        }
        if self.kind == HttpErrorKind::RateLimited
            && let Some(wait) = self.retry_after
        {
            write!(f, " (rate limited; retry in {}s)", wait.as_secs().max(1))?;
        }
        Ok(())
    }
}

impl fmt::Debug for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("status", &self.status)
            .field("target", &self.target)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl std::error::Error for HttpError {}

/// A short human summary of an error body: the `message`/`error` fields of JSON
/// bodies, or the first line of text.
fn summarize_body(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        for key in [
            "message",
            "error_description",
            "error",
            "errorMessages",
            "errors",
            "detail",
        ] {
            match json.get(key) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => return Some(s.clone()),
                Some(v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                    let text = v.to_string();
                    if text != "[]" && text != "{}" {
                        return Some(truncate(&text, 300));
                    }
                }
                _ => {}
            }
        }
        return Some(truncate(body, 300));
    }
    Some(truncate(body.lines().next().unwrap_or(body), 300))
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
