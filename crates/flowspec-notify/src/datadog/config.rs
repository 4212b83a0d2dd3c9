//! The options of `integrations.datadog`, validated, and the variables it reads by default.

use super::*;

pub(super) const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "DATADOG_API_KEY",
    "API key",
    "0123456789abcdef0123456789abcdef",
);

pub(super) const APP_KEY: SecretVar = SecretVar::optional(
    "app_key",
    "DATADOG_APP_KEY",
    "Application key (not needed to submit events and metrics; read only to mask it)",
    "fedcba9876543210fedcba9876543210fedcba98",
);

/// The API host of a site (`datadoghq.eu`, `app.datadoghq.eu`, or a short name
/// such as `eu`, `us3`, `ap1`).
///
/// ```
/// use flowspec_notify::datadog::site_api;
/// assert_eq!(site_api("datadoghq.eu"), Some("https://api.datadoghq.eu"));
/// assert_eq!(site_api("us5"), Some("https://api.us5.datadoghq.com"));
/// assert_eq!(site_api("datadoghq.org"), None);
/// ```
pub fn site_api(site: &str) -> Option<&'static str> {
    let site = site.trim().to_ascii_lowercase();
    let site = site
        .trim_start_matches("https://")
        .trim_start_matches("app.")
        .trim_start_matches("api.")
        .trim_end_matches('/');
    let site = if site == "eu" {
        "eu1"
    } else if site == "us" {
        "us1"
    } else {
        site
    };
    SITES
        .iter()
        .find(|(full, short, _)| *full == site || *short == site)
        .map(|(_, _, api)| *api)
}

/// `integrations.datadog` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogConfig {
    /// The API key as `${VAR}` (default: `DATADOG_API_KEY`). Example: `"${DATADOG_API_KEY}"`.
    pub api_key: Option<String>,
    /// The application key as `${VAR}` (default: `DATADOG_APP_KEY`); optional, never
    /// sent. Example: `"${DATADOG_APP_KEY}"`.
    pub app_key: Option<String>,
    /// The Datadog site (default `datadoghq.com`). Example: `"datadoghq.eu"`.
    #[serde(default = "default_site")]
    pub site: String,
    /// Whether to send the metrics (default true). Example: `true`.
    #[serde(default = "yes")]
    pub send_metrics: bool,
    /// The metrics' prefix (default `flowspec`). Example: `"spec_ingestion"`.
    #[serde(default = "default_prefix")]
    pub metric_prefix: String,
    /// Whether to send an event per notification (default true). Example: `true`.
    #[serde(default = "yes")]
    pub send_events: bool,
    /// Tags of events and metrics. Example: `["team:platform", "env:production"]`.
    #[serde(default)]
    pub event_tags: Vec<String>,
    /// Replaces the site's API host (a proxy, a mock). Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

pub(super) fn default_site() -> String {
    "datadoghq.com".to_owned()
}

pub(super) fn default_prefix() -> String {
    "flowspec".to_owned()
}

pub(super) fn yes() -> bool {
    true
}
