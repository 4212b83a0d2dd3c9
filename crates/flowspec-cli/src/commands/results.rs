//! `flowspec results`: parse, ingest, show, summary, convert, flaky, check, quarantine,
//! through `flowspec::test_results` and `flowspec::quarantine`; this file renders.

use std::path::Path;

use flowspec::render::{self, safe, table};
use flowspec::test_results::{self, CheckRequest, IngestRequest};
use flowspec_results::{ParseOptions, Report};

use super::{Context, Failure, OrFail, print_json};
use crate::cli::results::{
    ConvertArgs, ConvertFormat, QuarantineCommand, ResultsCommand, SummaryArgs, SummaryFormat,
};
use crate::exit_code;
use crate::output::{outln, write_str};

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
                write_str(&render::results::report(cx.out, &report, 50));
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
                    render::results::totals_line(cx.out, &stored.run.totals)
                );
                write_str(&render::results::failures(cx.out, &stored.report, 10));
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
                write_str(&render::results::run_header(cx.out, &stored.run, &source));
                write_str(&render::results::report(
                    cx.out,
                    &stored.report,
                    args.failures,
                ));
            }
            Ok(exit_code::OK)
        }
        ResultsCommand::Summary(args) => summary(cx, args),
        ResultsCommand::Convert(args) => convert(cx, args),
        ResultsCommand::Flaky(args) => {
            let project = cx.project()?;
            let (window, report) = test_results::flaky(&project, args.last, args.branch.as_deref())
                .await
                .or_fail(cx)?;
            if args.json {
                print_json(&report)?;
            } else {
                write_str(&render::results::flaky(cx.out, &report, window));
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
                write_str(&render::results::check(cx.out, &checked));
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

/// `results summary`: the chosen format on stdout, the Markdown appended to the job
/// summary file, annotations after it.
fn summary(cx: &Context<'_>, args: SummaryArgs) -> Result<u8, Failure> {
    let options = ParseOptions::default().max_failures(args.failures.max(1000));
    let summary = test_results::summarize(&args.files, options).or_fail(cx)?;
    let show = |f: &str| cx.show_path(Path::new(f));
    let markdown = || render::results::summary_markdown(&summary, args.failures, show);
    match args.format {
        SummaryFormat::Markdown => write_str(&markdown()),
        SummaryFormat::Text => write_str(&render::results::summary_text(
            cx.out,
            &summary,
            args.failures,
        )),
        SummaryFormat::Json => print_json(&summary)?,
    }
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty());
    let on_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    match step_summary {
        Some(path) if args.step_summary || on_actions => {
            test_results::append_step_summary(Path::new(&path), &markdown()).or_fail(cx)?;
        }
        None if args.step_summary => {
            return Err(Failure::new(
                exit_code::USAGE,
                "--step-summary needs GITHUB_STEP_SUMMARY, the job summary file GitHub Actions sets; outside Actions, redirect the Markdown on stdout instead",
            ));
        }
        _ => {}
    }
    if args.annotations {
        let workspace = std::env::var("GITHUB_WORKSPACE").ok();
        write_str(&render::results::annotations(
            &summary.report,
            workspace.as_deref(),
            args.failures,
        ));
    }
    Ok(finish(cx, &summary.report))
}

/// `results convert`: the converted report to stdout or --output.
fn convert(cx: &Context<'_>, args: ConvertArgs) -> Result<u8, Failure> {
    let to = match args.to {
        ConvertFormat::Junit => test_results::ConvertTo::Junit,
        ConvertFormat::Ctrf => test_results::ConvertTo::Ctrf,
    };
    let mut out = Vec::new();
    let report = test_results::convert(&args.files, to, &mut out).or_fail(cx)?;
    match &args.output {
        Some(path) => std::fs::write(path, &out)
            .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))?,
        None => write_str(&String::from_utf8_lossy(&out)),
    }
    Ok(finish(cx, &report))
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

/// Reading errors go to stderr, so that --json output stays clean.
pub(super) fn print_errors(cx: &Context<'_>, report: &Report) {
    let warnings = render::results::warnings(cx.err, report, |f| cx.show_path(Path::new(f)));
    eprint!("{warnings}");
}
