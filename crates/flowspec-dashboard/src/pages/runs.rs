//! `/ui/runs`: a profile's recent runs, filtered and paged, updated live.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flowspec_core::provider::{Run, RunFilter, RunStatus};
use maud::{Markup, html};
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::auth::Session;
use crate::error::DashboardError;
use crate::layout::{self, Nav, Page, query_value, status_badge, time_ago};
use crate::live;

/// Runs per page.
pub(crate) const PER_PAGE: usize = 25;
/// The most runs asked of a platform for one page (paging deeper asks for more).
const MOST: usize = 1000;

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct RunsQuery {
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    workflow: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

impl RunsQuery {
    fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    fn value(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    /// The query string of these filters on `page`.
    fn query(&self, profile: &str, page: usize) -> String {
        let mut parts = vec![format!("profile={}", query_value(profile))];
        for (name, value) in [
            ("status", &self.status),
            ("branch", &self.branch),
            ("workflow", &self.workflow),
        ] {
            if let Some(v) = Self::value(value) {
                parts.push(format!("{name}={}", query_value(v)));
            }
        }
        parts.push(format!("page={page}"));
        parts.join("&")
    }
}

/// One page of runs, and whether there are more.
async fn fetch(
    state: &AppState,
    query: &RunsQuery,
) -> Result<(String, Vec<Run>, bool), DashboardError> {
    let (profile, provider) = state.provider(query.profile.as_deref())?;
    let status = RunsQuery::value(&query.status);
    // A status filter is applied to what the platform lists, so ask for more.
    let factor = if status.is_some() { 4 } else { 1 };
    let wanted = (query.page() * PER_PAGE * factor + 1).min(MOST);
    let mut filter = RunFilter::new().limit(wanted);
    if let Some(branch) = RunsQuery::value(&query.branch) {
        filter = filter.branch(branch);
    }
    if let Some(workflow) = RunsQuery::value(&query.workflow) {
        filter = filter.workflow(workflow);
    }
    let mut runs = provider.list_runs(&filter).await?;
    if let Some(status) = status {
        runs.retain(|r| r.status.as_str() == status);
    }
    let skip = (query.page() - 1) * PER_PAGE;
    let more = runs.len() > skip + PER_PAGE;
    let runs = runs.into_iter().skip(skip).take(PER_PAGE).collect();
    Ok((profile, runs, more))
}

fn short_sha(sha: Option<&str>) -> &str {
    sha.map_or("", |s| &s[..s.len().min(8)])
}

/// The table rows of `runs` (also what the live view sends).
pub(crate) fn rows(profile: &str, runs: &[Run]) -> Markup {
    let now = Utc::now();
    html! {
        @for run in runs {
            tr {
                td { (status_badge(run.status)) }
                td {
                    a href={(BASE) "/runs/" (query_value(profile)) "/" (query_value(run.id.as_str()))} {
                        (run.workflow.as_deref().unwrap_or("run")) " "
                        @if let Some(n) = run.number { "#" (n) } @else { (run.id.as_str()) }
                    }
                    @if let Some(title) = &run.title { div.muted.small { (title) } }
                }
                td { (run.head_branch.as_deref().unwrap_or("")) }
                td.mono { (short_sha(run.head_sha.as_deref())) }
                td { (run.event.as_deref().unwrap_or("")) }
                td { (time_ago(run.started_at.or(run.created_at), now)) }
                td.num { (layout::duration(run.started_at.or(run.created_at), run.finished_at, now)) }
            }
        }
        @if runs.is_empty() {
            tr { td colspan="7" .muted { "No runs match." } }
        }
    }
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<RunsQuery>,
) -> Response {
    let profiles = state.profiles();
    if profiles.is_empty() {
        let page = Page::new("Runs").nav(Nav::Runs, &session).body(html! {
            h1 { "Runs" }
            p.empty { "flowspec.yaml has no usable " code { "ci:" } " section, so there are no runs to show. "
                "Add one, e.g. " code { "ci: {provider: github, config: {repo: owner/name}}" } ", and reload." }
        });
        return page.render();
    }
    let (profile, runs, more) = match fetch(&state, &query).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let page_no = query.page();
    let statuses = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Success,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Skipped,
    ];
    let selected = RunsQuery::value(&query.status);
    let live_url = format!("{BASE}/live/runs?{}", query.query(&profile, page_no));
    let body = html! {
        h1 { "Runs" }
        form.filters method="get" action={(BASE) "/runs"} {
            label { "Profile "
                select name="profile" {
                    @for (name, kind) in &profiles {
                        option value=(name) selected[*name == profile] { (name) " (" (kind) ")" }
                    }
                }
            }
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in statuses {
                        option value=(s.as_str()) selected[selected == Some(s.as_str())] { (s.as_str()) }
                    }
                }
            }
            label { "Branch " input type="text" name="branch" value=[RunsQuery::value(&query.branch)]; }
            label { "Workflow " input type="text" name="workflow" value=[RunsQuery::value(&query.workflow)]; }
            button type="submit" { "Filter" }
        }
        table.runs {
            thead { tr {
                th { "Status" } th { "Run" } th { "Branch" } th { "Commit" } th { "Trigger" } th { "Started" } th { "Duration" }
            } }
            tbody #runs data-live=(live_url) data-event="rows" { (rows(&profile, &runs)) }
        }
        nav.pager aria-label="Pages" {
            @if page_no > 1 {
                a rel="prev" href={(BASE) "/runs?" (query.query(&profile, page_no - 1))} { "← Newer" }
            }
            span { "Page " (page_no) }
            @if more {
                a rel="next" href={(BASE) "/runs?" (query.query(&profile, page_no + 1))} { "Older →" }
            }
        }
    };
    Page::new("Runs")
        .nav(Nav::Runs, &session)
        .body(body)
        .render()
}

/// Server-sent `rows` events: the rows of the page the query describes, on change.
pub(crate) async fn live(
    State(state): State<Arc<AppState>>,
    Query(query): Query<RunsQuery>,
) -> Response {
    let (profile, provider) = match state.provider(query.profile.as_deref()) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if let Ok(store) = state.project.store().await {
        state.live.watch_store(store);
    }
    let interval = provider.poll_interval().initial.max(Duration::from_secs(5));
    let key = format!("runs?{}", query.query(&profile, query.page()));
    let poll_state = state.clone();
    let view = state.live.subscribe(&key, interval, move || {
        let (state, query) = (poll_state.clone(), query.clone());
        async move {
            let (profile, runs, _) = fetch(&state, &query).await.ok()?;
            Some(rows(&profile, &runs).into_string())
        }
    });
    live::events(view, "rows").into_response()
}
