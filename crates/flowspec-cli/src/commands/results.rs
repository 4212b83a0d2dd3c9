//! `flowspec results`: parse test and coverage reports, store them per CI run, show
//! a run, find flaky and broken tests, check a run against the quarantine.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Style};
use flowspec_results::config::ResultsConfig;
use flowspec_results::flaky::FlakyReport;
use flowspec_results::model::FailedTest;
use flowspec_results::quarantine::{self, Quarantine};
use flowspec_results::store::{ResultsStore, RunInfo, RunMeta};
use flowspec_results::{ParseOptions, Report, ReportBuilder, ResultsError};
use serde::Serialize;

use super::{Context, Failure, OrFail, print_json};
use crate::cli::results::{
    CheckArgs, FlakyArgs, IngestArgs, ParseArgs, QuarantineCommand, ResultsCommand, ShowArgs,
};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{Painter, table};

pub async fn run(cx: &Context<'_>, command: ResultsCommand) -> Result<u8, Failure> {
    match command {
        ResultsCommand::Parse(args) => parse(cx, args),
        ResultsCommand::Ingest(args) => ingest(cx, args).await,
        ResultsCommand::Show(args) => show(cx, args).await,
        ResultsCommand::Flaky(args) => flaky(cx, args).await,
        ResultsCommand::Check(args) => check(cx, args).await,
        ResultsCommand::Quarantine(command) => quarantine_command(cx, command).await,
    }
}

/// The project's root, `results:` settings and results store.
struct Opened {
    root: PathBuf,
    config: ResultsConfig,
    store: ResultsStore,
}

async fn open(cx: &Context<'_>) -> Result<Opened, Failure> {
    let project = cx.project()?;
    let results = project.results().await.or_fail(cx)?;
    Ok(Opened {
        root: project.root().to_path_buf(),
        config: results.config,
        store: results.store,
    })
}

/// Every report file must exist and be readable: a missing file is an error, not an
/// empty report.
fn readable(cx: &Context<'_>, files: &[PathBuf]) -> Result<(), Failure> {
    for file in files {
        if let Err(e) = std::fs::File::open(file).and_then(|f| f.metadata()) {
            return Err(Failure::new(
                exit_code::REPORT_INVALID,
                format!("cannot read report {}: {e}", cx.show_path(file)),
            ));
        }
    }
    Ok(())
}

pub(super) fn store_failure(error: ResultsError) -> Failure {
    match error {
        ResultsError::UnknownRun(_) | ResultsError::NoRuns => {
            Failure::new(exit_code::ERROR, error.to_string())
        }
        ResultsError::NoReports(_) => Failure::new(exit_code::REPORT_INVALID, error.to_string()),
        other => Failure::error(other.to_string()),
    }
}

fn parse(cx: &Context<'_>, args: ParseArgs) -> Result<u8, Failure> {
    readable(cx, &args.files)?;
    let options = ParseOptions::default()
        .keep_cases(args.cases)
        .max_failures(args.failures);
    let mut builder = ReportBuilder::new(options);
    for file in &args.files {
        builder.add_file(file);
    }
    let report = builder.finish();
    if args.json {
        print_json(&report)?;
    } else {
        print_report(cx, &report, 50);
    }
    print_errors(cx, &report);
    Ok(if report.partial {
        exit_code::REPORT_INVALID
    } else {
        exit_code::OK
    })
}

#[derive(Serialize)]
struct RunJson<'a> {
    run: &'a RunInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced: Option<bool>,
    #[serde(flatten)]
    report: &'a Report,
}

