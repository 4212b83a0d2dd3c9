//! The options of `integrations.pagerduty`, validated, and the variables it reads by default.

use super::*;

pub(super) const ROUTING_KEY: SecretVar = SecretVar::required(
    "routing_key",
    "PAGERDUTY_ROUTING_KEY",
    "Events API v2 routing (integration) key",
    "0123456789abcdef0123456789abcdef",
);

/// `integrations.pagerduty` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// The integration key as `${VAR}` (default: `PAGERDUTY_ROUTING_KEY`).
    /// Example: `"${PAGERDUTY_ROUTING_KEY}"`.
    pub routing_key: Option<String>,
    /// The severity of triggered alerts: `critical`, `error`, `warning` or `info`
    /// (default: from the event — `error` for failures). An event's own `severity`
    /// field wins. Example: `"warning"`.
    pub severity: Option<String>,
    /// Events that resolve their alert (default `["*.completed"]`; `[]` never
    /// resolves). Example: `["implementation_completed"]`.
    pub resolve_on: Option<Vec<String>>,
    /// `payload.source` (default: the event's source, else `flowspec`).
    /// Example: `"github-actions/acme/app"`.
    pub source: Option<String>,
    /// `payload.component`. Example: `"spec-automation"`.
    pub component: Option<String>,
    /// `payload.group`. Example: `"platform"`.
    pub group: Option<String>,
    /// Replaces `https://events.pagerduty.com` (EU accounts:
    /// `https://events.eu.pagerduty.com`; a proxy, a mock); `/v2/enqueue` is appended.
    /// Example: `"https://events.eu.pagerduty.com"`.
    pub api_url: Option<String>,
}
