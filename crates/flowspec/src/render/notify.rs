//! Notifications for people: deliveries, dead letters and the configured integrations.

use flowspec_notify::state::DeadLetter;

use super::{Painter, human_ms, safe, table, utc_time};
use crate::notify::{self, Delivery, DeliveryReport, IntegrationStatus};

/// A table of deliveries: integration, status, attempts, latency, target, detail.
pub fn deliveries(p: Painter, deliveries: &[Delivery]) -> String {
    let rows = deliveries.iter().map(|d| {
        vec![
            d.integration.clone(),
            d.status.to_string(),
            d.attempts.to_string(),
            human_ms(d.latency_ms),
            d.target.clone(),
            d.reason.clone().unwrap_or_default(),
        ]
    });
    let header = [
        "INTEGRATION",
        "STATUS",
        "ATTEMPTS",
        "LATENCY",
        "TARGET",
        "DETAIL",
    ];
    format!("{}\n", table(&header, rows, p))
}

/// What a send did: its deliveries, or why nothing received the event.
pub fn sent(p: Painter, report: &DeliveryReport) -> String {
    if report.deliveries.is_empty() {
        return format!(
            "no integration receives `{}` (check `notify_on` / `alert_on` / `events` with `flowspec integrations list`)\n",
            safe(&notify::events::display_name(&report.event_type))
        );
    }
    deliveries(p, &report.deliveries)
}

/// The dead letters (`flowspec notify dead-letters`); `all` says whether replayed
/// ones were asked for.
pub fn dead_letters(p: Painter, letters: &[DeadLetter], all: bool) -> String {
    if letters.is_empty() {
        let waiting = if all { "" } else { " waiting for replay" };
        return format!("no dead letters{waiting}\n");
    }
    let rows = letters.iter().map(|d| {
        let state = if d.replayed_at.is_some() {
            "replayed"
        } else {
            "pending"
        };
        vec![
            d.id.clone(),
            d.integration.clone(),
            notify::events::display_name(&d.event_type),
            utc_time(d.created_at),
            d.attempts.to_string(),
            state.into(),
            d.error.clone(),
        ]
    });
    let header = [
        "ID",
        "INTEGRATION",
        "EVENT",
        "FAILED AT",
        "ATTEMPTS",
        "STATE",
        "ERROR",
    ];
    format!("{}\n", table(&header, rows, p))
}

/// The configured integrations: kind, status (and missing secrets), the events they
/// receive, rate limits, target (`flowspec integrations list`). `settings_file` is
/// named when there are none.
pub fn integrations(p: Painter, items: &[IntegrationStatus], settings_file: &str) -> String {
    if items.is_empty() {
        return format!(
            "no integrations configured: add them under `integrations:` in {settings_file}\n"
        );
    }
    let count = |n: Option<u64>| n.map_or("-".into(), |n| n.to_string());
    let rows = items.iter().map(|i| {
        let status = match i.missing_secrets.as_slice() {
            [] => i.status.clone(),
            missing => format!("{}: {}", i.status, missing.join(", ")),
        };
        let limit = match (i.rate_limit.max_per_hour, i.rate_limit.max_per_day) {
            (None, None) => "-".to_owned(),
            (h, d) => format!("{}/h {}/d", count(h), count(d)),
        };
        let routes = if i.routes.is_empty() {
            "(explicit only)".into()
        } else {
            i.routes.join(", ")
        };
        let target = i.target.clone().unwrap_or_else(|| "-".into());
        vec![
            i.name.clone(),
            i.kind.to_owned(),
            status,
            routes,
            limit,
            target,
        ]
    });
    let header = ["NAME", "KIND", "STATUS", "EVENTS", "RATE LIMIT", "TARGET"];
    format!("{}\n", table(&header, rows, p))
}
