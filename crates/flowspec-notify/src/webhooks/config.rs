//! The options of `integrations.webhooks`, validated, and the variables it reads by default.

use super::*;

pub(super) const SECRET: SecretVar = SecretVar::optional(
    "endpoints[].secret",
    "WEBHOOK_SECRET",
    "HMAC key for X-Signature-256",
    "s3cr3t-hmac-key",
);

pub(super) const SIGNING_KEY: SecretVar = SecretVar::optional(
    "endpoints[].signing_keys",
    "WEBHOOK_SIGNING_KEY",
    "Standard Webhooks secret (whsec_...)",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
);

/// `integrations.webhooks` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// The endpoints.
    pub endpoints: Vec<EndpointConfig>,
    /// Replaces scheme, host and port of every endpoint URL (a relay, a mock).
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

/// One endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Its name: the integration is `webhooks.<name>`. Example: `"analytics"`.
    pub name: String,
    /// The URL (HTTPS; plain HTTP only to loopback); `${VAR}` allowed.
    /// Example: `"https://analytics.example.com/events"`.
    pub url: String,
    /// Events it receives (event names or dotted types); all when absent.
    /// Example: `["implementation_completed"]`.
    #[serde(default)]
    pub events: Vec<String>,
    /// Extra headers; values may use `${VAR}` and are then kept secret.
    /// Example: `{Authorization: "Bearer ${WEBHOOK_TOKEN}"}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Retries after the first attempt (1 s, 2 s, 4 s...). Example: `3`.
    pub retry_count: Option<u32>,
    /// Explicit delays between attempts, like Svix's schedule; overrides `retry_count`.
    /// Example: `["5s", "1m", "10m"]`.
    pub retry_schedule: Option<Vec<String>>,
    /// HMAC key for `X-Signature-256`, as `${VAR}`. Example: `"${WEBHOOK_SECRET_ANALYTICS}"`.
    pub secret: Option<String>,
    /// Standard Webhooks secrets (`whsec_...`) as `${VAR}`, newest first; one signature
    /// per key during rotation. Example: `["${WHSEC_NEW}", "${WHSEC_OLD}"]`.
    pub signing_keys: Option<Vec<String>>,
    /// Request timeout. Example: `"15s"` (default 30 s).
    pub timeout: Option<String>,
}

pub(super) fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}`: {e} (write e.g. `5s`, `1m`, `2h`)"))
}
