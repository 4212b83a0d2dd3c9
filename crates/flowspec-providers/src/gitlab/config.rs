//! The `config:` of a `gitlab` profile in `.flowspec/flowspec.yaml`: its raw shape and the validated form the provider is built from.

use super::*;

pub(super) const TOKEN_VARS: &[&str] = &["GITLAB_TOKEN"];

/// `ci.config` for `provider: gitlab`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabConfig {
    /// The project: a path or a numeric id. Example: `group/sub/app`.
    /// Default: the `origin` remote of the checkout.
    pub project: Option<String>,
    /// The instance. Example: `https://gitlab.example.com`. Default: `https://gitlab.com`.
    pub api_url: Option<String>,
    /// A personal, project or group access token, as `${VAR}`. Example: `${GITLAB_FLOWSPEC}`.
    /// Default: `GITLAB_TOKEN`.
    pub token: Option<String>,
    /// A pipeline trigger token, as `${VAR}`; when set, `trigger` uses
    /// `POST /projects/:id/trigger/pipeline`. Example: `${GITLAB_TRIGGER_TOKEN}`.
    pub trigger_token: Option<String>,
    /// The ref to run on without `--branch`. Example: `main`. Default: the current branch.
    #[serde(rename = "ref", alias = "branch")]
    pub git_ref: Option<String>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}
