//! Notifications: the hub of `integrations:` / `notifications:` ([`Notifications`],
//! from [`Project::notifications`](crate::Project::notifications)), and what the
//! `notify` and `integrations` commands do with it: check a name, prepare a sample or
//! an event for delivery, list and replay dead letters, enable an integration a
//! `410 Gone` disabled, and report each integration's state.
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let hub = project.notifications()?;
//! let sending = flowspec::notify::sample(&hub, "slack", None)?;
//! let report = sending.send(&hub).await;
//! println!("{} deliveries, failures: {}", report.deliveries.len(), report.has_failures());
//! # Ok(()) }
//! ```

pub use flowspec_notify::delivery::{
    Delivery, DeliveryReport, DeliveryRequest, DeliveryStatus, Notifications,
};
pub use flowspec_notify::*;

use flowspec_core::{Event, EventType};
use flowspec_notify::config::State;
use flowspec_notify::state::DeadLetter;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::project::Project;

/// The sample event type of [`sample`] when none is given.
pub const SAMPLE_EVENT_TYPE: &str = "implement.completed";

/// A `notify_on` name (`implementation_failed`) as its dotted event type
/// (`implement.failed`); any other text as it is.
pub fn event_type_of(text: &str) -> String {
    events::event_type_of(text).unwrap_or(text).to_owned()
}

/// Whether `name` is a configured integration (`webhooks.analytics`) or a kind of
/// them (`slack`, `webhooks`); else a usage error naming the close one or the list.
pub fn require_integration(hub: &Notifications, name: &str) -> Result<()> {
    let config = hub.config();
    if config
        .integrations
        .iter()
        .any(|i| i.name == name || i.kind == name)
    {
        return Ok(());
    }
    let names: Vec<&str> = config.names().collect();
    let hint = match flowspec_core::config::suggest(name, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if names.is_empty() => {
            "no integrations are configured under `integrations:` in .flowspec/flowspec.yaml".into()
        }
        None => format!("configured: {}", names.join(", ")),
    };
    Err(Error::Usage(format!(
        "no integration named `{name}` ({hint})"
    )))
}

/// An event with its delivery request, ready to [`send`](Sending::send).
#[derive(Debug)]
pub struct Sending {
    /// The event.
    pub event: Event,
    /// Where it goes.
    pub request: DeliveryRequest,
    /// How many integrations it goes to.
    pub targets: usize,
}

impl Sending {
    /// Delivers it through `hub`.
    pub async fn send(&self, hub: &Notifications) -> DeliveryReport {
        hub.dispatch(&self.event, &self.request).await
    }
}

/// A sample event of `event_type` (default [`SAMPLE_EVENT_TYPE`]; a `notify_on` name
/// works too) for `integration` alone, ignoring routing and rate limits.
pub fn sample(hub: &Notifications, integration: &str, event_type: Option<&str>) -> Result<Sending> {
    require_integration(hub, integration)?;
    let event_type = event_type_of(event_type.unwrap_or(SAMPLE_EVENT_TYPE));
    EventType::new(event_type.clone()).map_err(|e| Error::Usage(e.to_string()))?;
    let event = template::sample_event(&event_type);
    let request = DeliveryRequest::to(vec![integration.to_owned()], "cli").test(true);
    let targets = hub.targets(&event, &request.route).len();
    Ok(Sending {
        event,
        request,
        targets,
    })
}

/// `event` for the integrations whose routing lists match it, or for `to` alone
/// (each must be configured), sent `via` (`cli`, a bot's name).
pub fn prepare(hub: &Notifications, event: Event, to: &[String], via: &str) -> Result<Sending> {
    let request = if to.is_empty() {
        DeliveryRequest::by_event(via)
    } else {
        for name in to {
            require_integration(hub, name).map_err(|_| {
                Error::Usage(format!(
                    "no integration named `{name}` (see `flowspec integrations list`)"
                ))
            })?;
        }
        DeliveryRequest::to(to.to_vec(), via)
    };
    let targets = hub.targets(&event, &request.route).len();
    Ok(Sending {
        event,
        request,
        targets,
    })
}

/// The failed deliveries kept for replay; with `include_replayed`, those already
/// replayed too.
pub async fn dead_letters(hub: &Notifications, include_replayed: bool) -> Result<Vec<DeadLetter>> {
    let state = hub.state().await?;
    Ok(state.dead_letters(!include_replayed).await?)
}

/// Which dead letters [`replay`] sends again.
#[derive(Clone, Debug)]
pub enum ReplaySelection {
    /// These ids.
    Ids(Vec<String>),
    /// Every dead letter not replayed yet.
    AllPending,
}

