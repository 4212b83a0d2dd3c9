//! The options of `integrations.teams`, validated, and the variables it reads by default.

use super::*;

pub(super) const WEBHOOK_URL: SecretVar = SecretVar::required(
    "webhook_url",
    "TEAMS_WEBHOOK_URL",
    "Workflows webhook URL",
    "https://prod-00.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRETsig0123",
);

/// `integrations.teams` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The Workflows webhook URL as `${VAR}` (default: `TEAMS_WEBHOOK_URL`).
    pub webhook_url: Option<String>,
    /// A rich Adaptive Card (color-coded header, facts, buttons); `false` sends a
    /// plain card with the text only. Example: `true`.
    #[serde(default = "yes")]
    pub use_adaptive_cards: bool,
    /// Replaces scheme, host and port of the webhook URL. Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

pub(super) fn yes() -> bool {
    true
}
