//! The `config:` of a `github` profile in `.flowspec/flowspec.yaml`: its raw shape and the validated form the provider is built from.

use super::*;

pub(super) const TOKEN_VARS: &[&str] = &["GITHUB_TOKEN", "GH_TOKEN"];

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
