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
//!     recipients:                    # recipients per event (event names or dotted types)
//!       implementation_failed: ["oncall@example.com"]
//!       pr_created: ["reviewers@example.com"]
//! ```
//!
//! Without `notify_on`, email receives the events named under `recipients` (and every
//! event when `to` is set). The protocol: port 587 with STARTTLS
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

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{EmailConfig, SmtpConfig, TlsMode};
pub use self::factory::Factory;
use self::wire::*;

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
