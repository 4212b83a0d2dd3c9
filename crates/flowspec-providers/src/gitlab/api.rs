//! The requests GitLab CI's provider sends: one method per API call, with the error mapping and pagination of the platform.

use super::*;

/// The error of [`GitlabApi`]: a classified HTTP failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitlabClientError(pub HttpError);

/// The `gitlab` crate's client traits over [`flowspec_http::HttpClient`].
#[derive(Clone)]
pub struct GitlabApi {
    pub(super) base: Url,
    pub(super) api: Url,
    pub(super) token: Option<Token>,
    pub(super) http: HttpClient,
}

impl std::fmt::Debug for GitlabApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabApi")
            .field("base", &flowspec_http::target::redact(&self.base))
            .field("token", &self.token)
            .finish()
    }
}

impl GitlabApi {
    /// A client for the instance at `base` (`https://gitlab.com/`; a trailing
    /// `api/v4` is accepted). Redirects are not followed: `PRIVATE-TOKEN` must not
    /// travel to another host.
    pub fn new(base: Url, token: Option<Token>, config: HttpConfig) -> Result<Self, HttpError> {
        let mut base = base;
        let trimmed = base.path().trim_end_matches('/').to_owned();
        if let Some(root) = trimmed.strip_suffix("/api/v4") {
            base.set_path(&format!("{root}/"));
        }
        let api = base.join("api/v4/").map_err(|e| {
            HttpError::new(
                HttpErrorKind::InvalidRequest,
                format!("invalid api_url: {e}"),
            )
        })?;
        Ok(GitlabApi {
            base,
            api,
            token,
            http: HttpClient::new(config.redirects(Redirects::Return))?,
        })
    }

    pub(super) fn authorize(
        &self,
        request: flowspec_http::reqwest::RequestBuilder,
    ) -> flowspec_http::reqwest::RequestBuilder {
        match &self.token {
            Some(t) => request.header("PRIVATE-TOKEN", t.expose()),
            None => request,
        }
    }
}

impl RestClient for GitlabApi {
    type Error = GitlabClientError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.api.join(endpoint)?)
    }

    fn instance_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.base.join(endpoint)?)
    }
}

#[async_trait]
impl AsyncClient for GitlabApi {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        let request = request.body(body).map_err(|e| {
            ApiError::client(GitlabClientError(HttpError::new(
                HttpErrorKind::InvalidRequest,
                e.to_string(),
            )))
        })?;
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        // A POST that creates something (a pipeline, a retried job) must not be
        // repeated after an ambiguous failure; reads, cancels and commit statuses may.
        let idempotency = if parts.method == http::Method::POST
            && !url.ends_with("/cancel")
            && !url.contains("/statuses/")
        {
            Idempotency::Unsafe
        } else {
            Idempotency::Safe
        };
        let (response, _) = self
            .http
            .send_with_retry(idempotency, || {
                self.authorize(
                    self.http
                        .reqwest()
                        .request(parts.method.clone(), url.as_str())
                        .headers(parts.headers.clone())
                        .body(body.clone()),
                )
            })
            .await
            .map_err(|e| ApiError::client(GitlabClientError(e.error)))?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let bytes = response.bytes().await.map_err(|e| {
            ApiError::client(GitlabClientError(HttpError::new(
                HttpErrorKind::Transient,
                format!("the response body could not be read: {}", e.without_url()),
            )))
        })?;
        builder.body(bytes).map_err(|e| {
            ApiError::client(GitlabClientError(HttpError::new(
                HttpErrorKind::Platform,
                e.to_string(),
            )))
        })
    }
}

/// `POST /projects/:id/trigger/pipeline` with a pipeline trigger token (the gitlab
/// crate has no endpoint for it). Form-encoded: `token`, `ref`, `variables[KEY]`.
pub struct TriggerPipeline<'a> {
    pub(super) project: &'a str,
    pub(super) token: &'a str,
    pub(super) git_ref: &'a str,
    pub(super) variables: &'a BTreeMap<String, String>,
}

