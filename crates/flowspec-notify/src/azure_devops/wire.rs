//! What Azure DevOps is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

pub(super) const DEFAULT_API: &str = "https://dev.azure.com";

pub(super) const API_VERSION: &str = "api-version=7.1";

/// `text` with `&`, `<`, `>` and `"` escaped for HTML.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The notification as HTML (`System.Description`, `System.History`).
pub fn html(n: &Notification) -> String {
    let mut out = format!("<p><b>{}</b></p>", escape(&n.title));
    for line in n.summary.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&format!("<p>{}</p>", escape(line)));
    }
    let items: Vec<String> = n
        .fields
        .iter()
        .filter(|f| f.key != "error" && !f.value.is_empty())
        .map(|f| format!("<li><b>{}:</b> {}</li>", escape(&f.label), escape(&f.value)))
        .collect();
    if !items.is_empty() {
        out.push_str(&format!("<ul>{}</ul>", items.concat()));
    }
    if let Some(error) = n.field("error").filter(|e| !e.is_empty()) {
        out.push_str(&format!(
            "<p><b>Error:</b></p><pre>{}</pre>",
            escape(&truncate_chars(error, 10_000))
        ));
    }
    if !n.links.is_empty() {
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("<a href=\"{}\">{}</a>", escape(&l.url), escape(&l.title)))
            .collect();
        out.push_str(&format!("<p>{}</p>", links.join(" · ")));
    }
    out.push_str(&format!(
        "<p><i>flowspec · {} · {}</i></p>",
        escape(&n.event_name),
        escape(&n.event.timestamp_rfc3339())
    ));
    out
}

/// The tag that marks the work item of a notification's subject (`flowspec-FEAT-0001`).
pub fn dedup_tag(n: &Notification) -> String {
    n.dedup_key()
        .chars()
        .map(|c| {
            if c == ';' || c == '/' || c == ',' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// The title of a new work item: `FEAT-0001: User Authentication`.
pub fn title(n: &Notification) -> String {
    let text = match (n.field("id"), n.field("title")) {
        (Some(id), Some(title)) => format!("{id}: {title}"),
        (None, Some(title)) => title.to_owned(),
        _ => n.title.clone(),
    };
    truncate_chars(&text.replace(['\n', '\r'], " "), 255)
}

pub(super) fn hyperlink(url: &str) -> Value {
    json!({"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": url}})
}

/// Azure DevOps' error body: `{"message": "...", "typeKey": "...", ...}`.
pub fn service_error(body: &str) -> Option<ServiceError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?.to_owned();
    let mut service = ServiceError::new(message);
    if let Some(code) = v.get("typeKey").and_then(Value::as_str) {
        service = service.with_code(code);
    }
    Some(service)
}

pub(super) fn not_json(step: &str, answer: &Answer) -> NotifyError {
    if answer.status == 203 || answer.body.trim_start().starts_with('<') {
        return NotifyError::new(
            NotifyErrorKind::Auth,
            format!(
                "Azure DevOps {step}: answered {} with a sign-in page instead of JSON",
                answer.status
            ),
        )
        .with_status(answer.status)
        .with_hint("the PAT is invalid or expired: create a new one and set AZURE_DEVOPS_PAT");
    }
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "Azure DevOps {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
}

pub(super) fn receipt(item: &Value, action: &str) -> Receipt {
    let mut r = Receipt::new()
        .with_status(200)
        .with_detail("action", action);
    if let Some(id) = item["id"].as_u64() {
        r = r.with_id(id.to_string());
    }
    if let Some(url) = item["_links"]["html"]["href"].as_str() {
        r = r.with_url(url);
    }
    r
}
