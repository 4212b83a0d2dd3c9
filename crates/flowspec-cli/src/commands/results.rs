//! `flowspec results`: parse test and coverage reports, store them per CI run, show
//! a run, find flaky and broken tests, check a run against the quarantine.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anstyle::{AnsiColor, Style};
use clap::{Args, Subcommand};
use flowspec_core::Engine;
use flowspec_results::config::ResultsConfig;
use flowspec_results::flaky::FlakyReport;
use flowspec_results::model::FailedTest;
use flowspec_results::quarantine::{self, Quarantine};
use flowspec_results::store::{ResultsStore, RunInfo, RunMeta, RunSelector};
use flowspec_results::{ParseOptions, Report, ReportBuilder, ResultsError};
use serde::Serialize;

use super::{Context, Failure, print_json};
use crate::exit_code;
use crate::terminal::{Painter, TerminalReporter, table};

pub const AFTER_HELP: &str = "\
Reports: JUnit XML (Maven Surefire/Failsafe, Gradle, pytest, Jest, Mocha, Go, cargo-nextest,
PHPUnit, .NET), Cobertura XML and LCOV; the format of each file is detected.

Examples:
  flowspec results parse target/nextest/ci/junit.xml --json
  flowspec results ingest build/test-results/**/*.xml coverage.xml --run 9876543210
  flowspec results show                      the latest run: totals, failures, slowest, coverage
  flowspec results flaky --last 30           flaky (failed and passed on one commit) and broken tests
  flowspec results check junit.xml           exit 10 if a test failed that is not quarantined
  flowspec results quarantine add 'com.example.CheckoutIT::paysWithCard' --reason JIRA-123

Exit codes: 0 ok, 1 error, 3 invalid config, 10 `check` failed, 11 a report could not be read
to its end (what was read is still shown or stored). Docs: docs/results.md.";

