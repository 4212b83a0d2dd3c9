//! What a dispatch asks for and what it reports: the request (which integrations), each
//! delivery's outcome, and the stable delivery id shared by retries and replays.

use flowspec_core::notifier::{NotifyErrorKind, Receipt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::template::Templates;

/// The stable id of delivering `event_id` to `integration`: the same for every retry
/// and replay (webhook `webhook-id`, `Idempotency-Key`, dead-letter id).
///
/// ```
/// let a = flowspec_notify::delivery::delivery_id("0193-e1", "webhooks.analytics");
/// assert_eq!(a, flowspec_notify::delivery::delivery_id("0193-e1", "webhooks.analytics"));
/// assert!(a.starts_with("msg_") && a.len() == 4 + 26);
/// ```
pub fn delivery_id(event_id: &str, integration: &str) -> String {
    let digest = Sha256::new()
        .chain_update(event_id.as_bytes())
        .chain_update([0u8])
        .chain_update(integration.as_bytes())
        .finalize();
    // 26 lowercase base-32 characters (130 bits): short, URL- and header-safe.
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits: u128 = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
    let mut out = String::with_capacity(30);
    out.push_str("msg_");
    for _ in 0..26 {
        out.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

/// How a delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// The service accepted it.
    Delivered,
    /// Every attempt failed (see `error`); a dead letter was kept.
    Failed,
    /// Dropped by a rate limit (audited; summarised on the next message).
    Dropped,
    /// Not attempted: missing secret, disabled after 410, or `enabled: false`.
    Skipped,
}

impl DeliveryStatus {
    /// `delivered`, `failed`, `dropped` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dropped => "dropped",
            DeliveryStatus::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One integration's delivery of one event.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The integration.
    pub integration: String,
    /// Its kind.
    pub kind: String,
    /// How it ended.
    pub status: DeliveryStatus,
    /// Attempts made (0 when not attempted).
    pub attempts: u32,
    /// Time from the first attempt to the end, in ms.
    pub latency_ms: u64,
    /// Where it went (redacted).
    pub target: String,
    /// The delivery id.
    pub delivery_id: String,
    /// What the service said, when it accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Why it failed, was dropped or skipped (masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The error's kind, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<NotifyErrorKind>,
}

/// What happened to one event.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// One per integration concerned, in config order.
    pub deliveries: Vec<Delivery>,
}

impl DeliveryReport {
    /// Whether any delivery failed.
    pub fn has_failures(&self) -> bool {
        self.deliveries
            .iter()
            .any(|d| d.status == DeliveryStatus::Failed)
    }

    /// How many have `status`.
    pub fn count(&self, status: DeliveryStatus) -> usize {
        self.deliveries
            .iter()
            .filter(|d| d.status == status)
            .count()
    }
}

/// Which integrations an event goes to.
#[derive(Clone, Debug, Default)]
pub enum Route {
    /// Those whose routing lists match the event (enabled ones).
    #[default]
    ByEvent,
    /// These, by name, whatever their routing lists say (`notify: [slack]` in a hook).
    /// A kind name (`webhooks`) stands for all its integrations.
    To(Vec<String>),
}

/// How to deliver one event.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DeliveryRequest {
    /// Which integrations.
    pub route: Route,
    /// Who asks (a hook name, `cli`): written to the audit line as `via`.
    pub via: String,
    /// Templates that win over the integrations' own (a hook's `template:`).
    pub templates: Option<Templates>,
    /// Ignore rate limits (replays and `notify test`).
    pub bypass_rate_limit: bool,
    /// Marks the audit lines `"test": true`.
    pub test: bool,
}

impl DeliveryRequest {
    /// Route by event, asked by `via`.
    pub fn by_event(via: impl Into<String>) -> Self {
        DeliveryRequest {
            via: via.into(),
            ..DeliveryRequest::default()
        }
    }

    /// Send to these integrations, asked by `via`.
    pub fn to(names: Vec<String>, via: impl Into<String>) -> Self {
        DeliveryRequest {
            route: Route::To(names),
            via: via.into(),
            ..DeliveryRequest::default()
        }
    }

    /// Sets the overriding templates.
    pub fn templates(mut self, templates: Option<Templates>) -> Self {
        self.templates = templates;
        self
    }

    /// Marks it a test (`notify test`): audited as such, rate limits ignored.
    pub fn test(mut self, test: bool) -> Self {
        self.test = test;
        self.bypass_rate_limit |= test;
        self
    }
}
