//! The shared client.

use std::sync::OnceLock;
use std::time::Duration;

use flowspec_core::retry::{Exhausted, RetryPolicy, retry};
use reqwest::{Request, RequestBuilder, Response};

use crate::error::{HttpError, HttpErrorKind, MAX_ERROR_BODY};
use crate::target::redact;

/// Whether a request may be repeated after an ambiguous failure (a timeout, a 5xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT, DELETE, or a POST with an idempotency key: retrying is harmless.
    Safe,
    /// A POST that creates something (a pipeline run): only retried when the server
    /// certainly did not act on it (connection refused, 429).
    Unsafe,
}

/// Client settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Longest silence while reading a response (streams included).
    pub read_timeout: Duration,
    /// Total time for a whole request and response (not applied to streamed bodies
    /// read after [`HttpClient::send`] returns).
    pub request_timeout: Duration,
    /// Retry policy for [`HttpClient::send_with_retry`].
    pub retry: RetryPolicy,
    /// The User-Agent header.
    pub user_agent: String,
    /// What to do with a `3xx` answer.
    pub redirects: Redirects,
}

/// What a client does with a `3xx` answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Redirects {
    /// Follow up to 10 redirects within the origin (scheme, host and port) of the
    /// request: a redirect to another origin, or from `https` to `http`, is not
    /// followed and [`HttpClient::send`] fails naming that origin. Every header a
    /// request carries (a custom `auth` header, extra `headers:`, `Circle-Token`)
    /// therefore only ever reaches the origin it was configured for.
    #[default]
    Follow,
    /// Do not follow: [`HttpClient::send`] returns the `3xx` response, for callers
    /// that follow it by hand without their credentials (GitLab's `PRIVATE-TOKEN`).
    Return,
    /// Do not follow: a `3xx` is a failure (webhook deliveries must not be re-sent to
    /// a URL nobody configured; Standard Webhooks asks senders not to follow them).
    Fail,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: format!("flowspec/{}", env!("CARGO_PKG_VERSION")),
            redirects: Redirects::Follow,
        }
    }
}

impl HttpConfig {
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets whether redirects are followed.
    pub fn redirects(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }

    /// Sets the total request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// A configured HTTP client; cheap to clone (the connection pool is shared).
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: HttpConfig,
}

impl HttpClient {
    /// A client with `config`.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let redirects = match config.redirects {
            Redirects::Follow => reqwest::redirect::Policy::custom(same_origin),
            Redirects::Return | Redirects::Fail => reqwest::redirect::Policy::none(),
        };
        let inner = reqwest::Client::builder()
            .redirect(redirects)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(&config.user_agent)
            .build()
            .map_err(|e| {
                HttpError::new(
                    HttpErrorKind::InvalidRequest,
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        Ok(HttpClient { inner, config })
    }

    /// The process-wide client with the default configuration.
    pub fn shared() -> HttpClient {
        static SHARED: OnceLock<HttpClient> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                HttpClient::new(HttpConfig::default()).expect("the default HTTP client builds")
            })
            .clone()
    }

    /// The process-wide client for notifications and webhook deliveries: like
    /// [`HttpClient::shared`], but a redirect is not followed. A `3xx` answer is a
    /// failure, so a payload is never re-sent to a URL nobody configured (and Standard
    /// Webhooks asks senders not to follow redirects).
    pub fn without_redirects() -> HttpClient {
        static NO_REDIRECTS: OnceLock<HttpClient> = OnceLock::new();
        NO_REDIRECTS
            .get_or_init(|| {
                let config = HttpConfig {
                    redirects: Redirects::Fail,
                    ..HttpConfig::default()
                };
                HttpClient::new(config).expect("the default HTTP client builds")
            })
            .clone()
    }

    /// The same connection pool with another configuration (timeouts, retries;
    /// the redirect policy stays the pool's: use [`HttpClient::new`] to change it).
    pub fn with_config(&self, config: HttpConfig) -> HttpClient {
        HttpClient {
            inner: self.inner.clone(),
            config,
        }
    }

    /// The underlying reqwest client, to build requests.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends once. A non-2xx answer becomes an [`HttpError`] with its status, body
    /// (bounded) and rate-limit information.
    pub async fn send(
        &self,
        request: Request,
        idempotency: Idempotency,
    ) -> Result<Response, HttpError> {
        let idempotent = idempotency == Idempotency::Safe;
        let target = format!("{} {}", request.method(), redact(request.url()));
        let mut request = request;
        if request.timeout().is_none() {
            *request.timeout_mut() = Some(self.config.request_timeout);
        }
        let response = match self.inner.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                return Err(HttpError::from_transport(&e, target).with_idempotency(idempotent));
            }
        };
        let status = response.status();
        if status.is_success()
            || (status.is_redirection() && self.config.redirects == Redirects::Return)
        {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = read_bounded(response, MAX_ERROR_BODY).await;
        Err(HttpError::from_status(status, &headers, body, target).with_idempotency(idempotent))
    }

    /// Sends with the configured retry policy; `build` makes a fresh request for each
    /// attempt. Returns the response and the number of attempts.
    pub async fn send_with_retry(
        &self,
        idempotency: Idempotency,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<(Response, u32), Exhausted<HttpError>> {
        retry(&self.config.retry, |_attempt| {
            let request = build().build();
            async move {
                let request = request.map_err(|e| {
                    HttpError::new(
                        HttpErrorKind::InvalidRequest,
                        format!("invalid request: {}", e.without_url()),
                    )
                })?;
                self.send(request, idempotency).await
            }
        })
        .await
    }
}

