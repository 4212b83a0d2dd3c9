//! CI runs for people: a run's line, its jobs, a list of runs, how a wait ended, the
//! results fetched from a run and the fix context gathered for one.

use std::path::Path;

use flowspec_core::provider::{Job, Run, RunStatus};
use flowspec_results::ci::FetchedResults;

use super::{Painter, human_ms, line, safe, safe_lines, table};
use crate::Verdict;
use crate::ci::{FixBundle, WaitReport};

/// Where the docs say how to add a hook on `ci.fix.requested`.
const FIX_DOCS: &str = "https://github.com/flowspec/flowspec/blob/main/docs/ci.md";

/// `run ID: status (raw status)  workflow on branch · time`, then the URL.
pub fn run(r: &Run) -> String {
    let mut first = run_line(r);
    if let Some(w) = &r.workflow {
        first.push_str(&format!("  {}", safe(w)));
    }
    if let Some(b) = &r.head_branch {
        first.push_str(&format!(" on {}", safe(b)));
    }
    if let Some(d) = r.duration() {
        first.push_str(&format!(
            " · {}",
            human_ms(d.num_milliseconds().max(0) as u64)
        ));
    }
    let mut out = String::new();
    line!(out, "{first}");
    if let Some(u) = &r.url {
        line!(out, "{}", safe(u));
    }
    out
}

/// `run ID: status (raw status)` (no newline).
pub fn run_line(r: &Run) -> String {
    format!(
        "run {}: {} ({})",
        safe(r.id.as_str()),
        r.status,
        safe(&r.raw_status)
    )
}

/// A table of jobs with a status symbol and their time; empty without jobs.
pub fn jobs(p: Painter, jobs: &[Job]) -> String {
    if jobs.is_empty() {
        return String::new();
    }
    let rows = jobs.iter().map(|j| {
        vec![
            symbol(j.status).to_owned(),
            j.name.clone(),
            j.status.to_string(),
            job_duration(j),
            j.id.to_string(),
        ]
    });
    format!("{}\n", table(&["", "JOB", "STATUS", "TIME", "ID"], rows, p))
}

/// `✓ name success 1m05s` (no newline).
pub fn job_line(job: &Job) -> String {
    format!(
        "{} {} {} {}",
        symbol(job.status),
        safe(&job.name),
        job.status,
        job_duration(job)
    )
}

/// How long a job ran (until now while it runs); empty before it starts.
pub fn job_duration(j: &Job) -> String {
    let end = j.finished_at.unwrap_or_else(chrono::Utc::now);
    j.started_at
        .map(|s| human_ms((end - s).num_milliseconds().max(0) as u64))
        .unwrap_or_default()
}

/// A status's symbol: `✓`, `✗`, `▶`, `·`…
pub fn symbol(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "·",
        RunStatus::Running => "▶",
        RunStatus::Waiting => "⏸",
        RunStatus::Success => "✓",
        RunStatus::Failed => "✗",
        RunStatus::Cancelled => "⊘",
        RunStatus::Skipped => "↷",
        _ => "?",
    }
}

/// A table of runs (`flowspec ci list`), or `no runs`.
pub fn runs(p: Painter, runs: &[Run]) -> String {
    if runs.is_empty() {
        return "no runs\n".to_owned();
    }
    let rows = runs.iter().map(|r| {
        vec![
            r.id.to_string(),
            r.status.to_string(),
            r.workflow.clone().unwrap_or_default(),
            r.head_branch.clone().unwrap_or_default(),
            r.created_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        ]
    });
    let header = ["RUN", "STATUS", "WORKFLOW", "BRANCH", "CREATED"];
    format!("{}\n", table(&header, rows, p))
}

/// The provider kinds (kind, description) and the project's profiles (name, kind).
pub fn providers(p: Painter, kinds: &[(String, String)], profiles: &[(String, String)]) -> String {
    let pairs = |list: &[(String, String)]| {
        list.iter()
            .map(|(a, b)| vec![a.clone(), b.clone()])
            .collect::<Vec<_>>()
    };
    let mut out = String::new();
    line!(
        out,
        "{}",
        table(&["PROVIDER", "DESCRIPTION"], pairs(kinds), p)
    );
    if !profiles.is_empty() {
        line!(
            out,
            "\n{}",
            table(&["PROFILE", "PROVIDER"], pairs(profiles), p)
        );
    }
    out
}

