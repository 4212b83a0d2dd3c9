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

mod api;
mod config;
mod factory;
mod mr;
mod wire;

pub use api::*;
pub use config::*;
pub use factory::*;
pub use wire::*;

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

use crate::common::{self, GitDefaults, Token, path_segment};

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
