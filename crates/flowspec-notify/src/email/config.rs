//! The options of `integrations.email`, validated, and the variables it reads by default.

use super::*;

pub(super) const SMTP_HOST: SecretVar =
    SecretVar::setting("smtp.host", "SMTP_HOST", "SMTP server", "smtp.example.com");
pub(super) const SMTP_USER: SecretVar = SecretVar {
    sensitive: false,
    ..SecretVar::optional(
        "smtp.user",
        "SMTP_USER",
        "SMTP username",
        "specs-bot@example.com",
    )
};

pub(super) const SMTP_PASSWORD: SecretVar = SecretVar::optional(
    "smtp.password",
    "SMTP_PASSWORD",
    "SMTP password",
    "smtp-pa55word-example",
);

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only to a loopback relay.
    None,
}

/// `smtp:` options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server (default: `SMTP_HOST`). Example: `"smtp.example.com"`.
    pub host: Option<String>,
    /// The port (default 587; 465 for implicit TLS). Example: `587`.
    pub port: Option<u16>,
    /// Use TLS (default true): STARTTLS, or implicit TLS on port 465. Example: `true`.
    pub secure: Option<bool>,
    /// The TLS mode, when `secure` is not precise enough. Example: `"starttls"`.
    pub tls: Option<TlsMode>,
    /// The username (default: `SMTP_USER`; no AUTH without one). Example: `"bot@example.com"`.
    pub user: Option<String>,
    /// The password as `${VAR}` (default: `SMTP_PASSWORD`).
    pub password: Option<String>,
    /// Connection and command timeout. Example: `"30s"`.
    pub timeout: Option<String>,
}

/// `integrations.email` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server.
    #[serde(default)]
    pub smtp: SmtpConfig,
    /// The sender. Example: `"Spec Bot <specs@example.com>"`.
    pub from: String,
    /// Recipients of every event. Example: `["team@example.com"]`.
    #[serde(default)]
    pub to: Vec<String>,
    /// Recipients per event. Example: `{implementation_failed: ["oncall@example.com"]}`.
    #[serde(default)]
    pub recipients: BTreeMap<String, Vec<String>>,
    /// Put in front of every subject. Example: `"[specs] "`.
    pub subject_prefix: Option<String>,
    /// `smtp://host:port` (no TLS, loopback only), `smtp+starttls://host:port` or
    /// `smtps://host:port`: overrides `smtp.host`, `port` and TLS (relays, tests).
    pub api_url: Option<String>,
}

pub(super) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
