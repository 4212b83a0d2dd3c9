//! Email over SMTP (lettre, rustls with aws-lc-rs): one message with a text and an
//! HTML part, to the recipients of the event.
//!
//! ```yaml
//! integrations:
//!   email:
//!     enabled: true
//!     smtp:
//!       host: "smtp.example.com"     # or SMTP_HOST
//!       port: 587                    # 587: STARTTLS (required); 465: implicit TLS
//!       secure: true                 # false: no TLS, allowed only to loopback relays
//!       # user / password: "${VAR}"  # or SMTP_USER / SMTP_PASSWORD
//!     from: "specs@example.com"
//!     to: []                         # recipients of every event (optional)
//!     recipients:                    # recipients per event (seed names or dotted types)
//!       implementation_failed: ["oncall@example.com"]
//!       pr_created: ["reviewers@example.com"]
//! ```
//!
//! Without `notify_on`, email receives the events named under `recipients` (and every
//! event when `to` is set). Contract (contracts.md B4): port 587 with STARTTLS
//! required (never a plaintext fallback), port 465 with implicit TLS, `AUTH` only
//! after TLS; `4xx` replies are transient, `5xx` permanent (`535` bad credentials).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar, ServiceError,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::delivery::delivery_id;
use crate::events::EventMatcher;

const SMTP_HOST: SecretVar =
    SecretVar::setting("smtp.host", "SMTP_HOST", "SMTP server", "smtp.example.com");
const SMTP_USER: SecretVar = SecretVar {
    sensitive: false,
    ..SecretVar::optional(
        "smtp.user",
        "SMTP_USER",
        "SMTP username",
        "specs-bot@example.com",
    )
};
const SMTP_PASSWORD: SecretVar = SecretVar::optional(
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

/// Sends one email per notification.
pub struct EmailNotifier {
    name: String,
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, SecretString)>,
    timeout: Duration,
    from: Mailbox,
    to: Vec<Mailbox>,
    recipients: Vec<(EventMatcher, Vec<Mailbox>)>,
    subject_prefix: String,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("target", &self.target())
            .field("from", &self.from.to_string())
            .field("auth", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

impl EmailNotifier {
    /// The recipients of an event of `event_type`.
    pub fn recipients_for(&self, event_type: &str) -> Vec<Mailbox> {
        let mut out: Vec<Mailbox> = self.to.clone();
        for (matcher, list) in &self.recipients {
            if matcher.matches_type(event_type) {
                for m in list {
                    if !out.contains(m) {
                        out.push(m.clone());
                    }
                }
            }
        }
        out
    }

    /// The message for `n`: `multipart/alternative` with a text and an HTML part.
    pub fn message(&self, n: &Notification, to: &[Mailbox]) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .message_id(None)
            .from(self.from.clone())
            .subject(format!("{}{}", self.subject_prefix, n.title));
        for m in to {
            builder = builder.to(m.clone());
        }
        let text = n.to_text();
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(text, html(n)))
            .map_err(|e| NotifyError::config(format!("cannot build the email: {e}")))?;
        let headers = message.headers_mut();
        let id = delivery_id(n.event.id().as_str(), &self.name);
        for (name, value) in [
            ("X-Flowspec-Event", n.event.event_type().as_str().to_owned()),
            ("X-Flowspec-Delivery", id),
        ] {
            let name = HeaderName::new_from_ascii(name.to_owned()).expect("ASCII header name");
            headers.insert_raw(HeaderValue::new(name, value));
        }
        Ok(message)
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
        let builder = match self.tls {
            TlsMode::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host),
            TlsMode::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
        }
        .map_err(|e| NotifyError::config(format!("SMTP TLS setup for {}: {e}", self.host)))?;
        let mut builder = builder.port(self.port).timeout(Some(self.timeout));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }
}

/// The HTML part: title, summary, a table of fields, the links.
fn html(n: &Notification) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let color = match n.outcome {
        flowspec_core::notifier::Outcome::Completed => "#2e7d32",
        flowspec_core::notifier::Outcome::Failed => "#c62828",
        flowspec_core::notifier::Outcome::Started => "#1565c0",
        _ => "#424242",
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<h2 style=\"color: {color}\">{}</h2>\n",
        esc(&n.title)
    );
    if !n.summary.is_empty() {
        out.push_str(&format!(
            "<p>{}</p>\n",
            esc(&n.summary).replace('\n', "<br>")
        ));
    }
    if !n.fields.is_empty() {
        out.push_str("<table cellpadding=\"4\">\n");
        for f in &n.fields {
            out.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                esc(&f.label),
                esc(&f.value)
            ));
        }
        out.push_str("</table>\n");
    }
    if !n.links.is_empty() {
        out.push_str("<p>");
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("<a href=\"{}\">{}</a>", esc(&l.url), esc(&l.title)))
            .collect();
        out.push_str(&links.join(" · "));
        out.push_str("</p>\n");
    }
    out.push_str(&format!(
        "<p style=\"color: #757575; font-size: small\">flowspec · {} · {}</p>\n</body></html>\n",
        esc(&n.event_name),
        esc(&n.event.timestamp_rfc3339())
    ));
    out
}

