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
//!   deserialize (contracts A1.4), and it has no rerun, rerun-failed, job-log calls;
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
};
use flowspec_core::retry::{RetryPolicy, retry};
use flowspec_http::{HttpClient, HttpError};
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::common::{self, GitDefaults, Token};

/// The GitHub REST API version flowspec speaks.
pub const API_VERSION: &str = "2022-11-28";

const TOKEN_VARS: &[&str] = &["GITHUB_TOKEN", "GH_TOKEN"];

/// `ci.config` for `provider: github`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// `owner/name`. Example: `octo/app`. Default: the `origin` remote of the checkout.
    pub repo: Option<String>,
    /// The API base. Example: `https://ghe.example.com/api/v3`. Default: `https://api.github.com`.
    pub api_url: Option<String>,
    /// The token, as `${VAR}`. Example: `${GITHUB_FLOWSPEC}`. Default: `GITHUB_TOKEN`, then `GH_TOKEN`.
    pub token: Option<String>,
    /// The workflow `ci trigger` runs without `--workflow`. Example: `integration-tests.yml`.
    pub workflow: Option<String>,
    /// The ref to run on without `--branch`. Example: `main`. Default: the current branch.
    #[serde(rename = "ref", alias = "branch")]
    pub git_ref: Option<String>,
    /// A `workflow_dispatch` input that receives a unique id, which the workflow puts in
    /// its `run-name:` so the run can be found when the server does not return it.
    /// Example: `flowspec_run_id`.
    pub correlation_input: Option<String>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}

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

