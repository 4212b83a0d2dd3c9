//! `flowspec results`: parse, ingest, show, flaky, check, quarantine, through
//! `flowspec::test_results` and `flowspec::quarantine`; this file renders.

use std::path::Path;

use anstyle::{AnsiColor, Style};
use flowspec::test_results::{self, CheckReport, CheckRequest, IngestRequest};
use flowspec_results::flaky::FlakyReport;
use flowspec_results::model::{FailedTest, Totals};
use flowspec_results::store::RunInfo;
use flowspec_results::{ParseOptions, Report};

use super::{Context, Failure, OrFail, print_json};
use crate::cli::results::{QuarantineCommand, ResultsCommand};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{Painter, safe, safe_lines, seconds, short, table};

const RED: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .bold();
const GREEN: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)))
    .bold();

pub async fn run(cx: &Context<'_>, command: ResultsCommand) -> Result<u8, Failure> {
    match command {
        ResultsCommand::Parse(args) => {
            let options = ParseOptions::default()
                .keep_cases(args.cases)
                .max_failures(args.failures);
            let report = test_results::parse(&args.files, options).or_fail(cx)?;
            if args.json {
                print_json(&report)?;
            } else {
                print_report(cx, &report, 50);
            }
            Ok(finish(cx, &report))
        }
        ResultsCommand::Ingest(args) => {
            let request = IngestRequest {
                run: args.run,
                attempt: args.attempt,
                commit: args.commit,
                branch: args.branch,
            };
            let project = cx.project()?;
            let stored = test_results::ingest(&project, args.files, request)
                .await
                .or_fail(cx)?;
            if args.json {
                print_json(&stored)?;
            } else {
                let verb = if stored.replaced == Some(true) {
                    "replaced"
                } else {
                    "stored"
                };
                outln!(
                    "{verb} run {} (attempt {}): {}",
                    safe(&stored.run.run_id),
                    stored.run.attempt,
                    totals_line(cx.out, &stored.run.totals)
                );
                print_failures(cx, &stored.report, 10);
            }
            Ok(finish(cx, &stored.report))
        }
        ResultsCommand::Show(args) => {
            let project = cx.project()?;
            let stored =
                test_results::show(&project, &args.run.selector(), args.failures, args.slowest)
                    .await
                    .or_fail(cx)?;
            if args.json {
                print_json(&stored)?;
            } else {
                let source = format!("{} · {}", stored.run.source, stored.run.created_at);
                print_run_header(cx, &stored.run, &source);
                print_report(cx, &stored.report, args.failures);
            }
            Ok(exit_code::OK)
        }
        ResultsCommand::Flaky(args) => {
            let project = cx.project()?;
            let (window, report) = test_results::flaky(&project, args.last, args.branch.as_deref())
                .await
                .or_fail(cx)?;
            if args.json {
                print_json(&report)?;
            } else {
                print_flaky(cx, &report, window);
            }
            Ok(exit_code::OK)
        }
        ResultsCommand::Check(args) => {
            let request = CheckRequest {
                files: args.files,
                run: args.run.selector(),
                ignore_quarantine: args.no_quarantine,
            };
            let project = cx.project()?;
            let checked = test_results::check(&project, request).await.or_fail(cx)?;
            if args.json {
                print_json(&checked)?;
            } else {
                print_check(cx, &checked);
            }
            print_errors(cx, &checked.report);
            Ok(if checked.outcome.passed {
                exit_code::OK
            } else {
                exit_code::RESULTS_FAILED
            })
        }
        ResultsCommand::Quarantine(command) => quarantine(cx, command).await,
        ResultsCommand::Prune(limits) => {
            let project = cx.project()?;
            let keep = limits.retention(&project.settings().state.retention, false);
            let pruned = test_results::prune(&project, &keep).await.or_fail(cx)?;
            if limits.json {
                print_json(&pruned)?;
            } else {
                outln!("removed {} stored run(s)", pruned.results_runs);
            }
            Ok(exit_code::OK)
        }
    }
}

async fn quarantine(cx: &Context<'_>, command: QuarantineCommand) -> Result<u8, Failure> {
    let project = cx.project()?;
    match command {
        QuarantineCommand::Add { test, reason, json } => {
            let added = flowspec::quarantine::add(&project, &test, reason.as_deref())
                .await
                .or_fail(cx)?;
            if json {
                print_json(&serde_json::json!({"test": test, "added": added}))?;
            } else if added {
                outln!("quarantined {test}");
            } else {
                outln!("{test} was already quarantined");
            }
        }
        QuarantineCommand::Remove { test, json } => {
            flowspec::quarantine::remove(&project, &test)
                .await
                .or_fail(cx)?;
            if json {
                print_json(&serde_json::json!({"test": test, "removed": true}))?;
            } else {
                outln!("lifted the quarantine of {test}");
            }
        }
        QuarantineCommand::List { json } => {
            let all = flowspec::quarantine::list(&project).await.or_fail(cx)?;
            if json {
                print_json(&all.entries())?;
            } else if all.entries().is_empty() {
                outln!("no test is quarantined");
            } else {
                let rows = all.entries().iter().map(|e| {
                    let source = format!("{:?}", e.source).to_lowercase();
                    vec![e.test.clone(), source, e.reason.clone().unwrap_or_default()]
                });
                outln!("{}", table(&["TEST", "FROM", "REASON"], rows, cx.out));
            }
        }
    }
    Ok(exit_code::OK)
}

/// Reading errors as warnings on stderr; exit 11 when a report was cut short.
fn finish(cx: &Context<'_>, report: &Report) -> u8 {
    print_errors(cx, report);
    if report.partial {
        exit_code::REPORT_INVALID
    } else {
        exit_code::OK
    }
}

