//! The requests Jenkins's provider sends: one method per API call, with the error mapping and pagination of the platform.

use super::*;

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

    pub(super) fn token_var(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.token.source())
    }

    pub(super) fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.token_var())
    }

    pub(super) fn job_for(&self, name: &str) -> Result<JobPath, ProviderError> {
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
    pub(super) fn build_of(&self, run: &RunId) -> Result<(JobPath, u64), ProviderError> {
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

    pub(super) fn job_url(&self, job: &JobPath) -> Url {
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

    pub(super) fn build_url(&self, job: &JobPath, number: u64) -> Url {
        let mut url = self.job_url(job);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&number.to_string()).push("");
        }
        url
    }

    pub(super) fn join(&self, base: &Url, path: &str) -> Url {
        base.join(path).expect("a relative path joins")
    }

    pub(super) fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let request = self.http.reqwest().request(method, url.clone());
        match &self.auth {
            Some(a) => request.basic_auth(&a.user, Some(a.token.expose())),
            None => request,
        }
    }

    pub(super) async fn get(&self, url: &Url, what: &str) -> Result<Response, ProviderError> {
        self.http
            .send_with_retry(Idempotency::Safe, || self.request(Method::GET, url))
            .await
            .map(|(r, _)| r)
            .map_err(|e| self.error(&e.error, what))
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
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
    pub(super) async fn crumb(&self, refresh: bool) -> Result<Option<Crumb>, ProviderError> {
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
    pub(super) async fn post(
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
    pub(super) async fn start(
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

    pub(super) async fn follow_queue(
        &self,
        job: &JobPath,
        id: u64,
    ) -> Result<RunRef, ProviderError> {
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

    pub(super) async fn build(
        &self,
        job: &JobPath,
        number: u64,
        what: &str,
    ) -> Result<Build, ProviderError> {
        let mut url = self.join(&self.build_url(job, number), "api/json");
        url.query_pairs_mut().append_pair("tree", BUILD_TREE);
        self.get_json(&url, what).await
    }

    pub(super) fn to_run(&self, job: &JobPath, b: Build) -> Run {
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
