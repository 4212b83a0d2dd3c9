//! `flowspec ci ...` through `flowspec::ci` and `flowspec::ci_steer`: this file picks
//! the call for each subcommand and renders its result.

mod test_results;

use std::sync::Arc;

use flowspec::Verdict;
use flowspec::ci::WaitRequest;
use flowspec::ci_steer::{self, Retry};
use flowspec::render::progress::{DownloadBars, WaitProgress};
use flowspec::render::{self, safe, stderr_is_terminal};
use flowspec::text::LogEscaper;
use flowspec_core::provider::{
    CiProvider, CommitStatus, RetryScope, RunFilter, RunId, TriggerRequest,
};
use flowspec_providers::download::UnzipLimits;
use serde_json::json;

use super::{Context, Failure, OrFail, print_json};
use crate::cli::ci::{CiArgs, CiCommand};
use crate::exit_code;
use crate::output::{self, outln, write_str};

pub async fn run(cx: &Context<'_>, args: CiArgs) -> Result<u8, Failure> {
    let json = args.json;
    if let CiCommand::Providers = args.command {
        let profiles = cx
            .project()
            .map(|p| ci_steer::profiles(&p))
            .unwrap_or_default();
        let registry = flowspec_providers::registry();
        if json {
            print_json(&json!({
                "providers": registry.iter().map(|f| json!({"kind": f.kind(), "description": f.describe()})).collect::<Vec<_>>(),
                "profiles": profiles.iter().map(|(n, p)| json!({"name": n, "provider": p})).collect::<Vec<_>>(),
            }))?;
        } else {
            let kinds: Vec<_> = registry
                .iter()
                .map(|f| (f.kind().to_owned(), f.describe().to_owned()))
                .collect();
            write_str(&render::ci::providers(cx.out, &kinds, &profiles));
        }
        return Ok(exit_code::OK);
    }
    let project = cx.project()?;
    let provider = project.ci(args.profile.as_deref()).or_fail(cx)?;
    let p = provider.as_ref();
    match args.command {
        CiCommand::Trigger {
            workflow,
            branch,
            inputs,
            wait,
            timeout,
        } => {
            let mut request = TriggerRequest::new(workflow.unwrap_or_default());
            if let Some(b) = branch {
                request = request.git_ref(b);
            }
            for (key, value) in inputs {
                request = request.input(key, value);
            }
            let run = p.trigger(&request).await.or_fail(cx)?;
            if json && !wait {
                print_json(&json!({
                    "platform": p.platform(),
                    "workflow": request.workflow,
                    "ref": run.git_ref.clone().or(request.git_ref.clone()),
                    "run_id": run.id,
                    "run_url": run.url,
                    "discovery": run.discovery,
                }))?;
            } else if !json {
                let url = run
                    .url
                    .as_deref()
                    .map(|u| format!("  {}", safe(u)))
                    .unwrap_or_default();
                outln!("triggered run {}{url}", safe(run.id.as_str()));
            }
            if !wait {
                return Ok(exit_code::OK);
            }
            let request = WaitRequest {
                timeout,
                ..WaitRequest::default()
            };
            wait_run(cx, &project, p, &run.id, request, json).await
        }
        CiCommand::Status { run } => {
            let state = ci_steer::status(p, &RunId::new(run)).await.or_fail(cx)?;
            if json {
                print_json(&state)?;
            } else {
                write_str(&render::ci::run(&state.run));
                write_str(&render::ci::jobs(cx.out, &state.jobs));
            }
            Ok(exit_code::OK)
        }
        CiCommand::Wait {
            run,
            timeout,
            quarantine,
            retry_flaky,
        } => {
            let request = WaitRequest {
                timeout,
                quarantine,
                retry_flaky,
            };
            wait_run(cx, &project, p, &RunId::new(run), request, json).await
        }
        CiCommand::Results { run, failures } => {
            test_results::results(cx, &project, p, &RunId::new(run), failures, json).await
        }
        CiCommand::Fix {
            run,
            output,
            max_attempts,
            reset,
        } => {
            let rounds = flowspec::ci_steer::FixRounds {
                max_attempts,
                reset,
            };
            let run = RunId::new(run);
            test_results::fix(cx, &project, p, &run, output.as_deref(), rounds, json).await
        }
        CiCommand::Logs {
            run,
            job,
            follow,
            raw,
        } => logs(cx, p, &RunId::new(run), job.as_deref(), follow, raw, json).await,
        CiCommand::Retry { run, job, failed } => {
            let run = RunId::new(run);
            let what = match (job, failed) {
                (Some(job), _) => Retry::Job(job),
                (None, true) => Retry::Failed,
                (None, false) => Retry::All,
            };
            let (new, scope) = ci_steer::retry(p, &run, what).await.or_fail(cx)?;
            if json {
                print_json(&json!({"run_id": new.id, "run_url": new.url, "scope": scope}))?;
            } else {
                let what = match &scope {
                    RetryScope::Job(j) => format!("job {} of run {run}", safe(j.as_str())),
                    RetryScope::Failed => format!("the failed jobs of run {run}"),
                    _ => format!("run {run}"),
                };
                let new = safe(new.id.as_str());
                outln!("re-running {what}; watch run {new} with `flowspec ci wait --run {new}`");
            }
            Ok(exit_code::OK)
        }
        CiCommand::Cancel { run } => {
            let run = RunId::new(run);
            p.cancel(&run).await.or_fail(cx)?;
            if json {
                print_json(&json!({"run_id": run, "cancel_requested": true}))?;
            } else {
                outln!("cancel requested for run {run}");
            }
            Ok(exit_code::OK)
        }
        CiCommand::Artifacts {
            run,
            output,
            name,
            unzip,
            unzip_max_mib,
        } => {
            let unzip = unzip.then(|| UnzipLimits {
                max_bytes: unzip_max_mib.saturating_mul(1 << 20),
                ..UnzipLimits::default()
            });
            let bars = DownloadBars::new(stderr_is_terminal() && !cx.global.quiet);
            let downloaded =
                flowspec::ci::download_artifacts(p, &RunId::new(run), &output, &name, unzip, &bars)
                    .await
                    .or_fail(cx)?;
            if json {
                print_json(&downloaded)?;
                return Ok(exit_code::OK);
            }
            for d in &downloaded {
                let files = d
                    .files
                    .as_ref()
                    .map(|f| format!("{} files, ", f.len()))
                    .unwrap_or_default();
                outln!(
                    "{} → {} ({files}{} bytes)",
                    safe(&d.name),
                    cx.show_path(&d.path),
                    d.bytes
                );
            }
            Ok(exit_code::OK)
        }
        CiCommand::List {
            branch,
            workflow,
            limit,
        } => {
            let mut filter = RunFilter::new().limit(limit);
            if let Some(b) = branch {
                filter = filter.branch(b);
            }
            if let Some(w) = workflow {
                filter = filter.workflow(w);
            }
            let runs = p.list_runs(&filter).await.or_fail(cx)?;
            if json {
                print_json(&runs)?;
            } else {
                write_str(&render::ci::runs(cx.out, &runs));
            }
            Ok(exit_code::OK)
        }
        CiCommand::ReportStatus {
            sha,
            state,
            context,
            description,
            target_url,
            git_ref,
        } => {
            let mut status = CommitStatus::new(sha, state);
            status.context = context;
            status.description = description;
            status.target_url = target_url;
            status.git_ref = git_ref;
            p.report_status(&status).await.or_fail(cx)?;
            if json {
                print_json(&status)?;
            } else {
                outln!("set {} on {}", status.state.as_str(), status.sha);
            }
            Ok(exit_code::OK)
        }
        CiCommand::Providers => unreachable!("handled above"),
    }
}