impl Endpoint for TriggerPipeline<'_> {
    fn method(&self) -> Method {
        Method::POST
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/trigger/pipeline", path_segment(self.project)).into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        let mut params = FormParams::default();
        params.push("token", self.token);
        params.push("ref", self.git_ref);
        for (k, v) in self.variables {
            params.push(format!("variables[{k}]"), v.as_str());
        }
        params.into_body()
    }
}

impl GitlabProvider {
    /// A provider for `project` (path or id) on the instance of `api`.
    pub fn new(project: impl Into<String>, api: GitlabApi) -> Self {
        GitlabProvider {
            project: project.into(),
            api,
            trigger_token: None,
            default_ref: None,
        }
    }

    /// Triggers with a pipeline trigger token instead of creating the pipeline as a user.
    pub fn with_trigger_token(mut self, token: Token) -> Self {
        self.trigger_token = Some(token);
        self
    }

    /// Sets the default ref.
    pub fn with_default_ref(mut self, git_ref: impl Into<String>) -> Self {
        self.default_ref = Some(git_ref.into());
        self
    }

    pub(super) fn error(&self, error: ApiError<GitlabClientError>, what: &str) -> ProviderError {
        map_api_error(error, what, self.api.token.as_ref().map(Token::source))
    }

    pub(super) fn pipeline_id(run: &RunId) -> Result<u64, ProviderError> {
        run.as_u64().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{run}` is not a GitLab pipeline id (a number)"),
            )
        })
    }

    pub(super) fn job_id(job: &JobId) -> Result<u64, ProviderError> {
        job.as_u64().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{job}` is not a GitLab job id (a number)"),
            )
        })
    }

    pub(super) async fn jobs_raw(&self, pipeline: u64) -> Result<Vec<GlJob>, ProviderError> {
        let endpoint = gl_pipelines::PipelineJobs::builder()
            .project(self.project.as_str())
            .pipeline(pipeline)
            .include_retried(false)
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        gitlab::api::paged(endpoint, Pagination::All)
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &format!("list jobs of pipeline {pipeline}")))
    }

    pub(super) fn download_path(&self, job: u64) -> String {
        format!(
            "projects/{}/jobs/{job}/artifacts",
            path_segment(&self.project)
        )
    }
}

pub(super) fn map_api_error(
    error: ApiError<GitlabClientError>,
    what: &str,
    token_var: Option<&str>,
) -> ProviderError {
    match error {
        ApiError::Client { source } => common::from_http(&source.0, what, token_var),
        ApiError::Json { source } => ProviderError::malformed(what, source),
        ApiError::DataType { source, typename } => {
            ProviderError::malformed(what, format!("{typename}: {source}"))
        }
        ApiError::GitlabService { status, data } => map_api_error(
            ApiError::GitlabWithStatus {
                status,
                msg: String::from_utf8_lossy(&data).into_owned(),
            },
            what,
            token_var,
        ),
        ApiError::GitlabWithStatus { status, msg } if status.is_success() => {
            ProviderError::malformed(
                what,
                format!(
                    "not the JSON expected: {}",
                    msg.chars().take(200).collect::<String>()
                ),
            )
        }
        ApiError::GitlabWithStatus { status, msg } => {
            let kind = match status.as_u16() {
                401 | 403 => ProviderErrorKind::Auth,
                404 => ProviderErrorKind::NotFound,
                429 => ProviderErrorKind::RateLimited,
                500..=599 => ProviderErrorKind::Transient,
                _ => ProviderErrorKind::InvalidRequest,
            };
            ProviderError::new(kind, format!("{what}: {status}"))
                .with_status(status.as_u16())
                .with_platform_message(msg)
        }
        other => ProviderError::new(ProviderErrorKind::Platform, format!("{what}: {other}")),
    }
}
