//! What Datadog is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// Datadog sites and their API hosts, with short names.
pub const SITES: &[(&str, &str, &str)] = &[
    ("datadoghq.com", "us1", "https://api.datadoghq.com"),
    ("us3.datadoghq.com", "us3", "https://api.us3.datadoghq.com"),
    ("us5.datadoghq.com", "us5", "https://api.us5.datadoghq.com"),
    ("datadoghq.eu", "eu1", "https://api.datadoghq.eu"),
    ("ap1.datadoghq.com", "ap1", "https://api.ap1.datadoghq.com"),
    ("ap2.datadoghq.com", "ap2", "https://api.ap2.datadoghq.com"),
    ("ddog-gov.com", "us1-fed", "https://api.ddog-gov.com"),
    (
        "us2.ddog-gov.com",
        "us2-fed",
        "https://api.us2.ddog-gov.com",
    ),
    ("uk1.datadoghq.com", "uk1", "https://api.uk1.datadoghq.com"),
];

/// The event's time (epoch seconds), or now when it is older than `max_age` or in
/// the future: Datadog refuses events older than 18 hours and metric points older than
/// an hour (a notification replayed from the dead letters later is still counted).
pub(super) fn recent(n: &Notification, max_age: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let at = n.event.timestamp().timestamp();
    if at > now || now - at > max_age {
        now
    } else {
        at
    }
}

/// The duration an event reports, in seconds.
pub(super) fn duration_seconds(n: &Notification) -> Option<f64> {
    let number = |path: &str| match n.event.field(path)? {
        FieldValue::Json(Value::Number(x)) => x.as_f64(),
        FieldValue::Json(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    number("duration_seconds")
        .or_else(|| number("duration"))
        .or_else(|| number("duration_ms").map(|ms| ms / 1000.0))
        .filter(|d| d.is_finite() && *d >= 0.0)
}

/// Datadog's error body: `{"errors": ["..."]}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let mut errors = v
        .get("errors")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned);
    let mut service = ServiceError::new(errors.next()?);
    for e in errors {
        service = service.with_detail(e);
    }
    Some(service)
}
