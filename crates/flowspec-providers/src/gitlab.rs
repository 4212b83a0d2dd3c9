//! GitLab CI (gitlab.com and self-managed), through the `gitlab` crate's endpoint
//! builders over flowspec's own HTTP client.
//!
//! ```yaml
//! ci:
//!   provider: gitlab
//!   config:
//!     project: group/sub/app               # or a numeric id; default: the `origin` remote
//!     api_url: https://gitlab.example.com  # default: https://gitlab.com (`/api/v4` optional)
//!     token: ${GITLAB_FLOWSPEC}            # personal/project/group token; default: GITLAB_TOKEN
//!     trigger_token: ${GITLAB_TRIGGER_TOKEN}   # optional: trigger with a pipeline trigger token
//!     ref: main                            # default: the current branch
//! ```
//!
//! Why not the crate's own client: `Gitlab::new` calls `GET /api/v4/user` when it is
//! built (a request, and a failure for trigger-only tokens) and uses its own reqwest
//! stack. [`GitlabApi`] implements the crate's [`RestClient`] and [`AsyncClient`]
//! traits over [`flowspec_http::HttpClient`] instead: no `/user` call, the shared
//! timeouts, error classification and the one retry loop, `PRIVATE-TOKEN` added to
//! each request. The crate has no endpoint for `POST /projects/:id/trigger/pipeline`
//! (pipeline trigger tokens); [`TriggerPipeline`] implements it.
//!
//! Artifacts are downloaded with `flowspec-http` directly: the crate's client
//! interface returns whole bodies, and archives must stream in constant memory.
//! Redirects to object storage are followed by hand, without the token.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::provider::{
    Artifact, ArtifactSink, CiProvider, CommitState, CommitStatus, Job, JobId, LogChunk,
    PollInterval, ProviderContext, ProviderError, ProviderErrorKind, ProviderFactory, RetryScope,
    Run, RunDiscovery, RunFilter, RunId, RunRef, RunStatus, TriggerRequest,
};
use flowspec_core::retry::RetryPolicy;
use flowspec_http::{HttpClient, HttpConfig, HttpError, HttpErrorKind, Idempotency, Redirects};
use gitlab::api::endpoint_prelude::*;
use gitlab::api::projects::jobs as gl_jobs;
use gitlab::api::projects::pipelines as gl_pipelines;
use gitlab::api::projects::repository::commits as gl_commits;
use gitlab::api::{ApiError, AsyncClient, AsyncQuery, Pagination, RestClient};
use serde::Deserialize;
use url::Url;

use crate::common::{self, GitDefaults, Token};

const TOKEN_VARS: &[&str] = &["GITLAB_TOKEN"];

/// `ci.config` for `provider: gitlab`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabConfig {
    /// The project: a path or a numeric id. Example: `group/sub/app`.
    /// Default: the `origin` remote of the checkout.
    pub project: Option<String>,
    /// The instance. Example: `https://gitlab.example.com`. Default: `https://gitlab.com`.
    pub api_url: Option<String>,
    /// A personal, project or group access token, as `${VAR}`. Example: `${GITLAB_FLOWSPEC}`.
    /// Default: `GITLAB_TOKEN`.
    pub token: Option<String>,
    /// A pipeline trigger token, as `${VAR}`; when set, `trigger` uses
    /// `POST /projects/:id/trigger/pipeline`. Example: `${GITLAB_TRIGGER_TOKEN}`.
    pub trigger_token: Option<String>,
    /// The ref to run on without `--branch`. Example: `main`. Default: the current branch.
    #[serde(rename = "ref", alias = "branch")]
    pub git_ref: Option<String>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}

/// The error of [`GitlabApi`]: a classified HTTP failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitlabClientError(pub HttpError);

/// The `gitlab` crate's client traits over [`flowspec_http::HttpClient`].
#[derive(Clone)]
pub struct GitlabApi {
    base: Url,
    api: Url,
    token: Option<Token>,
    http: HttpClient,
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

