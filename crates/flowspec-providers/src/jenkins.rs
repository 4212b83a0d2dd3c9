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

const USER_VARS: &[&str] = &["JENKINS_USER"];
const TOKEN_VARS: &[&str] = &["JENKINS_API_TOKEN"];

const BUILD_TREE: &str = "number,url,building,result,timestamp,duration,fullDisplayName,\
artifacts[fileName,relativePath],\
actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]]]";

/// `ci.config` for `provider: jenkins`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JenkinsConfig {
    /// The Jenkins URL, with its context path. Example: `https://ci.example.com/jenkins/`.
    #[serde(alias = "url")]
    pub api_url: Option<String>,
    /// The job `ci trigger` builds without `--workflow`; folders separated by `/`.
    /// Example: `team/app/integration`.
    pub job: Option<String>,
    /// The user the API token belongs to. Example: `${JENKINS_USER}` or `ci-bot`.
    /// Default: `JENKINS_USER`.
    pub user: Option<String>,
    /// The API token, as `${VAR}`. Example: `${JENKINS_API_TOKEN}`. Default: `JENKINS_API_TOKEN`.
    pub token: Option<String>,
    /// The build parameter that receives `--branch`. Example: `BRANCH`. Without it
    /// the ref is not sent: the job builds what its SCM configuration says.
    pub ref_parameter: Option<String>,
    /// What an `UNSTABLE` build (usually failed tests) counts as: `failed` (default)
    /// or `success`.
    pub unstable: Option<Unstable>,
    /// Seconds to wait for a queued build to start before giving up. Example: `600`.
    pub queue_timeout: Option<u64>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}

/// What an `UNSTABLE` build counts as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unstable {
    /// A failure (the default: usually test failures).
    #[default]
    Failed,
    /// A success.
    Success,
}

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

/// The run id of build `number` of `job`: `team/app#57`.
pub fn run_id(job: &JobPath, number: u64) -> RunId {
    RunId::new(format!("{job}#{number}"))
}

/// The normalized status of a build (contracts A3.4): `building` wins; a finished
/// build without a result yet is still running.
pub fn map_build_status(building: bool, result: Option<&str>, unstable: Unstable) -> RunStatus {
    if building {
        return RunStatus::Running;
    }
    match result {
        None => RunStatus::Running,
        Some("SUCCESS") => RunStatus::Success,
        Some("UNSTABLE") => match unstable {
            Unstable::Failed => RunStatus::Failed,
            Unstable::Success => RunStatus::Success,
        },
        Some("FAILURE") => RunStatus::Failed,
        Some("ABORTED") => RunStatus::Cancelled,
        Some("NOT_BUILT") => RunStatus::Skipped,
        Some(_) => RunStatus::Unknown,
    }
}

