//! The options of `integrations.slack`, validated, and the variables it reads by default.

use super::*;

pub(super) const WEBHOOK_URL: SecretVar = SecretVar::required(
    "webhook_url",
    "SLACK_WEBHOOK_URL",
    "Incoming webhook URL",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
);

/// `integrations.slack` options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The webhook URL as `${VAR}` (default: `SLACK_WEBHOOK_URL`). Example: `"${SLACK_WEBHOOK_URL}"`.
    pub webhook_url: Option<String>,
    /// The channel (legacy webhooks only; app webhooks post to their own channel).
    /// Example: `"#engineering"`.
    pub channel: Option<String>,
    /// The sender name (legacy webhooks only). Example: `"Spec Bot"`.
    pub username: Option<String>,
    /// The sender icon (legacy webhooks only). Example: `":robot_face:"`.
    pub icon_emoji: Option<String>,
    /// Who to mention when something failed: `@channel`, `@here`, `@everyone`, a user
    /// id `U0123ABCD`, or a user group `subteam^S0123ABCD`. Example: `["@channel"]`.
    #[serde(default)]
    pub mention_on_failure: Vec<String>,
    /// Replaces scheme, host and port of the webhook URL (a relay, a mock).
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}