    fn authorize(
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
    project: &'a str,
    token: &'a str,
    git_ref: &'a str,
    variables: &'a BTreeMap<String, String>,
}

impl Endpoint for TriggerPipeline<'_> {
    fn method(&self) -> Method {
        Method::POST
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/trigger/pipeline",
            url::form_urlencoded::byte_serialize(self.project.as_bytes()).collect::<String>()
        )
        .into()
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

/// A GitLab project.
pub struct GitlabProvider {
    project: String,
    api: GitlabApi,
    trigger_token: Option<Token>,
    default_ref: Option<String>,
}

impl std::fmt::Debug for GitlabProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabProvider")
            .field("project", &self.project)
            .field("api", &self.api)
            .field("trigger_token", &self.trigger_token)
            .finish()
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

    fn error(&self, error: ApiError<GitlabClientError>, what: &str) -> ProviderError {
        map_api_error(error, what, self.api.token.as_ref().map(Token::source))
    }

    fn pipeline_id(run: &RunId) -> Result<u64, ProviderError> {
        run.as_u64().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{run}` is not a GitLab pipeline id (a number)"),
            )
        })
    }

    fn job_id(job: &JobId) -> Result<u64, ProviderError> {
        job.as_u64().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{job}` is not a GitLab job id (a number)"),
            )
        })
    }

    async fn jobs_raw(&self, pipeline: u64) -> Result<Vec<GlJob>, ProviderError> {
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

    fn download_path(&self, job: u64) -> String {
        format!(
            "projects/{}/jobs/{job}/artifacts",
            url::form_urlencoded::byte_serialize(self.project.as_bytes()).collect::<String>()
        )
    }
}

