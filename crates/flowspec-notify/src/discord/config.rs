//! The options of `integrations.discord`, validated, and the variables it reads by default.

use super::*;

pub(super) const WEBHOOK_URL: SecretVar = SecretVar::required(
    "webhook_url",
    "DISCORD_WEBHOOK_URL",
    "Webhook URL",
    "https://discord.com/api/webhooks/123456789012345678/SECRETtokenSECRETtokenSECRETtoken",
);

/// `integrations.discord` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The webhook URL as `${VAR}` (default: `DISCORD_WEBHOOK_URL`).
    pub webhook_url: Option<String>,
    /// The sender name shown. Example: `"Spec Bot"`.
    pub username: Option<String>,
    /// The sender avatar. Example: `"https://example.com/bot-avatar.png"`.
    pub avatar_url: Option<String>,
    /// Post into this thread of the channel. Example: `"1234567890"`.
    pub thread_id: Option<String>,
    /// Replaces scheme, host and port of the webhook URL. Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}
