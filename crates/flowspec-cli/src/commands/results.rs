//! `flowspec results`: parse, ingest, show, flaky, check, quarantine, through
//! `flowspec::test_results` and `flowspec::quarantine`; this file renders.

use std::path::Path;

use flowspec::render::{self, safe, table};
use flowspec::test_results::{self, CheckRequest, IngestRequest};
use flowspec_results::{ParseOptions, Report};

use super::{Context, Failure, OrFail, print_json};
use crate::cli::results::{QuarantineCommand, ResultsCommand};
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
