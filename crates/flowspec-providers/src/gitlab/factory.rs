//! The [`ProviderFactory`](flowspec_core::provider::ProviderFactory) that builds the `gitlab` provider from its `config:`.

use super::*;

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

    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[("GITLAB_TOKEN", "glpat-example")]
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(build_provider(config, cx)?))
    }
}

/// Builds the concrete provider from a profile's `config:` (the factory and the
/// merge-request forge share it).
pub fn build_provider(
    config: &Node,
    cx: &ProviderContext<'_>,
) -> Result<GitlabProvider, ConfigErrors> {
    {
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
        Ok(provider)
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