/// `flowspec ci wait` (and `ci trigger --wait`): wait through the library, then print
/// how the run ended; the exit code says it.
async fn wait_run(
    cx: &Context<'_>,
    project: &flowspec::Project,
    p: &dyn CiProvider,
    run: &RunId,
    request: WaitRequest,
    json: bool,
) -> Result<u8, Failure> {
    let mut view = WaitProgress::new(Arc::new(output::Stdout), cx.global.quiet, json);
    let report = flowspec::ci::wait(project, p, run, request, &mut view).await;
    view.finish();
    let report = report.or_fail(cx)?;
    let outcome = &report.outcome;
    let verdict = report.verdict();
    let (code, verdict_name) = match verdict {
        _ if report.passed() => (
            exit_code::OK,
            if verdict == Verdict::Success {
                "success"
            } else {
                "failed"
            },
        ),
        Verdict::Failed => (exit_code::CI_RUN_FAILED, "failed"),
        Verdict::Cancelled => (exit_code::CI_RUN_CANCELLED, "cancelled"),
        _ => (exit_code::CI_WAIT_TIMEOUT, "timed_out"),
    };
    if json {
        let mut value = json!({
            "verdict": verdict_name,
            "exit_code": code,
            "run": outcome.run,
            "jobs": outcome.jobs,
            "requests": {"run": outcome.run_polls, "jobs": outcome.job_polls},
            "waited_ms": report.waited.as_millis() as u64,
            "pushed": outcome.pushed.as_ref().map(|p| json!({
                "event_id": p.event_id,
                "conclusion": p.conclusion,
            })),
        });
        if request.retry_flaky {
            value["retries"] = json!(report.retries);
        }
        if let Some(q) = &report.quarantine {
            value["quarantine"] = q.detail.clone();
        }
        print_json(&value)?;
        return Ok(code);
    }
    write_str(&render::ci::waited(cx.out, &report));
    Ok(code)
}

/// `flowspec ci logs`: the log with control characters escaped (as it is with
/// `--raw`), or JSON lines with offsets.
async fn logs(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    job: Option<&str>,
    follow: bool,
    raw: bool,
    json: bool,
) -> Result<u8, Failure> {
    let jobs = flowspec::ci::log_jobs(p, run, job, follow)
        .await
        .or_fail(cx)?;
    for job in &jobs {
        if jobs.len() > 1 && !json {
            outln!("=== {} ({}) ===", safe(&job.name), safe(job.id.as_str()));
        }
        let mut escaper = LogEscaper::new();
        let mut sink = |offset: u64, chunk: &flowspec_core::provider::LogChunk| {
            if json {
                let line = json!({"job_id": job.id, "job": job.name, "offset": offset, "text": chunk.text(), "next_offset": chunk.next_offset, "complete": chunk.complete});
                outln!("{line}");
                return Ok(());
            }
            if chunk.restarted {
                eprintln!("(the log was truncated by the CI; printing it again from the start)");
            }
            if raw {
                output::write_bytes(&chunk.bytes);
            } else {
                write_str(&escaper.push(&chunk.bytes));
            }
            Ok(())
        };
        flowspec::ci::read_log(p, run, job, follow, &mut sink)
            .await
            .or_fail(cx)?;
        if !raw && !json {
            write_str(&escaper.finish());
        }
    }
    Ok(exit_code::OK)
}
