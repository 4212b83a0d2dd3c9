//! What HTTP notifiers share: resolving the target (`api_url` overrides, HTTPS
//! policy), one JSON POST through `flowspec-http`, and turning HTTP failures into
//! [`NotifyError`]s. One attempt per call: the delivery layer retries.

use std::time::Duration;

use flowspec_core::notifier::{NotifyError, NotifyErrorKind, ServiceError};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use flowspec_http::reqwest::{Method, StatusCode};
use flowspec_http::{HttpClient, HttpError, HttpErrorKind, Idempotency, target};
use url::Url;

/// A target URL that may hold a secret (a webhook path, a `sig=` query) and its
/// printable form.
#[derive(Clone)]
pub struct Endpoint {
    url: SecretString,
    shown: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({})", self.shown)
    }
}

impl Endpoint {
    /// Checks `url` (HTTPS, or plain HTTP to loopback) and keeps it secret.
    pub fn new(url: &str) -> Result<Endpoint, String> {
        let parsed = target::check_target(url).map_err(|e| e.to_string())?;
        Ok(Endpoint {
            shown: target::redact(&parsed),
            url: SecretString::from(parsed.to_string()),
        })
    }

    /// `url`, with its scheme, host and port replaced by those of `api_url` when one
    /// is given (relays, proxies, mocks): the secret path and query are kept. A path
    /// in `api_url` is put in front of the URL's path.
    ///
    /// ```
    /// use flowspec_notify::http::Endpoint;
    /// let t = Endpoint::with_api_url(
    ///     "https://hooks.slack.com/services/T0/B0/XYZ",
    ///     Some("http://127.0.0.1:8080/relay"),
    /// ).unwrap();
    /// assert_eq!(t.shown(), "http://127.0.0.1:8080/…");
    /// assert_eq!(t.expose(), "http://127.0.0.1:8080/relay/services/T0/B0/XYZ");
    /// ```
    pub fn with_api_url(url: &str, api_url: Option<&str>) -> Result<Endpoint, String> {
        let Some(api_url) = api_url else {
            return Endpoint::new(url);
        };
        let base = target::check_target(api_url).map_err(|e| format!("`api_url`: {e}"))?;
        let original = Url::parse(url).map_err(|_| "invalid URL".to_owned())?;
        let mut joined = base.clone();
        let prefix = base.path().trim_end_matches('/');
        joined.set_path(&format!("{prefix}{}", original.path()));
        joined.set_query(original.query());
        Endpoint::new(joined.as_str())
    }

    /// The URL with path and query hidden (`https://hooks.slack.com/…`).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The full URL (holds the secret).
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with `path` appended (for APIs whose base is configurable).
    pub fn join(&self, path: &str) -> Result<Endpoint, String> {
        let base = self.expose().trim_end_matches('/');
        Endpoint::new(&format!("{base}/{}", path.trim_start_matches('/')))
    }
}

/// A 2xx answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text (at most 1 MiB kept).
    pub body: String,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// One request to send: method, target, body and headers.
#[derive(Debug)]
pub struct Post<'a> {
    /// The target.
    pub target: &'a Endpoint,
    /// The method (POST unless set).
    pub method: Method,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// The content type.
    pub content_type: &'static str,
    /// Extra headers (values may be secret: they are never printed).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A timeout for this request (default: the client's).
    pub timeout: Option<Duration>,
}

impl<'a> Post<'a> {
    /// A JSON POST of `body` to `target`.
    pub fn json(target: &'a Endpoint, body: &impl serde::Serialize) -> Post<'a> {
        Post {
            target,
            method: Method::POST,
            body: serde_json::to_vec(body).unwrap_or_default(),
            content_type: "application/json",
            headers: Vec::new(),
            timeout: None,
        }
    }

    /// A POST of exact bytes.
    pub fn bytes(target: &'a Endpoint, body: Vec<u8>, content_type: &'static str) -> Post<'a> {
        Post {
            target,
            method: Method::POST,
            body,
            content_type,
            headers: Vec::new(),
            timeout: None,
        }
    }

