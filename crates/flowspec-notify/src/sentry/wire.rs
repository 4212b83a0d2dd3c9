//! What Sentry is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The wait after a `429` that names none.
pub(super) const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The Sentry `event_id` of `n`: its event id without dashes when it is a UUID, else
/// derived from it. The same event always gets the same id, so Sentry drops a
/// repeated report.
pub fn event_id(n: &Notification) -> String {
    let id = n.event.id().as_str();
    match uuid::Uuid::parse_str(id) {
        Ok(u) => u.simple().to_string(),
        Err(_) => Sha256::digest(id.as_bytes())[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

pub(super) fn text_field(n: &Notification, path: &str) -> Option<String> {
    match n.event.field(path)? {
        FieldValue::Str(s) => Some(s.to_owned()),
        FieldValue::Json(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        FieldValue::Json(Value::Number(x)) => Some(x.to_string()),
        _ => None,
    }
}

/// The longest wait `X-Sentry-Rate-Limits` asks for the `error` category (an entry
/// without categories applies to all).
///
/// ```
/// use std::time::Duration;
/// use flowspec_notify::sentry::error_rate_limit;
/// let h = "60:error;transaction:organization:quota_exceeded, 2700::project";
/// assert_eq!(error_rate_limit(h), Some(Duration::from_secs(2700)));
/// assert_eq!(error_rate_limit("30:transaction:key"), None);
/// ```
pub fn error_rate_limit(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.trim().split(':');
            let secs = parts.next()?.trim().parse::<f64>().ok()?;
            let categories = parts.next().unwrap_or("");
            let applies = categories.trim().is_empty()
                || categories
                    .split(';')
                    .any(|c| matches!(c.trim(), "error" | "default"));
            (applies && secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
        })
        .max()
}
