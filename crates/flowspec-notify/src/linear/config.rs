//! The options of `integrations.linear`, validated, and the variables it reads by default.

use super::*;

pub(super) const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "LINEAR_API_KEY",
    "API key",
    "lin_api_0123456789abcdefExampleKeyForFlowspec",
);

/// `integrations.linear` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// The API key as `${VAR}` (default: `LINEAR_API_KEY`). Example: `"${LINEAR_API_KEY}"`.
    pub api_key: Option<String>,
    /// The team: its UUID (Settings → Teams) or its key. Example: `"ENG"`.
    pub team_id: String,
    /// Labels of new issues, by name (team or workspace labels) or id.
    /// Example: `["spec", "automated"]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Spec status (`draft`, `in_progress`, `review`, `approved`, `implemented`) →
    /// workflow state name. Example: `{approved: "Todo", implemented: "Done"}`.
    #[serde(default)]
    pub state_mappings: BTreeMap<String, String>,
    /// Priority of new issues: 0 none, 1 urgent, 2 high, 3 medium, 4 low.
    /// Example: `3`.
    pub priority: Option<u8>,
    /// Replaces `https://api.linear.app` (a proxy, a mock); `/graphql` is appended.
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}
