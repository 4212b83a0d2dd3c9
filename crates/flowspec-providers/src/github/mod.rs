//! GitHub Actions (github.com and GitHub Enterprise Server), through octocrab.
//!
//! ```yaml
//! ci:
//!   provider: github
//!   config:
//!     repo: octo/app                       # default: the `origin` remote
//!     api_url: https://ghe.example.com/api/v3   # default: https://api.github.com
//!     token: ${GITHUB_FLOWSPEC}            # default: GITHUB_TOKEN, then GH_TOKEN
//!     workflow: integration-tests.yml      # default for `ci trigger`
//!     correlation_input: flowspec_run_id   # see "Finding the run" below
//! ```
//!
//! Octocrab carries every API call: its base URI (Enterprise), its bearer auth, and
//! its ETag cache, so polling a run that did not change is answered `304 Not
//! Modified`, which costs no rate limit. Calls go through octocrab's raw
//! `execute` rather than its typed handlers, because:
//! - `create_workflow_dispatch` drops the response body, which holds the run id
//!   (`return_run_details`);
//! - its `Job` model has no `requested` status, so real job lists fail to
//!   deserialize, and it has no rerun, rerun-failed, job-log calls;
//! - the raw response keeps the status and headers (rate-limit reset, `Location`).
//!
//! Downloads (job logs, artifacts) answer `302` to a short-lived storage URL on
//! another host; that second request is made with `flowspec-http` and **without**
//! the token (a pre-signed URL needs none, and the token must not leave GitHub).
//!
//! ## Finding the run a dispatch created
//! 1. The dispatch is sent with `return_run_details: true`; github.com answers `200`
//!    with `workflow_run_id`: done.
//! 2. A server that answers `204` (older GHES) gets run discovery: with
//!    `correlation_input` configured, a unique id is passed as that input and the
//!    workflow puts it in its `run-name:`; flowspec lists the workflow's
//!    `workflow_dispatch` runs on the ref created since the dispatch and takes the
//!    one whose title contains the id, so two racing dispatches never swap runs.
//!    Without it, flowspec takes the only new run, and refuses (listing them) when
//!    several appeared.
//! 3. An ambiguous failure (timeout, 5xx) of the dispatch is never repeated: with a
//!    correlation id flowspec looks for the run, and reports the outcome either way.

mod api;
mod config;
mod factory;
mod inputs;
mod pr;
mod wire;

pub use config::*;
pub use factory::*;
pub use wire::*;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flowspec_core::config::{ConfigErrors, Node, from_node};
use flowspec_core::provider::{
    Artifact, ArtifactSink, CiProvider, CommitState, CommitStatus, Job, JobId, LogChunk,
    PollInterval, ProviderContext, ProviderError, ProviderErrorKind, ProviderFactory, RetryScope,
    Run, RunDiscovery, RunFilter, RunId, RunRef, RunStatus, TriggerRequest, Workflow,
    WorkflowInput,
};
use flowspec_core::retry::{RetryPolicy, retry};
use flowspec_http::{HttpClient, HttpError};
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::common::{self, GitDefaults, Token, path_segment};

/// A GitHub Actions repository.
pub struct GithubProvider {
    owner: String,
    repo: String,
    api: Url,
    token: Option<Token>,
    workflow: Option<String>,
    default_ref: Option<String>,
    correlation_input: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    discovery: Discovery,
    client: tokio::sync::OnceCell<octocrab::Octocrab>,
    downloads: HttpClient,
}

/// How long and how often to look for a dispatched run.
#[derive(Clone, Copy, Debug)]
struct Discovery {
    attempts: u32,
    interval: Duration,
}

impl std::fmt::Debug for GithubProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubProvider")
            .field("repo", &format!("{}/{}", self.owner, self.repo))
            .field("api", &flowspec_http::target::redact(&self.api))
            .field("token", &self.token)
            .finish()
    }
}

