//! What Opsgenie is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The alias of `n` (at most 512 characters): see [`crate::pagerduty::dedup_key`].
pub fn alias(n: &Notification) -> String {
    truncate_chars(&crate::pagerduty::dedup_key(n), 512)
}

/// Opsgenie's error body: `{"message", "errors": {"field": "..."}, "requestId"}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?.to_owned();
    let mut service = ServiceError::new(message);
    if let Some(errors) = v.get("errors").and_then(Value::as_object) {
        for (field, m) in errors {
            service = service.with_detail(format!("{field}: {}", m.as_str().unwrap_or_default()));
        }
    }
    Some(service)
}
