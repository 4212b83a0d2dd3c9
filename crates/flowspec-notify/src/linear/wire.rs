//! What Linear is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

pub(super) const DEFAULT_API: &str = "https://api.linear.app";

/// The Markdown description of an issue (and the body of comments).
pub fn markdown(n: &Notification) -> String {
    let mut out = format!("**{}**\n", n.title.trim());
    if !n.summary.trim().is_empty() {
        out.push('\n');
        out.push_str(n.summary.trim());
        out.push('\n');
    }
    let fields: Vec<String> = n
        .fields
        .iter()
        .filter(|f| f.key != "error" && !f.value.is_empty())
        .map(|f| format!("- **{}:** {}", f.label, f.value))
        .collect();
    if !fields.is_empty() {
        out.push('\n');
        out.push_str(&fields.join("\n"));
        out.push('\n');
    }
    if let Some(error) = n.field("error").filter(|e| !e.is_empty()) {
        out.push_str(&format!(
            "\n**Error:**\n\n```\n{}\n```\n",
            truncate_chars(error, 10_000).replace("```", "'''")
        ));
    }
    if !n.links.is_empty() {
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("[{}]({})", l.title, l.url))
            .collect();
        out.push('\n');
        out.push_str(&links.join(" · "));
        out.push('\n');
    }
    out.push_str(&format!(
        "\n_flowspec · {} · {}_",
        n.event_name,
        n.event.timestamp_rfc3339()
    ));
    out
}

/// The title prefix that marks the issue of a notification's subject (`[FEAT-0001]`),
/// or `None` without a subject.
pub fn title_prefix(n: &Notification) -> Option<String> {
    n.subject.as_ref().map(|s| format!("[{s}]"))
}

/// The title of a new issue: `[FEAT-0001] User Authentication`.
pub fn title(n: &Notification) -> String {
    let name = n.field("title").unwrap_or(&n.title);
    let text = match title_prefix(n) {
        Some(prefix) => format!("{prefix} {name}"),
        None => name.to_owned(),
    };
    truncate_chars(&text.replace(['\n', '\r'], " "), 255)
}

pub(super) fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && text.matches('-').count() == 4
}

/// What the lookup query found.
#[derive(Debug)]
pub(super) struct Lookup {
    pub(super) team_id: String,
    pub(super) states: Vec<(String, String)>,
    pub(super) labels: Vec<String>,
    pub(super) issue: Option<(String, String, String, Option<String>)>,
}

/// The kind and service error of a GraphQL `errors` array.
pub(super) fn graphql_error(errors: &[Value]) -> (NotifyErrorKind, ServiceError) {
    let first = &errors[0];
    let code = first["extensions"]["code"].as_str().map(str::to_owned);
    let message = first["extensions"]["userPresentableMessage"]
        .as_str()
        .or(first["message"].as_str())
        .unwrap_or("GraphQL error")
        .to_owned();
    let kind = match code.as_deref() {
        Some("RATELIMITED") => NotifyErrorKind::RateLimited,
        Some("AUTHENTICATION_ERROR") | Some("FORBIDDEN") => NotifyErrorKind::Auth,
        Some("INTERNAL_SERVER_ERROR") => NotifyErrorKind::Transient,
        _ => NotifyErrorKind::Rejected,
    };
    let mut service = ServiceError::new(message);
    if let Some(code) = code {
        service = service.with_code(code);
    }
    for e in errors.iter().skip(1) {
        if let Some(m) = e["message"].as_str() {
            service = service.with_detail(m);
        }
    }
    (kind, service)
}

pub(super) fn with_hint(err: NotifyError) -> NotifyError {
    match err.kind() {
        NotifyErrorKind::Auth => err.with_hint(
            "Linear refused the API key: create one under Settings → API and set LINEAR_API_KEY",
        ),
        _ => err,
    }
}

pub(super) fn unexpected(step: &str, answer: &Answer) -> NotifyError {
    NotifyError::new(
        NotifyErrorKind::Service,
        format!(
            "Linear {step}: unexpected answer ({} {})",
            answer.status,
            crate::http::truncate(answer.body.trim(), 200)
        ),
    )
    .with_status(answer.status)
}
