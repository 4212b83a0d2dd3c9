//! The options of `integrations.github_projects`, validated, and the variables it reads by default.

use super::*;

pub(super) const TOKEN: SecretVar = SecretVar::required(
    "token",
    "GITHUB_TOKEN",
    "Token with the `project` scope (classic PAT or GitHub App)",
    "ghp_0123456789abcdefExampleTokenForFlowspec0",
);

pub(super) const OWNER: SecretVar = SecretVar::setting(
    "owner",
    "GITHUB_REPOSITORY_OWNER",
    "User or organization owning the project (set by GitHub Actions)",
    "your-org",
);

/// `integrations.github_projects` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubProjectsConfig {
    /// The token as `${VAR}` (default: `GITHUB_TOKEN`). Example: `"${PROJECTS_TOKEN}"`.
    pub token: Option<String>,
    /// The user or organization owning the project (default:
    /// `GITHUB_REPOSITORY_OWNER`). Example: `"your-org"`.
    pub owner: Option<String>,
    /// The project number (from `github.com/orgs/ORG/projects/NUMBER`). Example: `1`.
    pub project_number: u64,
    /// The single-select field moved by `status_mappings` (default `Status`).
    /// Example: `"Status"`.
    #[serde(default = "default_field")]
    pub status_field: String,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) → an
    /// option of `status_field`. Example: `{review: "In Review", implemented: "Done"}`.
    #[serde(default)]
    pub status_mappings: BTreeMap<String, String>,
    /// Replaces `https://api.github.com` (GitHub Enterprise Server:
    /// `https://ghe.example.com/api`); `/graphql` is appended.
    /// Example: `"https://ghe.example.com/api"`.
    pub api_url: Option<String>,
}

pub(super) fn default_field() -> String {
    "Status".to_owned()
}
