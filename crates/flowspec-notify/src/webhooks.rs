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
//! `webhook-signature`. The body is seed 003's payload plus the whole notification.
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
use crate::http::{Post, Target, classify};
use crate::signature::{SigningKey, sha256_header, standard_signature};

const SECRET: SecretVar = SecretVar::optional(
    "endpoints[].secret",
    "WEBHOOK_SECRET",
    "HMAC key for X-Signature-256",
    "s3cr3t-hmac-key",
);
const SIGNING_KEY: SecretVar = SecretVar::optional(
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
    /// Events it receives (seed names or dotted types); all when absent.
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

/// Sends to one endpoint.
pub struct WebhookNotifier {
    name: String,
    target: Target,
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

/// Seed 003's payload for `n`, plus the notification's text, fields and the event data.
pub fn payload(n: &Notification, delivery_id: &str) -> Value {
    let event = &n.event;
    let text = |paths: &[&str]| -> Option<Value> {
        paths.iter().find_map(|p| match event.field(p)? {
            flowspec_core::event::FieldValue::Str(s) => Some(Value::String(s.to_owned())),
            flowspec_core::event::FieldValue::Json(v) if !v.is_null() && !v.is_object() => {
                Some(v.clone())
            }
            _ => None,
        })
    };
    let object = |entries: &[(&str, &[&str])]| -> Option<Value> {
        let map: Map<String, Value> = entries
            .iter()
            .filter_map(|(k, paths)| text(paths).map(|v| ((*k).to_owned(), v)))
            .collect();
        (!map.is_empty()).then_some(Value::Object(map))
    };
    let mut body = Map::new();
    body.insert("event".into(), n.event_name.clone().into());
    body.insert("type".into(), event.event_type().as_str().into());
    body.insert("timestamp".into(), event.timestamp_rfc3339().into());
    body.insert("event_id".into(), event.id().as_str().into());
    body.insert("delivery_id".into(), delivery_id.into());
    if let Some(spec) = object(&[
        ("id", &["spec_id", "spec.id", "id"]),
        ("title", &["title", "spec_title", "spec.title"]),
        ("file", &["spec_file", "spec.file", "file"]),
        ("status", &["spec_status", "spec.status", "status"]),
    ]) {
        body.insert("spec".into(), spec);
    }
    if let Some(pr) = object(&[
        ("number", &["pr_number", "pr.number", "pr"]),
        ("url", &["pr_url", "pr.url"]),
    ]) {
        body.insert("pr".into(), pr);
    }
    let repository = match text(&["repository", "repo"]) {
        Some(Value::String(full)) if full.contains('/') => {
            let (owner, name) = full.split_once('/').expect("checked");
            Some(json!({"owner": owner, "name": name}))
        }
        _ => object(&[
            ("owner", &["repository.owner", "repo.owner"]),
            ("name", &["repository.name", "repo.name"]),
        ]),
    };
    if let Some(repository) = repository {
        body.insert("repository".into(), repository);
    }
    if let Some(feature) = event.feature() {
        body.insert("feature".into(), feature.into());
    }
    body.insert(
        "notification".into(),
        json!({
            "title": n.title,
            "summary": n.summary,
            "severity": n.severity,
            "outcome": n.outcome,
            "subject": n.subject,
            "fields": n.fields,
            "links": n.links,
        }),
    );
    body.insert("data".into(), Value::Object(event.data().clone()));
    Value::Object(body)
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

/// `webhooks`.
pub struct Factory;

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}`: {e} (write e.g. `5s`, `1m`, `2h`)"))
}

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "webhooks"
    }

    fn describe(&self) -> &'static str {
        "custom HTTPS endpoints: seed 003 JSON payload, HMAC and Standard Webhooks signatures, retries, 410 handling"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  webhooks:
    enabled: true
    endpoints:
      - name: "internal-system"
        url: "https://internal.example.com/spec-webhook"
        events:
          - "spec_approved"
          - "implementation_completed"
        headers:
          Authorization: "Bearer ${WEBHOOK_TOKEN:-token-from-env}"
        retry_count: 3

      - name: "analytics"
        url: "https://analytics.example.com/events"
        events:
          - "implementation_completed"
        # HMAC signature verification
        secret: "${WEBHOOK_SECRET}"
        signing_keys: ["${WEBHOOK_SIGNING_KEY}"]
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        // Endpoints name their own variables; these are the ones the example uses.
        &[SECRET, SIGNING_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: WebhooksConfig = cx.deserialize(config)?;
        let endpoint_nodes: Vec<&Node> = match config.get("endpoints").map(|n| &n.value) {
            Some(YamlValue::Seq(items)) => items.iter().collect(),
            _ => Vec::new(),
        };
        if parsed.endpoints.is_empty() {
            return Err(cx
                .error(
                    config.get("endpoints"),
                    "endpoints",
                    "`endpoints` is empty: add at least one `- name: ... url: ...`",
                )
                .into());
        }
        let mut errors = ConfigErrors::default();
        let mut built = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (i, (endpoint, node)) in parsed.endpoints.iter().zip(endpoint_nodes).enumerate() {
            let field = |f: &str| format!("endpoints[{i}].{f}");
            if endpoint.name.is_empty()
                || !endpoint
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                errors.push(cx.error(
                    node.get("name"),
                    &field("name"),
                    "an endpoint name uses letters, digits, `-` and `_`",
                ));
                continue;
            }
            if names.contains(&endpoint.name.as_str()) {
                errors.push(cx.error(
                    node.get("name"),
                    &field("name"),
                    format!("two endpoints are named `{}`", endpoint.name),
                ));
                continue;
            }
            names.push(&endpoint.name);
            // Every problem of the endpoint is reported, so nothing `continue`s early.
            let target = match cx.interpolate(node.get("url"), &field("url"), &endpoint.url) {
                Ok(url) => match Target::with_api_url(&url, parsed.api_url.as_deref()) {
                    Ok(t) => Some(t),
                    Err(m) => {
                        errors.push(cx.error(node.get("url"), &field("url"), m));
                        None
                    }
                },
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
            let mut headers = Vec::new();
            for (name, value) in &endpoint.headers {
                let at = node.get("headers").and_then(|h| h.get(name));
                match cx.interpolate_secret(at, &field(&format!("headers.{name}")), value) {
                    Ok(v) => headers.push((name.clone(), v)),
                    Err(e) => errors.push(e),
                }
            }
            let secret = match node.get("secret") {
                Some(n) => match cx.secret(Some(n), &SECRET) {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                None => None,
            };
            let mut keys = Vec::new();
            if let Some(YamlValue::Seq(items)) = node.get("signing_keys").map(|n| &n.value) {
                for item in items {
                    match cx.secret(Some(item), &SIGNING_KEY) {
                        Ok(Some(s)) => match SigningKey::parse(s.expose_secret()) {
                            Ok(k) => keys.push(k),
                            Err(m) => errors.push(cx.error(Some(item), &field("signing_keys"), m)),
                        },
                        Ok(None) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
            let timeout = match &endpoint.timeout {
                Some(t) => match duration(t) {
                    Ok(d) if d > Duration::ZERO => d,
                    Ok(_) => {
                        errors.push(cx.error(
                            node.get("timeout"),
                            &field("timeout"),
                            "`timeout` must be more than 0",
                        ));
                        Duration::from_secs(30)
                    }
                    Err(m) => {
                        errors.push(cx.error(node.get("timeout"), &field("timeout"), m));
                        Duration::from_secs(30)
                    }
                },
                None => Duration::from_secs(30),
            };
            let schedule = match (&endpoint.retry_schedule, endpoint.retry_count) {
                (Some(list), _) => {
                    let mut out = Vec::new();
                    for text in list {
                        match duration(text) {
                            Ok(d) => out.push(d),
                            Err(m) => errors.push(cx.error(
                                node.get("retry_schedule"),
                                &field("retry_schedule"),
                                m,
                            )),
                        }
                    }
                    Some(out)
                }
                (None, Some(n)) if n > crate::config::MAX_RETRY_COUNT => {
                    errors.push(cx.error(
                        node.get("retry_count"),
                        &field("retry_count"),
                        format!(
                            "`retry_count` must be at most {}",
                            crate::config::MAX_RETRY_COUNT
                        ),
                    ));
                    None
                }
                (None, Some(n)) => Some(crate::config::exponential(n)),
                (None, None) => None,
            };
            let Some(target) = target else {
                continue;
            };
            let name = format!("{}.{}", cx.name(), endpoint.name);
            let notifier = WebhookNotifier {
                name: name.clone(),
                target,
                headers,
                secret,
                keys,
                timeout,
                client: HttpClient::shared(),
            };
            let mut b = Built::new(name, Arc::new(notifier)).with_events(endpoint.events.clone());
            if let Some(schedule) = schedule {
                b = b.with_retry_schedule(schedule);
            }
            built.push(b);
        }
        errors.into_result(built)
    }
}
