//! The options of `integrations.azure_devops`, validated, and the variables it reads by default.

use super::*;

pub(super) const ORG: SecretVar = SecretVar::setting(
    "organization",
    "AZURE_DEVOPS_ORG",
    "Organization name",
    "your-org",
);

pub(super) const PROJECT: SecretVar = SecretVar::setting(
    "project",
    "AZURE_DEVOPS_PROJECT",
    "Project name",
    "your-project",
);

pub(super) const PAT: SecretVar = SecretVar::required(
    "pat",
    "AZURE_DEVOPS_PAT",
    "Personal access token (Work Items: Read & Write)",
    "azdopat0123456789abcdefexampletokenforflowspecxyz",
);

/// `integrations.azure_devops` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureDevopsConfig {
    /// The organization (default: `AZURE_DEVOPS_ORG`). Example: `"your-org"`.
    pub organization: Option<String>,
    /// The project (default: `AZURE_DEVOPS_PROJECT`). Example: `"your-project"`.
    pub project: Option<String>,
    /// The personal access token as `${VAR}` (default: `AZURE_DEVOPS_PAT`).
    /// Example: `"${AZURE_DEVOPS_PAT}"`.
    pub pat: Option<String>,
    /// The type of new work items (default `Task`). Example: `"User Story"`.
    #[serde(default = "default_type")]
    pub work_item_type: String,
    /// `System.AreaPath` of new work items. Example: `"your-project\\Team"`.
    pub area_path: Option<String>,
    /// `System.IterationPath` of new work items. Example: `"your-project\\Sprint 1"`.
    pub iteration_path: Option<String>,
    /// Tags of new work items besides `flowspec` and the dedup tag. Example: `["spec"]`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) →
    /// `System.State` set on the work item (names depend on the process template).
    /// Example: `{approved: "Active", implemented: "Resolved"}`.
    #[serde(default)]
    pub state_mappings: BTreeMap<String, String>,
    /// Replaces `https://dev.azure.com` (Azure DevOps Server, a proxy, a mock).
    /// Example: `"https://tfs.example.com/tfs"`.
    pub api_url: Option<String>,
}

pub(super) fn default_type() -> String {
    "Task".to_owned()
}
