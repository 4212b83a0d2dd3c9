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
    /// Whether redirects are followed. Off for clients that send credentials in
    /// custom headers (`PRIVATE-TOKEN`): a redirect to storage on another host must
    /// then be followed by hand, without them. With it off, [`HttpClient::send`]
    /// returns 3xx responses instead of failing.
    pub follow_redirects: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: format!("flowspec/{}", env!("CARGO_PKG_VERSION")),
            follow_redirects: true,
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
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
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
        let inner = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(&config.user_agent)
            .redirect(if config.follow_redirects {
                reqwest::redirect::Policy::default()
            } else {
                reqwest::redirect::Policy::none()
            })
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
        if status.is_success() || (status.is_redirection() && !self.config.follow_redirects) {
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
