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
//!   `parameters` (seed 000 passes `event_type` and `feature`). A ref written
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

const TOKEN_VARS: &[&str] = &["CIRCLECI_TOKEN", "CIRCLE_TOKEN"];
const DEFAULT_API: &str = "https://circleci.com/api/v2/";
const MAX_PAGES: usize = 200;
const SETTLE_ATTEMPTS: usize = 10;

/// `ci.config` for `provider: circleci`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircleciConfig {
    /// The project: `gh/<org>/<repo>`, `bb/<org>/<repo>` or `circleci/<org-id>/<project-id>`.
    /// Example: `gh/acme/app`. Default: the `origin` remote (GitHub or Bitbucket).
    #[serde(alias = "project")]
    pub project_slug: Option<String>,
    /// The API base. Example: `https://circleci.example.com/api/v2`. Default: `https://circleci.com/api/v2`.
    pub api_url: Option<String>,
    /// A personal API token, as `${VAR}` (project tokens do not work on API v2).
    /// Example: `${CIRCLECI_FLOWSPEC}`. Default: `CIRCLECI_TOKEN`, then `CIRCLE_TOKEN`.
    pub token: Option<String>,
    /// The branch to run without `--branch`. Example: `main`. Default: the current branch.
    #[serde(alias = "ref")]
    pub branch: Option<String>,
    /// A pipeline definition id: trigger with `POST /project/{slug}/pipeline/run`.
    /// Example: `2f1a4c0e-8b0d-4f5a-9f43-6c2b7e2f3d10`.
    pub definition_id: Option<String>,
    /// Types of pipeline parameters that are not strings. Example: `{deploy: boolean, shards: integer}`.
    #[serde(default)]
    pub parameter_types: BTreeMap<String, ParameterType>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}

/// The type of a pipeline parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParameterType {
    /// Sent as a JSON string (the default).
    String,
    /// Sent as `true`/`false`.
    Boolean,
    /// Sent as a JSON number.
    Integer,
}

