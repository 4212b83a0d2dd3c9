//! The requests CircleCI's provider sends: one method per API call, with the error mapping and pagination of the platform.

use super::*;

pub(super) const MAX_PAGES: usize = 200;
pub(super) const SETTLE_ATTEMPTS: usize = 10;

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

    pub(super) fn url(&self, path: &str) -> Url {
        self.api.join(path).expect("a relative path joins")
    }

    pub(super) fn app_base(&self) -> Option<String> {
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

    pub(super) fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.token.as_ref().map(Token::source))
    }

    pub(super) fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => request.header("Circle-Token", t.expose()),
            None => request,
        }
    }

    pub(super) fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        self.authorize(
            self.http
                .reqwest()
                .request(method, url.clone())
                .header("accept", "application/json"),
        )
    }

    pub(super) async fn send(
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

    pub(super) async fn json<T: DeserializeOwned>(
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

    pub(super) async fn get_json<T: DeserializeOwned>(
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
    pub(super) async fn paged<T: DeserializeOwned>(
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

    pub(super) async fn pipeline(&self, run: &RunId) -> Result<Pipeline, ProviderError> {
        self.get_json(
            &self.url(&format!("pipeline/{}", run.as_str())),
            &format!("get pipeline {run}"),
        )
        .await
    }

    pub(super) async fn workflows(&self, run: &RunId) -> Result<Vec<Workflow>, ProviderError> {
        let all = self
            .paged(
                &self.url(&format!("pipeline/{}/workflow", run.as_str())),
                &format!("list the workflows of pipeline {run}"),
                None,
            )
            .await?;
        Ok(latest(all))
    }

    pub(super) async fn jobs_of(&self, workflow: &Workflow) -> Result<Vec<JobItem>, ProviderError> {
        self.paged(
            &self.url(&format!("workflow/{}/job", workflow.id)),
            &format!("list the jobs of workflow `{}`", workflow.name),
            None,
        )
        .await
    }

    pub(super) async fn all_jobs(
        &self,
        run: &RunId,
    ) -> Result<Vec<(Workflow, JobItem)>, ProviderError> {
        let mut out = Vec::new();
        for w in self.workflows(run).await? {
            for j in self.jobs_of(&w).await? {
                out.push((w.clone(), j));
            }
        }
        Ok(out)
    }

    pub(super) fn to_run(&self, p: Pipeline, workflows: &[Workflow]) -> Run {
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

    pub(super) fn parameters(
        &self,
        inputs: &BTreeMap<String, String>,
    ) -> Result<Value, ProviderError> {
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
    pub(super) async fn settle(&self, run: &RunId, created: &[String]) {
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

    pub(super) fn v1_build_url(&self, job_number: u64) -> Result<Url, ProviderError> {
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

    pub(super) async fn step_output(&self, url: &str, what: &str) -> Result<String, ProviderError> {
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
