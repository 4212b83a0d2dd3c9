//! Jenkins, over its remote access API (`/api/json`, `buildWithParameters`, the
//! queue, progressive console text).
//!
//! ```yaml
//! ci:
//!   provider: jenkins
//!   config:
//!     api_url: https://ci.example.com/jenkins/   # the Jenkins URL (context path included)
//!     job: team/app/integration                  # folders: `a/b/c` → /job/a/job/b/job/c/
//!     user: ${JENKINS_USER}                      # default: JENKINS_USER
//!     token: ${JENKINS_API_TOKEN}                # default: JENKINS_API_TOKEN
//!     ref_parameter: BRANCH                      # optional: pass `--branch` as this parameter
//!     unstable: failed                           # UNSTABLE builds count as `failed` (or `success`)
//! ```
//!
//! - **Auth**: an API token over HTTP Basic, sent pre-emptively (Jenkins answers an
//!   unauthenticated request with `403`, never with a challenge).
//! - **CSRF crumb**: fetched once from `/crumbIssuer/api/json` before the first POST and
//!   sent as the header it names (`Jenkins-Crumb`), with the session cookie the crumb
//!   request set (a crumb is tied to its session). A `404` means CSRF protection is off.
//!   A POST refused for a missing or stale crumb fetches a new one and is sent again once.
//! - **Runs** are builds, named `job/path#number` (`team/app/integration#57`); a bare
//!   number means a build of the configured `job`.
//! - **Trigger**: `POST buildWithParameters` (or `build` without parameters) answers
//!   `201` with the queue item in `Location`; the queue item is polled until it has
//!   `executable.number` (the build), or fails clearly when it was cancelled.
//! - **Jobs of a run**: the stages of a Pipeline build, from the Pipeline REST API
//!   (`/wfapi/describe`, Pipeline Stage View plugin) when it is installed; otherwise the
//!   build itself as one job.
//! - **Logs**: the build's console, read with `logText/progressiveText?start=N`
//!   (`X-Text-Size` is the next offset, `X-More-Data` says the log still grows). Stages
//!   have no log of their own in the remote API: every job's log is the build console.
//! - **Retry**: Jenkins has no re-run API; the whole build is rebuilt with the same
//!   parameters (read from its `ParametersAction`). Failed-only and single-stage
//!   retries do not exist (`Unsupported`). Password and file parameters are not
//!   readable back and are not re-sent.
//! - **Commit status**: Jenkins has no commit status API of its own (plugins set them);
//!   report to the forge with a `github` or `gitlab` profile instead.

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
use chrono::{DateTime, TimeZone, Utc};
use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node, interpolate,
};
use flowspec_core::provider::{
    Artifact, ArtifactSink, CiProvider, CommitStatus, Job, JobId, LogChunk, PollInterval,
    ProviderContext, ProviderError, ProviderErrorKind, ProviderFactory, RetryScope, Run,
    RunDiscovery, RunFilter, RunId, RunRef, RunStatus, TriggerRequest, Workflow,
};
use flowspec_http::reqwest::{Method, RequestBuilder, Response, header};
use flowspec_http::{HttpClient, HttpConfig, HttpError, Idempotency};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use crate::common::{self, Token};

/// A job's path: folders and the job name (`["team", "app", "integration"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPath(Vec<String>);

impl JobPath {
    /// Parses `a/b/c`, or the URL form `job/a/job/b/job/c`.
    ///
    /// ```
    /// use flowspec_providers::jenkins::JobPath;
    /// assert_eq!(JobPath::parse("team/app").unwrap().to_string(), "team/app");
    /// assert_eq!(JobPath::parse("/job/team/job/app/").unwrap().to_string(), "team/app");
    /// assert!(JobPath::parse(" / ").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<JobPath> {
        let parts: Vec<&str> = text
            .trim()
            .split('/')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            return None;
        }
        let url_form =
            parts.len().is_multiple_of(2) && parts.iter().step_by(2).all(|p| *p == "job");
        let names: Vec<String> = if url_form {
            parts
                .iter()
                .skip(1)
                .step_by(2)
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            parts.iter().map(|s| (*s).to_owned()).collect()
        };
        Some(JobPath(names))
    }

    fn name(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }
}

