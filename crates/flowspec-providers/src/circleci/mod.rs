//! CircleCI, over API v2 (and API v1.1 for step logs, which v2 does not offer).
//!
//! ```yaml
//! ci:
//!   provider: circleci
//!   config:
//!     project_slug: gh/acme/app       # gh/…, bb/…, circleci/<org-id>/<project-id>;
//!                                     # default: the `origin` remote (GitHub/Bitbucket)
//!     token: ${CIRCLECI_FLOWSPEC}     # a personal API token; default: CIRCLECI_TOKEN, then CIRCLE_TOKEN
//!     branch: main                    # default: the current branch
//!     parameter_types: { deploy: boolean }   # pipeline parameters that are not strings
//! ```
//!
//! - **Runs** are pipelines (their UUID). A pipeline's status comes from its
//!   workflows: the latest workflow of each name (a rerun adds a new workflow to the
//!   same pipeline), combined as the table in `docs/ci.md` says; a pipeline whose
//!   config failed (`state: errored`) is failed with its error messages.
//! - **Trigger**: `POST /project/{slug}/pipeline` with `branch` or `tag` and
//!   `parameters` (for example `event_type` and `feature`). A ref written
//!   `refs/tags/v1` or `tag:v1` is sent as a tag. With a pipeline definition
//!   (`definition_id`, or a UUID as `--workflow`) the current endpoint
//!   `POST /project/{slug}/pipeline/run` is used instead. Parameters are strings
//!   unless `parameter_types` says `boolean` or `integer`. A `200` answer means
//!   CircleCI created no pipeline (trigger rules filtered it out): an error.
//! - **Jobs**: the jobs of those workflows (`next_page_token` pagination), named by
//!   job number (approval jobs, which have none, by their UUID).
//! - **Logs**: API v2 has no log endpoint. flowspec reads the job's steps from
//!   API v1.1 (`GET /api/v1.1/project/{vcs}/{org}/{repo}/{job-number}`, same token)
//!   and fetches each finished step's `output_url` (a pre-signed URL, fetched without
//!   the token). CircleCI offers no incremental log: following a job re-reads the
//!   steps and adds the steps that finished since. Only for `gh/` and `bb/` projects
//!   (API v1.1 does not address `circleci/` projects).
//! - **Retry**: `POST /workflow/{id}/rerun` with `from_failed: true` (failed
//!   workflows), `from_failed: false` (all), or `jobs: [id]` (one job). The run id
//!   stays the pipeline's; the call returns once the pipeline lists the new
//!   workflows, so a wait that follows does not see the attempt that was re-run.
//! - **Test metadata**: [`CircleciProvider::tests`] and [`CircleciProvider::run_tests`]
//!   (`GET /project/{slug}/{job-number}/tests`), for the results parser.
//! - **Commit status**: CircleCI reports to GitHub/Bitbucket itself; its API has none.

mod api;
mod config;
mod factory;
mod wire;

pub use config::*;
pub use factory::*;
pub use wire::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::provider::{
    Artifact, ArtifactSink, CiProvider, CommitStatus, Job, JobId, LogChunk, PollInterval,
    ProviderContext, ProviderError, ProviderErrorKind, ProviderFactory, RetryScope, Run,
    RunDiscovery, RunFilter, RunId, RunRef, RunStatus, TriggerRequest,
};
use flowspec_http::reqwest::{Method, RequestBuilder, Response, StatusCode};
use flowspec_http::{HttpClient, HttpConfig, HttpError, Idempotency, Redirects};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::common::{self, GitDefaults, Token};

/// A CircleCI project.
pub struct CircleciProvider {
    slug: String,
    api: Url,
    token: Option<Token>,
    default_branch: Option<String>,
    definition_id: Option<String>,
    parameter_types: BTreeMap<String, ParameterType>,
    settle_poll: Duration,
    http: HttpClient,
}

