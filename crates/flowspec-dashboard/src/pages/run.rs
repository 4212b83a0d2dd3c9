//! `/ui/runs/{profile}/{run}`: a run's jobs, its failed tests, its artifacts, and the
//! Retry failed / Retry all / Cancel buttons.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use flowspec::ci_steer::{self, Retry};
use flowspec_core::provider::{Artifact, ArtifactId, Job, Run, RunId};
use flowspec_results::store::RunSelector;
use maud::{Markup, html};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::State as AppState;
use crate::BASE;
use crate::auth::{CsrfField, CsrfForm, Session};
use crate::error::DashboardError;
use crate::layout::{self, Nav, Page, flash, query_value, status_badge, time_ago};
use crate::live;

#[derive(Deserialize)]
pub(crate) struct RunPath {
    profile: String,
    run: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct Done {
    done: Option<String>,
}

fn run_href(profile: &str, run: &str) -> String {
    format!("{BASE}/runs/{}/{}", query_value(profile), query_value(run))
}

/// The run's header and jobs (also what the live view sends).
fn summary(profile: &str, run: &Run, jobs: &[Job]) -> Markup {
    let now = Utc::now();
    let href = run_href(profile, run.id.as_str());
    html! {
        p.run-status {
            (status_badge(run.status))
            " " span.muted { (run.raw_status) }
            " · started " (time_ago(run.started_at.or(run.created_at), now))
            " · " (layout::duration(run.started_at.or(run.created_at), run.finished_at, now))
        }
        table.jobs {
            thead { tr { th { "Status" } th { "Job" } th { "Stage" } th { "Duration" } th { "Log" } } }
            tbody {
                @for job in jobs {
                    tr {
                        td { (status_badge(job.status)) }
                        td { (job.name) @if job.allow_failure { " " span.muted { "(may fail)" } } }
                        td { (job.stage.as_deref().unwrap_or("")) }
                        td.num { (layout::duration(job.started_at, job.finished_at, now)) }
                        td { a href={(href) "/jobs/" (query_value(job.id.as_str())) "/log"} { "log" } }
                    }
                }
                @if jobs.is_empty() { tr { td colspan="5" .muted { "No jobs yet." } } }
            }
        }
    }
}

async fn failed_tests(state: &AppState, run: &str) -> Option<Markup> {
    let results = state.results().await.ok()?;
    let selector = RunSelector::Run {
        id: run.to_owned(),
        attempt: None,
    };
    let stored = results.store.run(&selector).await.ok()?;
    let report = results.store.report(&stored, 50, 0).await.ok()?;
    let t = &report.totals;
    Some(html! {
        section {
            h2 { "Tests" }
            p { (t.tests) " tests: " (t.passed) " passed, " (t.failed + t.errors) " failed, "
                (t.skipped) " skipped, " (t.flaky) " flaky" }
            @if !report.failures.is_empty() {
                table.failures {
                    thead { tr { th { "Failed test" } th { "Where" } th { "Message" } } }
                    tbody {
                        @for f in &report.failures {
                            tr {
                                td { (f.id) }
                                td.mono { (f.file.as_deref().unwrap_or("")) @if let Some(line) = f.line { ":" (line) } }
                                td { pre.message { (f.message.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
                @if report.failures_omitted > 0 { p.muted { "… and " (report.failures_omitted) " more" } }
            }
        }
    })
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(path): Path<RunPath>,
    Query(done): Query<Done>,
) -> Result<Response, DashboardError> {
    let (profile, provider) = state.provider(Some(&path.profile))?;
    let id = RunId::new(path.run.clone());
    let run = provider.get_run(&id).await?;
    let jobs = provider.list_jobs(&id).await?;
    let artifacts = provider.list_artifacts(&id).await;
    let tests = failed_tests(&state, &path.run).await;
    let href = run_href(&profile, &path.run);
    let title = format!(
        "{} {}",
        run.workflow.as_deref().unwrap_or("Run"),
        run.number.map_or(run.id.to_string(), |n| format!("#{n}"))
    );
    let button = |action: &str, label: &str, scope: Option<&str>| {
        html! {
            form.inline method="post" action={(href) "/" (action)} {
                input type="hidden" name="csrf" value=(session.csrf);
                @if let Some(scope) = scope { input type="hidden" name="scope" value=(scope); }
                button type="submit" { (label) }
            }
        }
    };
    let body = html! {
        p.crumbs { a href={(BASE) "/runs?profile=" (query_value(&profile))} { "Runs" } " / " (title) }
        h1 { (title) }
        (flash(done.done.as_deref()))
        @if let Some(t) = &run.title { p { (t) } }
        p.meta {
            @if let Some(b) = &run.head_branch { "branch " strong { (b) } " · " }
            @if let Some(sha) = &run.head_sha { "commit " code { (&sha[..sha.len().min(12)]) } " · " }
            @if let Some(e) = &run.event { "trigger " (e) }
            @if let Some(url) = &run.url { " · " a href=(url) rel="noopener noreferrer" { "on " (provider.platform()) } }
        }
        div.actions {
            (button("retry", "Retry failed", Some("failed")))
            (button("retry", "Retry all", Some("all")))
            @if !run.status.is_terminal() { (button("cancel", "Cancel", None)) }
        }
        section #run-live data-live={(href) "/live"} data-event="run" { (summary(&profile, &run, &jobs)) }
        @if let Some(tests) = tests { (tests) }
        section {
            h2 { "Artifacts" }
            @match &artifacts {
                Ok(list) if list.is_empty() => p.muted { "No artifacts." },
                Ok(list) => ul.artifacts {
                    @for a in list {
                        li {
                            @if a.expired { (a.name) " " span.muted { "(expired)" } }
                            @else { a href={(href) "/artifacts/" (query_value(a.id.as_str()))} download { (a.name) } }
                            @if let Some(size) = a.size { " " span.muted { (human_size(size)) } }
                        }
                    }
                },
                Err(e) => p.muted { (e.to_string()) },
            }
        }
    };
    Ok(Page::new(title)
        .nav(Nav::Runs, &session)
        .body(body)
        .render())
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// Server-sent `run` events: the run's status and jobs, on change.
pub(crate) async fn live(
    State(state): State<Arc<AppState>>,
    Path(path): Path<RunPath>,
) -> Result<Response, DashboardError> {
    let (profile, provider) = state.provider(Some(&path.profile))?;
    if let Ok(store) = state.project.store().await {
        state.live.watch_store(store);
    }
    let interval = provider.poll_interval().initial.max(Duration::from_secs(3));
    let key = format!("run/{profile}/{}", path.run);
    let view = state.live.subscribe(&key, interval, move || {
        let (provider, profile, id) = (
            provider.clone(),
            profile.clone(),
            RunId::new(path.run.clone()),
        );
        async move {
            let run = provider.get_run(&id).await.ok()?;
            let jobs = provider.list_jobs(&id).await.ok()?;
            Some(summary(&profile, &run, &jobs).into_string())
        }
    });
    Ok(live::events(view, "run").into_response())
}

#[derive(Deserialize)]
pub(crate) struct RetryForm {
    csrf: String,
    scope: String,
}

impl CsrfField for RetryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn retry(
    State(state): State<Arc<AppState>>,
    Path(path): Path<RunPath>,
    CsrfForm(form): CsrfForm<RetryForm>,
) -> Result<Response, DashboardError> {
    let (profile, provider) = state.provider(Some(&path.profile))?;
    let what = match form.scope.as_str() {
        "failed" => Retry::Failed,
        "all" => Retry::All,
        other => {
            return Err(DashboardError::BadRequest(format!(
                "unknown retry scope `{other}`: use `failed` or `all`"
            )));
        }
    };
    let (retried, _) = ci_steer::retry(provider.as_ref(), &RunId::new(path.run), what)
        .await
        .map_err(DashboardError::Project)?;
    let message = format!("Retried {} jobs.", form.scope);
    Ok(Redirect::to(&format!(
        "{}?done={}",
        run_href(&profile, retried.id.as_str()),
        query_value(&message)
    ))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct CancelForm {
    csrf: String,
}

impl CsrfField for CancelForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    Path(path): Path<RunPath>,
    CsrfForm(_): CsrfForm<CancelForm>,
) -> Result<Response, DashboardError> {
    let (profile, provider) = state.provider(Some(&path.profile))?;
    provider.cancel(&RunId::new(path.run.clone())).await?;
    Ok(Redirect::to(&format!(
        "{}?done={}",
        run_href(&profile, &path.run),
        query_value("Cancel requested.")
    ))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct ArtifactPath {
    profile: String,
    run: String,
    artifact: String,
}

/// Streams an artifact from the platform to the browser, never whole in memory.
pub(crate) async fn artifact(
    State(state): State<Arc<AppState>>,
    Path(path): Path<ArtifactPath>,
) -> Result<Response, DashboardError> {
    let (_, provider) = state.provider(Some(&path.profile))?;
    let run = RunId::new(path.run);
    let wanted = ArtifactId::new(path.artifact.clone());
    let artifact: Artifact = provider
        .list_artifacts(&run)
        .await?
        .into_iter()
        .find(|a| a.id == wanted)
        .ok_or_else(|| {
            DashboardError::NotFound(format!("run {run} has no artifact `{}`", path.artifact))
        })?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let fetched = artifact.clone();
    tokio::spawn(async move {
        if let Err(error) = provider
            .download_artifact(&run, &fetched, &mut writer)
            .await
        {
            tracing::warn!(message = "Artifact download failed.", %error);
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(
        reader,
        |mut reader| async move {
            let mut buf = vec![0u8; 64 * 1024];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(buf), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        },
    ));
    let name = if artifact.zip {
        format!("{}.zip", artifact.name)
    } else {
        artifact.name.clone()
    };
    let mut response = body.into_response();
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(
            |c: char| !c.is_ascii_alphanumeric() && !"._-".contains(c),
            "_"
        )
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}