/// The normalized status of a Pipeline stage (`wfapi/describe`).
pub fn map_stage_status(status: &str, unstable: Unstable) -> RunStatus {
    match status {
        "SUCCESS" => RunStatus::Success,
        "IN_PROGRESS" => RunStatus::Running,
        "QUEUED" => RunStatus::Queued,
        "PAUSED_PENDING_INPUT" => RunStatus::Waiting,
        "FAILED" | "FAILURE" => RunStatus::Failed,
        "UNSTABLE" => map_build_status(false, Some("UNSTABLE"), unstable),
        "ABORTED" => RunStatus::Cancelled,
        "NOT_EXECUTED" | "NOT_BUILT" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
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

#[derive(Debug, Deserialize)]
struct CrumbResponse {
    crumb: String,
    #[serde(rename = "crumbRequestField")]
    field: String,
}

#[derive(Debug, Deserialize)]
struct QueueItem {
    #[serde(default)]
    cancelled: bool,
    why: Option<String>,
    executable: Option<Executable>,
}

#[derive(Debug, Deserialize)]
struct Executable {
    number: Option<u64>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Build {
    number: u64,
    url: Option<String>,
    #[serde(default)]
    building: bool,
    result: Option<String>,
    timestamp: Option<i64>,
    duration: Option<i64>,
    #[serde(rename = "fullDisplayName")]
    full_display_name: Option<String>,
    #[serde(default)]
    artifacts: Vec<BuildArtifact>,
    #[serde(default)]
    actions: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct BuildArtifact {
    #[serde(rename = "relativePath")]
    relative_path: String,
}

#[derive(Debug, Deserialize)]
struct Builds {
    #[serde(default)]
    builds: Vec<Build>,
}

#[derive(Debug, Deserialize)]
struct Describe {
    #[serde(default)]
    stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
struct Stage {
    id: String,
    name: String,
    status: String,
    #[serde(rename = "startTimeMillis")]
    start_time_millis: Option<i64>,
    #[serde(rename = "durationMillis")]
    duration_millis: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct JobList {
    #[serde(default)]
    jobs: Vec<JobEntry>,
}

#[derive(Debug, Deserialize)]
struct JobEntry {
    name: String,
    buildable: Option<bool>,
    jobs: Option<Vec<JobEntry>>,
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|ms| *ms > 0)
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// The parameters of a build, from its `ParametersAction` (values that cannot be
/// read back, such as passwords and files, are left out).
fn parameters(actions: &[Value]) -> BTreeMap<String, String> {
    actions
        .iter()
        .filter_map(|a| a.get("parameters")?.as_array())
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let value = match p.get("value")? {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((name.to_owned(), value))
        })
        .collect()
}

/// The commit and branch of a build, from the git plugin's `BuildData`.
fn revision(actions: &[Value]) -> (Option<String>, Option<String>) {
    let Some(rev) = actions.iter().find_map(|a| a.get("lastBuiltRevision")) else {
        return (None, None);
    };
    let sha = rev.get("SHA1").and_then(Value::as_str).map(str::to_owned);
    let branch = rev
        .get("branch")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .map(|name| {
            let name = name.strip_prefix("refs/remotes/").unwrap_or(name);
            name.strip_prefix("origin/").unwrap_or(name).to_owned()
        });
    (sha, branch)
}

fn leaf_jobs(prefix: &str, entries: &[JobEntry], out: &mut Vec<Workflow>) {
    for entry in entries {
        let path = if prefix.is_empty() {
            entry.name.clone()
        } else {
            format!("{prefix}/{}", entry.name)
        };
        match &entry.jobs {
            Some(children) => leaf_jobs(&path, children, out),
            None => out.push(Workflow::new(
                path.clone(),
                path,
                entry.buildable.unwrap_or(true),
            )),
        }
    }
}

fn queue_item_id(location: &str) -> Option<u64> {
    let mut parts = location.trim_end_matches('/').rsplit('/');
    let id = parts.next()?.parse().ok()?;
    (parts.next()? == "item" && parts.next()? == "queue").then_some(id)
}

impl JenkinsProvider {
    /// A provider for the Jenkins at `base` (its URL, context path included).
    pub fn new(base: Url) -> Self {
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        JenkinsProvider {
            base,
            default_job: None,
            auth: None,
            ref_parameter: None,
            unstable: Unstable::default(),
            queue_timeout: Duration::from_secs(600),
            queue_poll: Duration::from_secs(1),
            http: HttpClient::shared(),
            crumb: Mutex::new(CrumbState::Unknown),
        }
    }

    /// Builds the provider from the `config:` node of a `ci:` entry (what the
    /// [`Factory`] does), with located errors.
    pub fn from_node(config: &Node, cx: &ProviderContext<'_>) -> Result<Self, ConfigErrors> {
        let raw: JenkinsConfig =
            from_node(config, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let loc = |key: &str| config.get(key).map_or(config.loc, |n| n.loc);
        let mut errors = ConfigErrors::default();
        let base = match &raw.api_url {
            Some(u) => match common::api_url(u, cx.vars, &cx.field_path("api_url")) {
                Ok(u) => Some(u),
                Err(e) => {
                    errors.push(cx.locate(e.at(loc("api_url"))));
                    None
                }
            },
            None => {
                errors.push(
                    cx.locate(
                        ConfigError::new(
                            ConfigErrorKind::MissingField,
                            "missing field `api_url`: the Jenkins URL",
                        )
                        .path(cx.field_path("api_url"))
                        .at(config.loc)
                        .hint("write `api_url: https://ci.example.com/` (with the context path, if any)"),
                    ),
                );
                None
            }
        };
        let job = match &raw.job {
            Some(j) => match JobPath::parse(j) {
                Some(p) => Some(p),
                None => {
                    errors.push(
                        cx.locate(
                            ConfigError::new(ConfigErrorKind::InvalidValue, "`job` is empty")
                                .path(cx.field_path("job"))
                                .at(loc("job"))
                                .hint("write the job's path, folders separated by `/`: `team/app`"),
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let token = match Token::resolve(
            raw.token.as_deref(),
            cx.vars,
            TOKEN_VARS,
            &cx.field_path("token"),
        ) {
            Ok(t) => t,
            Err(e) => {
                errors.push(cx.locate(e.at(loc("token"))));
                None
            }
        };
        let user = match &raw.user {
            Some(u) => match interpolate(u, cx.vars) {
                Ok(v) if !v.value.trim().is_empty() => Some(v.value.trim().to_owned()),
                Ok(_) => None,
                Err(e) => {
                    errors.push(
                        cx.locate(
                            ConfigError::new(
                                ConfigErrorKind::UnsetVariable,
                                format!("`{}`: {e}", cx.field_path("user")),
                            )
                            .path(cx.field_path("user"))
                            .at(loc("user"))
                            .hint("export the variable, or put it in .flowspec/hooks/.env"),
                        ),
                    );
                    None
                }
            },
            None => USER_VARS
                .iter()
                .find_map(|v| cx.vars.get(v).filter(|s| !s.trim().is_empty()))
                .map(|s| s.trim().to_owned()),
        };
        let auth = match (user, token) {
            (Some(user), Some(token)) => Some(Basic { user, token }),
            (None, Some(token)) => {
                errors.push(
                    cx.locate(
                        ConfigError::new(
                            ConfigErrorKind::MissingField,
                            format!(
                                "an API token is set (from `{}`) but no user: Jenkins needs both",
                                token.source()
                            ),
                        )
                        .path(cx.field_path("user"))
                        .at(config.loc)
                        .hint("set JENKINS_USER, or write `user: your-jenkins-user`"),
                    ),
                );
                None
            }
            // No token: anonymous access (read-only instances); a refusal will say so.
            _ => None,
        };
        if let Some(p) = &raw.ref_parameter
            && p.trim().is_empty()
        {
            errors.push(
                cx.locate(
                    ConfigError::new(ConfigErrorKind::InvalidValue, "`ref_parameter` is empty")
                        .path(cx.field_path("ref_parameter"))
                        .at(loc("ref_parameter"))
                        .hint("name the job's branch parameter (`BRANCH`), or remove the key"),
                ),
            );
        }
        let mut http = HttpConfig::default();
        if let Some(secs) = raw.timeout {
            http = http.request_timeout(Duration::from_secs(secs.max(1)));
        }
        let base = match base {
            Some(b) if errors.is_empty() => b,
            _ => return Err(errors),
        };
        let mut provider =
            JenkinsProvider::new(base).with_http(HttpClient::shared().with_config(http));
        provider.default_job = job;
        provider.auth = auth;
        provider.ref_parameter = raw.ref_parameter;
        provider.unstable = raw.unstable.unwrap_or_default();
        if let Some(secs) = raw.queue_timeout {
            provider.queue_timeout = Duration::from_secs(secs);
        }
        Ok(provider)
    }

    /// Uses `http` (timeouts, retry policy) for every request.
    pub fn with_http(mut self, http: HttpClient) -> Self {
        self.http = http;
        self
    }

    /// Sets how often a queue item is polled while the build has not started (1 s).
    pub fn with_queue_poll(mut self, every: Duration) -> Self {
        self.queue_poll = every;
        self
    }

    /// Sets the job built when a request names none.
    pub fn with_default_job(mut self, job: JobPath) -> Self {
        self.default_job = Some(job);
        self
    }

    /// Authenticates as `user` with an API token.
    pub fn with_auth(mut self, user: impl Into<String>, token: Token) -> Self {
        self.auth = Some(Basic {
            user: user.into(),
            token,
        });
        self
    }

    fn token_var(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.token.source())
    }

    fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.token_var())
    }

    fn job_for(&self, name: &str) -> Result<JobPath, ProviderError> {
        if let Some(path) = JobPath::parse(name) {
            return Ok(path);
        }
        self.default_job.clone().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                "no Jenkins job given: pass `--workflow folder/job` or set `job:` in the `ci:` config",
            )
        })
    }

    /// The job and build number of a run id (`team/app#57`, or `57` for the default job).
    fn build_of(&self, run: &RunId) -> Result<(JobPath, u64), ProviderError> {
        let text = run.as_str().trim();
        let (job, number) = match text.rsplit_once('#') {
            Some((job, number)) => (self.job_for(job)?, number),
            None => (self.job_for("")?, text),
        };
        let number = number.trim().parse().map_err(|_| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{run}` is not a Jenkins build: write `job/path#57` (or the number alone for the configured job)"),
            )
        })?;
        Ok((job, number))
    }

    fn job_url(&self, job: &JobPath) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            for name in &job.0 {
                segments.push("job").push(name);
            }
            segments.push("");
        }
        url
    }

    fn build_url(&self, job: &JobPath, number: u64) -> Url {
        let mut url = self.job_url(job);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&number.to_string()).push("");
        }
        url
    }

    fn join(&self, base: &Url, path: &str) -> Url {
        base.join(path).expect("a relative path joins")
    }

    fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let request = self.http.reqwest().request(method, url.clone());
        match &self.auth {
            Some(a) => request.basic_auth(&a.user, Some(a.token.expose())),
            None => request,
        }
    }

    async fn get(&self, url: &Url, what: &str) -> Result<Response, ProviderError> {
        self.http
            .send_with_retry(Idempotency::Safe, || self.request(Method::GET, url))
            .await
            .map(|(r, _)| r)
            .map_err(|e| self.error(&e.error, what))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ProviderError> {
        let response = self.get(url, what).await?;
        let bytes = response.bytes().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })?;
        common::parse_json(&bytes, what)
    }

    /// The crumb to send with POSTs; `refresh` forgets the cached one.
    async fn crumb(&self, refresh: bool) -> Result<Option<Crumb>, ProviderError> {
        let mut state = self.crumb.lock().await;
        if refresh {
            *state = CrumbState::Unknown;
        }
        match &*state {
            CrumbState::Disabled => return Ok(None),
            CrumbState::Have(c) => return Ok(Some(c.clone())),
            CrumbState::Unknown => {}
        }
        let url = self.join(&self.base, "crumbIssuer/api/json");
        let what = "fetch a CSRF crumb";
        let response = match self
            .http
            .send_with_retry(Idempotency::Safe, || self.request(Method::GET, &url))
            .await
        {
            Ok((r, _)) => r,
            Err(e) if e.error.status().is_some_and(|s| s.as_u16() == 404) => {
                *state = CrumbState::Disabled;
                return Ok(None);
            }
            Err(e) => return Err(self.error(&e.error, what)),
        };
        let cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| v.contains('='))
            .collect();
        let bytes = response.bytes().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })?;
        let body: CrumbResponse = common::parse_json(&bytes, what)?;
        let crumb = Crumb {
            field: body.field,
            value: body.crumb,
            cookie: (!cookies.is_empty()).then(|| cookies.join("; ")),
        };
        *state = CrumbState::Have(crumb.clone());
        Ok(Some(crumb))
    }

    /// POSTs `form` (none: an empty body) with the crumb; a refusal for a stale
    /// crumb fetches a fresh one and sends again once.
    async fn post(
        &self,
        url: &Url,
        form: &[(String, String)],
        idempotency: Idempotency,
        what: &str,
    ) -> Result<Response, ProviderError> {
        let mut refresh = false;
        loop {
            let crumb = self.crumb(refresh).await?;
            let result = self
                .http
                .send_with_retry(idempotency, || {
                    let mut request = self.request(Method::POST, url);
                    if let Some(c) = &crumb {
                        request = request.header(c.field.as_str(), c.value.as_str());
                        if let Some(cookie) = &c.cookie {
                            request = request.header(header::COOKIE, cookie.as_str());
                        }
                    }
                    if form.is_empty() {
                        request.body("")
                    } else {
                        request.form(form)
                    }
                })
                .await;
            match result {
                Ok((response, _)) => return Ok(response),
                Err(e)
                    if !refresh
                        && e.error.status().is_some_and(|s| s.as_u16() == 403)
                        && e.error.body().is_some_and(|b| b.contains("crumb")) =>
                {
                    tracing::debug!(message = "Jenkins refused the crumb; fetching a new one.");
                    refresh = true;
                }
                Err(e) => {
                    let mut err = self.error(&e.error, what);
                    if e.error.body().is_some_and(|b| b.contains("crumb")) {
                        err = err.with_platform_message(
                            "Jenkins refused the CSRF crumb (No valid crumb was included in the request)",
                        );
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Starts a build of `job` with `params` and follows its queue item.
    async fn start(
        &self,
        job: &JobPath,
        params: &BTreeMap<String, String>,
        what: &str,
    ) -> Result<RunRef, ProviderError> {
        let job_url = self.job_url(job);
        let url = if params.is_empty() {
            self.join(&job_url, "build")
        } else {
            self.join(&job_url, "buildWithParameters")
        };
        let form: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let response = match self.post(&url, &form, Idempotency::Unsafe, what).await {
            Ok(r) => r,
            Err(e) if e.kind() == ProviderErrorKind::NotFound => {
                let jobs = self.list_workflows().await.unwrap_or_default();
                return Err(e
                    .with_suggestions(jobs.into_iter().map(|w| w.id))
                    .with_suggestion_label("jobs that exist"));
            }
            Err(e) => return Err(e),
        };
        // 201 with `Location`; a followed 303 (merged into an identical queued item)
        // ends on the queue item itself.
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| response.url().to_string());
        let id = queue_item_id(&location).ok_or_else(|| {
            ProviderError::malformed(
                what,
                "Jenkins accepted the build but named no queue item (no `Location: .../queue/item/N/`)",
            )
        })?;
        self.follow_queue(job, id).await
    }

    async fn follow_queue(&self, job: &JobPath, id: u64) -> Result<RunRef, ProviderError> {
        let url = self.join(&self.base, &format!("queue/item/{id}/api/json"));
        let what = format!("follow queue item {id} of `{job}`");
        let started = tokio::time::Instant::now();
        loop {
            let item: QueueItem = self.get_json(&url, &what).await?;
            if let Some(number) = item.executable.as_ref().and_then(|e| e.number) {
                let mut run = RunRef::new(run_id(job, number)).discovered_by(RunDiscovery::Queue);
                run.url = item.executable.and_then(|e| e.url);
                return Ok(run);
            }
            if item.cancelled {
                return Err(ProviderError::new(
                    ProviderErrorKind::Platform,
                    format!(
                        "{what}: the queued build was cancelled before it started (no build was made)"
                    ),
                ));
            }
            if started.elapsed() >= self.queue_timeout {
                let why = item.why.unwrap_or_else(|| "no reason given".into());
                return Err(ProviderError::new(
                    ProviderErrorKind::Transient,
                    format!(
                        "{what}: the build has not started after {}s ({why}); it may still start: see queue item {id}",
                        self.queue_timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(self.queue_poll).await;
        }
    }

    async fn build(&self, job: &JobPath, number: u64, what: &str) -> Result<Build, ProviderError> {
        let mut url = self.join(&self.build_url(job, number), "api/json");
        url.query_pairs_mut().append_pair("tree", BUILD_TREE);
        self.get_json(&url, what).await
    }

    fn to_run(&self, job: &JobPath, b: Build) -> Run {
        let status = map_build_status(b.building, b.result.as_deref(), self.unstable);
        let raw = match (&b.result, b.building) {
            (_, true) | (None, _) => "BUILDING".to_owned(),
            (Some(r), false) => r.clone(),
        };
        let mut run = Run::new(run_id(job, b.number), status, raw);
        run.number = Some(b.number);
        run.workflow = Some(job.to_string());
        run.title = b.full_display_name;
        run.url = b.url;
        let (sha, branch) = revision(&b.actions);
        run.head_sha = sha;
        run.head_branch = branch.or_else(|| {
            let p = self.ref_parameter.as_ref()?;
            parameters(&b.actions).remove(p)
        });
        run.started_at = millis(b.timestamp);
        run.created_at = run.started_at;
        if status.is_terminal()
            && let (Some(start), Some(d)) = (b.timestamp, b.duration)
        {
            run.finished_at = millis(Some(start + d));
        }
        run
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

/// `provider: jenkins`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "jenkins"
    }

    fn describe(&self) -> &'static str {
        "Jenkins remote access API (buildWithParameters, queue, stages, progressive console, stop, artifacts)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: jenkins\n  config:\n    api_url: https://ci.example.com/\n    job: team/app/integration\n    user: ${JENKINS_USER}\n    token: ${JENKINS_API_TOKEN}\n    ref_parameter: BRANCH\n"
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(JenkinsProvider::from_node(config, cx)?))
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