/// The normalized status of a workflow (contracts A4.3).
pub fn map_workflow_status(status: &str) -> RunStatus {
    match status {
        "running" | "failing" => RunStatus::Running,
        "on_hold" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" | "error" | "unauthorized" => RunStatus::Failed,
        "canceled" => RunStatus::Cancelled,
        "not_run" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

/// The normalized status of a job (contracts A4.3).
pub fn map_job_status(status: &str) -> RunStatus {
    match status {
        "queued" | "not_running" | "blocked" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "on_hold" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" | "infrastructure_fail" | "timedout" | "terminated-unknown" | "unauthorized" => {
            RunStatus::Failed
        }
        "canceled" => RunStatus::Cancelled,
        // `retried`: superseded by a re-run of the job.
        "not_run" | "retried" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

/// The status of a pipeline from its `state` and its (latest) workflows' statuses:
/// `errored` fails; no workflow yet is queued; otherwise the least finished
/// workflow decides (running, waiting, queued), then the worst outcome (failed,
/// cancelled, unknown), then success (skipped when every workflow was skipped).
pub fn map_pipeline_status(state: &str, workflows: &[&str]) -> RunStatus {
    if state == "errored" {
        return RunStatus::Failed;
    }
    if workflows.is_empty() {
        return RunStatus::Queued;
    }
    let statuses: Vec<RunStatus> = workflows.iter().map(|s| map_workflow_status(s)).collect();
    for s in [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Queued,
        RunStatus::Unknown,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ] {
        if statuses.contains(&s) {
            return s;
        }
    }
    if statuses.iter().all(|s| *s == RunStatus::Skipped) {
        RunStatus::Skipped
    } else {
        RunStatus::Success
    }
}

/// One test result from CircleCI's test metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CircleciTest {
    /// The test name.
    #[serde(default)]
    pub name: String,
    /// The class (or suite) name.
    #[serde(default)]
    pub classname: String,
    /// The result as CircleCI stored it (`success`, `failure`, `skipped`...).
    #[serde(default)]
    pub result: String,
    /// The failure message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The file of the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The result file or reporter it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Seconds it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<f64>,
    /// The job number it ran in (set by [`CircleciProvider::run_tests`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: Option<String>,
    number: Option<u64>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Pipeline {
    id: String,
    number: Option<u64>,
    state: String,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    errors: Vec<PipelineError>,
    trigger: Option<Trigger>,
    vcs: Option<Vcs>,
}

#[derive(Debug, Deserialize)]
struct PipelineError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Trigger {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Vcs {
    branch: Option<String>,
    tag: Option<String>,
    revision: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct Workflow {
    id: String,
    name: String,
    status: String,
    created_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
struct JobItem {
    id: String,
    job_number: Option<u64>,
    name: String,
    status: String,
    started_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct ArtifactItem {
    path: String,
    #[serde(default)]
    node_index: u32,
    url: String,
}

#[derive(Debug, Deserialize)]
struct V1Build {
    lifecycle: Option<String>,
    #[serde(default)]
    steps: Vec<V1Step>,
}

#[derive(Debug, Deserialize)]
struct V1Step {
    name: String,
    #[serde(default)]
    actions: Vec<V1Action>,
}

#[derive(Debug, Deserialize)]
struct V1Action {
    #[serde(default)]
    index: u32,
    status: Option<String>,
    output_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct V1Output {
    #[serde(default)]
    message: String,
}

/// The latest workflow of each name, oldest first.
fn latest(mut workflows: Vec<Workflow>) -> Vec<Workflow> {
    workflows.sort_by_key(|w| w.created_at);
    let mut out: Vec<Workflow> = Vec::new();
    for w in workflows {
        match out.iter_mut().find(|o| o.name == w.name) {
            Some(slot) => *slot = w,
            None => out.push(w),
        }
    }
    out
}

fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

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

/// Checks a project slug: `gh/org/repo`, `github/…`, `bb/…`, `bitbucket/…`, `circleci/org-id/project-id`.
///
/// ```
/// use flowspec_providers::circleci::check_slug;
/// assert!(check_slug("gh/acme/app").is_ok());
/// assert!(check_slug("circleci/8e4z/a1b2").is_ok());
/// assert!(check_slug("acme/app").is_err());
/// ```
pub fn check_slug(slug: &str) -> Result<(), String> {
    let parts: Vec<&str> = slug.split('/').collect();
    let known = ["gh", "github", "bb", "bitbucket", "circleci"];
    if parts.len() != 3 || parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!(
            "`{slug}` is not a project slug: write `<vcs>/<org>/<repo>` such as `gh/acme/app`"
        ));
    }
    if !known.contains(&parts[0]) {
        return Err(format!(
            "`{slug}` starts with `{}`: the first part is one of gh, github, bb, bitbucket, circleci",
            parts[0]
        ));
    }
    Ok(())
}

impl CircleciProvider {
    /// A provider for project `slug` at `api` (`https://circleci.com/api/v2/`).
    pub fn new(slug: impl Into<String>, api: Url, token: Option<Token>) -> Self {
        let mut api = api;
        if !api.path().ends_with('/') {
            let path = format!("{}/", api.path());
            api.set_path(&path);
        }
        CircleciProvider {
            slug: slug.into(),
            api,
            token,
            default_branch: None,
            definition_id: None,
            parameter_types: BTreeMap::new(),
            settle_poll: Duration::from_secs(1),
            http: HttpClient::shared(),
        }
    }

    /// Builds the provider from the `config:` node of a `ci:` entry (what the
    /// [`Factory`] does), with located errors.
    pub fn from_node(config: &Node, cx: &ProviderContext<'_>) -> Result<Self, ConfigErrors> {
        let raw: CircleciConfig =
            from_node(config, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let loc = |key: &str| config.get(key).map_or(config.loc, |n| n.loc);
        let mut errors = ConfigErrors::default();
        let api = match &raw.api_url {
            Some(u) => match common::api_url(u, cx.vars, &cx.field_path("api_url")) {
                Ok(u) => Some(u),
                Err(e) => {
                    errors.push(cx.locate(e.at(loc("api_url"))));
                    None
                }
            },
            None => Some(Url::parse(DEFAULT_API).expect("a valid URL")),
        };
        let git = if raw.project_slug.is_none() || raw.branch.is_none() {
            GitDefaults::discover(cx.project_root)
        } else {
            GitDefaults::default()
        };
        let slug = match (&raw.project_slug, &git.host, &git.repo) {
            (Some(s), _, _) => Some(s.trim().trim_matches('/').to_owned()),
            (None, Some(host), Some(repo)) if host == "github.com" => Some(format!("gh/{repo}")),
            (None, Some(host), Some(repo)) if host == "bitbucket.org" => Some(format!("bb/{repo}")),
            _ => None,
        };
        match &slug {
            Some(s) => {
                if let Err(message) = check_slug(s) {
                    errors.push(
                        cx.locate(
                            ConfigError::new(ConfigErrorKind::InvalidValue, message)
                                .path(cx.field_path("project_slug"))
                                .at(loc("project_slug"))
                                .hint("copy it from the project's settings page: `gh/acme/app`, `bb/acme/app` or `circleci/<org-id>/<project-id>`"),
                        ),
                    );
                }
            }
            None => errors.push(
                cx.locate(
                    ConfigError::new(
                        ConfigErrorKind::MissingField,
                        "missing field `project_slug`: no GitHub or Bitbucket `origin` remote to take it from",
                    )
                    .path(cx.field_path("project_slug"))
                    .at(config.loc)
                    .hint("write `project_slug: gh/acme/app`"),
                ),
            ),
        }
        if let Some(id) = &raw.definition_id
            && !looks_like_uuid(id.trim())
        {
            errors.push(
                cx.locate(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`definition_id` `{id}` is not a pipeline definition id (a UUID)"),
                    )
                    .path(cx.field_path("definition_id"))
                    .at(loc("definition_id"))
                    .hint("copy it from Project Settings → Pipelines, or remove the key to use the project's default pipeline"),
                ),
            );
        }
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
        let (Some(api), Some(slug)) = (api, slug) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut http = HttpConfig::default();
        if let Some(secs) = raw.timeout {
            http = http.request_timeout(Duration::from_secs(secs.max(1)));
        }
        let mut provider = CircleciProvider::new(slug, api, token)
            .with_http(HttpClient::shared().with_config(http));
        provider.default_branch = raw.branch.or(git.branch);
        provider.definition_id = raw.definition_id.map(|d| d.trim().to_owned());
        provider.parameter_types = raw.parameter_types;
        Ok(provider)
    }

    /// Uses `http` (timeouts, retry policy) for every request.
    pub fn with_http(mut self, http: HttpClient) -> Self {
        self.http = http;
        self
    }

    /// Sets the branch used when a request names none.
    pub fn with_default_branch(mut self, branch: impl Into<String>) -> Self {
        self.default_branch = Some(branch.into());
        self
    }

    /// The project slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    fn url(&self, path: &str) -> Url {
        self.api.join(path).expect("a relative path joins")
    }

    fn app_base(&self) -> Option<String> {
        if self.api.host_str() != Some("circleci.com") {
            return None;
        }
        let mut parts = self.slug.splitn(2, '/');
        let vcs = match parts.next()? {
            "gh" => "github",
            "bb" => "bitbucket",
            other => other,
        };
        Some(format!(
            "https://app.circleci.com/pipelines/{vcs}/{}",
            parts.next()?
        ))
    }

    fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.token.as_ref().map(Token::source))
    }

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => request.header("Circle-Token", t.expose()),
            None => request,
        }
    }

    fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        self.authorize(
            self.http
                .reqwest()
                .request(method, url.clone())
                .header("accept", "application/json"),
        )
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        idempotency: Idempotency,
        what: &str,
    ) -> Result<Response, ProviderError> {
        self.http
            .send_with_retry(idempotency, || {
                let request = self.request(method.clone(), url);
                match body {
                    Some(b) => request.json(b),
                    None => request,
                }
            })
            .await
            .map(|(r, _)| r)
            .map_err(|e| self.error(&e.error, what))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        response: Response,
        what: &str,
    ) -> Result<T, ProviderError> {
        let bytes = response.bytes().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })?;
        common::parse_json(&bytes, what)
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ProviderError> {
        let response = self
            .send(Method::GET, url, None, Idempotency::Safe, what)
            .await?;
        self.json(response, what).await
    }

    /// Every item of a paginated list (`next_page_token` → `page-token`), up to `limit`.
    async fn paged<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
        limit: Option<usize>,
    ) -> Result<Vec<T>, ProviderError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_url = url.clone();
            if let Some(t) = &token {
                page_url.query_pairs_mut().append_pair("page-token", t);
            }
            let page: Page<T> = self.get_json(&page_url, what).await?;
            items.extend(page.items);
            if limit.is_some_and(|l| items.len() >= l) {
                break;
            }
            match page.next_page_token {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next.as_str()) => {
                    token = Some(next);
                }
                _ => break,
            }
        }
        if let Some(l) = limit {
            items.truncate(l);
        }
        Ok(items)
    }

    async fn pipeline(&self, run: &RunId) -> Result<Pipeline, ProviderError> {
        self.get_json(
            &self.url(&format!("pipeline/{}", run.as_str())),
            &format!("get pipeline {run}"),
        )
        .await
    }

    async fn workflows(&self, run: &RunId) -> Result<Vec<Workflow>, ProviderError> {
        let all = self
            .paged(
                &self.url(&format!("pipeline/{}/workflow", run.as_str())),
                &format!("list the workflows of pipeline {run}"),
                None,
            )
            .await?;
        Ok(latest(all))
    }

    async fn jobs_of(&self, workflow: &Workflow) -> Result<Vec<JobItem>, ProviderError> {
        self.paged(
            &self.url(&format!("workflow/{}/job", workflow.id)),
            &format!("list the jobs of workflow `{}`", workflow.name),
            None,
        )
        .await
    }

    async fn all_jobs(&self, run: &RunId) -> Result<Vec<(Workflow, JobItem)>, ProviderError> {
        let mut out = Vec::new();
        for w in self.workflows(run).await? {
            for j in self.jobs_of(&w).await? {
                out.push((w.clone(), j));
            }
        }
        Ok(out)
    }

    fn to_run(&self, p: Pipeline, workflows: &[Workflow]) -> Run {
        let statuses: Vec<&str> = workflows.iter().map(|w| w.status.as_str()).collect();
        let status = map_pipeline_status(&p.state, &statuses);
        let raw = if statuses.is_empty() {
            p.state.clone()
        } else {
            format!(
                "{}/{}",
                p.state,
                workflows
                    .iter()
                    .map(|w| format!("{}:{}", w.name, w.status))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let mut run = Run::new(p.id, status, raw);
        run.number = p.number;
        run.workflow = (!workflows.is_empty()).then(|| {
            workflows
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        });
        if p.state == "errored" {
            let messages: Vec<String> = p
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.kind.as_deref().unwrap_or("error"),
                        e.message.as_deref().unwrap_or("")
                    )
                })
                .collect();
            run.title = (!messages.is_empty()).then(|| messages.join("; "));
        }
        if let (Some(app), Some(n)) = (self.app_base(), p.number) {
            run.url = Some(format!("{app}/{n}"));
        }
        if let Some(v) = p.vcs {
            run.head_sha = v.revision;
            run.head_branch = v.branch.or(v.tag);
        }
        run.event = p.trigger.and_then(|t| t.kind);
        run.created_at = p.created_at;
        run.updated_at = p.updated_at;
        run.started_at = workflows.iter().filter_map(|w| w.created_at).min();
        if status.is_terminal() {
            run.finished_at = workflows.iter().filter_map(|w| w.stopped_at).max();
        }
        run
    }

    fn parameters(&self, inputs: &BTreeMap<String, String>) -> Result<Value, ProviderError> {
        let mut map = serde_json::Map::new();
        for (name, value) in inputs {
            let v = match self.parameter_types.get(name) {
                None | Some(ParameterType::String) => Value::String(value.clone()),
                Some(ParameterType::Boolean) => match value.trim() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => {
                        return Err(ProviderError::new(
                            ProviderErrorKind::InvalidRequest,
                            format!(
                                "pipeline parameter `{name}` is a boolean: `{other}` is neither `true` nor `false`"
                            ),
                        ));
                    }
                },
                Some(ParameterType::Integer) => {
                    let n: i64 = value.trim().parse().map_err(|_| {
                        ProviderError::new(
                            ProviderErrorKind::InvalidRequest,
                            format!("pipeline parameter `{name}` is an integer: `{value}` is not"),
                        )
                    })?;
                    Value::from(n)
                }
            };
            map.insert(name.clone(), v);
        }
        Ok(Value::Object(map))
    }

    /// The test results of one job (`GET /project/{slug}/{job-number}/tests`), every page.
    pub async fn tests(&self, job_number: u64) -> Result<Vec<CircleciTest>, ProviderError> {
        self.paged(
            &self.url(&format!("project/{}/{job_number}/tests", self.slug)),
            &format!("read the test results of job {job_number}"),
            None,
        )
        .await
    }

    /// The test results of every job of a run, each with its job number.
    pub async fn run_tests(&self, run: &RunId) -> Result<Vec<CircleciTest>, ProviderError> {
        let mut out = Vec::new();
        for (_, job) in self.all_jobs(run).await? {
            let Some(n) = job.job_number else { continue };
            for mut t in self.tests(n).await? {
                t.job = Some(n);
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Waits (briefly) until the pipeline lists the workflows a re-run created, so
    /// that the run's status no longer shows the attempt that was re-run: without
    /// this, a `ci retry --wait` could read the old, failed status and stop at once.
    async fn settle(&self, run: &RunId, created: &[String]) {
        if created.is_empty() {
            return;
        }
        for _ in 0..SETTLE_ATTEMPTS {
            match self.workflows(run).await {
                Ok(listed) if created.iter().all(|id| listed.iter().any(|w| &w.id == id)) => {
                    return;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(message = "Cannot list the re-run workflows yet.", %error);
                }
            }
            tokio::time::sleep(self.settle_poll).await;
        }
        tracing::warn!(
            message = "CircleCI does not list the re-run workflows yet; the run's status may show the previous attempt for a moment.",
            pipeline = %run
        );
    }

    /// Sets how often a re-run's new workflows are looked for (1 s).
    pub fn with_settle_poll(mut self, every: Duration) -> Self {
        self.settle_poll = every;
        self
    }

    fn v1_build_url(&self, job_number: u64) -> Result<Url, ProviderError> {
        let unsupported = |why: &str| {
            ProviderError::new(
                ProviderErrorKind::Unsupported,
                format!(
                    "CircleCI API v2 has no job logs, and {why}: read the log in the CircleCI web app, or use test metadata"
                ),
            )
        };
        let mut parts = self.slug.splitn(3, '/');
        let vcs = match parts.next() {
            Some("gh" | "github") => "github",
            Some("bb" | "bitbucket") => "bitbucket",
            _ => {
                return Err(unsupported(
                    "API v1.1 (which has step output) does not address `circleci/` projects",
                ));
            }
        };
        let (Some(org), Some(repo)) = (parts.next(), parts.next()) else {
            return Err(unsupported("the project slug is incomplete"));
        };
        let path = self.api.path();
        let Some(root) = path.strip_suffix("v2/") else {
            return Err(unsupported(
                "the API v1.1 URL cannot be derived from `api_url` (it does not end in `/v2`)",
            ));
        };
        let mut url = self.api.clone();
        url.set_path(&format!(
            "{root}v1.1/project/{vcs}/{org}/{repo}/{job_number}"
        ));
        Ok(url)
    }

    async fn step_output(&self, url: &str, what: &str) -> Result<String, ProviderError> {
        // A pre-signed URL: sent without the token.
        let target = flowspec_http::target::check_target(url)
            .map_err(|e| common::from_http(&e, what, None))?;
        let (response, _) = self
            .http
            .send_with_retry(Idempotency::Safe, || {
                self.http.reqwest().get(target.clone())
            })
            .await
            .map_err(|e| common::from_http(&e.error, what, None))?;
        let lines: Vec<V1Output> = self.json(response, what).await?;
        Ok(lines.into_iter().map(|l| l.message).collect())
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

/// `provider: circleci`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "circleci"
    }

    fn describe(&self) -> &'static str {
        "CircleCI API v2 (pipelines with parameters, workflows, jobs, reruns, artifacts, test metadata)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: circleci\n  config:\n    project_slug: gh/acme/app\n    token: ${CIRCLECI_TOKEN}\n    branch: main\n    parameter_types:\n      deploy: boolean\n"
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(CircleciProvider::from_node(config, cx)?))
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
