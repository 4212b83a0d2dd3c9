//! What Jira is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The acceptance criteria of an event: the items of its `acceptance_criteria` list,
/// or the non-empty lines of its text (bullets removed), as subtask summaries.
pub fn acceptance_criteria(n: &Notification) -> Vec<String> {
    let items: Vec<String> = match n.event.field("acceptance_criteria") {
        Some(FieldValue::Json(Value::Array(items))) => items.iter().map(scalar_text).collect(),
        Some(FieldValue::Json(Value::String(text))) => text.lines().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item
            .trim()
            .trim_start_matches(['-', '*', '•'])
            .trim()
            .replace(['\n', '\r'], " ");
        let item = truncate_chars(&item, 255);
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The label that marks the issue of a notification's subject (`flowspec-FEAT-0001`):
/// Jira labels take no spaces.
pub fn dedup_label(n: &Notification) -> String {
    n.dedup_key()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The summary of a spec's issue: `FEAT-0001: User Authentication` when the event has
/// both, else the notification's title.
pub fn summary(n: &Notification) -> String {
    let text = match (n.field("id"), n.field("title")) {
        (Some(id), Some(title)) => format!("{id}: {title}"),
        (None, Some(title)) => title.to_owned(),
        _ => n.title.clone(),
    };
    truncate_chars(&text.replace(['\n', '\r'], " "), 255)
}

// --- Atlassian Document Format -------------------------------------------------------

pub(super) fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

pub(super) fn strong(t: &str) -> Value {
    json!({"type": "text", "text": t, "marks": [{"type": "strong"}]})
}

pub(super) fn link(t: &str, href: &str) -> Value {
    json!({"type": "text", "text": t, "marks": [{"type": "link", "attrs": {"href": href}}]})
}

/// A paragraph; empty text nodes (invalid in ADF) are left out.
pub(super) fn paragraph(content: Vec<Value>) -> Value {
    let content: Vec<Value> = content.into_iter().filter(|c| c["text"] != "").collect();
    json!({"type": "paragraph", "content": content})
}

pub(super) fn bullet_list(items: Vec<Vec<Value>>) -> Value {
    json!({"type": "bulletList", "content": items.into_iter().map(|content| json!({
        "type": "listItem", "content": [paragraph(content)]
    })).collect::<Vec<_>>()})
}

pub(super) fn doc(content: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

/// The notification as an ADF document: the title in bold, the summary, the fields as
/// a bullet list, the error in a code block, the links, and a footer.
pub fn adf(n: &Notification) -> Value {
    let mut content = vec![paragraph(vec![strong(&n.title)])];
    for line in n.summary.lines().filter(|l| !l.trim().is_empty()) {
        content.push(paragraph(vec![text(line)]));
    }
    let items: Vec<Vec<Value>> = n
        .fields
        .iter()
        .filter(|f| f.key != "error" && !f.value.is_empty())
        .map(|f| vec![strong(&format!("{}: ", f.label)), text(&f.value)])
        .collect();
    if !items.is_empty() {
        content.push(bullet_list(items));
    }
    if let Some(error) = n.field("error").filter(|e| !e.is_empty()) {
        content.push(paragraph(vec![strong("Error:")]));
        content.push(json!({"type": "codeBlock", "attrs": {"language": "text"},
            "content": [text(&truncate_chars(error, 30_000))]}));
    }
    if !n.links.is_empty() {
        let mut parts = Vec::new();
        for (i, l) in n.links.iter().enumerate() {
            if i > 0 {
                parts.push(text(" · "));
            }
            parts.push(link(&l.title, &l.url));
        }
        content.push(paragraph(parts));
    }
    content.push(paragraph(vec![text(&format!(
        "flowspec · {} · {}",
        n.event_name,
        n.event.timestamp_rfc3339()
    ))]));
    doc(content)
}

/// An event value as ADF: lists as bullet lists, text as paragraphs.
pub(super) fn value_adf(value: &Value) -> Value {
    match value {
        Value::Array(items) => doc(vec![bullet_list(
            items
                .iter()
                .map(|i| vec![text(&scalar_text(i))])
                .filter(|c| c[0]["text"] != "")
                .collect(),
        )]),
        other => {
            let t = scalar_text(other);
            doc(t
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| paragraph(vec![text(l)]))
                .collect())
        }
    }
}

pub(super) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A JQL string literal.
pub(super) fn jql_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(super) fn unexpected(step: &str, answer: &Answer) -> NotifyError {
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "Jira {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
}

/// Jira's `ErrorCollection`: `errorMessages` and `errors` (field → message).
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let mut lines: Vec<String> = v
        .get("errorMessages")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(errors) = v.get("errors").and_then(Value::as_object) {
        for (field, message) in errors {
            lines.push(format!("{field}: {}", message.as_str().unwrap_or_default()));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut service = ServiceError::new(lines.remove(0));
    for line in lines {
        service = service.with_detail(line);
    }
    Some(service)
}
