//! Test results for people: a report's totals, failed and slowest tests, coverage,
//! flaky tests, a check's verdict, and reading errors as warnings; a CI job's
//! Markdown summary and failure annotations.

mod summary;

pub use summary::{
    MAX_SUMMARY_BYTES, annotations, md_code, md_fence, md_text, summary_markdown, summary_text,
};

use flowspec_results::flaky::FlakyReport;
use flowspec_results::model::{FailedTest, Totals};
use flowspec_results::store::RunInfo;
use flowspec_results::{ParseError, Report};

use super::{Painter, line, safe, safe_lines, seconds, short, table};
use crate::test_results::CheckReport;

/// `run ID (attempt N) · commit … · branch … · <source>`, in bold.
pub fn run_header(p: Painter, r: &RunInfo, source: &str) -> String {
    let mut header = format!("run {} (attempt {})", safe(&r.run_id), r.attempt);
    if let Some(commit) = &r.commit {
        header.push_str(&format!(" · commit {}", safe(short(commit))));
    }
    if let Some(branch) = &r.branch {
        header.push_str(&format!(" · branch {}", safe(branch)));
    }
    header.push_str(&format!(" · {}", safe(source)));
    format!("{}\n", p.bold(&header))
}

/// `12 tests, 10 passed, 1 failed, 0 errors, 1 skipped, 0 flaky, 3.20s` (one line, no
/// newline), failures in red.
///
/// ```
/// use flowspec::render::{Painter, results::totals_line};
///
/// let mut totals = flowspec::results::model::Totals::default();
/// (totals.tests, totals.passed) = (2, 2);
/// assert_eq!(
///     totals_line(Painter::plain(), &totals),
///     "2 tests, 2 passed, 0 failed, 0 errors, 0 skipped, 0 flaky, 0ms"
/// );
/// ```
pub fn totals_line(p: Painter, t: &Totals) -> String {
    let bad = |text: String, n: u64| if n > 0 { p.red(&text) } else { text };
    format!(
        "{} tests, {} passed, {}, {}, {} skipped, {} flaky, {}",
        t.tests,
        t.passed,
        bad(format!("{} failed", t.failed), t.failed),
        bad(format!("{} errors", t.errors), t.errors),
        t.skipped,
        t.flaky,
        seconds(t.time)
    )
}

/// The totals, coverage, up to `max_failures` failed tests and the slowest tests
/// (what `flowspec results show` prints).
pub fn report(p: Painter, report: &Report, max_failures: usize) -> String {
    let mut out = String::new();
    line!(out, "{}", totals_line(p, &report.totals));
    if let Some(coverage) = &report.coverage {
        let t = &coverage.totals;
        let rate = |r: Option<f64>, c: u64, v: u64| match r {
            Some(r) => format!("{:.1}% ({c}/{v})", r * 100.0),
            None => "n/a".to_owned(),
        };
        line!(
            out,
            "coverage: lines {}, branches {}",
            rate(t.line_rate, t.lines_covered, t.lines_valid),
            rate(t.branch_rate, t.branches_covered, t.branches_valid)
        );
    }
    out.push_str(&failures(p, report, max_failures));
    if !report.slowest.is_empty() {
        line!(out, "\n{}", p.bold("slowest tests"));
        let rows = report
            .slowest
            .iter()
            .map(|s| vec![seconds(s.time), s.status.to_string(), s.id.clone()]);
        line!(out, "{}", table(&["TIME", "STATUS", "TEST"], rows, p));
    }
    out
}

/// Up to `max` failed tests under a `failed tests` title, and how many more there are.
pub fn failures(p: Painter, report: &Report, max: usize) -> String {
    let mut out = String::new();
    if report.failures.is_empty() {
        return out;
    }
    line!(out, "\n{}", p.bold("failed tests"));
    for f in report.failures.iter().take(max) {
        out.push_str(&failure(p, f, "✗"));
    }
    let more = report.failures.len().saturating_sub(max) as u64 + report.failures_omitted;
    if more > 0 {
        line!(out, "  …and {more} more (--json lists them)");
    }
    out
}