/// The most redirects followed in a chain.
const MAX_REDIRECTS: usize = 10;

/// The redirect policy of [`Redirects::Follow`]: within the first request's origin only.
fn same_origin(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    match check_redirect(attempt.url(), attempt.previous()) {
        Ok(()) => attempt.follow(),
        Err(refused) => attempt.error(refused),
    }
}

/// Whether a redirect to `next` may be followed after the requests to `previous`
/// (the first of which is the original request).
fn check_redirect(next: &reqwest::Url, previous: &[reqwest::Url]) -> Result<(), RedirectRefused> {
    let Some(first) = previous.first() else {
        return Ok(());
    };
    let to = next.origin().ascii_serialization();
    if previous.iter().any(|u| u.scheme() == "https") && next.scheme() != "https" {
        return Err(RedirectRefused::Downgrade { to });
    }
    if first.origin() != next.origin() {
        let from = first.origin().ascii_serialization();
        return Err(RedirectRefused::OtherOrigin { from, to });
    }
    // `previous` starts with the first request, which is no redirect.
    if previous.len() > MAX_REDIRECTS {
        return Err(RedirectRefused::TooMany);
    }
    Ok(())
}

/// Why a redirect was not followed (the message of the resulting [`HttpError`]).
#[derive(Debug, thiserror::Error)]
enum RedirectRefused {
    #[error(
        "the server redirected to another origin, `{to}`, which was not followed: requests and their credentials go only to `{from}` (hint: configure the URL the server redirects to)"
    )]
    OtherOrigin { from: String, to: String },
    #[error(
        "the server redirected from https to plain http (`{to}`), which was not followed: credentials are never sent unencrypted (hint: configure the https URL)"
    )]
    Downgrade { to: String },
    #[error("more than {MAX_REDIRECTS} redirects in a row (a redirect loop?)")]
    TooMany,
}