impl std::fmt::Display for JobPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

#[derive(Clone)]
struct Basic {
    user: String,
    token: Token,
}

/// A CSRF crumb with the session cookie it belongs to.
#[derive(Clone)]
struct Crumb {
    field: String,
    value: String,
    cookie: Option<String>,
}

#[derive(Clone)]
enum CrumbState {
    Unknown,
    Disabled,
    Have(Crumb),
}

/// A Jenkins server.
pub struct JenkinsProvider {
    base: Url,
    default_job: Option<JobPath>,
    auth: Option<Basic>,
    ref_parameter: Option<String>,
    unstable: Unstable,
    queue_timeout: Duration,
    queue_poll: Duration,
    http: HttpClient,
    crumb: Mutex<CrumbState>,
}

impl std::fmt::Debug for JenkinsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JenkinsProvider")
            .field("base", &flowspec_http::target::redact(&self.base))
            .field("default_job", &self.default_job)
            .field("user", &self.auth.as_ref().map(|a| &a.user))
            .field("token", &self.auth.as_ref().map(|a| &a.token))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CiProvider for JenkinsProvider {
    fn kind(&self) -> &'static str {
        "jenkins"
    }

    fn poll_interval(&self) -> PollInterval {
        PollInterval::new(Duration::from_secs(3), Duration::from_secs(30))
    }

    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
        let job = self.job_for(&request.workflow)?;
        let mut params = request.inputs.clone();
        if let (Some(p), Some(r)) = (&self.ref_parameter, &request.git_ref) {
            params.entry(p.clone()).or_insert_with(|| r.clone());
        } else if request.git_ref.is_some() {
            tracing::debug!(
                message = "Jenkins job takes no ref parameter; the ref is not sent.",
                job = %job
            );
        }
        self.start(&job, &params, &format!("trigger Jenkins job `{job}`"))
            .await
    }

    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
        let (job, number) = self.build_of(run)?;
        let build = self
            .build(&job, number, &format!("get build {run}"))
            .await?;
        Ok(self.to_run(&job, build))
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let (job, number) = self.build_of(run)?;
        let what = format!("list the stages of build {run}");
        let url = self.join(&self.build_url(&job, number), "wfapi/describe");
        match self.get_json::<Describe>(&url, &what).await {
            Ok(d) if !d.stages.is_empty() => {
                let base = self.build_url(&job, number);
                return Ok(d
                    .stages
                    .into_iter()
                    .map(|s| {
                        let mut j = Job::new(
                            s.id.clone(),
                            s.name,
                            map_stage_status(&s.status, self.unstable),
                            s.status,
                        );
                        j.started_at = millis(s.start_time_millis);
                        if j.status.is_terminal()
                            && let (Some(start), Some(d)) = (s.start_time_millis, s.duration_millis)
                        {
                            j.finished_at = millis(Some(start + d));
                        }
                        j.url = Some(
                            self.join(&base, &format!("execution/node/{}/", s.id))
                                .to_string(),
                        );
                        j
                    })
                    .collect());
            }
            Ok(_) => {}
            // No Pipeline Stage View plugin, or not a Pipeline job: the build is the job.
            Err(e) if e.kind() == ProviderErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let b = self
            .build(&job, number, &format!("get build {run}"))
            .await?;
        let status = map_build_status(b.building, b.result.as_deref(), self.unstable);
        let raw = b.result.clone().unwrap_or_else(|| "BUILDING".into());
        let mut j = Job::new(b.number, job.name(), status, raw);
        j.url = b.url.clone();
        j.started_at = millis(b.timestamp);
        if status.is_terminal()
            && let (Some(start), Some(d)) = (b.timestamp, b.duration)
        {
            j.finished_at = millis(Some(start + d));
        }
        Ok(vec![j])
    }

    async fn job_log(
        &self,
        run: &RunId,
        _job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let (job, number) = self.build_of(run)?;
        let what = format!("read the console of build {run}");
        let mut url = self.join(&self.build_url(&job, number), "logText/progressiveText");
        url.query_pairs_mut()
            .append_pair("start", &offset.to_string());
        let response = self.get(&url, &what).await?;
        let size = response
            .headers()
            .get("x-text-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let more = response
            .headers()
            .get("x-more-data")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let bytes = response.bytes().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })?;
        let next = size.unwrap_or(offset + bytes.len() as u64);
        let mut chunk = LogChunk::new(bytes.to_vec(), next, !more);
        // Stapler restarts from 0 when `start` is past the end (the log was replaced).
        chunk.restarted = next < offset;
        Ok(chunk)
    }

    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        match scope {
            RetryScope::All => {
                let (job, number) = self.build_of(run)?;
                let what = format!("rebuild {run}");
                let b = self.build(&job, number, &what).await?;
                let params = parameters(&b.actions);
                self.start(&job, &params, &what).await
            }
            RetryScope::Failed => Err(ProviderError::new(
                ProviderErrorKind::Unsupported,
                "Jenkins cannot re-run only the failed stages (it has no re-run API): retry the whole build, which rebuilds it with the same parameters",
            )),
            _ => Err(ProviderError::new(
                ProviderErrorKind::Unsupported,
                "Jenkins cannot re-run one stage through its API: retry the whole build, which rebuilds it with the same parameters",
            )),
        }
    }

    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        let (job, number) = self.build_of(run)?;
        let url = self.join(&self.build_url(&job, number), "stop");
        // Stopping twice is harmless.
        self.post(&url, &[], Idempotency::Safe, &format!("stop build {run}"))
            .await?;
        Ok(())
    }

    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let (job, number) = self.build_of(run)?;
        let b = self
            .build(&job, number, &format!("list the artifacts of build {run}"))
            .await?;
        Ok(b.artifacts
            .into_iter()
            .map(|a| Artifact::new(a.relative_path.clone(), a.relative_path))
            .collect())
    }

    async fn download_artifact(
        &self,
        run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let (job, number) = self.build_of(run)?;
        let what = format!("download artifact `{}` of build {run}", artifact.name);
        let mut url = self.build_url(&job, number);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("artifact");
            for part in artifact.id.as_str().split('/').filter(|p| !p.is_empty()) {
                segments.push(part);
            }
        }
        let (response, _) = self
            .http
            .send_with_retry(Idempotency::Safe, || {
                // Large files: the read timeout guards silence, not the total time.
                self.request(Method::GET, &url)
                    .timeout(Duration::from_secs(24 * 3600))
            })
            .await
            .map_err(|e| self.error(&e.error, &what))?;
        crate::download::stream_response(response, &what, sink).await
    }

    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        let _ = status;
        Err(ProviderError::new(
            ProviderErrorKind::Unsupported,
            "Jenkins has no commit status API of its own (its SCM plugins set statuses): report to the forge with a `github` or `gitlab` ci profile, using the build URL as the target URL",
        ))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let job = self.job_for(filter.workflow.as_deref().unwrap_or(""))?;
        let limit = filter.limit_or(20);
        // Filtering by branch reads the ref parameter, so fetch more than needed.
        let fetch = if filter.branch.is_some() {
            limit * 5
        } else {
            limit
        };
        let mut url = self.join(&self.job_url(&job), "api/json");
        url.query_pairs_mut().append_pair(
            "tree",
            &format!(
                "builds[number,url,building,result,timestamp,duration,fullDisplayName,actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]]]]{{0,{fetch}}}"
            ),
        );
        let builds: Builds = self
            .get_json(&url, &format!("list the builds of `{job}`"))
            .await?;
        Ok(builds
            .builds
            .into_iter()
            .map(|b| self.to_run(&job, b))
            .filter(|r| match &filter.branch {
                Some(branch) => r.head_branch.as_deref() == Some(branch.as_str()),
                None => true,
            })
            .take(limit)
            .collect())
    }

    async fn list_workflows(&self) -> Result<Vec<Workflow>, ProviderError> {
        let mut url = self.join(&self.base, "api/json");
        url.query_pairs_mut().append_pair(
            "tree",
            "jobs[name,buildable,jobs[name,buildable,jobs[name,buildable,jobs[name,buildable]]]]",
        );
        let list: JobList = self.get_json(&url, "list Jenkins jobs").await?;
        let mut out = Vec::new();
        leaf_jobs("", &list.jobs, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_map_build_results_to_normalized_statuses() {
        let table = [
            (true, None, RunStatus::Running),
            (false, None, RunStatus::Running),
            (false, Some("SUCCESS"), RunStatus::Success),
            (false, Some("UNSTABLE"), RunStatus::Failed),
            (false, Some("FAILURE"), RunStatus::Failed),
            (false, Some("ABORTED"), RunStatus::Cancelled),
            (false, Some("NOT_BUILT"), RunStatus::Skipped),
            (false, Some("SOMETHING_NEW"), RunStatus::Unknown),
        ];
        for (building, result, expected) in table {
            assert_eq!(
                map_build_status(building, result, Unstable::Failed),
                expected,
                "{building} {result:?}"
            );
        }
        assert_eq!(
            map_build_status(false, Some("UNSTABLE"), Unstable::Success),
            RunStatus::Success
        );
    }

    #[test]
    fn should_turn_folders_into_job_urls() {
        let p = JenkinsProvider::new(Url::parse("https://ci.example.com/jenkins").unwrap());
        let job = JobPath::parse("team/my app").unwrap();
        assert_eq!(
            p.job_url(&job).as_str(),
            "https://ci.example.com/jenkins/job/team/job/my%20app/"
        );
        assert_eq!(
            p.build_url(&job, 57).as_str(),
            "https://ci.example.com/jenkins/job/team/job/my%20app/57/"
        );
    }

    #[test]
    fn should_read_run_ids_with_and_without_a_job() {
        let p = JenkinsProvider::new(Url::parse("https://ci.example.com/").unwrap())
            .with_default_job(JobPath::parse("app").unwrap());
        let (job, n) = p.build_of(&RunId::new("team/api#12")).unwrap();
        assert_eq!((job.to_string(), n), ("team/api".to_owned(), 12));
        let (job, n) = p.build_of(&RunId::new("7")).unwrap();
        assert_eq!((job.to_string(), n), ("app".to_owned(), 7));
        let err = p.build_of(&RunId::new("app#latest")).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest);
    }

    #[test]
    fn should_find_the_queue_item_in_a_location() {
        assert_eq!(
            queue_item_id("https://ci.example.com/queue/item/123/"),
            Some(123)
        );
        assert_eq!(queue_item_id("/jenkins/queue/item/9"), Some(9));
        assert_eq!(queue_item_id("https://ci.example.com/job/app/"), None);
    }

    #[test]
    fn should_read_parameters_without_unreadable_values() {
        let actions: Vec<Value> = serde_json::from_str(
            r#"[{"_class":"hudson.model.ParametersAction","parameters":[
                {"name":"ENV","value":"staging"},{"name":"DRY","value":true},
                {"name":"SECRET"}]},{}]"#,
        )
        .unwrap();
        let p = parameters(&actions);
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            [
                ("DRY".to_owned(), "true".to_owned()),
                ("ENV".to_owned(), "staging".to_owned())
            ]
        );
    }
}
