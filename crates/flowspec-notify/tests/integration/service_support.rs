//! Helpers shared by the wiremock tests of the API notifiers (Jira, Linear, Azure
//! DevOps, GitHub Projects, PagerDuty, Opsgenie, Datadog, New Relic, Sentry).

use std::sync::Arc;

use flowspec_core::Event;
use flowspec_core::notifier::{Notification, Notifier};
use serde_json::Value;
use wiremock::MockServer;

pub use crate::{fallback, load};

/// The notifier of the only integration in `yaml`.
pub fn notifier(yaml: &str, vars: &[(&str, &str)]) -> Arc<dyn Notifier> {
    let config = load(yaml, vars).unwrap_or_else(|e| panic!("config must load:\n{e}"));
    assert_eq!(config.integrations.len(), 1, "one integration expected");
    config.integrations[0]
        .notifier()
        .unwrap_or_else(|| panic!("not ready: {:?}", config.integrations[0].state))
        .clone()
}

/// The config error text of `yaml` (it must fail).
pub fn config_error(yaml: &str, vars: &[(&str, &str)]) -> String {
    match load(yaml, vars) {
        Ok(_) => panic!("the config must be refused:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

/// The notification of the sample event of `event_type`.
pub fn sample(event_type: &str) -> Notification {
    flowspec_notify::testing::sample_notification(event_type)
}

/// The notification of `event`, as the delivery layer builds it.
pub fn notification(event: &Event) -> Notification {
    flowspec_notify::template::default_notification(event)
}

/// The sample event of `event_type` with extra fields.
pub fn sample_with(event_type: &str, extra: &[(&str, Value)]) -> Notification {
    let mut json = flowspec_notify::testing::sample_event(event_type).to_json();
    for (k, v) in extra {
        json[*k] = v.clone();
    }
    notification(&Event::from_json(json).expect("valid event"))
}

/// The JSON bodies of the requests `server` received whose path is `path` (requests
/// without a body, such as GETs, are left out).
pub async fn bodies(server: &MockServer, path: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path && !r.body.is_empty())
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

/// Every request `server` received, as `METHOD /path`.
pub async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}
