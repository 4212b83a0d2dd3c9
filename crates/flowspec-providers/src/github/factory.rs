//! The [`ProviderFactory`](flowspec_core::provider::ProviderFactory) that builds the `github` provider from its `config:`.

use super::*;

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

    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[("GITHUB_TOKEN", "ghp_example_token")]
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(build_provider(config, cx)?))
    }
}

/// Builds the provider of a `config:`, as the concrete type (pull requests use it too).
pub fn build_provider(
    config: &Node,
    cx: &ProviderContext<'_>,
) -> Result<GithubProvider, ConfigErrors> {
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
    Ok(provider)
}
