//! The options of `integrations.new_relic`, validated, and the variables it reads by default.

use super::*;

pub(super) const API_KEY: SecretVar = SecretVar::required(
    "api_key",
    "NEW_RELIC_API_KEY",
    "Ingest license key (or a legacy insert key NRII-…)",
    "eu01xx0123456789abcdef0123456789abcdNRAL",
);

/// `integrations.new_relic` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRelicConfig {
    /// The key as `${VAR}` (default: `NEW_RELIC_API_KEY`). Example: `"${NEW_RELIC_API_KEY}"`.
    pub api_key: Option<String>,
    /// The account id (digits; a `${VAR}` works too). Example: `"1234567"`.
    #[serde(deserialize_with = "digits_or_text")]
    pub account_id: String,
    /// The `eventType` (letters, digits, `_`, `:`; default `FlowspecEvent`).
    /// Example: `"SpecIngestion"`.
    #[serde(default = "default_event_type")]
    pub event_type: String,
    /// `us` (default) or `eu`. Example: `"eu"`.
    pub region: Option<Region>,
    /// Replaces the regional collector host (a proxy, a mock); the path
    /// `/v1/accounts/{id}/events` is appended. Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

pub(super) fn default_event_type() -> String {
    "FlowspecEvent".to_owned()
}

pub(super) fn digits_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DigitsOrText {
        Number(u64),
        Text(String),
    }
    Ok(match DigitsOrText::deserialize(d)? {
        DigitsOrText::Number(n) => n.to_string(),
        DigitsOrText::Text(s) => s,
    })
}

/// The New Relic data center of the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `https://insights-collector.newrelic.com`.
    #[default]
    Us,
    /// `https://insights-collector.eu01.nr-data.net`.
    Eu,
}

impl Region {
    /// The Event API host of the region.
    pub fn api(self) -> &'static str {
        match self {
            Region::Us => "https://insights-collector.newrelic.com",
            Region::Eu => "https://insights-collector.eu01.nr-data.net",
        }
    }
}

/// `eventType` may hold letters, digits, `_` and `:`, and starts with a letter.
pub(super) fn valid_event_type(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 255
        && t.starts_with(|c: char| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