fn smtp_error(e: &lettre::transport::smtp::Error, target: &str) -> NotifyError {
    let code: Option<u16> = e.status().map(u16::from);
    let kind = match code {
        Some(530 | 534 | 535 | 538) => NotifyErrorKind::Auth,
        Some(421) => NotifyErrorKind::Transient,
        Some(_) if e.is_transient() => NotifyErrorKind::Transient,
        Some(_) => NotifyErrorKind::Rejected,
        None if e.is_tls() => NotifyErrorKind::Config,
        None => NotifyErrorKind::Transient,
    };
    let mut err = NotifyError::new(kind, format!("SMTP {target}"));
    if let Some(code) = code {
        err = err.with_status(code);
    }
    err = err.with_service_error(ServiceError::new(e.to_string()));
    match kind {
        NotifyErrorKind::Auth => {
            err.with_hint("the server refused the login: check SMTP_USER and SMTP_PASSWORD")
        }
        NotifyErrorKind::Config => err.with_hint(
            "TLS failed: port 587 needs `tls: starttls`, port 465 needs `tls: implicit`",
        ),
        _ => err,
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    fn target(&self) -> String {
        let mode = match self.tls {
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "tls",
            TlsMode::None => "plain",
        };
        format!("smtp://{}:{} ({mode})", self.host, self.port)
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let to = self.recipients_for(n.event.event_type().as_str());
        if to.is_empty() {
            return Err(
                NotifyError::config(format!("no email recipients for `{}`", n.event_name))
                    .with_hint("list them under `recipients:` for this event, or in `to:`"),
            );
        }
        let message = self.message(n, &to)?;
        let transport = self.transport()?;
        match transport.send(message).await {
            Ok(response) => Ok(Receipt::new()
                .with_status(u16::from(response.code()))
                .with_detail("recipients", to.len())),
            Err(e) => Err(smtp_error(&e, &self.target())),
        }
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        let transport = self.transport()?;
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotifyError::transient(format!(
                "SMTP {}: the server did not answer NOOP",
                self.target()
            ))),
            Err(e) => Err(smtp_error(&e, &self.target())),
        }
    }
}

/// `email`.
pub struct Factory;

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn describe(&self) -> &'static str {
        "email over SMTP (STARTTLS or implicit TLS), text and HTML parts, recipients per event"
    }

    fn example_yaml(&self) -> &'static str {
        r#"integrations:
  email:
    enabled: true
    smtp:
      host: "smtp.example.com"
      port: 587
      secure: true
    from: "specs@example.com"
    recipients:
      implementation_failed:
        - "oncall@example.com"
      pr_created:
        - "reviewers@example.com"