/// How a wait ended: the run (or that the wait gave up), its jobs, and what
/// `--quarantine` decided.
pub fn waited(p: Painter, report: &WaitReport) -> String {
    let outcome = &report.outcome;
    let mut out = String::new();
    if report.verdict() == Verdict::TimedOut {
        line!(
            out,
            "gave up waiting after {}: run {} is still {} (it keeps going)",
            human_ms(report.waited.as_millis() as u64),
            safe(outcome.run.id.as_str()),
            outcome.run.status
        );
    } else {
        out.push_str(&run(&outcome.run));
    }
    if let Some(pushed) = &outcome.pushed {
        let told = format!(
            "ended by the stored ci.completed webhook (event {}, conclusion {})",
            safe(&pushed.event_id),
            safe(&pushed.conclusion)
        );
        line!(out, "{}", p.dim(&told));
    }
    out.push_str(&jobs(p, &outcome.jobs));
    if let Some(q) = &report.quarantine {
        let reason = safe(q.reason());
        if q.excused {
            let first = format!(
                "run {} failed, but {reason}: exit 0 (--quarantine)",
                safe(outcome.run.id.as_str())
            );
            line!(out, "{}", p.bold(&first));
            for failure in q.report.iter().flat_map(|r| &r.failures) {
                out.push_str(&super::results::failure(p, failure, "~"));
            }
        } else {
            line!(out, "--quarantine does not excuse the failure: {reason}");
        }
    }
    out
}

/// What `flowspec ci results` fetched and stored, then the report.
pub fn fetched(
    p: Painter,
    fetched: &FetchedResults,
    platform: &str,
    max_failures: usize,
) -> String {
    let ingested = &fetched.ingested;
    let mut out = super::results::run_header(p, &ingested.run, platform);
    let downloaded: Vec<String> = fetched
        .artifacts
        .iter()
        .map(|a| format!("{} ({} file(s), {} bytes)", safe(&a.name), a.files, a.bytes))
        .collect();
    line!(out, "downloaded {}", downloaded.join(", "));
    if !fetched.skipped.is_empty() {
        let skipped = safe(&fetched.skipped.join(", ")).into_owned();
        let text = format!("skipped (names not in results.artifacts): {skipped}");
        line!(out, "{}", p.dim(&text));
    }
    let verb = if ingested.replaced {
        "replaced with"
    } else {
        "stored"
    };
    line!(
        out,
        "{verb} {} report(s); see `flowspec results show --run {}`",
        fetched.reports.len(),
        safe(&ingested.run.run_id)
    );
    out.push_str(&super::results::report(p, &ingested.report, max_failures));
    out
}

/// What `flowspec ci fix` gathered, where it wrote it, and which hooks took it.
pub fn fix(run: &Run, bundle: &FixBundle, show_path: impl Fn(&Path) -> String) -> String {
    let gathered = &bundle.gathered;
    let c = &gathered.context;
    let mut out = String::new();
    line!(
        out,
        "fix context for run {}: {} failed test(s), {} log excerpt(s) from {} failed job(s)",
        safe(run.id.as_str()),
        c.failures.len() as u64 + c.failures_omitted,
        c.failures.iter().map(|f| f.log.len()).sum::<usize>() + c.log_errors.len(),
        gathered.jobs.len()
    );
    line!(
        out,
        "  {}\n  {}",
        show_path(&bundle.markdown),
        show_path(&bundle.json)
    );
    match &bundle.dispatch {
        None => line!(
            out,
            "no hooks.yaml: ci.fix.requested was not emitted (add a hook on it: {FIX_DOCS})"
        ),
        Some(d) if d.hooks.is_empty() => line!(
            out,
            "ci.fix.requested: no hook matches (add one to .flowspec/hooks/hooks.yaml: {FIX_DOCS})"
        ),
        Some(d) => {
            let hooks: Vec<String> = d
                .hooks
                .iter()
                .map(|h| format!("{} {}", h.hook, h.status.as_str()))
                .collect();
            line!(out, "ci.fix.requested → {}", hooks.join(", "));
        }
    }
    out
}

/// The notes on jobs whose log could not be read, masked (for stderr).
pub fn fix_notes(bundle: &FixBundle, mask: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for job in &bundle.gathered.jobs {
        if let Some(error) = &job.error {
            line!(
                out,
                "note: no log of job {}: {}",
                safe(&job.name),
                safe_lines(&mask(error))
            );
        }
    }
    out
}