/// `  ✗ id (kind) file:line`, then up to three lines of the message, dimmed.
pub fn failure(p: Painter, failure: &FailedTest, mark: &str) -> String {
    let mut out = String::new();
    let mut first = format!(
        "  {} {} ({})",
        p.red(mark),
        safe(&failure.id),
        failure.kind.as_str()
    );
    if let Some(file) = &failure.file {
        first.push_str(&format!(" {}", safe(file)));
        if let Some(n) = failure.line {
            first.push_str(&format!(":{n}"));
        }
    }
    line!(out, "{first}");
    for text in failure
        .message
        .as_deref()
        .unwrap_or_default()
        .lines()
        .take(3)
    {
        line!(out, "      {}", p.dim(&safe(text)));
    }
    out
}

/// The first line of a message, at most 80 characters.
fn first_line(message: Option<&str>) -> String {
    message
        .and_then(|m| m.lines().next())
        .unwrap_or("")
        .chars()
        .take(80)
        .collect()
}

/// Flaky tests ranked by flip rate, and broken ones apart (`flowspec results flaky`).
pub fn flaky(p: Painter, report: &FlakyReport, window: usize) -> String {
    let mut out = String::new();
    let outages = match report.outages.len() {
        0 => String::new(),
        n => format!(
            "; {n} outage run(s) ignored: {}",
            safe(&report.outages.join(", "))
        ),
    };
    line!(
        out,
        "{} runs considered (last {window}){outages}",
        report.runs_considered
    );
    if report.flaky.is_empty() {
        line!(out, "no flaky test");
    } else {
        line!(out, "\n{}", p.bold("flaky tests"));
        let rows = report.flaky.iter().map(|f| {
            vec![
                format!("{:.0}%", f.flip_rate * 100.0),
                format!("{}/{}", f.failures, f.runs),
                f.passed_on_rerun.to_string(),
                f.same_commit_flips.to_string(),
                f.test.clone(),
                first_line(f.last_message.as_deref()),
            ]
        });
        let header = [
            "FLIP RATE",
            "FAILED",
            "RERUN PASSES",
            "SAME-COMMIT FLIPS",
            "TEST",
            "LAST MESSAGE",
        ];
        line!(out, "{}", table(&header, rows, p));
    }
    if !report.broken.is_empty() {
        let title = "broken tests (failed in every run: not flaky, never quarantined)";
        line!(out, "\n{}", p.bold(title));
        let rows = report.broken.iter().map(|b| {
            vec![
                b.runs.to_string(),
                b.test.clone(),
                first_line(b.last_message.as_deref()),
            ]
        });
        line!(out, "{}", table(&["RUNS", "TEST", "LAST MESSAGE"], rows, p));
    }
    out
}

/// A check's totals, excused and blocking failures, and its verdict
/// (`flowspec results check`).
pub fn check(p: Painter, checked: &CheckReport) -> String {
    let mut out = String::new();
    let outcome = &checked.outcome;
    line!(out, "{}", totals_line(p, &checked.totals));
    if !outcome.quarantined.is_empty() {
        line!(out, "\n{}", p.bold("quarantined failures (excused)"));
        for excused in &outcome.quarantined {
            out.push_str(&failure(p, &excused.test, "~"));
            if let Some(reason) = &excused.entry.reason {
                line!(out, "      quarantined: {reason}");
            }
        }
    }
    if !outcome.blocking.is_empty() {
        line!(out, "\n{}", p.bold("failures"));
        for f in &outcome.blocking {
            out.push_str(&failure(p, f, "✗"));
            if outcome.broken_in_quarantine.contains(&f.id) {
                line!(
                    out,
                    "      quarantined, but broken: it failed in every recent run"
                );
            }
        }
    }
    let verdict = if outcome.passed {
        p.green("check passed")
    } else {
        p.red("check failed")
    };
    let why = if outcome.partial {
        " (a report could not be read to its end)".to_owned()
    } else if outcome.passed {
        String::new()
    } else {
        format!(
            " ({} failure(s) not excused by quarantine)",
            outcome.blocking.len()
        )
    };
    line!(out, "\n{verdict}{why}");
    out
}

/// A report's reading errors as `warning:` lines (for stderr, so JSON on stdout stays
/// clean), each file shown by `show_path`; then a note when the report is partial.
pub fn warnings(p: Painter, report: &Report, show_path: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let shown: ParseError = match &error.file {
            Some(file) => error.clone().in_file(show_path(file)),
            None => error.clone(),
        };
        line!(
            out,
            "{}{}",
            p.yellow("warning: "),
            safe_lines(&shown.to_string())
        );
    }
    if report.partial {
        line!(
            out,
            "  note: the tests read before the error are included (\"partial\": true)"
        );
    }
    out
}