/// Sends dead letters again, each with its delivery id (receivers can deduplicate).
/// An unknown id is a usage error.
pub async fn replay(hub: &Notifications, selection: ReplaySelection) -> Result<Vec<Delivery>> {
    let ids = match selection {
        ReplaySelection::Ids(ids) if ids.is_empty() => {
            return Err(Error::Usage(
                "give dead letter ids or --all (see `flowspec notify dead-letters`)".into(),
            ));
        }
        ReplaySelection::Ids(ids) => ids,
        ReplaySelection::AllPending => dead_letters(hub, false)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect(),
    };
    let mut deliveries = Vec::new();
    for id in &ids {
        let delivery = hub
            .replay(id)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        deliveries.push(delivery);
    }
    Ok(deliveries)
}

/// Enables `integration` again after a `410 Gone` disabled it. Returns whether it
/// was disabled.
pub async fn enable(hub: &Notifications, integration: &str) -> Result<bool> {
    if hub.config().get(integration).is_none() {
        return Err(Error::Usage(format!(
            "no integration named `{integration}` (see `flowspec integrations list`)"
        )));
    }
    Ok(hub.state().await?.enable(integration).await?)
}

/// One integration as `flowspec integrations list` shows it: never a secret's value.
#[derive(Clone, Debug, Serialize)]
pub struct IntegrationStatus {
    /// Its name (`slack`, `webhooks.analytics`).
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// Whether `enabled: true`.
    pub enabled: bool,
    /// `ready`, `disabled`, `missing secrets`, or `disabled after <reason>`.
    pub status: String,
    /// The routing key of its kind (`notify_on`, `alert_on`, `report_on`).
    pub routing_key: &'static str,
    /// The entries of its routing list.
    pub routes: Vec<String>,
    /// Where it sends (no secret), when ready.
    pub target: Option<String>,
    /// The required secrets that are not set.
    pub missing_secrets: Vec<String>,
    /// The variables its kind reads by default, and whether each is set.
    pub default_secrets: Vec<DefaultSecret>,
    /// `max_per_hour` and `max_per_day`.
    pub rate_limit: RateLimitStatus,
    /// How many times a failed delivery is retried.
    pub retries: usize,
    /// Its line in flowspec.yaml.
    pub line: Option<u32>,
}

/// A variable an integration reads by default.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultSecret {
    /// The variable (`SLACK_WEBHOOK_URL`).
    pub env: &'static str,
    /// The option that may name it explicitly (`webhook_url`).
    pub option: &'static str,
    /// Whether the integration cannot work without it.
    pub required: bool,
    /// Whether it has a non-empty value.
    pub set: bool,
}

/// An integration's rate limits.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RateLimitStatus {
    /// At most this many per clock hour.
    pub max_per_hour: Option<u64>,
    /// At most this many per UTC day.
    pub max_per_day: Option<u64>,
}

/// Every configured integration's state: ready, disabled (by config or after a
/// `410 Gone`), or missing secrets, with its routing, target and limits.
pub async fn statuses(project: &Project, hub: &Notifications) -> Vec<IntegrationStatus> {
    let disabled = match hub.state().await {
        Ok(state) => state.list_disabled().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let vars = project.vars();
    hub.config()
        .integrations
        .iter()
        .map(|i| {
            let gone = disabled.iter().find(|d| d.integration == i.name);
            let (status, missing) = match (&i.state, gone) {
                (State::Disabled, _) => ("disabled".into(), Vec::new()),
                (State::MissingSecrets(names), _) => ("missing secrets".into(), names.clone()),
                (State::Ready(_), Some(d)) => (format!("disabled after {}", d.reason), Vec::new()),
                (State::Ready(_), None) => ("ready".into(), Vec::new()),
            };
            IntegrationStatus {
                name: i.name.clone(),
                kind: i.kind,
                enabled: i.is_enabled(),
                status,
                routing_key: i.routing_key,
                routes: i.routes.entries().to_vec(),
                target: i.notifier().map(|n| n.target()),
                missing_secrets: missing,
                default_secrets: i
                    .secrets
                    .iter()
                    .filter(|s| !s.env.is_empty())
                    .map(|s| DefaultSecret {
                        env: s.env,
                        option: s.option,
                        required: s.required,
                        set: vars.get(s.env).is_some_and(|v| !v.is_empty()),
                    })
                    .collect(),
                rate_limit: RateLimitStatus {
                    max_per_hour: i.rate_limit.max_per_hour,
                    max_per_day: i.rate_limit.max_per_day,
                },
                retries: i.retry_schedule.len(),
                line: i.line,
            }
        })
        .collect()
}
