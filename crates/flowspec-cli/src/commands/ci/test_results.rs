//! `ci results` and `ci fix`: test results and failure context through the provider.

use std::path::Path;
use std::sync::Arc;

use flowspec::Project;
use flowspec::ci_steer::{self, Fixed};
use flowspec_core::provider::{CiProvider, RunId};
use serde_json::json;

use flowspec::render::{self, TerminalReporter, safe_lines};

use super::super::results::print_errors;
use super::{Context, Failure, OrFail, print_json};
use crate::exit_code;
use crate::output::{outln, write_str};

/// `flowspec ci results --run ID`.
pub(super) async fn results(
    cx: &Context<'_>,
    project: &Project,
    p: &dyn CiProvider,
    run_id: &RunId,
    max_failures: usize,
    json: bool,
) -> Result<u8, Failure> {
    let state = project.results().await.or_fail(cx)?;
    let fetched = flowspec::ci::fetch_run_results(&state, p, run_id)
        .await
        .or_fail(cx)?;
    let ingested = &fetched.ingested;
    if json {
        let mut value = serde_json::to_value(&ingested.report)
            .map_err(|e| Failure::error(format!("cannot write JSON: {e}")))?;
        value["run"] = json!(ingested.run);
        value["replaced"] = json!(ingested.replaced);
        value["provider"] = json!(p.kind());
        value["artifacts"] = json!(fetched.artifacts);
        value["skipped_artifacts"] = json!(fetched.skipped);
        value["reports"] = json!(fetched.reports);
        print_json(&value)?;
    } else {
        write_str(&render::ci::fetched(
            cx.out,
            &fetched,
            p.platform(),
            max_failures,
        ));
    }
    print_errors(cx, &ingested.report);
    Ok(if ingested.report.partial {
        exit_code::REPORT_INVALID
    } else {
        exit_code::OK
    })
}

/// `flowspec ci fix --run ID [--output DIR]`.
pub(super) async fn fix(
    cx: &Context<'_>,
    project: &Project,
    p: &dyn CiProvider,
    run_id: &RunId,
    output: Option<&Path>,
    rounds: ci_steer::FixRounds,
    json: bool,
) -> Result<u8, Failure> {
    let painter = if json { cx.err } else { cx.out };
    let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
    let fixed = ci_steer::fix_with(project, p, run_id, output, reporter, rounds).await;
    cx.mask_logs(project);
    let (run, bundle) = match fixed.or_fail(cx)? {
        Fixed::NothingToFix(run) => {
            if json {
                print_json(
                    &json!({"run_id": run.id, "status": run.status, "nothing_to_fix": true}),
                )?;
            } else {
                outln!("run {run_id} ended {}: nothing to fix", run.status);
            }
            return Ok(exit_code::OK);
        }
        Fixed::Reset(run, had) => {
            let branch = run.head_branch.as_deref().unwrap_or("(no branch)");
            if json {
                print_json(&json!({"run_id": run.id, "branch": branch, "reset": had}))?;
            } else {
                outln!("forgot {had} fix round(s) of `{}`", render::safe(branch));
            }
            return Ok(exit_code::OK);
        }
        Fixed::Exhausted(run, exhausted) => {
            if json {
                print_json(&json!({
                    "run_id": run.id,
                    "branch": exhausted.branch,
                    "pr": exhausted.pr,
                    "attempts": exhausted.attempts,
                    "exhausted": true,
                    "dispatch": exhausted.dispatch,
                }))?;
            } else {
                outln!(
                    "run {run_id} failed and `{}` had {} fix round(s) already (--max-attempts): emitted ci.fix.exhausted, no ci.fix.requested",
                    render::safe(&exhausted.branch),
                    exhausted.attempts
                );
            }
            return Ok(exit_code::CI_RUN_FAILED);
        }
        Fixed::Bundle(run, bundle) => (run, *bundle),
    };
    if let Some(why) = &bundle.results_missing {
        eprintln!(
            "warning: {}\n  note: the bundle holds the failed jobs' logs only",
            safe_lines(why)
        );
    }
    let dispatch = &bundle.dispatch;
    let code = if dispatch.as_ref().is_some_and(|d| d.is_blocked()) {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    };
    let gathered = &bundle.gathered;
    if json {
        print_json(&json!({
            "run_id": run.id,
            "provider": p.kind(),
            "markdown_path": bundle.markdown,
            "json_path": bundle.json,
            "summary": bundle.summary,
            "jobs": gathered.jobs,
            "dispatch": dispatch,
        }))?;
        return Ok(code);
    }
    let masker = project.masker();
    eprint!(
        "{}",
        render::ci::fix_notes(&bundle, |e| masker.mask(e).into_owned())
    );
    write_str(&render::ci::fix(&run, &bundle, |p| cx.show_path(p)));
    Ok(code)
}
