//! The requests GitHub Actions's provider sends: one method per API call, with the error mapping and pagination of the platform.

use super::*;

pub(super) type RawResponse =
    http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>;

impl GithubProvider {
    /// A provider for `owner/name` at `api_url` (`https://api.github.com` or an
    /// Enterprise `https://HOST/api/v3`).
    pub fn new(repo: &str, api_url: Url, token: Option<Token>) -> Result<Self, ProviderError> {
        let (owner, name) = repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                ProviderError::new(
                    ProviderErrorKind::InvalidRequest,
                    format!("`{repo}` is not `owner/name`"),
                )
            })?;
        Ok(GithubProvider {
            owner: owner.to_owned(),
            repo: name.to_owned(),
            api: api_url,
            token,
            workflow: None,
            default_ref: None,
            correlation_input: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            discovery: Discovery {
                attempts: 10,
                interval: Duration::from_secs(2),
            },
            client: tokio::sync::OnceCell::new(),
            downloads: HttpClient::shared(),
        })
    }

    /// Sets the retry policy of idempotent requests.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets how often and how long to look for a dispatched run (default 10 × 2 s).
    pub fn with_discovery(mut self, attempts: u32, interval: Duration) -> Self {
        self.discovery = Discovery {
            attempts: attempts.max(1),
            interval,
        };
        self
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the correlation input (see the module docs).
    pub fn with_correlation_input(mut self, input: impl Into<String>) -> Self {
        self.correlation_input = Some(input.into());
        self
    }

    /// Sets the default ref.
    pub fn with_default_ref(mut self, git_ref: impl Into<String>) -> Self {
        self.default_ref = Some(git_ref.into());
        self
    }

    pub(super) fn token_var(&self) -> Option<&str> {
        self.token.as_ref().map(Token::source)
    }

    pub(super) async fn octocrab(&self) -> Result<&octocrab::Octocrab, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                let mut builder = octocrab::Octocrab::builder()
                    .base_uri(self.api.as_str())
                    .map_err(|e| {
                        ProviderError::new(
                            ProviderErrorKind::InvalidRequest,
                            format!("invalid api_url: {e}"),
                        )
                    })?
                    .add_header(header::ACCEPT, "application/vnd.github+json".into())
                    .add_header(
                        header::HeaderName::from_static("x-github-api-version"),
                        API_VERSION.into(),
                    )
                    .add_header(
                        header::USER_AGENT,
                        format!("flowspec/{}", env!("CARGO_PKG_VERSION")),
                    )
                    .set_connect_timeout(Some(Duration::from_secs(10)))
                    .set_read_timeout(Some(self.timeout))
                    .cache(octocrab::service::middleware::cache::mem::InMemoryCache::new());
                if let Some(token) = &self.token {
                    builder = builder.personal_token(token.expose().to_owned());
                }
                builder.build().map_err(|e| {
                    ProviderError::new(
                        ProviderErrorKind::InvalidRequest,
                        format!("cannot build the GitHub client: {e}"),
                    )
                })
            })
            .await
    }

    pub(super) fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}/{rest}",
            path_segment(&self.owner),
            path_segment(&self.repo)
        )
    }

    /// The path and query of a URL from a `Link` header, for octocrab's base URI.
    pub(super) fn relative(&self, url: &str) -> String {
        match Url::parse(url) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(_) => url.to_owned(),
        }
    }

    /// Sends one request; a non-2xx, non-3xx answer becomes a classified error.
    pub(super) async fn execute(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
        idempotent: bool,
    ) -> Result<RawResponse, ProviderError> {
        let client = self.octocrab().await?;
        let mut request = http::Request::builder().method(method.clone()).uri(path);
        let payload = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(v).expect("JSON values serialize")
            }
            None => Vec::new(),
        };
        let request = request.body(payload).map_err(|e| {
            ProviderError::new(ProviderErrorKind::InvalidRequest, format!("{what}: {e}"))
        })?;
        let response = match tokio::time::timeout(self.timeout, client.execute(request)).await {
            Err(_) => {
                return Err(ProviderError::new(
                    ProviderErrorKind::Transient,
                    format!("{what}: timed out after {}s", self.timeout.as_secs()),
                )
                .with_delivery(true, idempotent));
            }
            Ok(Err(e)) => return Err(transport_error(&e, what, idempotent)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = read_body(response, what).await.unwrap_or_default();
        let error = HttpError::from_status(
            status,
            &headers,
            String::from_utf8_lossy(&body).into_owned(),
            format!("{method} {}", flowspec_http::target::redact(&self.api)),
        );
        Err(common::from_http(&error, what, self.token_var()).with_delivery(true, idempotent))
    }

    /// An idempotent GET of JSON, retried on transient failures.
    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<(T, http::HeaderMap), ProviderError> {
        let (value, _) = retry(&self.retry, |_| async {
            let response = self.execute(Method::GET, path, None, what, true).await?;
            let headers = response.headers().clone();
            let body = read_body(response, what).await?;
            Ok::<_, ProviderError>((body, headers))
        })
        .await
        .map_err(|e| e.error)?;
        let (body, headers) = value;
        Ok((common::parse_json(&body, what)?, headers))
    }

    /// A POST (or another mutating call), retried only when the server certainly
    /// did not act (refused connection, rate limit) unless `idempotent`.
    pub(super) async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
        idempotent: bool,
    ) -> Result<(StatusCode, Bytes), ProviderError> {
        let (value, _) = retry(&self.retry, |_| async {
            let response = self
                .execute(method.clone(), path, body, what, idempotent)
                .await?;
            let status = response.status();
            Ok::<_, ProviderError>((status, read_body(response, what).await?))
        })
        .await
        .map_err(|e| e.error)?;
        Ok(value)
    }

    /// Every page of a list, up to `limit` items.
    pub(super) async fn paginate<T, W>(
        &self,
        first: String,
        what: &str,
        limit: usize,
        items: impl Fn(W) -> Vec<T>,
    ) -> Result<Vec<T>, ProviderError>
    where
        W: serde::de::DeserializeOwned,
    {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(path) = next.take() {
            let (page, headers): (W, _) = self.get_json(&path, what).await?;
            out.extend(items(page));
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
            next = common::next_page(&headers).map(|u| self.relative(&u));
        }
        Ok(out)
    }

    pub(super) async fn workflow_names(&self) -> Vec<String> {
        match self.list_workflows().await {
            Ok(list) => list.into_iter().map(|w| w.id).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Streams a `302`-redirected download into `sink`, the second hop without
    /// credentials; a direct `200` is streamed as it is.
    pub(super) async fn download(
        &self,
        path: &str,
        what: &str,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let (response, _) = retry(&self.retry, |_| {
            self.execute(Method::GET, path, None, what, true)
        })
        .await
        .map_err(|e| e.error)?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ProviderError::malformed(what, "a redirect without Location"))?
                .to_owned();
            return crate::download::stream_blob(&self.downloads, &location, what, sink).await;
        }
        let mut body = response.into_body();
        let mut written = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| transport_error(&e, what, true))?;
            if let Ok(data) = frame.into_data() {
                sink.write_all(&data)
                    .await
                    .map_err(|e| write_error(what, &e))?;
                written += data.len() as u64;
            }
        }
        sink.flush().await.map_err(|e| write_error(what, &e))?;
        Ok(written)
    }

    pub(super) async fn discover_run(
        &self,
        workflow: &str,
        git_ref: &str,
        since: DateTime<Utc>,
        correlation: Option<&str>,
    ) -> Result<Option<GhRun>, ProviderError> {
        let created = (since - chrono::Duration::seconds(5))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let path = self.repo_path(&format!(
            "actions/workflows/{}/runs?event=workflow_dispatch&branch={}&created=%3E%3D{}&per_page=20",
            path_segment(workflow),
            path_segment(git_ref),
            path_segment(&created)
        ));
        for attempt in 0..self.discovery.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.discovery.interval).await;
            }
            let (runs, _): (GhRuns, _) = self.get_json(&path, "find the dispatched run").await?;
            let mut candidates: Vec<GhRun> = runs
                .workflow_runs
                .into_iter()
                .filter(|r| r.head_branch.as_deref().is_none_or(|b| b == git_ref))
                .collect();
            if let Some(id) = correlation {
                if let Some(run) = candidates.into_iter().find(|r| {
                    r.display_title.as_deref().is_some_and(|t| t.contains(id))
                        || r.name.as_deref().is_some_and(|t| t.contains(id))
                }) {
                    return Ok(Some(run));
                }
                continue;
            }
            match candidates.len() {
                0 => continue,
                1 => return Ok(candidates.pop()),
                _ => {
                    return Err(ProviderError::new(
                        ProviderErrorKind::Platform,
                        format!(
                            "the dispatch of `{workflow}` was accepted but several runs started on `{git_ref}` at the same time, and GitHub did not say which one is ours"
                        ),
                    )
                    .with_suggestions(candidates.iter().map(|r| r.id.to_string()))
                    .with_suggestion_label(
                        "candidate runs; set `correlation_input` in the `ci:` config to tell them apart",
                    ));
                }
            }
        }
        Ok(None)
    }
}

