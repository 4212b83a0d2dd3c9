//! The options of `integrations.sentry`, validated, and the variables it reads by default.

use super::*;

pub(super) const DSN: SecretVar = SecretVar::required(
    "dsn",
    "SENTRY_DSN",
    "Data source name (Project Settings → Client Keys)",
    "https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/4505",
);

/// `integrations.sentry` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentryConfig {
    /// The DSN as `${VAR}` (default: `SENTRY_DSN`). Example: `"${SENTRY_DSN}"`.
    pub dsn: Option<String>,
    /// The `environment` of the reports (default: the event's `environment` field).
    /// Example: `"production"`.
    pub environment: Option<String>,
    /// The `release` (default: the event's `release` or `version` field).
    /// Example: `"app@1.2.3"`.
    pub release: Option<String>,
    /// Replaces scheme, host and port of the DSN's endpoint (a relay, a mock).
    /// Example: `"http://127.0.0.1:9000"`.
    pub api_url: Option<String>,
}

/// The parts of a DSN.
#[derive(Clone)]
pub struct Dsn {
    /// The public key (`sentry_key`).
    pub public_key: String,
    pub(super) secret_key: Option<SecretString>,
    /// The project id.
    pub project_id: String,
    /// The envelope endpoint.
    pub envelope_url: String,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsn")
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

impl Dsn {
    /// Parses `{PROTOCOL}://{PUBLIC_KEY}[:{SECRET_KEY}]@{HOST}{PATH}/{PROJECT_ID}`.
    /// Errors never contain the DSN.
    ///
    /// ```
    /// use flowspec_notify::sentry::Dsn;
    /// let dsn = Dsn::parse("https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/4505").unwrap();
    /// assert_eq!(dsn.project_id, "4505");
    /// assert_eq!(dsn.envelope_url, "https://o123.ingest.sentry.io/api/4505/envelope/");
    /// let hosted = Dsn::parse("https://key@sentry.example.com/sentry/7").unwrap();
    /// assert_eq!(hosted.envelope_url, "https://sentry.example.com/sentry/api/7/envelope/");
    /// ```
    pub fn parse(dsn: &str) -> Result<Dsn, String> {
        let url = url::Url::parse(dsn.trim()).map_err(|_| {
            "the DSN is not a URL (expected https://<key>@<host>/<project id>)".to_owned()
        })?;
        if url.username().is_empty() {
            return Err(
                "the DSN has no public key (expected https://<key>@<host>/<project id>)".into(),
            );
        }
        let host = url
            .host_str()
            .ok_or_else(|| "the DSN has no host".to_owned())?;
        let mut segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let project_id = segments
            .pop()
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| "the DSN does not end with a numeric project id".to_owned())?
            .to_owned();
        let prefix: String = segments.iter().map(|s| format!("/{s}")).collect();
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Dsn {
            public_key: url.username().to_owned(),
            secret_key: url.password().map(|p| SecretString::from(p.to_owned())),
            envelope_url: format!(
                "{}://{host}{port}{prefix}/api/{project_id}/envelope/",
                url.scheme()
            ),
            project_id,
        })
    }

    /// The `X-Sentry-Auth` header value.
    pub fn auth_header(&self) -> String {
        let mut header = format!(
            "Sentry sentry_version=7, sentry_client=flowspec/{}, sentry_key={}",
            env!("CARGO_PKG_VERSION"),
            self.public_key
        );
        if let Some(secret) = &self.secret_key {
            header.push_str(&format!(", sentry_secret={}", secret.expose_secret()));
        }
        header
    }
}
