//! What the SMTP server is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The HTML part: title, summary, a table of fields, the links.
pub(super) fn html(n: &Notification) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let color = match n.outcome {
        flowspec_core::notifier::WorkOutcome::Completed => "#2e7d32",
        flowspec_core::notifier::WorkOutcome::Failed => "#c62828",
        flowspec_core::notifier::WorkOutcome::Started => "#1565c0",
        _ => "#424242",
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<h2 style=\"color: {color}\">{}</h2>\n",
        esc(&n.title)
    );
    if !n.summary.is_empty() {
        out.push_str(&format!(
            "<p>{}</p>\n",
            esc(&n.summary).replace('\n', "<br>")
        ));
    }
    if !n.fields.is_empty() {
        out.push_str("<table cellpadding=\"4\">\n");
        for f in &n.fields {
            out.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                esc(&f.label),
                esc(&f.value)
            ));
        }
        out.push_str("</table>\n");
    }
    if !n.links.is_empty() {
        out.push_str("<p>");
        let links: Vec<String> = n
            .links
            .iter()
            .map(|l| format!("<a href=\"{}\">{}</a>", esc(&l.url), esc(&l.title)))
            .collect();
        out.push_str(&links.join(" · "));
        out.push_str("</p>\n");
    }
    out.push_str(&format!(
        "<p style=\"color: #757575; font-size: small\">flowspec · {} · {}</p>\n</body></html>\n",
        esc(&n.event_name),
        esc(&n.event.timestamp_rfc3339())
    ));
    out
}

pub(super) fn smtp_error(e: &lettre::transport::smtp::Error, target: &str) -> NotifyError {
    let code: Option<u16> = e.status().map(u16::from);
    let kind = match code {
        Some(530 | 534 | 535 | 538) => NotifyErrorKind::Auth,
        Some(421) => NotifyErrorKind::Transient,
        Some(_) if e.is_transient() => NotifyErrorKind::Transient,
        Some(_) => NotifyErrorKind::Rejected,
        None if e.is_tls() => NotifyErrorKind::Config,
        None => NotifyErrorKind::Transient,
    };
    let mut err = NotifyError::new(kind, format!("SMTP {target}"));
    if let Some(code) = code {
        err = err.with_status(code);
    }
    err = err.with_service_error(ServiceError::new(e.to_string()));
    match kind {
        NotifyErrorKind::Auth => {
            err.with_hint("the server refused the login: check SMTP_USER and SMTP_PASSWORD")
        }
        NotifyErrorKind::Config => err.with_hint(
            "TLS failed: port 587 needs `tls: starttls`, port 465 needs `tls: implicit`",
        ),
        _ => err,
    }
}
