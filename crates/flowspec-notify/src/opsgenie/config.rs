//! The options of `integrations.opsgenie`, validated, and the variables it reads by default.

use super::*;

pub(super) const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "OPSGENIE_API_KEY",
    "API integration key",
    "0e1f2a3b-4c5d-6e7f-8a9b-0c1d2e3f4a5b",
);

/// `integrations.opsgenie` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// The API key as `${VAR}` (default: `OPSGENIE_API_KEY`). Example: `"${OPSGENIE_API_KEY}"`.
    pub api_key: Option<String>,
    /// `P1` (highest) to `P5`; default `P3`, or `P2` for events with severity
    /// `critical`. Example: `"P3"`.
    pub priority: Option<String>,
    /// Tags of the alerts. Example: `["spec-automation", "ci-cd"]`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `us` (default, `api.opsgenie.com`) or `eu` (`api.eu.opsgenie.com`): an EU
    /// account's key fails against the US host. Example: `"eu"`.
    pub region: Option<Region>,
    /// Teams (names) notified of the alerts. Example: `["platform"]`.
    #[serde(default)]
    pub responders: Vec<String>,
    /// Events that close their alert (default `["*.completed"]`; `[]` never closes).
    /// Example: `["implementation_completed"]`.
    pub close_on: Option<Vec<String>>,
    /// Replaces the regional host (a proxy, a mock). Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

/// The Opsgenie region of the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `https://api.opsgenie.com`.
    #[default]
    Us,
    /// `https://api.eu.opsgenie.com`.
    Eu,
}

impl Region {
    /// The API host of the region.
    pub fn api(self) -> &'static str {
        match self {
            Region::Us => "https://api.opsgenie.com",
            Region::Eu => "https://api.eu.opsgenie.com",
        }
    }
}