    /// Adds a header; a name or value that is not valid HTTP is refused as a config error.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, NotifyError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| NotifyError::config(format!("invalid header name `{name}`")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            NotifyError::config(format!(
                "invalid value for header `{name}` (control characters?)"
            ))
        })?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends once. A non-2xx answer is an [`HttpError`] that keeps status and body, for
    /// the notifier to read the service's error from ([`classify`] does the generic part).
    pub async fn send(self, client: &HttpClient) -> Result<Answer, HttpError> {
        let mut builder = client
            .reqwest()
            .request(self.method, self.target.expose())
            .header(CONTENT_TYPE, self.content_type)
            .body(self.body);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let request = builder.build().map_err(|e| {
            HttpError::new(
                HttpErrorKind::InvalidRequest,
                format!("invalid request: {}", e.without_url()),
            )
        })?;
        let response = client.send(request, Idempotency::Safe).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_body(response).await;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

async fn read_body(mut response: flowspec_http::reqwest::Response) -> String {
    const LIMIT: usize = 1024 * 1024;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = LIMIT.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The generic mapping of an HTTP failure: 401/403 → auth, 404 → not found,
/// 410 → gone, 429 → rate limited (with `Retry-After`), 5xx/408/network → transient,
/// other 4xx → rejected. `service` is the service's own error read from the body, if
/// the caller parsed one. The message names the redacted target, never the URL.
pub fn classify(
    error: &HttpError,
    target: &Endpoint,
    service: Option<ServiceError>,
) -> NotifyError {
    classify_request(error, &Method::POST, target, service)
}

/// [`classify`] for a request of any method (the message names it: `GET https://…`).
pub fn classify_request(
    error: &HttpError,
    method: &Method,
    target: &Endpoint,
    service: Option<ServiceError>,
) -> NotifyError {
    let status = error.status();
    let kind = match (error.kind(), status) {
        (_, Some(StatusCode::GONE)) => NotifyErrorKind::Gone,
        (HttpErrorKind::Auth, _) => NotifyErrorKind::Auth,
        (HttpErrorKind::NotFound, _) => NotifyErrorKind::NotFound,
        (HttpErrorKind::RateLimited, _) => NotifyErrorKind::RateLimited,
        (HttpErrorKind::Transient, _) => NotifyErrorKind::Transient,
        (HttpErrorKind::InvalidRequest, Some(_)) => NotifyErrorKind::Rejected,
        (HttpErrorKind::InvalidRequest, None) => NotifyErrorKind::Config,
        _ => NotifyErrorKind::Service,
    };
    let mut out = NotifyError::new(
        kind,
        format!("{method} {}: {}", target.shown(), error.message()),
    );
    if let Some(status) = status {
        out = out.with_status(status.as_u16());
    }
    if let Some(wait) = error.retry_after() {
        out = out.with_retry_after(wait);
    }
    let service = service.or_else(|| {
        let body = error.body()?.trim();
        (!body.is_empty()).then(|| ServiceError::new(truncate(body, 300)))
    });
    if let Some(service) = service {
        out = out.with_service_error(service);
    }
    match kind {
        NotifyErrorKind::Auth => {
            out.with_hint("the service refused the credential: check the webhook URL or key")
        }
        NotifyErrorKind::NotFound => {
            out.with_hint("the webhook or resource does not exist (deleted?): check the URL")
        }
        _ => out,
    }
}

pub use flowspec_http::target::path_segment;

/// `text` cut at `max` bytes on a character boundary, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `text` cut to at most `max` characters, with `…` when cut (service field limits
/// count characters).
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_refuse_plain_http_api_urls_outside_loopback() {
        let err = Endpoint::with_api_url(
            "https://hooks.slack.com/services/T/B/S",
            Some("http://relay.example.com"),
        )
        .unwrap_err();
        assert!(err.contains("plain HTTP"), "{err}");
        assert!(!err.contains("services"), "{err}");
    }

    #[test]
    fn should_never_show_the_secret_path() {
        let t = Endpoint::new("https://discord.com/api/webhooks/1/token").unwrap();
        assert_eq!(t.shown(), "https://discord.com/…");
        assert!(!format!("{t:?}").contains("token"));
    }

    #[test]
    fn should_truncate_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 3), "hé…");
        assert_eq!(truncate("héllo", 2), "h…");
    }
}