#[async_trait]
impl CiProvider for GithubProvider {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn platform(&self) -> &'static str {
        "github-actions"
    }

    fn poll_interval(&self) -> PollInterval {
        PollInterval::new(Duration::from_secs(10), Duration::from_secs(60))
    }

    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
        let workflow = if request.workflow.is_empty() {
            self.workflow.clone().ok_or_else(|| {
                ProviderError::new(
                    ProviderErrorKind::InvalidRequest,
                    "no workflow given: pass --workflow or set `workflow` in the `ci:` config",
                )
            })?
        } else {
            request.workflow.clone()
        };
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
        let correlation = request
            .correlation_id
            .clone()
            .unwrap_or_else(common::correlation_id);
        let mut inputs = serde_json::Map::new();
        for (k, v) in &request.inputs {
            inputs.insert(k.clone(), Value::String(v.clone()));
        }
        if let Some(name) = &self.correlation_input {
            inputs.insert(name.clone(), Value::String(correlation.clone()));
        }
        let what = format!("trigger workflow `{workflow}` on `{git_ref}`");
        let path = self.repo_path(&format!(
            "actions/workflows/{}/dispatches",
            path_segment(&workflow)
        ));
        let since = Utc::now();
        let mut body = json!({"ref": git_ref, "inputs": inputs, "return_run_details": true});
        let mut result = self
            .send_json(Method::POST, &path, Some(&body), &what, false)
            .await;
        // Older GHES refuse the unknown `return_run_details`: send without it.
        if let Err(e) = &result
            && e.kind() == ProviderErrorKind::InvalidRequest
            && matches!(e.status(), Some(400 | 422))
            && e.platform_message()
                .is_some_and(|m| m.contains("return_run_details"))
        {
            body.as_object_mut()
                .expect("an object")
                .remove("return_run_details");
            result = self
                .send_json(Method::POST, &path, Some(&body), &what, false)
                .await;
        }
        let correlation_ref = self
            .correlation_input
            .as_ref()
            .map(|_| correlation.as_str());
        match result {
            Ok((StatusCode::OK, bytes)) if !bytes.is_empty() => {
                let details: GhDispatch = common::parse_json(&bytes, &what)?;
                let mut run = RunRef::new(details.workflow_run_id)
                    .discovered_by(RunDiscovery::Response)
                    .on_ref(git_ref.clone());
                run.url = details.html_url;
                Ok(run)
            }
            Ok(_) => {
                let found = self
                    .discover_run(&workflow, &git_ref, since, correlation_ref)
                    .await?;
                let run = found.ok_or_else(|| {
                    ProviderError::new(
                        ProviderErrorKind::Platform,
                        format!(
                            "{what}: GitHub accepted the dispatch but no run appeared within {}s",
                            (self.discovery.interval * self.discovery.attempts).as_secs()
                        ),
                    )
                })?;
                let mut r = RunRef::new(run.id)
                    .discovered_by(RunDiscovery::Correlation)
                    .on_ref(git_ref.clone());
                r.url = run.html_url;
                Ok(r)
            }
            Err(e) if e.kind() == ProviderErrorKind::NotFound => {
                let names = self.workflow_names().await;
                let mut err = ProviderError::new(
                    ProviderErrorKind::NotFound,
                    format!(
                        "workflow `{workflow}` not found in {}/{} (or the token cannot see it)",
                        self.owner, self.repo
                    ),
                )
                .with_status(404);
                if !names.is_empty() {
                    err = err
                        .with_suggestions(names)
                        .with_suggestion_label("workflows that exist");
                }
                Err(err)
            }
            Err(e) if e.kind() == ProviderErrorKind::Transient && e.maybe_sent() => {
                // Ambiguous: the dispatch may have been accepted. Never send it again;
                // look for the run when it can be recognised.
                if correlation_ref.is_some()
                    && let Ok(Some(run)) = self
                        .discover_run(&workflow, &git_ref, since, correlation_ref)
                        .await
                {
                    let mut r = RunRef::new(run.id)
                        .discovered_by(RunDiscovery::Correlation)
                        .on_ref(git_ref.clone());
                    r.url = run.html_url;
                    return Ok(r);
                }
                Err(e.context(
                    "the dispatch may or may not have been accepted; it was not repeated (check `flowspec ci list`)",
                ))
            }
            Err(e) => Err(e),
        }
    }

    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
        let path = self.repo_path(&format!("actions/runs/{}", path_segment(run.as_str())));
        let (raw, _): (GhRun, _) = self.get_json(&path, &format!("get run {run}")).await?;
        Ok(raw.into())
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let path = self.repo_path(&format!(
            "actions/runs/{}/jobs?filter=latest&per_page=100",
            path_segment(run.as_str())
        ));
        self.paginate(
            path,
            &format!("list jobs of run {run}"),
            usize::MAX,
            |p: GhJobs| p.jobs.into_iter().map(Job::from).collect(),
        )
        .await
    }

    async fn job_log(
        &self,
        _run: &RunId,
        job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let what = format!("read the log of job {job}");
        let (raw, _): (GhJob, _) = self
            .get_json(
                &self.repo_path(&format!("actions/jobs/{}", path_segment(job.as_str()))),
                &what,
            )
            .await?;
        let complete = raw.status.as_deref() == Some("completed");
        let mut bytes = Vec::new();
        match self
            .download(
                &self.repo_path(&format!("actions/jobs/{}/logs", path_segment(job.as_str()))),
                &what,
                &mut bytes,
            )
            .await
        {
            Ok(_) => Ok(LogChunk::suffix(bytes, offset, complete)),
            // While a job runs GitHub may have no log yet.
            Err(e) if e.kind() == ProviderErrorKind::NotFound && !complete => {
                Ok(LogChunk::new(Vec::new(), offset, false))
            }
            Err(e) => Err(e),
        }
    }

    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        let (path, what) = match scope {
            RetryScope::All => (
                self.repo_path(&format!(
                    "actions/runs/{}/rerun",
                    path_segment(run.as_str())
                )),
                format!("re-run run {run}"),
            ),
            RetryScope::Failed => (
                self.repo_path(&format!(
                    "actions/runs/{}/rerun-failed-jobs",
                    path_segment(run.as_str())
                )),
                format!("re-run the failed jobs of run {run}"),
            ),
            RetryScope::Job(job) => (
                self.repo_path(&format!(
                    "actions/jobs/{}/rerun",
                    path_segment(job.as_str())
                )),
                format!("re-run job {job}"),
            ),
            _ => return Err(ProviderError::unsupported(self.platform(), "this retry")),
        };
        // A re-run of a run that is already re-running is refused, so repeating is harmless.
        self.send_json(Method::POST, &path, Some(&json!({})), &what, true)
            .await?;
        let mut r = RunRef::new(run.clone());
        r.url = Some(self.web_url(run));
        Ok(r)
    }

    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        let what = format!("cancel run {run}");
        let path = self.repo_path(&format!(
            "actions/runs/{}/cancel",
            path_segment(run.as_str())
        ));
        match self.send_json(Method::POST, &path, None, &what, true).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(409) => Err(ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("{what}: GitHub refused (409): the run has already finished"),
            )
            .with_status(409)),
            Err(e) => Err(e),
        }
    }

    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let path = self.repo_path(&format!(
            "actions/runs/{}/artifacts?per_page=100",
            path_segment(run.as_str())
        ));
        self.paginate(
            path,
            &format!("list artifacts of run {run}"),
            usize::MAX,
            |p: GhArtifacts| {
                p.artifacts
                    .into_iter()
                    .map(|a| {
                        let mut artifact = Artifact::new(a.id, a.name);
                        artifact.size = a.size_in_bytes;
                        artifact.expired = a.expired;
                        artifact.zip = true;
                        artifact
                    })
                    .collect()
            },
        )
        .await
    }

    async fn download_artifact(
        &self,
        _run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let what = format!("download artifact `{}`", artifact.name);
        let path = self.repo_path(&format!(
            "actions/artifacts/{}/zip",
            path_segment(artifact.id.as_str())
        ));
        self.download(&path, &what, sink).await.map_err(|e| {
            if e.status() == Some(410) {
                ProviderError::new(
                    ProviderErrorKind::NotFound,
                    format!("{what}: the artifact has expired"),
                )
                .with_status(410)
            } else {
                e
            }
        })
    }

    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        let state = match status.state {
            CommitState::Pending | CommitState::Running => "pending",
            CommitState::Success | CommitState::Skipped => "success",
            CommitState::Failed => "failure",
            _ => "error",
        };
        let mut body = json!({"state": state});
        if let Some(c) = &status.context {
            body["context"] = c.clone().into();
        }
        if let Some(d) = &status.description {
            body["description"] = d.chars().take(140).collect::<String>().into();
        }
        if let Some(u) = &status.target_url {
            body["target_url"] = u.clone().into();
        }
        let what = format!("set the commit status of {}", status.sha);
        let path = self.repo_path(&format!("statuses/{}", path_segment(&status.sha)));
        self.send_json(Method::POST, &path, Some(&body), &what, true)
            .await?;
        Ok(())
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let limit = filter.limit_or(20);
        let base = match &filter.workflow {
            Some(w) => format!("actions/workflows/{}/runs", path_segment(w)),
            None => "actions/runs".to_owned(),
        };
        let mut query = format!("per_page={}", limit.min(100));
        if let Some(b) = &filter.branch {
            query.push_str(&format!("&branch={}", path_segment(b)));
        }
        let path = self.repo_path(&format!("{base}?{query}"));
        self.paginate(path, "list runs", limit, |p: GhRuns| {
            p.workflow_runs.into_iter().map(Run::from).collect()
        })
        .await
    }

    async fn list_workflows(&self) -> Result<Vec<Workflow>, ProviderError> {
        let path = self.repo_path("actions/workflows?per_page=100");
        self.paginate(path, "list workflows", usize::MAX, |p: GhWorkflows| {
            p.workflows
                .into_iter()
                .map(|w| {
                    let file = w.path.rsplit('/').next().unwrap_or(&w.path).to_owned();
                    Workflow::new(file, w.name, w.state == "active")
                })
                .collect()
        })
        .await
    }

    async fn workflow_inputs(
        &self,
        workflow: &str,
        git_ref: Option<&str>,
    ) -> Result<Vec<WorkflowInput>, ProviderError> {
        self.read_workflow_inputs(workflow, git_ref).await
    }
}
