//! What PagerDuty is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

pub(super) const DEFAULT_API: &str = "https://events.pagerduty.com";

/// The dedup key of `n`: `flowspec/<subject>/<first segment of the event type>`, the
/// same for a failure and the later success of the same work. At most 255 characters.
///
/// ```
/// use flowspec_notify::pagerduty::dedup_key;
/// use flowspec_notify::testing::sample_notification;
/// assert_eq!(dedup_key(&sample_notification("implement.failed")), "flowspec/FEAT-0001/implement");
/// assert_eq!(dedup_key(&sample_notification("implement.completed")), "flowspec/FEAT-0001/implement");
/// ```
pub fn dedup_key(n: &Notification) -> String {
    let family = n
        .event
        .event_type()
        .as_str()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    truncate_chars(&format!("{}/{family}", n.dedup_key()), 255)
}

/// PagerDuty's error body: `{"status", "message", "errors": [...]}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut service = ServiceError::new(message);
    if let Some(status) = v.get("status").and_then(Value::as_str) {
        service = service.with_code(status);
    }
    for e in v
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = e.as_str() {
            service = service.with_detail(e);
        }
    }
    (!service.message.is_empty() || !service.details.is_empty()).then_some(service)
}