async fn read_bounded(mut response: Response, limit: usize) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

    use super::*;

    fn client() -> HttpClient {
        HttpClient::new(
            HttpConfig::default().retry(
                RetryPolicy::new(3)
                    .base_delay(Duration::from_millis(5))
                    .jitter(false),
            ),
        )
        .unwrap()
    }

    /// Answers with each template in turn, counting calls.
    struct Sequence {
        calls: Arc<AtomicUsize>,
        responses: Vec<ResponseTemplate>,
    }

    impl Respond for Sequence {
        fn respond(&self, _: &MockRequest) -> ResponseTemplate {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.responses[n.min(self.responses.len() - 1)].clone()
        }
    }

    async fn server(responses: Vec<ResponseTemplate>) -> (MockServer, Arc<AtomicUsize>) {
        let server = MockServer::start().await;
        let calls = Arc::new(AtomicUsize::new(0));
        Mock::given(path("/x"))
            .respond_with(Sequence {
                calls: calls.clone(),
                responses,
            })
            .mount(&server)
            .await;
        (server, calls)
    }

    #[tokio::test]
    async fn should_retry_5xx_for_safe_requests_then_succeed() {
        let (server, calls) =
            server(vec![ResponseTemplate::new(502), ResponseTemplate::new(200)]).await;
        let c = client();
        let url = format!("{}/x", server.uri());
        let (response, attempts) = c
            .send_with_retry(Idempotency::Safe, || c.reqwest().get(&url))
            .await
            .unwrap();
        assert_eq!(
            (
                response.status().as_u16(),
                attempts,
                calls.load(Ordering::SeqCst)
            ),
            (200, 2, 2)
        );
    }

    #[tokio::test]
    async fn should_not_repeat_an_unsafe_request_after_an_ambiguous_5xx() {
        let (server, calls) =
            server(vec![ResponseTemplate::new(500), ResponseTemplate::new(200)]).await;
        let c = client();
        let url = format!("{}/x", server.uri());
        let err = c
            .send_with_retry(Idempotency::Unsafe, || c.reqwest().post(&url))
            .await
            .unwrap_err();
        assert_eq!((err.attempts, calls.load(Ordering::SeqCst)), (1, 1));
        assert_eq!(err.error.kind(), HttpErrorKind::Transient);
    }

    #[tokio::test]
    async fn should_wait_and_repeat_even_unsafe_requests_on_429() {
        let limited = ResponseTemplate::new(429).insert_header("retry-after", "0");
        let (server, calls) = server(vec![limited, ResponseTemplate::new(201)]).await;
        let c = client();
        let url = format!("{}/x", server.uri());
        let (response, attempts) = c
            .send_with_retry(Idempotency::Unsafe, || c.reqwest().post(&url))
            .await
            .unwrap();
        assert_eq!(
            (
                response.status().as_u16(),
                attempts,
                calls.load(Ordering::SeqCst)
            ),
            (201, 2, 2)
        );
    }

    #[tokio::test]
    async fn should_classify_errors_and_keep_the_body() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/secret-path/x"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(serde_json::json!({"message": "Bad credentials"})),
            )
            .mount(&server)
            .await;
        let c = client();
        let url = format!("{}/secret-path/x", server.uri());
        let err = c
            .send_with_retry(Idempotency::Safe, || c.reqwest().get(&url))
            .await
            .unwrap_err();
        assert_eq!(err.attempts, 1, "auth errors are not retried");
        assert_eq!(err.error.kind(), HttpErrorKind::Auth);
        let text = err.error.to_string();
        assert!(text.contains("401 Unauthorized: Bad credentials"), "{text}");
        assert!(
            !text.contains("secret-path"),
            "the URL path must not be shown: {text}"
        );
    }

    #[tokio::test]
    async fn should_keep_the_response_headers_of_an_error() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429).insert_header("x-sentry-rate-limits", "60::project"),
            )
            .mount(&server)
            .await;
        let c = client();
        let request = c.reqwest().post(server.uri()).build().unwrap();
        let err = c.send(request, Idempotency::Safe).await.unwrap_err();
        assert_eq!(err.header("x-sentry-rate-limits"), Some("60::project"));
        assert_eq!(err.header("x-missing"), None);
    }

    #[tokio::test]
    async fn should_report_rate_limits_with_the_reset_time() {
        let server = MockServer::start().await;
        Mock::given(path("/x"))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", "99999999999")
                    .set_body_json(serde_json::json!({"message": "API rate limit exceeded"})),
            )
            .mount(&server)
            .await;
        let c = client();
        let url = format!("{}/x", server.uri());
        let err = c
            .send_with_retry(Idempotency::Safe, || c.reqwest().get(&url))
            .await
            .unwrap_err();
        assert_eq!(err.error.kind(), HttpErrorKind::RateLimited);
        assert_eq!(
            err.attempts, 1,
            "a reset far in the future is not waited for"
        );
        assert!(err.error.reset_at().is_some());
    }

    #[tokio::test]
    async fn should_not_follow_redirects_when_asked_not_to() {
        let server = MockServer::start().await;
        Mock::given(path("/moved"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("location", format!("{}/x", server.uri())),
            )
            .mount(&server)
            .await;
        Mock::given(path("/x"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let c = HttpClient::without_redirects();
        let url = format!("{}/moved", server.uri());
        let err = c
            .send_with_retry(Idempotency::Unsafe, || c.reqwest().post(&url))
            .await
            .unwrap_err();
        assert_eq!(err.error.status().map(|s| s.as_u16()), Some(302));
    }

    #[tokio::test]
    async fn should_follow_a_redirect_within_the_origin_with_its_headers() {
        let server = MockServer::start().await;
        Mock::given(path("/moved"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/x"))
            .mount(&server)
            .await;
        Mock::given(path("/x"))
            .and(wiremock::matchers::header("x-api-key", "key-s3cret"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let c = client();
        let url = format!("{}/moved", server.uri());
        let (response, _) = c
            .send_with_retry(Idempotency::Safe, || {
                c.reqwest().get(&url).header("x-api-key", "key-s3cret")
            })
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    #[tokio::test]
    async fn should_refuse_a_redirect_to_another_origin_and_name_it() {
        let (a, b) = (MockServer::start().await, MockServer::start().await);
        Mock::given(path("/moved"))
            .respond_with(
                ResponseTemplate::new(307).insert_header("location", format!("{}/steal", b.uri())),
            )
            .mount(&a)
            .await;
        let c = client();
        let url = format!("{}/moved", a.uri());
        let err = c
            .send_with_retry(Idempotency::Safe, || {
                c.reqwest().get(&url).header("x-api-key", "key-s3cret")
            })
            .await
            .unwrap_err();
        assert_eq!(
            b.received_requests().await.unwrap().len(),
            0,
            "the other origin must receive nothing"
        );
        assert_eq!(err.attempts, 1, "a refused redirect is not retried");
        assert_eq!(err.error.kind(), HttpErrorKind::InvalidRequest);
        let text = err.error.to_string();
        assert!(text.contains(&format!("`{}`", b.uri())), "{text}");
        assert!(text.contains("another origin"), "{text}");
        assert!(!text.contains("key-s3cret"), "{text}");
    }

    #[test]
    fn should_refuse_redirect_downgrades_loops_and_other_origins() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let first = [u("https://ci.example/api")];
        assert!(check_redirect(&u("https://ci.example/other"), &first).is_ok());
        let downgrade = check_redirect(&u("http://ci.example/api"), &first).unwrap_err();
        assert!(
            downgrade.to_string().contains("https to plain http"),
            "{downgrade}"
        );
        let port = check_redirect(&u("https://ci.example:8443/api"), &first).unwrap_err();
        assert!(
            port.to_string().contains("`https://ci.example:8443`"),
            "{port}"
        );
        let host = check_redirect(&u("https://evil.example/api"), &first).unwrap_err();
        assert!(
            host.to_string().contains("`https://evil.example`"),
            "{host}"
        );
        // Back to the first origin after a hop elsewhere is impossible (the hop was refused);
        // a chain that started on https never drops to http, even on the same host.
        let chain = [u("https://ci.example/a"), u("https://ci.example/b")];
        assert!(check_redirect(&u("http://ci.example/c"), &chain).is_err());
        let looped: Vec<_> = (0..=MAX_REDIRECTS)
            .map(|_| u("https://ci.example/a"))
            .collect();
        assert!(check_redirect(&u("https://ci.example/a"), &looped).is_err());
    }

    #[tokio::test]
    async fn should_retry_refused_connections_and_say_so() {
        let c = client();
        // A port nobody listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        drop(listener);
        let err = c
            .send_with_retry(Idempotency::Unsafe, || c.reqwest().post(&url))
            .await
            .unwrap_err();
        assert_eq!(
            err.attempts, 3,
            "a refused connection never reached the server"
        );
        assert!(err.to_string().contains("cannot connect"), "{err}");
    }
}