type RawResponse = http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>;

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

    fn token_var(&self) -> Option<&str> {
        self.token.as_ref().map(Token::source)
    }

    async fn octocrab(&self) -> Result<&octocrab::Octocrab, ProviderError> {
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

    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", enc(&self.owner), enc(&self.repo))
    }

    /// The path and query of a URL from a `Link` header, for octocrab's base URI.
    fn relative(&self, url: &str) -> String {
        match Url::parse(url) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(_) => url.to_owned(),
        }
    }

    /// Sends one request; a non-2xx, non-3xx answer becomes a classified error.
    async fn execute(
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
    async fn get_json<T: serde::de::DeserializeOwned>(
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
    async fn send_json(
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
    async fn paginate<T, W>(
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

    async fn workflow_names(&self) -> Vec<String> {
        match self.list_workflows().await {
            Ok(list) => list.into_iter().map(|w| w.id).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Streams a `302`-redirected download into `sink`, the second hop without
    /// credentials; a direct `200` is streamed as it is.
    async fn download(
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

    async fn discover_run(
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
            enc(workflow),
            enc(git_ref),
            enc(&created)
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

fn enc(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

async fn read_body(response: RawResponse, what: &str) -> Result<Bytes, ProviderError> {
    response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| transport_error(&e, what, true))
}

fn transport_error(error: &octocrab::Error, what: &str, idempotent: bool) -> ProviderError {
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

/// The normalized status of a GitHub run or job (contracts A1.3).
pub fn map_status(status: Option<&str>, conclusion: Option<&str>) -> (RunStatus, String) {
    let status = status.unwrap_or("unknown");
    let raw = match conclusion {
        Some(c) => format!("{status}/{c}"),
        None => status.to_owned(),
    };
    let normalized = match (status, conclusion) {
        ("requested" | "queued" | "pending", _) => RunStatus::Queued,
        ("waiting", _) => RunStatus::Waiting,
        ("in_progress", _) => RunStatus::Running,
        ("completed", Some("success")) => RunStatus::Success,
        ("completed", Some("neutral" | "skipped")) => RunStatus::Skipped,
        (
            "completed",
            Some("failure" | "timed_out" | "startup_failure" | "action_required" | "stale"),
        ) => RunStatus::Failed,
        ("completed", Some("cancelled")) => RunStatus::Cancelled,
        _ => RunStatus::Unknown,
    };
    (normalized, raw)
}

#[derive(Debug, Deserialize)]
struct GhRun {
    id: u64,
    name: Option<String>,
    display_title: Option<String>,
    run_number: Option<u64>,
    run_attempt: Option<u32>,
    event: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    head_branch: Option<String>,
    head_sha: Option<String>,
    html_url: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    run_started_at: Option<DateTime<Utc>>,
}

impl From<GhRun> for Run {
    fn from(r: GhRun) -> Run {
        let (status, raw) = map_status(r.status.as_deref(), r.conclusion.as_deref());
        let mut run = Run::new(r.id, status, raw);
        run.number = r.run_number;
        run.workflow = r.name;
        run.title = r.display_title;
        run.url = r.html_url;
        run.head_sha = r.head_sha;
        run.head_branch = r.head_branch;
        run.event = r.event;
        run.attempt = r.run_attempt;
        run.created_at = r.created_at;
        run.started_at = r.run_started_at;
        run.updated_at = r.updated_at;
        if status.is_terminal() {
            run.finished_at = r.updated_at;
        }
        run
    }
}

#[derive(Debug, Deserialize)]
struct GhRuns {
    #[serde(default)]
    workflow_runs: Vec<GhRun>,
}

#[derive(Debug, Deserialize)]
struct GhJob {
    id: u64,
    name: String,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<GhJob> for Job {
    fn from(j: GhJob) -> Job {
        let (status, raw) = map_status(j.status.as_deref(), j.conclusion.as_deref());
        let mut job = Job::new(j.id, j.name, status, raw);
        job.url = j.html_url;
        job.started_at = j.started_at;
        job.finished_at = j.completed_at;
        job
    }
}

#[derive(Debug, Deserialize)]
struct GhJobs {
    #[serde(default)]
    jobs: Vec<GhJob>,
}

#[derive(Debug, Deserialize)]
struct GhArtifact {
    id: u64,
    name: String,
    size_in_bytes: Option<u64>,
    #[serde(default)]
    expired: bool,
}

#[derive(Debug, Deserialize)]
struct GhArtifacts {
    #[serde(default)]
    artifacts: Vec<GhArtifact>,
}

#[derive(Debug, Deserialize)]
struct GhWorkflow {
    name: String,
    path: String,
    state: String,
}

#[derive(Debug, Deserialize)]
struct GhWorkflows {
    #[serde(default)]
    workflows: Vec<GhWorkflow>,
}

#[derive(Debug, Deserialize)]
struct GhDispatch {
    workflow_run_id: u64,
    html_url: Option<String>,
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
        let path = self.repo_path(&format!("actions/workflows/{}/dispatches", enc(&workflow)));
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
        let path = self.repo_path(&format!("actions/runs/{}", enc(run.as_str())));
        let (raw, _): (GhRun, _) = self.get_json(&path, &format!("get run {run}")).await?;
        Ok(raw.into())
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let path = self.repo_path(&format!(
            "actions/runs/{}/jobs?filter=latest&per_page=100",
            enc(run.as_str())
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
                &self.repo_path(&format!("actions/jobs/{}", enc(job.as_str()))),
                &what,
            )
            .await?;
        let complete = raw.status.as_deref() == Some("completed");
        let mut bytes = Vec::new();
        match self
            .download(
                &self.repo_path(&format!("actions/jobs/{}/logs", enc(job.as_str()))),
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
                self.repo_path(&format!("actions/runs/{}/rerun", enc(run.as_str()))),
                format!("re-run run {run}"),
            ),
            RetryScope::Failed => (
                self.repo_path(&format!(
                    "actions/runs/{}/rerun-failed-jobs",
                    enc(run.as_str())
                )),
                format!("re-run the failed jobs of run {run}"),
            ),
            RetryScope::Job(job) => (
                self.repo_path(&format!("actions/jobs/{}/rerun", enc(job.as_str()))),
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
        let path = self.repo_path(&format!("actions/runs/{}/cancel", enc(run.as_str())));
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
            enc(run.as_str())
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
            enc(artifact.id.as_str())
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
        let path = self.repo_path(&format!("statuses/{}", enc(&status.sha)));
        self.send_json(Method::POST, &path, Some(&body), &what, true)
            .await?;
        Ok(())
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let limit = filter.limit_or(20);
        let base = match &filter.workflow {
            Some(w) => format!("actions/workflows/{}/runs", enc(w)),
            None => "actions/runs".to_owned(),
        };
        let mut query = format!("per_page={}", limit.min(100));
        if let Some(b) = &filter.branch {
            query.push_str(&format!("&branch={}", enc(b)));
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
}

impl GithubProvider {
    fn web_url(&self, run: &RunId) -> String {
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

/// `provider: github`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn describe(&self) -> &'static str {
        "GitHub Actions on github.com or GitHub Enterprise Server (workflow_dispatch, runs, jobs, logs, artifacts, commit statuses)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n    workflow: integration-tests.yml\n    ref: main\n    token: ${GITHUB_TOKEN}\n"
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        let raw: GithubConfig =
            from_node(config, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let git = GitDefaults::discover(cx.project_root);
        let api = match &raw.api_url {
            Some(u) => common::api_url(u, cx.vars, &cx.field_path("api_url")).map_err(|e| {
                cx.locate(e.at(config.get("api_url").map(|n| n.loc).unwrap_or_default()))
            })?,
            None => Url::parse("https://api.github.com/").expect("a valid URL"),
        };
        let repo = match raw.repo.clone() {
            Some(r) => r,
            None => match (&git.host, &git.repo) {
                (Some(_), Some(r)) => r.clone(),
                _ => {
                    return Err(cx
                        .locate(
                            flowspec_core::config::ConfigError::new(
                                flowspec_core::config::ConfigErrorKind::MissingField,
                                "missing field `repo`: no `origin` remote to take it from",
                            )
                            .path(cx.field_path("repo"))
                            .at(config.loc)
                            .hint("write `repo: owner/name`"),
                        )
                        .into());
                }
            },
        };
        let token = Token::resolve(
            raw.token.as_deref(),
            cx.vars,
            TOKEN_VARS,
            &cx.field_path("token"),
        )
        .map_err(|e| cx.locate(e.at(config.get("token").map(|n| n.loc).unwrap_or_default())))?;
        let mut provider = GithubProvider::new(&repo, api, token).map_err(|e| {
            cx.locate(
                flowspec_core::config::ConfigError::new(
                    flowspec_core::config::ConfigErrorKind::InvalidValue,
                    e.to_string(),
                )
                .path(cx.field_path("repo"))
                .at(config.get("repo").map(|n| n.loc).unwrap_or_default()),
            )
        })?;
        provider.workflow = raw.workflow;
        provider.default_ref = raw.git_ref.or(git.branch);
        provider.correlation_input = raw.correlation_input;
        if let Some(secs) = raw.timeout {
            provider.timeout = Duration::from_secs(secs.max(1));
        }
        Ok(Arc::new(provider))
    }
}
