//! The page shell (head, navigation, the security headers every response carries)
//! and the small pieces every page shows the same way: statuses, times, durations.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use flowspec_core::provider::RunStatus;
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::BASE;
use crate::auth::Session;

/// Scripts and styles only from the dashboard's own assets; no inline script, no
/// frames, no form posting elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages of the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Runs,
    Trigger,
    Events,
    Tests,
    None,
}

/// A page being built.
pub(crate) struct Page {
    title: String,
    nav: Nav,
    session: Option<Session>,
    body: Markup,
}

impl Page {
    pub(crate) fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            nav: Nav::None,
            session: None,
            body: html! {},
        }
    }

    /// Shows the navigation (and the logout button) of a logged-in page.
    pub(crate) fn nav(mut self, nav: Nav, session: &Session) -> Page {
        self.nav = nav;
        self.session = Some(session.clone());
        self
    }

    pub(crate) fn body(mut self, body: Markup) -> Page {
        self.body = body;
        self
    }

    pub(crate) fn render(self) -> Response {
        let link = |nav: Nav, path: &str, label: &str| {
            html! {
                a href={(BASE) (path)} aria-current=[(self.nav == nav).then_some("page")] { (label) }
            }
        };
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · flowspec" }
                    link rel="stylesheet" href={(BASE) "/assets/app.css"};
                    script src={(BASE) "/assets/app.js"} defer {}
                }
                body {
                    @if let Some(session) = &self.session {
                        header.top {
                            a.brand href={(BASE) "/runs"} { "flowspec" }
                            nav aria-label="Main" {
                                (link(Nav::Runs, "/runs", "Runs"))
                                (link(Nav::Trigger, "/trigger", "Trigger"))
                                (link(Nav::Events, "/events", "Events"))
                                (link(Nav::Tests, "/tests", "Tests"))
                            }
                            form.logout method="post" action={(BASE) "/logout"} {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.link type="submit" { "Log out" }
                            }
                        }
                    }
                    main #main { (self.body) }
                }
            }
        };
        secure_headers(markup.into_response())
    }
}

/// The headers every dashboard response carries.
pub(crate) fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Pages show live state and are behind a login: never cached.
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Everything but unreserved characters escaped, for a query value or path segment.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` escaped for a query string or a path segment.
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// A status with its colour (a class) and an icon, so it reads without colour too.
pub(crate) fn status_badge(status: RunStatus) -> Markup {
    let icon = match status {
        RunStatus::Success => "✓",
        RunStatus::Failed => "✗",
        RunStatus::Running => "●",
        RunStatus::Queued | RunStatus::Waiting => "◷",
        RunStatus::Cancelled => "⊘",
        RunStatus::Skipped => "↷",
        _ => "?",
    };
    html! {
        span class={"badge s-" (status.as_str())} { span aria-hidden="true" { (icon) } " " (status.as_str()) }
    }
}

/// A badge for a queue or hook status written as text.
pub(crate) fn text_badge(status: &str) -> Markup {
    let class = match status {
        "done" | "success" | "succeeded" | "passed" => "success",
        "dead" | "failed" | "failure" | "timed_out" | "error" => "failed",
        "running" => "running",
        "pending" | "queued" => "queued",
        "skipped" => "skipped",
        _ => "unknown",
    };
    html! { span class={"badge s-" (class)} { (status) } }
}

/// `when` as a time a reader places at once (`3 min ago`), with the exact time as a
/// tooltip and a machine-readable `datetime`.
pub(crate) fn time_ago(when: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    let Some(when) = when else {
        return html! { span.muted { "—" } };
    };
    let secs = (now - when).num_seconds().max(0);
    let text = match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86400),
    };
    html! {
        time datetime=(when.to_rfc3339()) title=(when.format("%Y-%m-%d %H:%M:%S UTC")) { (text) }
    }
}

/// How long something between `start` and `end` (or now, while it runs) took.
pub(crate) fn duration(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let Some(start) = start else {
        return "—".to_owned();
    };
    let secs = (end.unwrap_or(now) - start).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A message above a page's content after an action (`?done=…`).
pub(crate) fn flash(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.flash role="status" { (message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_write_durations_and_ages_for_people() {
        let now = Utc::now();
        let start = now - chrono::Duration::seconds(125);
        assert_eq!(duration(Some(start), Some(now), now), "2m 05s");
        assert_eq!(duration(Some(start), None, now), "2m 05s");
        assert_eq!(duration(None, None, now), "—");
        let ago = time_ago(Some(start), now).into_string();
        assert!(ago.contains("2 min ago"), "{ago}");
    }

    #[test]
    fn should_escape_query_values() {
        assert_eq!(query_value("feat/a b&c"), "feat%2Fa%20b%26c");
    }

    #[test]
    fn should_send_a_strict_policy_with_every_page() {
        let response = Page::new("x").render();
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'none'"));
        assert!(csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
