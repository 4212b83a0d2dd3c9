//! `/ui/tests`: the latest stored results (of a branch), their failed tests, flaky
//! tests ranked by flip rate, and the quarantine with add and remove.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use flowspec_results::quarantine::QuarantineSource;
use maud::html;
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::auth::{CsrfField, CsrfForm, Session};
use crate::error::DashboardError;
use crate::layout::{Nav, Page, flash, query_value};

/// Recent runs listed, failed tests shown, flaky tests shown.
const RECENT: usize = 10;
const FAILURES: usize = 100;
const FLAKY: usize = 50;

#[derive(Deserialize, Default)]
pub(crate) struct TestsQuery {
    branch: Option<String>,
    done: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<TestsQuery>,
) -> Result<Response, DashboardError> {
    let branch = query
        .branch
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let results = state.results().await?;
    let recent = results.store.recent_runs(RECENT, branch).await?;
    let latest = match recent.first() {
        Some(run) => Some(results.store.report(run, FAILURES, 0).await?),
        None => None,
    };
    let mut flaky_options = results.config.flaky.clone();
    flaky_options.window = flaky_options.window.max(1);
    let flaky = results.store.flaky(&flaky_options, branch).await?;
    let mut quarantine = results.config.quarantine.clone();
    quarantine.extend(results.store.quarantine_list().await?);
    let body = html! {
        h1 { "Tests" }
        (flash(query.done.as_deref()))
        form.filters method="get" action={(BASE) "/tests"} {
            label { "Branch " input type="text" name="branch" value=[branch] placeholder="every branch"; }
            button type="submit" { "Show" }
        }
        h2 { "Latest results" }
        @if recent.is_empty() {
            p.empty { "No results stored yet. " code { "flowspec results ingest --run ID FILES…" } " stores a run's reports." }
        }
        @if !recent.is_empty() {
            table.results {
                thead { tr { th { "Run" } th { "Branch" } th { "Commit" } th { "Tests" } th { "Failed" } th { "Flaky" } th { "Stored" } } }
                tbody {
                    @for run in &recent {
                        tr {
                            td.mono { (run.run_id) @if run.attempt > 1 { " (attempt " (run.attempt) ")" } }
                            td { (run.branch.as_deref().unwrap_or("")) }
                            td.mono { (run.commit.as_deref().map_or("", |c| &c[..c.len().min(8)])) }
                            td.num { (run.totals.tests) }
                            td.num { (run.totals.failed + run.totals.errors) }
                            td.num { (run.totals.flaky) }
                            td { (run.created_at) }
                        }
                    }
                }
            }
        }
        @if let Some(report) = &latest {
            h2 { "Failed in the latest run" }
            @if report.failures.is_empty() { p.muted { "Nothing failed." } }
            ul.failures {
                @for f in &report.failures {
                    li {
                        strong { (f.id) }
                        @if let Some(file) = &f.file { " " span.mono { (file) @if let Some(l) = f.line { ":" (l) } } }
                        @if let Some(m) = &f.message { pre.message { (m) } }
                    }
                }
            }
        }
        h2 { "Flaky tests" }
        p.muted { "Over the last " (flaky.runs_considered) " run(s), most flips first." }
        table.flaky {
            thead { tr { th { "Test" } th { "Flip rate" } th { "Flips" } th { "Failures" } th { "Passed on rerun" } th {} } }
            tbody {
                @for t in flaky.flaky.iter().take(FLAKY) {
                    tr {
                        td { (t.test) }
                        td.num { (format!("{:.0} %", t.flip_rate * 100.0)) }
                        td.num { (t.flips) }
                        td.num { (t.failures) "/" (t.runs) }
                        td.num { (t.passed_on_rerun) }
                        td {
                            form.inline method="post" action={(BASE) "/tests/quarantine"} {
                                input type="hidden" name="csrf" value=(session.csrf);
                                input type="hidden" name="action" value="add";
                                input type="hidden" name="test" value=(t.test);
                                input type="hidden" name="reason" value={"flaky: " (format!("{:.0} %", t.flip_rate * 100.0)) " flip rate"};
                                button type="submit" { "Quarantine" }
                            }
                        }
                    }
                }
                @if flaky.flaky.is_empty() { tr { td colspan="6" .muted { "No flaky test." } } }
            }
        }
        h2 { "Quarantine" }
        table.quarantine {
            thead { tr { th { "Test" } th { "Reason" } th { "From" } th {} } }
            tbody {
                @for entry in quarantine.entries() {
                    tr {
                        td { (entry.test) }
                        td { (entry.reason.as_deref().unwrap_or("")) }
                        td { @match entry.source { QuarantineSource::Config => "flowspec.yaml", QuarantineSource::Store => "dashboard / CLI" } }
                        td {
                            @if entry.source == QuarantineSource::Store {
                                form.inline method="post" action={(BASE) "/tests/quarantine"} {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    input type="hidden" name="action" value="remove";
                                    input type="hidden" name="test" value=(entry.test);
                                    button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
                @if quarantine.entries().is_empty() { tr { td colspan="4" .muted { "Nothing is quarantined." } } }
            }
        }
        form.inline method="post" action={(BASE) "/tests/quarantine"} {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="action" value="add";
            label { "Test " input type="text" name="test" required placeholder="suite::name or a glob"; }
            label { " Reason " input type="text" name="reason"; }
            button type="submit" { "Quarantine" }
        }
    };
    Ok(Page::new("Tests")
        .nav(Nav::Tests, &session)
        .body(body)
        .render())
}

#[derive(Deserialize)]
pub(crate) struct QuarantineForm {
    csrf: String,
    action: String,
    test: String,
    #[serde(default)]
    reason: Option<String>,
}

impl CsrfField for QuarantineForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn quarantine(
    State(state): State<Arc<AppState>>,
    CsrfForm(form): CsrfForm<QuarantineForm>,
) -> Result<Response, DashboardError> {
    let test = form.test.trim();
    if test.is_empty() {
        return Err(DashboardError::BadRequest(
            "name the test to quarantine".into(),
        ));
    }
    let message = match form.action.as_str() {
        "add" => {
            let reason = form
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty());
            flowspec::quarantine::add(&state.project, test, reason).await?;
            format!("Quarantined {test}.")
        }
        "remove" => {
            flowspec::quarantine::remove(&state.project, test)
                .await
                .map_err(|e| DashboardError::BadRequest(e.to_string()))?;
            format!("Removed {test} from the quarantine.")
        }
        other => {
            return Err(DashboardError::BadRequest(format!(
                "unknown quarantine action `{other}`: use `add` or `remove`"
            )));
        }
    };
    Ok(Redirect::to(&format!("{BASE}/tests?done={}", query_value(&message))).into_response())
}
