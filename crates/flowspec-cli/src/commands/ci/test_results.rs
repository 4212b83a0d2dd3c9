//! Test results through the provider: `ci results` and `ci fix`.

use std::path::Path;
use std::sync::Arc;

use flowspec::Project;
use flowspec_core::provider::{CiProvider, RunId, RunStatus};
use serde_json::json;

use super::super::results::{print_errors, print_report, short};
use super::{Context, Failure, OrFail, print_json};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::TerminalReporter;

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
        let r = &ingested.run;
        let mut header = format!("run {} (attempt {})", r.run_id, r.attempt);
        if let Some(commit) = &r.commit {
            header.push_str(&format!(" · commit {}", short(commit)));
        }
        if let Some(branch) = &r.branch {
            header.push_str(&format!(" · branch {branch}"));
        }
        header.push_str(&format!(" · {}", p.platform()));
        outln!("{}", cx.out.bold(&header));
        let downloaded: Vec<String> = fetched
            .artifacts
            .iter()
            .map(|a| format!("{} ({} file(s), {} bytes)", a.name, a.files, a.bytes))
            .collect();
        outln!("downloaded {}", downloaded.join(", "));
        if !fetched.skipped.is_empty() {
            outln!(
                "{}",
                cx.out.dim(&format!(
                    "skipped (names not in results.artifacts): {}",
                    fetched.skipped.join(", ")
                ))
            );
        }
        outln!(
            "{} {} report(s); see `flowspec results show --run {}`",
            if ingested.replaced {
                "replaced with"
            } else {
                "stored"
            },
            fetched.reports.len(),
            r.run_id
        );
        print_report(cx, &ingested.report, max_failures);
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
    json: bool,
) -> Result<u8, Failure> {
    let run = p.get_run(run_id).await.or_fail(cx)?;
    if !run.status.is_terminal() {
        return Err(Failure::usage(format!(
            "run {run_id} is still {} ({}): wait for it to end first (`flowspec ci wait --run {run_id}`)",
            run.status, run.raw_status
        )));
    }
    if matches!(run.status, RunStatus::Success | RunStatus::Skipped) {
        if json {
            print_json(&json!({"run_id": run.id, "status": run.status, "nothing_to_fix": true}))?;
        } else {
            outln!("run {run_id} ended {}: nothing to fix", run.status);
        }
        return Ok(exit_code::OK);
    }
    // The engine, when the project has hooks: fixer hooks run on the event, and the
    // project's masker then knows the hooks' secrets too.
    let engine = if project.has_hooks() {
        let painter = if json { cx.err } else { cx.out };
        let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
        Some(cx.engine(project, reporter, true).await?)
    } else {
        None
    };
    let bundle = flowspec::ci::fix(project, p, &run, output, engine.as_ref())
        .await
        .or_fail(cx)?;
    if let Some(why) = &bundle.results_missing {
        eprintln!("warning: {why}\n  note: the bundle holds the failed jobs' logs only");
    }
    let masker = project.masker();
    let (markdown, json_file, summary, gathered, dispatch) = (
        bundle.markdown,
        bundle.json,
        bundle.summary,
        bundle.gathered,
        bundle.dispatch,
    );
    let code = if dispatch.as_ref().is_some_and(|d| d.is_blocked()) {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    };
    if json {
        print_json(&json!({
            "run_id": run.id,
            "provider": p.kind(),
            "markdown_path": markdown,
            "json_path": json_file,
            "summary": summary,
            "jobs": gathered.jobs,
            "dispatch": dispatch,
        }))?;
        return Ok(code);
    }
    let c = &gathered.context;
    outln!(
        "fix context for run {}: {} failed test(s), {} log excerpt(s) from {} failed job(s)",
        run.id,
        c.failures.len() as u64 + c.failures_omitted,
        c.failures.iter().map(|f| f.log.len()).sum::<usize>() + c.log_errors.len(),
        gathered.jobs.len()
    );
    outln!("  {}", cx.show_path(&markdown));
    outln!("  {}", cx.show_path(&json_file));
    for job in &gathered.jobs {
        if let Some(error) = &job.error {
            eprintln!("note: no log of job {}: {}", job.name, masker.mask(error));
        }
    }
    match &dispatch {
        None => outln!(
            "no hooks.yaml: ci.fix.requested was not emitted (add a hook on it: https://github.com/flowspec/flowspec/blob/main/docs/ci.md)"
        ),
        Some(d) if d.hooks.is_empty() => outln!(
            "ci.fix.requested: no hook matches (add one to .flowspec/hooks/hooks.yaml: https://github.com/flowspec/flowspec/blob/main/docs/ci.md)"
        ),
        Some(d) => {
            let hooks: Vec<String> = d
                .hooks
                .iter()
                .map(|h| format!("{} {}", h.hook, h.status.as_str()))
                .collect();
            outln!("ci.fix.requested → {}", hooks.join(", "));
        }
    }
    Ok(code)
}
