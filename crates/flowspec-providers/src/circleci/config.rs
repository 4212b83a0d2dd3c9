//! The `config:` of a `circleci` profile in `.flowspec/flowspec.yaml`: its raw shape and the validated form the provider is built from.

use super::*;

pub(super) const TOKEN_VARS: &[&str] = &["CIRCLECI_TOKEN", "CIRCLE_TOKEN"];
pub(super) const DEFAULT_API: &str = "https://circleci.com/api/v2/";
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