impl std::fmt::Debug for CircleciProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircleciProvider")
            .field("slug", &self.slug)
            .field("api", &flowspec_http::target::redact(&self.api))
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CiProvider for CircleciProvider {
    fn kind(&self) -> &'static str {
        "circleci"
    }

    fn poll_interval(&self) -> PollInterval {
        PollInterval::new(Duration::from_secs(5), Duration::from_secs(60))
    }

    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
        let workflow = request.workflow.trim();
        let definition = if workflow.is_empty() {
            self.definition_id.clone()
        } else if looks_like_uuid(workflow) {
            Some(workflow.to_owned())
        } else {
            return Err(ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!(
                    "CircleCI runs a project's whole pipeline and cannot start workflow `{workflow}` by name: choose workflows with pipeline parameters (`--input event_type=...`, `when:` in .circleci/config.yml), or pass a pipeline definition id"
                ),
            ));
        };
        let git_ref = request
            .git_ref
            .clone()
            .or_else(|| self.default_branch.clone());
        let vcs_ref = git_ref.as_deref().map(|r| {
            if let Some(tag) = r
                .strip_prefix("refs/tags/")
                .or_else(|| r.strip_prefix("tag:"))
            {
                json!({ "tag": tag })
            } else {
                json!({ "branch": r.strip_prefix("refs/heads/").unwrap_or(r) })
            }
        });
        let parameters = self.parameters(&request.inputs)?;
        let (url, body) = match &definition {
            Some(id) => {
                let mut body = json!({ "definition_id": id });
                if let Some(r) = &vcs_ref {
                    body["config"] = r.clone();
                    body["checkout"] = r.clone();
                }
                if !request.inputs.is_empty() {
                    body["parameters"] = parameters;
                }
                (
                    self.url(&format!("project/{}/pipeline/run", self.slug)),
                    body,
                )
            }
            None => {
                let mut body = vcs_ref.unwrap_or_else(|| json!({}));
                if !request.inputs.is_empty() {
                    body["parameters"] = parameters;
                }
                (self.url(&format!("project/{}/pipeline", self.slug)), body)
            }
        };
        let what = format!("trigger a pipeline of {}", self.slug);
        let response = self
            .send(Method::POST, &url, Some(&body), Idempotency::Unsafe, &what)
            .await?;
        let status = response.status();
        let created: Created = self.json(response, &what).await?;
        match created.id {
            Some(id) if status == StatusCode::CREATED || status.is_success() => {
                let mut run = RunRef::new(id).discovered_by(RunDiscovery::Response);
                if let (Some(app), Some(n)) = (self.app_base(), created.number) {
                    run.url = Some(format!("{app}/{n}"));
                }
                Ok(run)
            }
            _ => Err(ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("{what}: CircleCI accepted the request but created no pipeline (trigger rules may filter it out)"),
            )
            .with_platform_message(created.message.unwrap_or_default())),
        }
    }

    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
        let pipeline = self.pipeline(run).await?;
        let workflows = self.workflows(run).await?;
        Ok(self.to_run(pipeline, &workflows))
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let app = self.app_base();
        let number = if app.is_some() {
            self.pipeline(run).await?.number
        } else {
            None
        };
        Ok(self
            .all_jobs(run)
            .await?
            .into_iter()
            .map(|(w, j)| {
                let id = j.job_number.map_or_else(|| j.id.clone(), |n| n.to_string());
                let mut job = Job::new(id, j.name, map_job_status(&j.status), j.status);
                job.stage = Some(w.name.clone());
                job.started_at = j.started_at;
                job.finished_at = j.stopped_at;
                if let (Some(app), Some(p), Some(n)) = (&app, number, j.job_number) {
                    job.url = Some(format!("{app}/{p}/workflows/{}/jobs/{n}", w.id));
                }
                job
            })
            .collect())
    }

    async fn job_log(
        &self,
        _run: &RunId,
        job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let number = job.as_u64().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{job}` is not a CircleCI job number (approval jobs have no log)"),
            )
        })?;
        let what = format!("read the steps of job {number} (API v1.1)");
        let build: V1Build = self.get_json(&self.v1_build_url(number)?, &what).await?;
        let mut text = String::new();
        for step in &build.steps {
            let parallel = step.actions.len() > 1;
            for action in &step.actions {
                if action.status.as_deref() == Some("running") {
                    // Steps finish in order: nothing after a running step is final.
                    return Ok(LogChunk::suffix(text.into_bytes(), offset, false));
                }
                let header = if parallel {
                    format!("==> {} [node {}]\n", step.name, action.index)
                } else {
                    format!("==> {}\n", step.name)
                };
                text.push_str(&header);
                if let Some(url) = &action.output_url {
                    let output = self
                        .step_output(url, &format!("read the output of step `{}`", step.name))
                        .await?;
                    text.push_str(&output);
                    if !output.ends_with('\n') && !output.is_empty() {
                        text.push('\n');
                    }
                }
            }
        }
        let complete = build.lifecycle.as_deref() == Some("finished");
        Ok(LogChunk::suffix(text.into_bytes(), offset, complete))
    }

    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        let workflows = self.workflows(run).await?;
        let rerun = |w: &Workflow, body: Value, what: String| {
            let url = self.url(&format!("workflow/{}/rerun", w.id));
            async move {
                let response = self
                    .send(Method::POST, &url, Some(&body), Idempotency::Unsafe, &what)
                    .await?;
                // `202 {"workflow_id": "<new id>"}`: the re-run is a new workflow.
                let answer: Option<Value> = self.json(response, &what).await.ok();
                Ok::<_, ProviderError>(
                    answer
                        .as_ref()
                        .and_then(|a| a.get("workflow_id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
            }
        };
        let mut created: Vec<String> = Vec::new();
        match scope {
            RetryScope::Failed => {
                let failed: Vec<&Workflow> = workflows
                    .iter()
                    .filter(|w| map_workflow_status(&w.status) == RunStatus::Failed)
                    .collect();
                if failed.is_empty() {
                    return Err(ProviderError::new(
                        ProviderErrorKind::InvalidRequest,
                        format!("pipeline {run} has no failed workflow to re-run"),
                    ));
                }
                for w in failed {
                    created.extend(
                        rerun(
                            w,
                            json!({ "from_failed": true }),
                            format!("re-run workflow `{}` from failed", w.name),
                        )
                        .await?,
                    );
                }
            }
            RetryScope::Job(job) => {
                let mut found = None;
                let mut names = Vec::new();
                for w in &workflows {
                    if found.is_some() {
                        break;
                    }
                    for j in self.jobs_of(w).await? {
                        let number = j.job_number.map(|n| n.to_string());
                        if number.as_deref() == Some(job.as_str()) || j.id == job.as_str() {
                            found = Some((w.clone(), j));
                            break;
                        }
                        names.push(format!("{} ({})", number.unwrap_or(j.id), j.name));
                    }
                }
                let Some((w, j)) = found else {
                    return Err(ProviderError::new(
                        ProviderErrorKind::NotFound,
                        format!("pipeline {run} has no job `{job}`"),
                    )
                    .with_suggestions(names)
                    .with_suggestion_label("jobs of the pipeline"));
                };
                created.extend(
                    rerun(
                        &w,
                        json!({ "jobs": [j.id] }),
                        format!("re-run job `{}` of workflow `{}`", j.name, w.name),
                    )
                    .await?,
                );
            }
            _ => {
                if workflows.is_empty() {
                    return Err(ProviderError::new(
                        ProviderErrorKind::InvalidRequest,
                        format!("pipeline {run} has no workflow to re-run"),
                    ));
                }
                for w in &workflows {
                    created.extend(
                        rerun(
                            w,
                            json!({ "from_failed": false }),
                            format!("re-run workflow `{}`", w.name),
                        )
                        .await?,
                    );
                }
            }
        }
        self.settle(run, &created).await;
        let mut r = RunRef::new(run.clone());
        if let Some(app) = self.app_base()
            && let Ok(p) = self.pipeline(run).await
            && let Some(n) = p.number
        {
            r.url = Some(format!("{app}/{n}"));
        }
        Ok(r)
    }

    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        for w in self.workflows(run).await? {
            if map_workflow_status(&w.status).is_terminal() {
                continue;
            }
            let url = self.url(&format!("workflow/{}/cancel", w.id));
            // Cancelling twice is harmless.
            self.send(
                Method::POST,
                &url,
                None,
                Idempotency::Safe,
                &format!("cancel workflow `{}`", w.name),
            )
            .await?;
        }
        Ok(())
    }

    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let mut out = Vec::new();
        for (_, job) in self.all_jobs(run).await? {
            let Some(n) = job.job_number else { continue };
            let items: Vec<ArtifactItem> = self
                .paged(
                    &self.url(&format!("project/{}/{n}/artifacts", self.slug)),
                    &format!("list the artifacts of job {n}"),
                    None,
                )
                .await?;
            for item in items {
                let name = if item.node_index > 0 {
                    format!("{}/{}/{}", job.name, item.node_index, item.path)
                } else {
                    format!("{}/{}", job.name, item.path)
                };
                let mut artifact = Artifact::new(item.url, name);
                artifact.job = Some(JobId::from(n));
                out.push(artifact);
            }
        }
        Ok(out)
    }

    async fn download_artifact(
        &self,
        _run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let what = format!("download artifact `{}`", artifact.name);
        let url = flowspec_http::target::check_target(artifact.id.as_str())
            .map_err(|e| common::from_http(&e, &what, None))?;
        // Redirects are followed by hand: `Circle-Token` must not travel to storage.
        let direct = HttpClient::new(self.http.config().clone().redirects(Redirects::Return))
            .map_err(|e| common::from_http(&e, &what, None))?;
        let (response, _) = direct
            .send_with_retry(Idempotency::Safe, || {
                // Large files: the read timeout guards silence, not the total time.
                self.authorize(
                    direct
                        .reqwest()
                        .get(url.clone())
                        .timeout(Duration::from_secs(24 * 3600)),
                )
            })
            .await
            .map_err(|e| self.error(&e.error, &what))?;
        crate::download::stream_or_follow(&self.http, &url, response, &what, sink).await
    }

    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        let _ = status;
        Err(ProviderError::new(
            ProviderErrorKind::Unsupported,
            "CircleCI's API has no commit status endpoint (CircleCI reports to GitHub and Bitbucket itself): report to the forge with a `github` or `gitlab` ci profile",
        ))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let mut url = self.url(&format!("project/{}/pipeline", self.slug));
        if let Some(b) = &filter.branch {
            url.query_pairs_mut().append_pair("branch", b);
        }
        let pipelines: Vec<Pipeline> = self
            .paged(
                &url,
                &format!("list the pipelines of {}", self.slug),
                Some(filter.limit_or(20)),
            )
            .await?;
        let mut runs = Vec::with_capacity(pipelines.len());
        for p in pipelines {
            let id = RunId::new(p.id.clone());
            let workflows = self.workflows(&id).await?;
            runs.push(self.to_run(p, &workflows));
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_combine_workflow_statuses_into_a_pipeline_status() {
        let table: &[(&str, &[&str], RunStatus)] = &[
            ("errored", &[], RunStatus::Failed),
            ("created", &[], RunStatus::Queued),
            ("created", &["success", "failing"], RunStatus::Running),
            ("created", &["on_hold", "success"], RunStatus::Waiting),
            ("created", &["success", "failed"], RunStatus::Failed),
            ("created", &["canceled", "success"], RunStatus::Cancelled),
            ("created", &["success", "not_run"], RunStatus::Success),
            ("created", &["not_run"], RunStatus::Skipped),
            ("created", &["brand_new"], RunStatus::Unknown),
        ];
        for (state, workflows, expected) in table {
            assert_eq!(
                map_pipeline_status(state, workflows),
                *expected,
                "{state} {workflows:?}"
            );
        }
    }

    #[test]
    fn should_keep_only_the_latest_workflow_of_each_name() {
        let w = |id: &str, name: &str, status: &str, at: &str| Workflow {
            id: id.into(),
            name: name.into(),
            status: status.into(),
            created_at: Some(at.parse().unwrap()),
            stopped_at: None,
        };
        let kept = latest(vec![
            w("2", "build", "running", "2024-03-20T10:05:00Z"),
            w("1", "build", "failed", "2024-03-20T10:00:00Z"),
            w("3", "lint", "success", "2024-03-20T10:00:01Z"),
        ]);
        let ids: Vec<&str> = kept.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
    }

    #[test]
    fn should_recognize_pipeline_definition_ids() {
        assert!(looks_like_uuid("2f1a4c0e-8b0d-4f5a-9f43-6c2b7e2f3d10"));
        assert!(!looks_like_uuid("integration-tests"));
    }
}