fn map_api_error(
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

/// The normalized status of a GitLab pipeline or job (contracts A2.3).
pub fn map_status(status: &str) -> RunStatus {
    match status {
        "created" | "waiting_for_resource" | "preparing" | "pending" | "scheduled" => {
            RunStatus::Queued
        }
        "running" | "canceling" => RunStatus::Running,
        "manual" | "waiting_for_callback" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" => RunStatus::Failed,
        "canceled" => RunStatus::Cancelled,
        "skipped" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

#[derive(Debug, Deserialize)]
struct GlPipeline {
    id: u64,
    iid: Option<u64>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    status: String,
    source: Option<String>,
    web_url: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<GlPipeline> for Run {
    fn from(p: GlPipeline) -> Run {
        let mut run = Run::new(p.id, map_status(&p.status), p.status);
        run.number = p.iid;
        run.head_branch = p.git_ref;
        run.head_sha = p.sha;
        run.event = p.source;
        run.url = p.web_url;
        run.created_at = p.created_at;
        run.updated_at = p.updated_at;
        run.started_at = p.started_at;
        run.finished_at = p.finished_at;
        run
    }
}

#[derive(Debug, Deserialize)]
struct GlArtifactFile {
    file_type: String,
    size: Option<u64>,
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlJob {
    id: u64,
    name: String,
    stage: Option<String>,
    status: String,
    #[serde(default)]
    allow_failure: bool,
    web_url: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    artifacts: Vec<GlArtifactFile>,
}

impl From<&GlJob> for Job {
    fn from(j: &GlJob) -> Job {
        let mut job = Job::new(
            j.id,
            j.name.clone(),
            map_status(&j.status),
            j.status.clone(),
        );
        job.stage = j.stage.clone();
        job.url = j.web_url.clone();
        job.allow_failure = j.allow_failure;
        job.started_at = j.started_at;
        job.finished_at = j.finished_at;
        job
    }
}

#[derive(Debug, Deserialize)]
struct GlJobOnly {
    id: u64,
    status: String,
}

#[async_trait]
impl CiProvider for GitlabProvider {
    fn kind(&self) -> &'static str {
        "gitlab"
    }

    fn platform(&self) -> &'static str {
        "gitlab-ci"
    }

    fn poll_interval(&self) -> PollInterval {
        PollInterval::new(Duration::from_secs(5), Duration::from_secs(60))
    }

    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
        let git_ref = request
            .git_ref
            .clone()
            .or_else(|| self.default_ref.clone())
            .ok_or_else(|| {
                ProviderError::new(
                    ProviderErrorKind::InvalidRequest,
                    "no ref to run on: pass --branch, set `ref` in the `ci:` config, or run from a git checkout on a branch",
                )
            })?;
        let what = format!("create a pipeline of {} on `{git_ref}`", self.project);
        // GitLab pipelines have no workflow name: a given one travels as a variable
        // so `.gitlab-ci.yml` rules can pick jobs.
        let mut variables = request.inputs.clone();
        if !request.workflow.is_empty() {
            variables
                .entry("FLOWSPEC_WORKFLOW".to_owned())
                .or_insert_with(|| request.workflow.clone());
        }
        let pipeline: GlPipeline = match &self.trigger_token {
            Some(token) => TriggerPipeline {
                project: &self.project,
                token: token.expose(),
                git_ref: &git_ref,
                variables: &variables,
            }
            .query_async(&self.api)
            .await
            .map_err(|e| map_api_error(e, &what, Some(token.source())))?,
            None => {
                let vars: Vec<gl_pipelines::PipelineVariable<'_>> = variables
                    .iter()
                    .map(|(k, v)| {
                        gl_pipelines::PipelineVariable::builder()
                            .key(k.as_str())
                            .value(v.as_str())
                            .build()
                            .expect("key and value are set")
                    })
                    .collect();
                let endpoint = gl_pipelines::CreatePipeline::builder()
                    .project(self.project.as_str())
                    .ref_(git_ref.as_str())
                    .variables(vars.into_iter())
                    .build()
                    .map_err(|e| {
                        ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
                    })?;
                endpoint
                    .query_async(&self.api)
                    .await
                    .map_err(|e| self.error(e, &what))?
            }
        };
        let mut run = RunRef::new(pipeline.id)
            .discovered_by(RunDiscovery::Response)
            .on_ref(pipeline.git_ref.clone().unwrap_or(git_ref));
        run.url = pipeline.web_url;
        Ok(run)
    }

    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
        let endpoint = gl_pipelines::Pipeline::builder()
            .project(self.project.as_str())
            .pipeline(Self::pipeline_id(run)?)
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        let pipeline: GlPipeline = endpoint
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &format!("get pipeline {run}")))?;
        Ok(pipeline.into())
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let jobs = self.jobs_raw(Self::pipeline_id(run)?).await?;
        // GitLab lists newest first; show them in pipeline order.
        let mut jobs: Vec<Job> = jobs.iter().map(Job::from).collect();
        jobs.reverse();
        Ok(jobs)
    }

    async fn job_log(
        &self,
        _run: &RunId,
        job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let id = Self::job_id(job)?;
        let what = format!("read the log of job {job}");
        let state: GlJobOnly = gl_jobs::Job::builder()
            .project(self.project.as_str())
            .job(id)
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &what))?;
        let endpoint = gl_jobs::JobTrace::builder()
            .project(self.project.as_str())
            .job(state.id)
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        let bytes = gitlab::api::raw(endpoint)
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &what))?;
        Ok(LogChunk::suffix(
            bytes,
            offset,
            map_status(&state.status).is_terminal(),
        ))
    }

    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        let pipeline = Self::pipeline_id(run)?;
        match scope {
            // GitLab's pipeline retry re-runs the failed and cancelled jobs.
            RetryScope::Failed => {
                let p: GlPipeline = gl_pipelines::RetryPipeline::builder()
                    .project(self.project.as_str())
                    .pipeline(pipeline)
                    .build()
                    .map_err(|e| {
                        ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
                    })?
                    .query_async(&self.api)
                    .await
                    .map_err(|e| {
                        self.error(e, &format!("retry the failed jobs of pipeline {run}"))
                    })?;
                let mut r = RunRef::new(p.id);
                r.url = p.web_url;
                Ok(r)
            }
            RetryScope::Job(job) => {
                let _new: GlJobOnly = gl_jobs::RetryJob::builder()
                    .project(self.project.as_str())
                    .job(Self::job_id(job)?)
                    .build()
                    .map_err(|e| {
                        ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
                    })?
                    .query_async(&self.api)
                    .await
                    .map_err(|e| self.error(e, &format!("retry job {job}")))?;
                Ok(RunRef::new(run.clone()))
            }
            // No "retry everything" endpoint: a new pipeline on the same ref.
            RetryScope::All => {
                let current = self.get_run(run).await?;
                let git_ref = current.head_branch.ok_or_else(|| {
                    ProviderError::malformed("retry the whole pipeline", "the pipeline has no ref")
                })?;
                let p: GlPipeline = gl_pipelines::CreatePipeline::builder()
                    .project(self.project.as_str())
                    .ref_(git_ref.as_str())
                    .build()
                    .map_err(|e| {
                        ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
                    })?
                    .query_async(&self.api)
                    .await
                    .map_err(|e| {
                        self.error(e, &format!("re-run pipeline {run} as a new pipeline"))
                    })?;
                let mut r = RunRef::new(p.id);
                r.url = p.web_url;
                Ok(r)
            }
            _ => Err(ProviderError::unsupported(self.platform(), "this retry")),
        }
    }

    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        let _: GlPipeline = gl_pipelines::CancelPipeline::builder()
            .project(self.project.as_str())
            .pipeline(Self::pipeline_id(run)?)
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &format!("cancel pipeline {run}")))?;
        Ok(())
    }

    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let jobs = self.jobs_raw(Self::pipeline_id(run)?).await?;
        Ok(jobs
            .iter()
            .rev()
            .flat_map(|job| {
                job.artifacts
                    .iter()
                    .filter(|a| a.file_type == "archive")
                    .map(move |a| {
                        let file = a.filename.as_deref().unwrap_or("artifacts.zip");
                        let mut artifact = Artifact::new(job.id, format!("{}/{file}", job.name));
                        artifact.size = a.size;
                        artifact.zip = true;
                        artifact.job = Some(JobId::from(job.id));
                        artifact
                    })
            })
            .collect())
    }

    async fn download_artifact(
        &self,
        _run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let what = format!("download artifact `{}`", artifact.name);
        let job = artifact
            .id
            .as_u64()
            .ok_or_else(|| ProviderError::malformed(&what, "the artifact id is not a job id"))?;
        let url =
            self.api.api.join(&self.download_path(job)).map_err(|e| {
                ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
            })?;
        let token_var = self.api.token.as_ref().map(Token::source);
        let (response, _) = self
            .api
            .http
            .send_with_retry(Idempotency::Safe, || {
                self.api.authorize(
                    self.api
                        .http
                        .reqwest()
                        .get(url.clone())
                        .timeout(Duration::from_secs(24 * 3600)),
                )
            })
            .await
            .map_err(|e| common::from_http(&e.error, &what, token_var))?;
        crate::download::stream_or_follow(&self.api.http, &url, response, &what, sink).await
    }

    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        let state = match status.state {
            CommitState::Pending => gl_commits::CommitStatusState::Pending,
            CommitState::Running => gl_commits::CommitStatusState::Running,
            CommitState::Success => gl_commits::CommitStatusState::Success,
            CommitState::Failed | CommitState::Error => gl_commits::CommitStatusState::Failed,
            CommitState::Cancelled => gl_commits::CommitStatusState::Canceled,
            CommitState::Skipped => gl_commits::CommitStatusState::Skipped,
            _ => gl_commits::CommitStatusState::Pending,
        };
        let mut builder = gl_commits::CreateCommitStatus::builder();
        builder
            .project(self.project.as_str())
            .commit(status.sha.as_str())
            .state(state);
        if let Some(c) = &status.context {
            builder.name(c.as_str());
        }
        if let Some(d) = &status.description {
            builder.description(d.chars().take(255).collect::<String>());
        }
        if let Some(u) = &status.target_url {
            builder.target_url(u.as_str());
        }
        if let Some(r) = &status.git_ref {
            builder.ref_(r.as_str());
        }
        let endpoint = builder
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        gitlab::api::ignore(endpoint)
            .query_async(&self.api)
            .await
            .map_err(|e| self.error(e, &format!("set the commit status of {}", status.sha)))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let mut builder = gl_pipelines::Pipelines::builder();
        builder.project(self.project.as_str());
        if let Some(b) = &filter.branch {
            builder.ref_(b.as_str());
        }
        let endpoint = builder
            .build()
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        let pipelines: Vec<GlPipeline> =
            gitlab::api::paged(endpoint, Pagination::Limit(filter.limit_or(20)))
                .query_async(&self.api)
                .await
                .map_err(|e| self.error(e, "list pipelines"))?;
        Ok(pipelines.into_iter().map(Run::from).collect())
    }
}

