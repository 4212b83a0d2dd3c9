//! The `config:` of a `jenkins` profile in `.flowspec/flowspec.yaml`: its raw shape and the validated form the provider is built from.

use super::*;

pub(super) const USER_VARS: &[&str] = &["JENKINS_USER"];
pub(super) const TOKEN_VARS: &[&str] = &["JENKINS_API_TOKEN"];

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
