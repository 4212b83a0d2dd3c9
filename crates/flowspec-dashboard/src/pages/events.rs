//! `/ui/events`: the receiver's queue by status, updated live; an event's payload and
//! hook runs with their output (masked); Replay.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use flowspec::events::{self, Selection};
use flowspec_server::queue::{QueueStatus, QueuedEvent};
use maud::{Markup, html};
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::auth::{CsrfField, CsrfForm, Session};
use crate::error::DashboardError;
use crate::layout::{Nav, Page, flash, query_value, text_badge, time_ago};
use crate::live;

/// Events listed at once.
const LISTED: i64 = 200;
const STATUSES: [QueueStatus; 4] = [
    QueueStatus::Pending,
    QueueStatus::Running,
    QueueStatus::Done,
    QueueStatus::Dead,
];

#[derive(Clone, Deserialize, Default)]
pub(crate) struct EventsQuery {
    status: Option<QueueStatus>,
    done: Option<String>,
}

fn at_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

fn rows(events: &[QueuedEvent]) -> Markup {
    let now = Utc::now();
    html! {
        @for e in events {
            tr {
                td { (text_badge(e.status.as_str())) }
                td { a.mono href={(BASE) "/events/" (query_value(&e.event_id))} { (e.event_id) } }
                td { (e.event_type) }
                td { (e.source) }
                td.num { (e.attempts) }
                td { (time_ago(at_ms(e.received_at), now)) }
                td.small { (e.last_error.as_deref().unwrap_or("")) }
            }
        }
        @if events.is_empty() { tr { td colspan="7" .muted { "No events." } } }
    }
}

async fn list(
    state: &AppState,
    status: Option<QueueStatus>,
) -> Result<Vec<QueuedEvent>, DashboardError> {
    Ok(state
        .queue()
        .await?
        .list(status, LISTED)
        .await
        .map_err(flowspec::Error::from)?)
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<EventsQuery>,
) -> Result<Response, DashboardError> {
    let listed = list(&state, query.status).await?;
    let status_query = query
        .status
        .map_or(String::new(), |s| format!("?status={}", s.as_str()));
    let body = html! {
        h1 { "Events" }
        (flash(query.done.as_deref()))
        nav.tabs aria-label="Status" {
            a href={(BASE) "/events"} aria-current=[query.status.is_none().then_some("page")] { "all" }
            @for s in STATUSES {
                a href={(BASE) "/events?status=" (s.as_str())} aria-current=[(query.status == Some(s)).then_some("page")] { (s.as_str()) }
            }
        }
        @if query.status == Some(QueueStatus::Dead) && !listed.is_empty() {
            form.inline method="post" action={(BASE) "/events/dead/replay"} {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Replay every dead event" }
            }
        }
        table.events {
            thead { tr { th { "Status" } th { "Event" } th { "Type" } th { "Source" } th { "Attempts" } th { "Received" } th { "Last error" } } }
            tbody #events data-live={(BASE) "/live/events" (status_query)} data-event="rows" { (rows(&listed)) }
        }
    };
    Ok(Page::new("Events")
        .nav(Nav::Events, &session)
        .body(body)
        .render())
}

/// Server-sent `rows` events: the queue's rows, on change (the store is read every
/// two seconds by one task for every viewer).
pub(crate) async fn live(
    State(state): State<Arc<AppState>>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let key = format!("events?{}", query.status.map_or("all", |s| s.as_str()));
    let poll = state.clone();
    let view = state.live.subscribe(&key, Duration::from_secs(2), move || {
        let (state, status) = (poll.clone(), query.status);
        async move { Some(rows(&list(&state, status).await.ok()?).into_string()) }
    });
    live::events(view, "rows").into_response()
}

pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Result<Response, DashboardError> {
    let detail = events::show(&state.project, &id)
        .await
        .map_err(|e| match e.kind() {
            flowspec::ErrorKind::Usage => DashboardError::NotFound(e.to_string()),
            _ => DashboardError::Project(e),
        })?;
    let masker = state.project.masker();
    let now = Utc::now();
    let payload = detail.event.as_ref().map(|event| {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        masker.mask_json(&mut value);
        serde_json::to_string_pretty(&value).unwrap_or_default()
    });
    let body = html! {
        p.crumbs { a href={(BASE) "/events"} { "Events" } " / " (id) }
        h1.mono { (id) }
        (flash(query.done.as_deref()))
        @if let Some(q) = &detail.queue {
            p { (text_badge(q.status.as_str())) " " (q.event_type) " from " (q.source) " · "
                (q.attempts) " attempt(s) · received " (time_ago(at_ms(q.received_at), now)) }
            @if let Some(error) = &q.last_error { p.error { (error) } }
            form.inline method="post" action={(BASE) "/events/" (query_value(&id)) "/replay"} {
                input type="hidden" name="csrf" value=(session.csrf);
                label.check { input type="checkbox" name="force" value="true"; " run finished hooks again too" }
                " "
                button type="submit" { "Replay" }
            }
        }
        h2 { "Hook runs" }
        table.hooks {
            thead { tr { th { "Status" } th { "Hook" } th { "Attempt" } th { "Exit" } } }
            tbody {
                @for run in &detail.hook_runs {
                    tr { td { (text_badge(&run.status)) } td { (run.hook) } td.num { (run.attempt) }
                         td.num { (run.exit_code.map_or(String::new(), |c| c.to_string())) } }
                }
                @if detail.hook_runs.is_empty() { tr { td colspan="4" .muted { "No hook has run for it yet." } } }
            }
        }
        h2 { "Output" }
        @for record in &detail.audit {
            details open[record.status.as_str() != "success"] {
                summary { (text_badge(record.status.as_str())) " " (record.hook_name) " · attempt " (record.attempt)
                          " · " (record.duration_ms) " ms" @if let Some(r) = &record.reason { " · " (masker.mask(r)) } }
                pre.output { (masker.mask(&record.output)) }
            }
        }
        @if detail.audit.is_empty() { p.muted { "No output recorded." } }
        @if let Some(payload) = payload {
            h2 { "Payload" }
            pre.payload { (payload) }
        }
    };
    Ok(Page::new(format!("Event {id}"))
        .nav(Nav::Events, &session)
        .body(body)
        .render())
}

#[derive(Deserialize)]
pub(crate) struct ReplayForm {
    csrf: String,
    #[serde(default)]
    force: Option<String>,
}

impl CsrfField for ReplayForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Puts the event (or, for `dead`, every dead event) back in the queue; a running
/// receiver dispatches it.
pub(crate) async fn replay(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReplayForm>,
) -> Result<Response, DashboardError> {
    let force = form.force.as_deref() == Some("true");
    let (selection, back) = if id == "dead" {
        (Selection::Dead, format!("{BASE}/events?status=pending"))
    } else {
        (
            Selection::One(id.clone()),
            format!("{BASE}/events/{}", query_value(&id)),
        )
    };
    let ids = events::mark_for_replay(&state.project, selection, force)
        .await
        .map_err(|e| DashboardError::BadRequest(e.to_string()))?;
    let message = format!(
        "{} event(s) queued for replay; a running receiver dispatches them.",
        ids.len()
    );
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{sep}done={}", query_value(&message))).into_response())
}