"#
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[SMTP_HOST, SMTP_USER, SMTP_PASSWORD]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: EmailConfig = cx.deserialize(config)?;
        let smtp_node = config.get("smtp");
        let field_node = |f: &str| smtp_node.and_then(|s| s.get(f));
        let mut errors = ConfigErrors::default();

        let host = match &parsed.smtp.host {
            Some(h) => cx.interpolate(field_node("host"), "smtp.host", h).map(Some),
            None => cx
                .secret(None, &SMTP_HOST)
                .map(|s| s.map(|s| s.expose_secret().to_owned())),
        };
        let user = match &parsed.smtp.user {
            Some(u) => cx.interpolate(field_node("user"), "smtp.user", u).map(Some),
            None => Ok(cx
                .vars()
                .get(SMTP_USER.env)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)),
        };
        let password = cx.secret(field_node("password"), &SMTP_PASSWORD);
        let (host, user, password) = match (host, user, password) {
            (Ok(h), Ok(u), Ok(p)) => (h.unwrap_or_default(), u, p),
            (h, u, p) => {
                for e in [h.err(), u.err(), p.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };

        let secure = parsed.smtp.secure.unwrap_or(true);
        let mut tls = parsed.smtp.tls.unwrap_or(match (secure, parsed.smtp.port) {
            (false, _) => TlsMode::None,
            (true, Some(465)) => TlsMode::Implicit,
            (true, _) => TlsMode::Starttls,
        });
        let mut host = host;
        let mut port = parsed.smtp.port;
        if let Some(api_url) = &parsed.api_url {
            match url::Url::parse(api_url) {
                Ok(u) if u.host_str().is_some() => {
                    tls = match u.scheme() {
                        "smtps" => TlsMode::Implicit,
                        "smtp+starttls" => TlsMode::Starttls,
                        "smtp" => TlsMode::None,
                        other => {
                            errors.push(cx.error(config.get("api_url"), "api_url", format!("unsupported scheme `{other}`: use smtp://, smtp+starttls:// or smtps://")));
                            TlsMode::Starttls
                        }
                    };
                    host = u
                        .host_str()
                        .unwrap_or_default()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned();
                    port = u.port().or(port);
                }
                _ => errors.push(cx.error(
                    config.get("api_url"),
                    "api_url",
                    "`api_url` must be a URL such as smtps://smtp.example.com:465",
                )),
            }
        }
        if tls == TlsMode::None && !is_loopback_host(&host) {
            errors.push(
                cx.error(smtp_node.and_then(|s| s.get("secure")).or(config.get("api_url")), "smtp.secure", format!("SMTP without TLS to `{host}` would send mail and passwords in clear"))
                    .hint("use `secure: true` (STARTTLS on 587, implicit TLS on 465); plain SMTP is allowed only to localhost/127.0.0.1/::1"),
            );
        }
        let port = port.unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        });
        let timeout = match &parsed.smtp.timeout {
            Some(t) => match humantime::parse_duration(t) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(cx.error(
                        field_node("timeout"),
                        "smtp.timeout",
                        format!("invalid duration `{t}`: {e}"),
                    ));
                    Duration::from_secs(30)
                }
            },
            None => Duration::from_secs(30),
        };
        let parse_box = |text: &str,
                         node: Option<&Node>,
                         field: &str,
                         errors: &mut ConfigErrors|
         -> Option<Mailbox> {
            match text.parse::<Mailbox>() {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(cx.error(
                        node,
                        field,
                        format!("`{text}` is not an email address: {e}"),
                    ));
                    None
                }
            }
        };
        let from = parse_box(&parsed.from, config.get("from"), "from", &mut errors);
        let to: Vec<Mailbox> = parsed
            .to
            .iter()
            .filter_map(|t| parse_box(t, config.get("to"), "to", &mut errors))
            .collect();
        let mut recipients = Vec::new();
        let mut events = Vec::new();
        for (event, list) in &parsed.recipients {
            let node = config.get("recipients").and_then(|r| r.get(event));
            let matcher = match EventMatcher::parse([event.as_str()]) {
                Ok(m) => m,
                Err(m) => {
                    errors.push(cx.error(node, &format!("recipients.{event}"), m));
                    continue;
                }
            };
            let boxes: Vec<Mailbox> = list
                .iter()
                .filter_map(|t| parse_box(t, node, &format!("recipients.{event}"), &mut errors))
                .collect();
            events.push(event.clone());
            recipients.push((matcher, boxes));
        }
        if !to.is_empty() {
            events.push("*".into());
        }
        if to.is_empty() && recipients.is_empty() {
            errors.push(
                cx.error(
                    None,
                    "recipients",
                    "no recipients: set `recipients:` per event and/or `to:` for every event",
                )
                .hint("e.g. `recipients: {implementation_failed: [oncall@example.com]}`"),
            );
        }
        let credentials = match (user, password) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => {
                errors.push(cx.error(field_node("user"), "smtp.password", "an SMTP user is set but no password: set SMTP_PASSWORD (or `smtp.password: \"${VAR}\"`)"));
                None
            }
            _ => None,
        };
        if credentials.is_some() && tls == TlsMode::None && !is_loopback_host(&host) {
            // Already refused above; never send a password in clear.
        }
        let Some(from) = from else {
            return Err(errors);
        };
        let notifier = EmailNotifier {
            name: cx.name().to_owned(),
            host,
            port,
            tls,
            credentials,
            timeout,
            from,
            to,
            recipients,
            subject_prefix: parsed.subject_prefix.unwrap_or_default(),
        };
        errors.into_result(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_events(events),
        ])
    }
}