pub(super) async fn read_body(response: RawResponse, what: &str) -> Result<Bytes, ProviderError> {
    response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| transport_error(&e, what, true))
}

pub(super) fn transport_error(
    error: &octocrab::Error,
    what: &str,
    idempotent: bool,
) -> ProviderError {
    let mut chain = String::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        chain.push_str(&e.to_string());
        chain.push_str(": ");
        current = e.source();
    }
    let connect = chain.contains("Connect") || chain.contains("connection refused");
    let detail = chain
        .split(": ")
        .filter(|p| !p.is_empty() && !p.contains("Found at"))
        .last()
        .unwrap_or("request failed")
        .to_owned();
    ProviderError::new(
        ProviderErrorKind::Transient,
        format!(
            "{what}: {}{detail}",
            if connect { "cannot connect: " } else { "" }
        ),
    )
    .with_delivery(!connect, idempotent)
}

use crate::download::write_error;

impl GithubProvider {
    pub(super) fn web_url(&self, run: &RunId) -> String {
        let host = match self.api.host_str() {
            Some("api.github.com") | None => "github.com".to_owned(),
            Some(h) => h.to_owned(),
        };
        format!(
            "https://{host}/{}/{}/actions/runs/{run}",
            self.owner, self.repo
        )
    }
}