/// `run ID (attempt N) · commit … · branch … · <source>`, in bold.
pub(super) fn print_run_header(cx: &Context<'_>, r: &RunInfo, source: &str) {
    let mut header = format!("run {} (attempt {})", safe(&r.run_id), r.attempt);
    if let Some(commit) = &r.commit {
        header.push_str(&format!(" · commit {}", safe(short(commit))));
    }
    if let Some(branch) = &r.branch {
        header.push_str(&format!(" · branch {}", safe(branch)));
    }
    header.push_str(&format!(" · {}", safe(source)));
    outln!("{}", cx.out.bold(&header));
}

fn totals_line(p: Painter, t: &Totals) -> String {
    let bad = |text: String, n: u64| if n > 0 { p.paint(RED, &text) } else { text };
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

pub(super) fn print_report(cx: &Context<'_>, report: &Report, max_failures: usize) {
    outln!("{}", totals_line(cx.out, &report.totals));
    if let Some(coverage) = &report.coverage {
        let t = &coverage.totals;
        let rate = |r: Option<f64>, c: u64, v: u64| match r {
            Some(r) => format!("{:.1}% ({c}/{v})", r * 100.0),
            None => "n/a".to_owned(),
        };
        outln!(
            "coverage: lines {}, branches {}",
            rate(t.line_rate, t.lines_covered, t.lines_valid),
            rate(t.branch_rate, t.branches_covered, t.branches_valid)
        );
    }
    print_failures(cx, report, max_failures);
    if !report.slowest.is_empty() {
        outln!("\n{}", cx.out.bold("slowest tests"));
        let rows = report
            .slowest
            .iter()
            .map(|s| vec![seconds(s.time), s.status.to_string(), s.id.clone()]);
        outln!("{}", table(&["TIME", "STATUS", "TEST"], rows, cx.out));
    }
}

fn print_failures(cx: &Context<'_>, report: &Report, max: usize) {
    if report.failures.is_empty() {
        return;
    }
    outln!("\n{}", cx.out.bold("failed tests"));
    for failure in report.failures.iter().take(max) {
        print_failure(cx, failure, "✗");
    }
    let more = report.failures.len().saturating_sub(max) as u64 + report.failures_omitted;
    if more > 0 {
        outln!("  …and {more} more (--json lists them)");
    }
}

/// `  ✗ id (kind) file:line`, then up to three lines of the message, dimmed.
pub(super) fn print_failure(cx: &Context<'_>, failure: &FailedTest, mark: &str) {
    let mut line = format!(
        "  {} {} ({})",
        cx.out.paint(RED, mark),
        safe(&failure.id),
        failure.kind.as_str()
    );
    if let Some(file) = &failure.file {
        line.push_str(&format!(" {}", safe(file)));
        if let Some(n) = failure.line {
            line.push_str(&format!(":{n}"));
        }
    }
    outln!("{line}");
    for text in failure
        .message
        .as_deref()
        .unwrap_or_default()
        .lines()
        .take(3)
    {
        outln!("      {}", cx.out.dim(&safe(text)));
    }
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

fn print_flaky(cx: &Context<'_>, report: &FlakyReport, window: usize) {
    let outages = match report.outages.len() {
        0 => String::new(),
        n => format!(
            "; {n} outage run(s) ignored: {}",
            safe(&report.outages.join(", "))
        ),
    };
    outln!(
        "{} runs considered (last {window}){outages}",
        report.runs_considered
    );
    if report.flaky.is_empty() {
        outln!("no flaky test");
    } else {
        outln!("\n{}", cx.out.bold("flaky tests"));
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
        outln!("{}", table(&header, rows, cx.out));
    }
    if !report.broken.is_empty() {
        let title = "broken tests (failed in every run: not flaky, never quarantined)";
        outln!("\n{}", cx.out.bold(title));
        let rows = report.broken.iter().map(|b| {
            vec![
                b.runs.to_string(),
                b.test.clone(),
                first_line(b.last_message.as_deref()),
            ]
        });
        outln!("{}", table(&["RUNS", "TEST", "LAST MESSAGE"], rows, cx.out));
    }
}

fn print_check(cx: &Context<'_>, checked: &CheckReport) {
    let outcome = &checked.outcome;
    outln!("{}", totals_line(cx.out, &checked.totals));
    if !outcome.quarantined.is_empty() {
        outln!("\n{}", cx.out.bold("quarantined failures (excused)"));
        for excused in &outcome.quarantined {
            print_failure(cx, &excused.test, "~");
            if let Some(reason) = &excused.entry.reason {
                outln!("      quarantined: {reason}");
            }
        }
    }
    if !outcome.blocking.is_empty() {
        outln!("\n{}", cx.out.bold("failures"));
        for failure in &outcome.blocking {
            print_failure(cx, failure, "✗");
            if outcome.broken_in_quarantine.contains(&failure.id) {
                outln!("      quarantined, but broken: it failed in every recent run");
            }
        }
    }
    let verdict = if outcome.passed {
        cx.out.paint(GREEN, "check passed")
    } else {
        cx.out.paint(RED, "check failed")
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
    outln!("\n{verdict}{why}");
}

/// Reading errors go to stderr, so that --json output stays clean.
pub(super) fn print_errors(cx: &Context<'_>, report: &Report) {
    for error in &report.errors {
        let shown = match &error.file {
            Some(file) => error.clone().in_file(cx.show_path(Path::new(file))),
            None => error.clone(),
        };
        let warning = cx.err.paint(
            Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
            "warning: ",
        );
        eprintln!("{warning}{}", safe_lines(&shown.to_string()));
    }
    if report.partial {
        eprintln!("  note: the tests read before the error are included (\"partial\": true)");
    }
}
