//! Custom webhooks: a JSON POST to any HTTPS endpoint, signed.
//!
//! ```yaml
//! integrations:
//!   webhooks:
//!     enabled: true
//!     endpoints:
//!       - name: "internal-system"
//!         url: "https://internal.example.com/spec-webhook"
//!         events: ["spec_approved", "implementation_completed"]
//!         headers:
//!           Authorization: "Bearer ${WEBHOOK_TOKEN}"
//!         retry_count: 3
//!       - name: "analytics"
//!         url: "https://analytics.example.com/events"
//!         events: ["implementation_completed"]
//!         secret: "${WEBHOOK_SECRET_ANALYTICS}"        # X-Signature-256: sha256=<hex>
//!         signing_keys: ["${WHSEC_NEW}", "${WHSEC_OLD}"] # Standard Webhooks, rotation
//!         retry_schedule: ["5s", "1m", "10m"]           # Svix-like; overrides retry_count
//!         timeout: "15s"
//! ```
//!
//! Each endpoint is its own integration (`webhooks.internal-system`) with its own
//! routing (`events`; all events when absent), retries, rate limits, 410 handling and
//! dead letters. Every request carries `X-Flowspec-Event`, `X-Flowspec-Delivery` and
//! `Idempotency-Key` (the delivery id, stable across retries and replays); signed
//! requests add `X-Signature-256` and/or `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`. The body is the event's JSON payload plus the whole notification.
//! A `410 Gone` answer disables the endpoint until `flowspec notify enable NAME`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::config::{ConfigErrors, Node, Value as YamlValue};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, NotifyErrorKind,
    Receipt, SecretVar,
};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::HttpClient;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::delivery::delivery_id;
use crate::http::{Endpoint, Post, classify};
use crate::signature::{SigningKey, sha256_header, standard_signature};

mod config;
mod factory;
mod wire;

use self::config::*;
pub use self::config::{EndpointConfig, WebhooksConfig};
pub use self::factory::Factory;
pub use self::wire::payload;

/// Sends to one endpoint.
pub struct WebhookNotifier {
    name: String,
    target: Endpoint,
    headers: Vec<(String, SecretString)>,
    secret: Option<SecretString>,
    keys: Vec<SigningKey>,
    timeout: Duration,
    client: HttpClient,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("name", &self.name)
            .field("target", &self.target.shown())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("signed", &(self.secret.is_some() || !self.keys.is_empty()))
            .finish()
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn target(&self) -> String {
        self.target.shown().to_owned()
    }

    async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
        let id = delivery_id(n.event.id().as_str(), &self.name);
        let body = serde_json::to_vec(&payload(n, &id)).unwrap_or_default();
        let mut headers: Vec<(String, String)> = vec![
            (
                "X-Flowspec-Event".into(),
                n.event.event_type().as_str().into(),
            ),
            ("X-Flowspec-Delivery".into(), id.clone()),
            ("Idempotency-Key".into(), id.clone()),
        ];
        if let Some(secret) = &self.secret {
            headers.push((
                "X-Signature-256".into(),
                sha256_header(secret.expose_secret().as_bytes(), &body),
            ));
        }
        if !self.keys.is_empty() {
            let now = chrono::Utc::now().timestamp();
            headers.push(("webhook-id".into(), id.clone()));
            headers.push(("webhook-timestamp".into(), now.to_string()));
            headers.push((
                "webhook-signature".into(),
                standard_signature(&self.keys, &id, now, &body),
            ));
        }
        let mut post =
            Post::bytes(&self.target, body, "application/json").timeout(Some(self.timeout));
        for (name, value) in &headers {
            post = post.header(name, value)?;
        }
        for (name, value) in &self.headers {
            post = post.header(name, value.expose_secret())?;
        }
        match post.send(&self.client).await {
            Ok(answer) => Ok(Receipt::new().with_status(answer.status).with_id(id)),
            Err(e) => {
                let mut err = classify(&e, &self.target, None);
                match e.status().map(|s| s.as_u16()) {
                    // Standard Webhooks: 502/504 mean "throttle"; 410 disables the endpoint.
                    Some(502 | 504) => err = err.with_kind(NotifyErrorKind::Transient),
                    Some(410) => {
                        err = err.with_hint(format!(
                            "the endpoint asked to stop sending (410 Gone); after fixing it run `flowspec notify enable {}`",
                            self.name
                        ))
                    }
                    _ => {}
                }
                Err(err)
            }
        }
    }
}
