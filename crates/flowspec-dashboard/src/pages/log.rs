//! `/ui/runs/{profile}/{run}/jobs/{job}/log`: a job's log, a window of it at a time
//! (the end by default), searchable, followed live while the job runs, downloadable
//! raw. Finished logs are kept in a small cache so paging a large log does not fetch
//! it again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::Event as SseEvent;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use flowspec_core::provider::{JobId, RunId};
use maud::{Markup, html};
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::ansi;
use crate::auth::Session;
use crate::error::DashboardError;
use crate::layout::{Nav, Page, query_value};
use crate::live::async_stream;
use crate::log_text::LogText;

/// Lines on one page of the log.
pub(crate) const WINDOW: usize = 2000;
/// Matches shown for one search.
const MAX_MATCHES: usize = 2000;
/// Finished logs kept, and their most bytes together.
const CACHED_LOGS: usize = 4;
const CACHED_BYTES: usize = 256 * 1024 * 1024;

/// The last few finished logs, newest last.
#[derive(Default)]
pub(crate) struct LogCache {
    logs: Mutex<VecDeque<(String, Arc<LogText>)>>,
}

impl LogCache {
    fn get(&self, key: &str) -> Option<Arc<LogText>> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, log: Arc<LogText>) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.retain(|(k, _)| *k != key);
        logs.push_back((key, log));
        while logs.len() > CACHED_LOGS
            || (logs.len() > 1
                && logs.iter().map(|(_, l)| l.bytes().len()).sum::<usize>() > CACHED_BYTES)
        {
            logs.pop_front();
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct JobPath {
    profile: String,
    run: String,
    job: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct LogQuery {
    /// The first line shown (1-based); default: the last window.
    from: Option<usize>,
    /// Only lines containing this text (case-insensitive).
    q: Option<String>,
}

/// The whole log as the platform has it now, and whether it is complete.
async fn fetch(
    state: &AppState,
    path: &JobPath,
) -> Result<(Arc<LogText>, bool, u64), DashboardError> {
    let key = format!("{}/{}/{}", path.profile, path.run, path.job);
    if let Some(log) = state.logs.get(&key) {
        let len = log.bytes().len() as u64;
        return Ok((log, true, len));
    }
    let (_, provider) = state.provider(Some(&path.profile))?;
    let chunk = provider
        .job_log(
            &RunId::new(path.run.clone()),
            &JobId::new(path.job.clone()),
            0,
        )
        .await?;
    let log = Arc::new(LogText::new(chunk.bytes));
    if chunk.complete {
        state.logs.put(key, log.clone());
    }
    Ok((log, chunk.complete, chunk.next_offset))
}

/// The lines of a log (without their `\n`).
fn lines(log: &[u8]) -> impl Iterator<Item = &[u8]> {
    let empty = log.is_empty();
    let log = log.strip_suffix(b"\n").unwrap_or(log);
    log.split(|b| *b == b'\n').filter(move |_| !empty)
}

fn line_row(number: usize, line: &[u8]) -> Markup {
    let text = String::from_utf8_lossy(line);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    html! {
        div.l id={"L" (number)} {
            a.ln href={"#L" (number)} { (number) }
            span.t { (ansi::line_html(text)) }
        }
    }
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(path): Path<JobPath>,
    Query(query): Query<LogQuery>,
) -> Result<Response, DashboardError> {
    let (log, complete, next_offset) = fetch(&state, &path).await?;
    let total = log.line_count();
    let base = format!(
        "{BASE}/runs/{}/{}/jobs/{}/log",
        query_value(&path.profile),
        query_value(&path.run),
        query_value(&path.job)
    );
    let run_href = format!(
        "{BASE}/runs/{}/{}",
        query_value(&path.profile),
        query_value(&path.run)
    );
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let (rows, first, last, matched) = match search {
        Some(q) => {
            let (found, matched) = log.find(q, MAX_MATCHES);
            let shown = found
                .into_iter()
                .map(|i| line_row(i + 1, log.line(i)))
                .collect();
            (shown, 1, total, Some(matched))
        }
        None => {
            let first = query
                .from
                .unwrap_or_else(|| total.saturating_sub(WINDOW - 1))
                .clamp(1, total.max(1));
            let rows: Vec<Markup> = (first - 1..(first - 1 + WINDOW).min(total))
                .map(|i| line_row(i + 1, log.line(i)))
                .collect();
            let last = first + rows.len().saturating_sub(1);
            (rows, first, last, None)
        }
    };
    let following = !complete && search.is_none() && last == total;
    let title = format!("Log of job {}", path.job);
    let body = html! {
        p.crumbs { a href=(run_href) { "Run " (path.run) } " / job " (path.job) }
        h1 { "Log" }
        form.search method="get" action=(base) role="search" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=[search] placeholder="text in the log";
            button type="submit" { "Search" }
            a href={(base) "/raw"} download { "Download raw" }
        }
        @match matched {
            Some(n) => p.muted { (n) " matching line(s) of " (total) @if n > MAX_MATCHES { ", the first " (MAX_MATCHES) " shown" } " · " a href=(base) { "whole log" } },
            None => p.muted {
                @if total == 0 { "The log is empty so far." } @else { "Lines " (first) "–" (last) " of " (total) }
                @if first > 1 { " · " a href={(base) "?from=" (first.saturating_sub(WINDOW).max(1))} { "earlier lines" } }
                @if last < total { " · " a href={(base) "?from=" (last + 1)} { "later lines" } }
                @if following { " · " span.live-note { "following the running job" } }
            },
        }
        div.log #log
            data-live=[following.then(|| format!("{base}/stream?offset={next_offset}&line={}", total + 1))]
            data-event="lines" data-mode="append" {
            @for row in rows { (row) }
        }
    };
    Ok(Page::new(title)
        .nav(Nav::Runs, &session)
        .body(body)
        .render())
}

pub(crate) async fn raw(
    State(state): State<Arc<AppState>>,
    Path(path): Path<JobPath>,
) -> Result<Response, DashboardError> {
    let (log, _, _) = fetch(&state, &path).await?;
    let mut response = log.bytes().clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let name = format!(
        "job-{}.log",
        path.job.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    offset: u64,
    line: usize,
}

/// Server-sent `lines` events with the rows the log grew by, then `end` once the job
/// finished. Only whole lines are sent; a partial last line waits for its end.
pub(crate) async fn stream(
    State(state): State<Arc<AppState>>,
    Path(path): Path<JobPath>,
    Query(query): Query<StreamQuery>,
) -> Result<Response, DashboardError> {
    let (_, provider) = state.provider(Some(&path.profile))?;
    let (run, job) = (RunId::new(path.run), JobId::new(path.job));
    let events = async_stream(move |tx| async move {
        let (mut offset, mut line) = (query.offset, query.line);
        let mut idle = Duration::from_secs(2);
        loop {
            let Ok(chunk) = provider.job_log(&run, &job, offset).await else {
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            };
            let bytes = &chunk.bytes[..];
            let whole = if chunk.complete {
                bytes.len()
            } else {
                bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
            };
            if whole > 0 {
                let rows: Vec<Markup> = lines(&bytes[..whole])
                    .enumerate()
                    .map(|(i, l)| line_row(line + i, l))
                    .collect();
                line += rows.len();
                let html = html! { @for row in rows { (row) } }.into_string();
                if tx
                    .send(SseEvent::default().event("lines").data(html))
                    .await
                    .is_err()
                {
                    return;
                }
                idle = Duration::from_secs(2);
            } else {
                idle = (idle * 3 / 2).min(Duration::from_secs(10));
            }
            offset += whole as u64;
            if chunk.complete {
                let _ = tx.send(SseEvent::default().event("end").data("")).await;
                return;
            }
            tokio::time::sleep(idle).await;
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_split_lines_without_a_phantom_last_one() {
        assert_eq!(lines(b"a\nb\n").count(), 2);
        assert_eq!(lines(b"a\nb").count(), 2);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }

    #[test]
    fn should_number_rows_and_escape_them() {
        let row = line_row(7, b"<b>x</b>\r").into_string();
        assert_eq!(
            row,
            "<div class=\"l\" id=\"L7\"><a class=\"ln\" href=\"#L7\">7</a><span class=\"t\">&lt;b&gt;x&lt;/b&gt;</span></div>"
        );
    }
}