async fn ingest(cx: &Context<'_>, args: IngestArgs) -> Result<u8, Failure> {
    readable(cx, &args.files)?;
    let project = open(cx).await?;
    let root = project.root.clone();
    let mut meta = match &args.run {
        Some(id) => RunMeta::new(id.clone()),
        None => RunMeta::local(),
    }
    .attempt(args.attempt);
    meta.commit = args.commit.clone().or_else(|| flowspec::git::commit(&root));
    meta.branch = args.branch.clone().or_else(|| flowspec::git::branch(&root));
    let ingested = project
        .store
        .ingest(meta, args.files.clone(), ParseOptions::default())
        .await
        .map_err(store_failure)?;
    if args.json {
        print_json(&RunJson {
            run: &ingested.run,
            replaced: Some(ingested.replaced),
            report: &ingested.report,
        })?;
    } else {
        let verb = if ingested.replaced {
            "replaced"
        } else {
            "stored"
        };
        outln!(
            "{} run {} (attempt {}): {}",
            verb,
            ingested.run.run_id,
            ingested.run.attempt,
            totals_line(cx.out, &ingested.run.totals)
        );
        print_failures(cx, &ingested.report, 10);
    }
    print_errors(cx, &ingested.report);
    Ok(if ingested.report.partial {
        exit_code::REPORT_INVALID
    } else {
        exit_code::OK
    })
}

async fn show(cx: &Context<'_>, args: ShowArgs) -> Result<u8, Failure> {
    let project = open(cx).await?;
    let run = project
        .store
        .run(&args.run.selector())
        .await
        .map_err(store_failure)?;
    let report = project
        .store
        .report(&run, args.failures, args.slowest)
        .await
        .map_err(store_failure)?;
    if args.json {
        print_json(&RunJson {
            run: &run,
            replaced: None,
            report: &report,
        })?;
        return Ok(exit_code::OK);
    }
    let mut header = format!("run {} (attempt {})", run.run_id, run.attempt);
    if let Some(commit) = &run.commit {
        header.push_str(&format!(" · commit {}", short(commit)));
    }
    if let Some(branch) = &run.branch {
        header.push_str(&format!(" · branch {branch}"));
    }
    header.push_str(&format!(" · {} · {}", run.source, run.created_at));
    outln!("{}", cx.out.bold(&header));
    print_report(cx, &report, args.failures);
    Ok(exit_code::OK)
}

async fn flaky(cx: &Context<'_>, args: FlakyArgs) -> Result<u8, Failure> {
    let project = open(cx).await?;
    let mut options = project.config.flaky.clone();
    if let Some(last) = args.last {
        options.window = last.max(1);
    }
    let report = project
        .store
        .flaky(&options, args.branch.as_deref())
        .await
        .map_err(store_failure)?;
    if args.json {
        print_json(&report)?;
    } else {
        print_flaky(cx, &report, options.window);
    }
    Ok(exit_code::OK)
}

#[derive(Serialize)]
struct CheckJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<&'a RunInfo>,
    totals: &'a flowspec_results::model::Totals,
    #[serde(flatten)]
    outcome: &'a quarantine::CheckOutcome,
}

async fn check(cx: &Context<'_>, args: CheckArgs) -> Result<u8, Failure> {
    readable(cx, &args.files)?;
    let project = open(cx).await?;
    let (run, report) = if args.files.is_empty() {
        let run = project
            .store
            .run(&args.run.selector())
            .await
            .map_err(store_failure)?;
        let report = project
            .store
            .report(&run, usize::MAX >> 1, 0)
            .await
            .map_err(store_failure)?;
        (Some(run), report)
    } else {
        let mut builder = ReportBuilder::new(ParseOptions::default().max_failures(usize::MAX));
        for file in &args.files {
            builder.add_file(file);
        }
        (None, builder.finish())
    };
    let mut quarantine = Quarantine::default();
    let mut broken = HashSet::new();
    if !args.no_quarantine {
        quarantine = project.config.quarantine.clone();
        quarantine.extend(
            project
                .store
                .quarantine_list()
                .await
                .map_err(store_failure)?,
        );
        broken = project
            .store
            .broken_tests(&project.config.flaky, None)
            .await
            .map_err(store_failure)?;
    }
    let outcome = quarantine::check(&report.failures, report.partial, &quarantine, &broken);
    if args.json {
        print_json(&CheckJson {
            run: run.as_ref(),
            totals: &report.totals,
            outcome: &outcome,
        })?;
    } else {
        print_check(cx, &report, &outcome);
    }
    print_errors(cx, &report);
    Ok(if outcome.passed {
        exit_code::OK
    } else {
        exit_code::RESULTS_FAILED
    })
}

