//! What a webhook endpoint is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The webhook payload for `n` (event, feature, status, timestamp), plus the notification's text, fields and the event data.
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