#[derive(Debug, Subcommand)]
pub enum ResultsCommand {
    /// Parse reports and store them as one CI run.
    #[command(after_help = "\
Commit and branch default to the git checkout (or GITHUB_SHA/CI_COMMIT_SHA and the branch
variables of GitHub Actions and GitLab CI). Ingesting the same --run and --attempt again
replaces the stored run.

Example: flowspec results ingest target/surefire-reports/*.xml --run 9876543210 --attempt 2")]
    Ingest(IngestArgs),
    /// Show a stored run: totals, failed tests with messages, slowest tests, coverage.
    #[command(after_help = "Example: flowspec results show --run 9876543210 --json")]
    Show(ShowArgs),
    /// Parse reports and print the normalized result, storing nothing.
    #[command(after_help = "Example: flowspec results parse junit.xml lcov.info --json")]
    Parse(ParseArgs),
    /// Flaky tests (failed and passed on one commit, or passed on a rerun), ranked by
    /// flip rate; broken tests (always failing) apart; outage runs ignored.
    #[command(after_help = "Example: flowspec results flaky --last 50 --branch main")]
    Flaky(FlakyArgs),
    /// Fail (exit 10) when a run has failures that quarantine does not excuse.
    #[command(after_help = "\
Checks the given report files, or a stored run (the latest by default). Failures of
quarantined tests (results.quarantine in flowspec.yaml, or `results quarantine add`) alone
do not fail the check, unless the test is broken (failed in every recent stored run).

Examples:
  flowspec results check target/junit.xml
  flowspec results check --run 9876543210 --json")]
    Check(CheckArgs),
    /// The stored quarantine: add, remove, list.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Report files (JUnit XML, Cobertura XML, LCOV).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The CI provider's run id (default: a local id).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// The run's attempt (a rerun of the same run id).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub attempt: u32,
    /// The commit (default: the checkout's HEAD).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The branch (default: the checkout's branch).
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A provider run id (default: the latest stored run).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// The attempt of --run (default: its latest).
    #[arg(long, value_name = "N", requires = "run")]
    pub attempt: Option<u32>,
}

impl RunArgs {
    fn selector(&self) -> RunSelector {
        match &self.run {
            Some(id) => RunSelector::Run {
                id: id.clone(),
                attempt: self.attempt,
            },
            None => RunSelector::Latest,
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Failed tests listed at most.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub failures: usize,
    /// Slowest tests listed.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub slowest: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Report files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Include every test case (memory grows with the report).
    #[arg(long)]
    pub cases: bool,
    /// Failed tests listed at most.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub failures: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FlakyArgs {
    /// Recent runs considered (default: results.flaky.window, 20).
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Only runs of this branch.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Report files to check (default: a stored run).
    #[arg(value_name = "FILE", conflicts_with = "run")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Ignore the quarantine: every failure counts.
    #[arg(long)]
    pub no_quarantine: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Quarantine a test id (`classname::name`; `*` matches any text).
    Add {
        /// The test id or pattern.
        test: String,
        /// Why (an issue link).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lift a stored quarantine.
    Remove {
        /// The test id or pattern, as added.
        test: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List quarantined tests (config and store).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

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

/// The project's engine (settings, store), its results config and results store.
struct Project {
    engine: Engine,
    config: ResultsConfig,
    store: ResultsStore,
}

async fn open(cx: &Context<'_>) -> Result<Project, Failure> {
    let project = cx.project()?;
    let reporter = Arc::new(TerminalReporter::new(cx.err, true, true));
    let engine = cx.engine(project, reporter, true).await?;
    let settings = engine.settings();
    let config = ResultsConfig::from_node(
        settings.section(flowspec_results::config::SECTION),
        settings
            .file()
            .unwrap_or(Path::new(".flowspec/flowspec.yaml")),
        settings.text(),
    )
    .map_err(|e| cx.config_failure(e.into()))?;
    let core = engine
        .store()
        .ok_or_else(|| Failure::error("the state store is disabled"))?;
    let store = ResultsStore::open(core).await.map_err(store_failure)?;
    Ok(Project {
        engine,
        config,
        store,
    })
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
    let project = open(cx).await?;
    let root = project.engine.project_root().to_path_buf();
    let mut meta = match &args.run {
        Some(id) => RunMeta::new(id.clone()),
        None => RunMeta::local(),
    }
    .attempt(args.attempt);
    meta.commit = args.commit.clone().or_else(|| git_commit(&root));
    meta.branch = args.branch.clone().or_else(|| git_branch(&root));
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
        println!(
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
    println!("{}", cx.out.bold(&header));
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
                println!("quarantined {test}");
            } else {
                println!("{test} was already quarantined");
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
                println!("lifted the quarantine of {test}");
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
                println!("no test is quarantined");
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
                println!("{}", table(&["TEST", "FROM", "REASON"], &rows, cx.out));
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
    println!("{}", totals_line(cx.out, &report.totals));
    if let Some(coverage) = &report.coverage {
        let t = &coverage.totals;
        let rate = |r: Option<f64>, c: u64, v: u64| match r {
            Some(r) => format!("{:.1}% ({c}/{v})", r * 100.0),
            None => "n/a".to_owned(),
        };
        println!(
            "coverage: lines {}, branches {}",
            rate(t.line_rate, t.lines_covered, t.lines_valid),
            rate(t.branch_rate, t.branches_covered, t.branches_valid)
        );
    }
    print_failures(cx, report, max_failures);
    if !report.slowest.is_empty() {
        println!();
        println!("{}", cx.out.bold("slowest tests"));
        let rows: Vec<Vec<String>> = report
            .slowest
            .iter()
            .map(|s| vec![seconds(s.time), s.status.to_string(), s.id.clone()])
            .collect();
        println!("{}", table(&["TIME", "STATUS", "TEST"], &rows, cx.out));
    }
}

pub(super) fn print_failures(cx: &Context<'_>, report: &Report, max: usize) {
    if report.failures.is_empty() {
        return;
    }
    println!();
    println!("{}", cx.out.bold("failed tests"));
    for failure in report.failures.iter().take(max) {
        print_failure(cx, failure, "✗");
    }
    let more = report.failures.len().saturating_sub(max) as u64 + report.failures_omitted;
    if more > 0 {
        println!("  …and {more} more (--json lists them)");
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
    println!("{line}");
    if let Some(message) = &failure.message {
        for text in message.lines().take(3) {
            println!("      {}", cx.out.dim(text));
        }
    }
}

fn print_flaky(cx: &Context<'_>, report: &FlakyReport, window: usize) {
    println!(
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
        println!("no flaky test");
    } else {
        println!();
        println!("{}", cx.out.bold("flaky tests"));
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
        println!(
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
        println!();
        println!(
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
        println!(
            "{}",
            table(&["RUNS", "TEST", "LAST MESSAGE"], &rows, cx.out)
        );
    }
}

fn print_check(cx: &Context<'_>, report: &Report, outcome: &quarantine::CheckOutcome) {
    println!("{}", totals_line(cx.out, &report.totals));
    if !outcome.quarantined.is_empty() {
        println!();
        println!("{}", cx.out.bold("quarantined failures (excused)"));
        for excused in &outcome.quarantined {
            print_failure(cx, &excused.test, "~");
            if let Some(reason) = &excused.entry.reason {
                println!("      quarantined: {reason}");
            }
        }
    }
    if !outcome.blocking.is_empty() {
        println!();
        println!("{}", cx.out.bold("failures"));
        for failure in &outcome.blocking {
            print_failure(cx, failure, "✗");
            if outcome.broken_in_quarantine.contains(&failure.id) {
                println!("      quarantined, but broken: it failed in every recent run");
            }
        }
    }
    println!();
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
    println!("{verdict}{why}");
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

/// The commit: CI variables first, then `git rev-parse HEAD`.
fn git_commit(root: &Path) -> Option<String> {
    ["GITHUB_SHA", "CI_COMMIT_SHA", "CIRCLE_SHA1", "GIT_COMMIT"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| git(root, &["rev-parse", "HEAD"]))
}

/// The branch: CI variables first, then the checkout's branch (none when detached).
fn git_branch(root: &Path) -> Option<String> {
    [
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "CI_COMMIT_REF_NAME",
        "CIRCLE_BRANCH",
        "GIT_BRANCH",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    .or_else(|| git(root, &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"))
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
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