async fn quarantine_command(cx: &Context<'_>, command: QuarantineCommand) -> Result<u8, Failure> {
    let project = open(cx).await?;
    match command {
        QuarantineCommand::Add { test, reason, json } => {
            let added = project
                .store
                .quarantine_add(&test, reason.as_deref())
                .await
                .map_err(store_failure)?;
            if json {
                print_json(&serde_json::json!({"test": test, "added": added}))?;
            } else if added {
                outln!("quarantined {test}");
            } else {
                outln!("{test} was already quarantined");
            }
        }
        QuarantineCommand::Remove { test, json } => {
            let removed = project
                .store
                .quarantine_remove(&test)
                .await
                .map_err(store_failure)?;
            if !removed {
                let in_config = project
                    .config
                    .quarantine
                    .entries()
                    .iter()
                    .any(|e| e.test == test);
                let hint = if in_config {
                    "\n  hint: it is listed in results.quarantine in flowspec.yaml: remove it there"
                } else {
                    "\n  hint: `flowspec results quarantine list` shows the entries"
                };
                return Err(Failure::usage(format!(
                    "{test} is not in the stored quarantine{hint}"
                )));
            }
            if json {
                print_json(&serde_json::json!({"test": test, "removed": true}))?;
            } else {
                outln!("lifted the quarantine of {test}");
            }
        }
        QuarantineCommand::List { json } => {
            let mut all = project.config.quarantine.clone();
            all.extend(
                project
                    .store
                    .quarantine_list()
                    .await
                    .map_err(store_failure)?,
            );
            if json {
                print_json(&all.entries())?;
            } else if all.entries().is_empty() {
                outln!("no test is quarantined");
            } else {
                let rows: Vec<Vec<String>> = all
                    .entries()
                    .iter()
                    .map(|e| {
                        vec![
                            e.test.clone(),
                            format!("{:?}", e.source).to_lowercase(),
                            e.reason.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                outln!("{}", table(&["TEST", "FROM", "REASON"], &rows, cx.out));
            }
        }
    }
    Ok(exit_code::OK)
}

pub(super) fn totals_line(p: Painter, t: &flowspec_results::model::Totals) -> String {
    let failed_text = format!("{} failed", t.failed);
    let errors_text = format!("{} errors", t.errors);
    let paint_bad = |text: &str, n: u64| {
        if n > 0 {
            p.paint(
                Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
                text,
            )
        } else {
            text.to_owned()
        }
    };
    format!(
        "{} tests, {} passed, {}, {}, {} skipped, {} flaky, {}",
        t.tests,
        t.passed,
        paint_bad(&failed_text, t.failed),
        paint_bad(&errors_text, t.errors),
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
        outln!();
        outln!("{}", cx.out.bold("slowest tests"));
        let rows: Vec<Vec<String>> = report
            .slowest
            .iter()
            .map(|s| vec![seconds(s.time), s.status.to_string(), s.id.clone()])
            .collect();
        outln!("{}", table(&["TIME", "STATUS", "TEST"], &rows, cx.out));
    }
}

pub(super) fn print_failures(cx: &Context<'_>, report: &Report, max: usize) {
    if report.failures.is_empty() {
        return;
    }
    outln!();
    outln!("{}", cx.out.bold("failed tests"));
    for failure in report.failures.iter().take(max) {
        print_failure(cx, failure, "✗");
    }
    let more = report.failures.len().saturating_sub(max) as u64 + report.failures_omitted;
    if more > 0 {
        outln!("  …and {more} more (--json lists them)");
    }
}

pub(super) fn print_failure(cx: &Context<'_>, failure: &FailedTest, mark: &str) {
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let mut line = format!(
        "  {} {} ({})",
        cx.out.paint(red, mark),
        failure.id,
        failure.kind.as_str()
    );
    if let Some(file) = &failure.file {
        match failure.line {
            Some(n) => line.push_str(&format!(" {file}:{n}")),
            None => line.push_str(&format!(" {file}")),
        }
    }
    outln!("{line}");
    if let Some(message) = &failure.message {
        for text in message.lines().take(3) {
            outln!("      {}", cx.out.dim(text));
        }
    }
}

fn print_flaky(cx: &Context<'_>, report: &FlakyReport, window: usize) {
    outln!(
        "{} runs considered (last {window}){}",
        report.runs_considered,
        if report.outages.is_empty() {
            String::new()
        } else {
            format!(
                "; {} outage run(s) ignored: {}",
                report.outages.len(),
                report.outages.join(", ")
            )
        }
    );
    if report.flaky.is_empty() {
        outln!("no flaky test");
    } else {
        outln!();
        outln!("{}", cx.out.bold("flaky tests"));
        let rows: Vec<Vec<String>> = report
            .flaky
            .iter()
            .map(|f| {
                vec![
                    format!("{:.0}%", f.flip_rate * 100.0),
                    format!("{}/{}", f.failures, f.runs),
                    f.passed_on_rerun.to_string(),
                    f.same_commit_flips.to_string(),
                    f.test.clone(),
                    f.last_message
                        .as_deref()
                        .and_then(|m| m.lines().next())
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect(),
                ]
            })
            .collect();
        outln!(
            "{}",
            table(
                &[
                    "FLIP RATE",
                    "FAILED",
                    "RERUN PASSES",
                    "SAME-COMMIT FLIPS",
                    "TEST",
                    "LAST MESSAGE"
                ],
                &rows,
                cx.out
            )
        );
    }
    if !report.broken.is_empty() {
        outln!();
        outln!(
            "{}",
            cx.out
                .bold("broken tests (failed in every run: not flaky, never quarantined)")
        );
        let rows: Vec<Vec<String>> = report
            .broken
            .iter()
            .map(|b| {
                vec![
                    b.runs.to_string(),
                    b.test.clone(),
                    b.last_message
                        .as_deref()
                        .and_then(|m| m.lines().next())
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect(),
                ]
            })
            .collect();
        outln!(
            "{}",
            table(&["RUNS", "TEST", "LAST MESSAGE"], &rows, cx.out)
        );
    }
}

fn print_check(cx: &Context<'_>, report: &Report, outcome: &quarantine::CheckOutcome) {
    outln!("{}", totals_line(cx.out, &report.totals));
    if !outcome.quarantined.is_empty() {
        outln!();
        outln!("{}", cx.out.bold("quarantined failures (excused)"));
        for excused in &outcome.quarantined {
            print_failure(cx, &excused.test, "~");
            if let Some(reason) = &excused.entry.reason {
                outln!("      quarantined: {reason}");
            }
        }
    }
    if !outcome.blocking.is_empty() {
        outln!();
        outln!("{}", cx.out.bold("failures"));
        for failure in &outcome.blocking {
            print_failure(cx, failure, "✗");
            if outcome.broken_in_quarantine.contains(&failure.id) {
                outln!("      quarantined, but broken: it failed in every recent run");
            }
        }
    }
    outln!();
    let verdict = if outcome.passed {
        cx.out.paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            "check passed",
        )
    } else {
        cx.out.paint(
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            "check failed",
        )
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
    outln!("{verdict}{why}");
}

/// Reading errors go to stderr, so that --json output stays clean.
pub(super) fn print_errors(cx: &Context<'_>, report: &Report) {
    for error in &report.errors {
        let shown = match &error.file {
            Some(file) => error.clone().in_file(cx.show_path(Path::new(file))),
            None => error.clone(),
        };
        eprintln!(
            "{}{shown}",
            cx.err.paint(
                Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
                "warning: "
            )
        );
    }
    if report.partial {
        eprintln!("  note: the tests read before the error are included (\"partial\": true)");
    }
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

pub(super) fn short(commit: &str) -> &str {
    // By characters: a commit id from a custom CI need not be ASCII.
    commit
        .char_indices()
        .nth(12)
        .map_or(commit, |(end, _)| &commit[..end])
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn should_shorten_a_commit_to_twelve_characters_without_splitting_one() {
        assert_eq!(short("3f2a9c1d4e5f6a7b8c9d"), "3f2a9c1d4e5f");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("ééééééééééééééé"), "éééééééééééé");
    }
}