/// `provider: gitlab`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "gitlab"
    }

    fn describe(&self) -> &'static str {
        "GitLab CI on gitlab.com or self-managed (pipelines, trigger tokens, jobs, traces, artifacts, commit statuses)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: gitlab\n  config:\n    project: group/app\n    api_url: https://gitlab.example.com\n    ref: main\n    token: ${GITLAB_TOKEN}\n"
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        let raw: GitlabConfig =
            from_node(config, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let loc = |key: &str| config.get(key).map(|n| n.loc).unwrap_or(config.loc);
        let git = GitDefaults::discover(cx.project_root);
        let base = match &raw.api_url {
            Some(u) => common::api_url(u, cx.vars, &cx.field_path("api_url"))
                .map_err(|e| cx.locate(e.at(loc("api_url"))))?,
            None => Url::parse("https://gitlab.com/").expect("a valid URL"),
        };
        let project = match raw.project.clone().or(git.repo.clone()) {
            Some(p) => p,
            None => {
                return Err(cx
                    .locate(
                        ConfigError::new(
                            ConfigErrorKind::MissingField,
                            "missing field `project`: no `origin` remote to take it from",
                        )
                        .path(cx.field_path("project"))
                        .at(config.loc)
                        .hint("write `project: group/name` or the numeric project id"),
                    )
                    .into());
            }
        };
        let token = Token::resolve(
            raw.token.as_deref(),
            cx.vars,
            TOKEN_VARS,
            &cx.field_path("token"),
        )
        .map_err(|e| cx.locate(e.at(loc("token"))))?;
        let trigger_token = Token::resolve(
            raw.trigger_token.as_deref(),
            cx.vars,
            &[],
            &cx.field_path("trigger_token"),
        )
        .map_err(|e| cx.locate(e.at(loc("trigger_token"))))?;
        let mut http = HttpConfig::default();
        if let Some(secs) = raw.timeout {
            http = http.request_timeout(Duration::from_secs(secs.max(1)));
        }
        let api = GitlabApi::new(base, token, http).map_err(|e| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, e.to_string())
                    .path(cx.field_path("api_url"))
                    .at(loc("api_url")),
            )
        })?;
        let mut provider = GitlabProvider::new(project, api);
        provider.trigger_token = trigger_token;
        provider.default_ref = raw.git_ref.or(git.branch);
        Ok(Arc::new(provider))
    }
}

/// Builds a provider for tests and embedders: `base` is the instance URL.
pub fn provider(
    project: &str,
    base: &str,
    token: Option<Token>,
    retry: RetryPolicy,
) -> Result<GitlabProvider, ProviderError> {
    let base = Url::parse(base)
        .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))?;
    let api = GitlabApi::new(base, token, HttpConfig::default().retry(retry))
        .map_err(|e| common::from_http(&e, "build the GitLab client", None))?;
    Ok(GitlabProvider::new(project, api))
}
