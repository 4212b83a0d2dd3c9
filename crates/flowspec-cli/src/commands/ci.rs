//! `flowspec ci ...`: trigger, watch and steer CI runs through the provider
//! configured under `ci:` in .flowspec/flowspec.yaml.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use flowspec::ci::{DownloadObserver, WaitObserver, WaitRequest};
use flowspec::{Project, Verdict};
use flowspec_core::provider::{
    Artifact, CiProvider, CommitStatus, Job, JobId, RetryScope, Run, RunFilter, RunId, RunStatus,
    TriggerRequest,
};
use flowspec_providers::config::CiSettings;
use flowspec_providers::download::UnzipLimits;
use flowspec_providers::wait::{WaitOutcome, WaitUpdate};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{Context, Failure, OrFail, print_json};
use crate::cli::ci::{CiArgs, CiCommand};
use crate::exit_code;
use crate::output::outln;

mod test_results;
use crate::terminal::{human_ms, stderr_is_terminal, table};

pub async fn run(cx: &Context<'_>, args: CiArgs) -> Result<u8, Failure> {
    if let CiCommand::Providers = args.command {
        return providers(cx, args.json);
    }
    let project = cx.project()?;
    let provider = project.ci(args.profile.as_deref()).or_fail(cx)?;
    let p = provider.as_ref();
    let json = args.json;
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
            for pair in inputs {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Failure::usage(format!("--input `{pair}`: expected KEY=VALUE"))
                })?;
                if k.is_empty() {
                    return Err(Failure::usage(format!(
                        "--input `{pair}`: the key is empty"
                    )));
                }
                request = request.input(k, v);
            }
            let run = p.trigger(&request).await.or_fail(cx)?;
            if !json || !wait {
                if json {
                    print_json(&json!({
                        "platform": p.platform(),
                        "workflow": request.workflow,
                        "ref": run.git_ref.clone().or(request.git_ref.clone()),
                        "run_id": run.id,
                        "run_url": run.url,
                        "discovery": run.discovery,
                    }))?;
                } else {
                    outln!(
                        "triggered run {}{}",
                        run.id,
                        run.url
                            .as_deref()
                            .map(|u| format!("  {u}"))
                            .unwrap_or_default()
                    );
                }
            }
            if wait {
                let request = WaitRequest {
                    timeout,
                    ..WaitRequest::default()
                };
                return wait_run(cx, &project, p, &run.id, request, json).await;
            }
            Ok(exit_code::OK)
        }
        CiCommand::Status { run } => status(cx, p, &RunId::new(run), json).await,
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
        CiCommand::Fix { run, output } => {
            test_results::fix(cx, &project, p, &RunId::new(run), output.as_deref(), json).await
        }
        CiCommand::Logs { run, job, follow } => {
            logs(cx, p, &RunId::new(run), job.as_deref(), follow, json).await
        }
        CiCommand::Retry { run, job, failed } => {
            let run = RunId::new(run);
            let scope = match (job, failed) {
                (Some(j), _) => {
                    RetryScope::Job(flowspec::ci::find_job(p, &run, &j).await.or_fail(cx)?.id)
                }
                (None, true) => RetryScope::Failed,
                (None, false) => RetryScope::All,
            };
            let new = p.retry(&run, &scope).await.or_fail(cx)?;
            if json {
                print_json(&json!({"run_id": new.id, "run_url": new.url, "scope": scope}))?;
            } else {
                let what = match &scope {
                    RetryScope::Job(j) => format!("job {j} of run {run}"),
                    RetryScope::Failed => format!("the failed jobs of run {run}"),
                    _ => format!("run {run}"),
                };
                outln!(
                    "re-running {what}; watch run {} with `flowspec ci wait --run {}`",
                    new.id,
                    new.id
                );
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
            artifacts(cx, p, &RunId::new(run), &output, &name, unzip, json).await
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
            } else if runs.is_empty() {
                outln!("no runs");
            } else {
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.status.to_string(),
                            r.workflow.clone().unwrap_or_default(),
                            r.head_branch.clone().unwrap_or_default(),
                            r.created_at
                                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                outln!(
                    "{}",
                    table(
                        &["RUN", "STATUS", "WORKFLOW", "BRANCH", "CREATED"],
                        &rows,
                        cx.out
                    )
                );
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
            let mut status = CommitStatus::new(sha, state.into());
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

fn providers(cx: &Context<'_>, json: bool) -> Result<u8, Failure> {
    let registry = flowspec_providers::registry();
    let profiles: Vec<(String, String)> = cx
        .project()
        .ok()
        .and_then(|p| CiSettings::from_settings(p.settings()).ok().flatten())
        .map(|ci| {
            ci.profiles()
                .iter()
                .map(|p| (p.name.clone(), p.provider.clone()))
                .collect()
        })
        .unwrap_or_default();
    if json {
        print_json(&json!({
            "providers": registry.iter().map(|f| json!({"kind": f.kind(), "description": f.describe()})).collect::<Vec<_>>(),
            "profiles": profiles.iter().map(|(n, p)| json!({"name": n, "provider": p})).collect::<Vec<_>>(),
        }))?;
        return Ok(exit_code::OK);
    }
    let rows: Vec<Vec<String>> = registry
        .iter()
        .map(|f| vec![f.kind().to_owned(), f.describe().to_owned()])
        .collect();
    outln!("{}", table(&["PROVIDER", "DESCRIPTION"], &rows, cx.out));
    if !profiles.is_empty() {
        outln!();
        let rows: Vec<Vec<String>> = profiles.into_iter().map(|(n, p)| vec![n, p]).collect();
        outln!("{}", table(&["PROFILE", "PROVIDER"], &rows, cx.out));
    }
    Ok(exit_code::OK)
}

async fn status(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    json: bool,
) -> Result<u8, Failure> {
    let r = p.get_run(run).await.or_fail(cx)?;
    let jobs = p.list_jobs(run).await.or_fail(cx)?;
    if json {
        print_json(&json!({"run": r, "jobs": jobs}))?;
    } else {
        print_run(&r);
        print_jobs(cx, &jobs);
    }
    Ok(exit_code::OK)
}

fn print_run(r: &Run) {
    let mut line = format!("run {}: {} ({})", r.id, r.status, r.raw_status);
    if let Some(w) = &r.workflow {
        line.push_str(&format!("  {w}"));
    }
    if let Some(b) = &r.head_branch {
        line.push_str(&format!(" on {b}"));
    }
    if let Some(d) = r.duration() {
        line.push_str(&format!(
            " · {}",
            human_ms(d.num_milliseconds().max(0) as u64)
        ));
    }
    outln!("{line}");
    if let Some(u) = &r.url {
        outln!("{u}");
    }
}

fn print_jobs(cx: &Context<'_>, jobs: &[Job]) {
    if jobs.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                symbol(j.status).to_owned(),
                j.name.clone(),
                j.status.to_string(),
                job_duration(j),
                j.id.to_string(),
            ]
        })
        .collect();
    outln!(
        "{}",
        table(&["", "JOB", "STATUS", "TIME", "ID"], &rows, cx.out)
    );
}

fn job_duration(j: &Job) -> String {
    match (j.started_at, j.finished_at) {
        (Some(s), Some(f)) => human_ms((f - s).num_milliseconds().max(0) as u64),
        (Some(s), None) => human_ms((chrono::Utc::now() - s).num_milliseconds().max(0) as u64),
        _ => String::new(),
    }
}

fn symbol(status: RunStatus) -> &'static str {
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

/// The live view of `ci wait`: indicatif bars on a terminal, plain lines otherwise.
enum View {
    Live {
        multi: MultiProgress,
        run: ProgressBar,
        jobs: HashMap<JobId, ProgressBar>,
    },
    Plain {
        last_run: Option<String>,
        last_jobs: HashMap<JobId, RunStatus>,
    },
    Quiet,
}

impl View {
    fn new(cx: &Context<'_>, run: &RunId) -> View {
        if cx.global.quiet {
            return View::Quiet;
        }
        if !stderr_is_terminal() {
            return View::Plain {
                last_run: None,
                last_jobs: HashMap::new(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                .expect("a valid template"),
        );
        bar.set_message(format!("run {run}: waiting for the first answer"));
        bar.enable_steady_tick(Duration::from_millis(120));
        View::Live {
            multi,
            run: bar,
            jobs: HashMap::new(),
        }
    }

    fn show(&mut self, update: WaitUpdate<'_>) {
        match (self, update) {
            (View::Quiet, _) => {}
            (View::Live { run, .. }, WaitUpdate::Run(r)) => {
                run.set_message(format!("run {}: {} ({})", r.id, r.status, r.raw_status));
            }
            (View::Live { run, .. }, WaitUpdate::Unchanged { run: r, next }) => {
                run.set_message(format!(
                    "run {}: {} · next check in {}s",
                    r.id,
                    r.status,
                    next.as_secs().max(1)
                ));
            }
            (View::Live { run, .. }, WaitUpdate::Retrying { error, next }) => {
                run.set_message(format!("{error}; retrying in {}s", next.as_secs().max(1)));
            }
            (View::Live { multi, jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    let bar = jobs.entry(job.id.clone()).or_insert_with(|| {
                        let b = multi.add(ProgressBar::new_spinner());
                        b.set_style(
                            ProgressStyle::with_template("  {msg}").expect("a valid template"),
                        );
                        b
                    });
                    bar.set_message(format!(
                        "{} {} {} {}",
                        symbol(job.status),
                        job.name,
                        job.status,
                        job_duration(job)
                    ));
                    if job.status.is_terminal() {
                        bar.finish();
                    }
                }
            }
            (View::Plain { last_run, .. }, WaitUpdate::Run(r)) => {
                let line = format!("run {}: {} ({})", r.id, r.status, r.raw_status);
                if last_run.as_deref() != Some(line.as_str()) {
                    eprintln!("{line}");
                    *last_run = Some(line);
                }
            }
            (View::Plain { last_jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    if last_jobs.get(&job.id) != Some(&job.status) {
                        eprintln!("  job {}: {}", job.name, job.status);
                        last_jobs.insert(job.id.clone(), job.status);
                    }
                }
            }
            (View::Plain { .. }, WaitUpdate::Retrying { error, next }) => {
                eprintln!("{error}; retrying in {}s", next.as_secs().max(1));
            }
            (View::Plain { .. }, _) => {}
            (View::Live { .. }, _) => {}
        }
    }

    fn finish(&mut self) {
        if let View::Live { multi, run, .. } = self {
            run.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

/// `ci wait`'s progress: the live view per attempt, and each retry decision.
struct WaitView<'a> {
    cx: &'a Context<'a>,
    json: bool,
    view: Option<View>,
}

impl WaitObserver for WaitView<'_> {
    fn attempt_started(&mut self, run: &RunId) {
        self.view = Some(View::new(self.cx, run));
    }
    fn update(&mut self, update: WaitUpdate<'_>) {
        if let Some(view) = &mut self.view {
            view.show(update);
        }
    }
    fn attempt_finished(&mut self) {
        if let Some(mut view) = self.view.take() {
            view.finish();
        }
    }
    fn retry_decision(&mut self, run: &RunId, evaluation: &flowspec_results::ci::RetryEvaluation) {
        if !self.json {
            outln!("run {run} failed — {}", evaluation.decision.describe());
        }
    }
    fn retried(&mut self, run: &RunId, retried: &RunId) {
        if !self.json {
            outln!("re-running the failed jobs of run {run}; waiting for run {retried} again");
        }
    }
}

/// `ci wait --json`'s object.
fn wait_json(
    outcome: &WaitOutcome,
    waited: Duration,
    verdict_name: &str,
    code: u8,
) -> serde_json::Value {
    json!({
        "verdict": verdict_name,
        "exit_code": code,
        "run": outcome.run,
        "jobs": outcome.jobs,
        "requests": {"run": outcome.run_polls, "jobs": outcome.job_polls},
        "waited_ms": waited.as_millis() as u64,
    })
}

/// The exit code and JSON name of a wait's verdict.
fn verdict_code(verdict: Verdict) -> (u8, &'static str) {
    match verdict {
        Verdict::Success => (exit_code::OK, "success"),
        Verdict::Failed => (exit_code::CI_RUN_FAILED, "failed"),
        Verdict::Cancelled => (exit_code::CI_RUN_CANCELLED, "cancelled"),
        _ => (exit_code::CI_WAIT_TIMEOUT, "timed_out"),
    }
}

/// `flowspec ci wait` (and `ci trigger --wait`): wait through the library, then print
/// how the run ended; the exit code says it.
async fn wait_run(
    cx: &Context<'_>,
    project: &Project,
    p: &dyn CiProvider,
    run: &RunId,
    request: WaitRequest,
    json: bool,
) -> Result<u8, Failure> {
    let mut view = WaitView {
        cx,
        json,
        view: None,
    };
    let report = flowspec::ci::wait(project, p, run, request, &mut view).await;
    view.attempt_finished();
    let report = report.or_fail(cx)?;
    let outcome = &report.outcome;
    let verdict = report.verdict();
    let (mut code, verdict_name) = verdict_code(verdict);
    if report.passed() {
        code = exit_code::OK;
    }
    if json {
        let mut value = wait_json(outcome, report.waited, verdict_name, code);
        if request.retry_flaky {
            value["retries"] = json!(report.retries);
        }
        if let Some(q) = &report.quarantine {
            value["quarantine"] = q.detail.clone();
        }
        print_json(&value)?;
        return Ok(code);
    }
    if verdict == Verdict::TimedOut {
        outln!(
            "gave up waiting after {}: run {} is still {} (it keeps going)",
            human_ms(report.waited.as_millis() as u64),
            outcome.run.id,
            outcome.run.status
        );
    } else {
        print_run(&outcome.run);
    }
    print_jobs(cx, &outcome.jobs);
    if let Some(q) = &report.quarantine {
        let reason = q.reason();
        if q.excused {
            outln!(
                "{}",
                cx.out.bold(&format!(
                    "run {} failed, but {reason}: exit 0 (--quarantine)",
                    outcome.run.id
                ))
            );
            if let Some(report) = &q.report {
                for failure in &report.failures {
                    super::results::print_failure(cx, failure, "~");
                }
            }
        } else {
            outln!("--quarantine does not excuse the failure: {reason}");
        }
    }
    Ok(code)
}

/// `flowspec ci logs`: the log as it is, or JSON lines with offsets.
async fn logs(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    job: Option<&str>,
    follow: bool,
    json: bool,
) -> Result<u8, Failure> {
    let jobs = flowspec::ci::log_jobs(p, run, job, follow)
        .await
        .or_fail(cx)?;
    let several = jobs.len() > 1;
    for job in &jobs {
        if several && !json {
            outln!("=== {} ({}) ===", job.name, job.id);
        }
        let mut sink = |offset: u64, chunk: &flowspec_core::provider::LogChunk| {
            if json {
                outln!(
                    "{}",
                    json!({"job_id": job.id, "job": job.name, "offset": offset, "text": chunk.text(), "next_offset": chunk.next_offset, "complete": chunk.complete})
                );
            } else {
                if chunk.restarted {
                    eprintln!(
                        "(the log was truncated by the CI; printing it again from the start)"
                    );
                }
                crate::output::write_bytes(&chunk.bytes);
            }
            Ok(())
        };
        flowspec::ci::read_log(p, run, job, follow, &mut sink)
            .await
            .or_fail(cx)?;
    }
    Ok(exit_code::OK)
}

/// Download progress: a byte bar per artifact on a terminal.
struct Bars {
    live: bool,
    bar: std::sync::Mutex<ProgressBar>,
}

impl DownloadObserver for Bars {
    fn started(&self, artifact: &Artifact) {
        if !self.live {
            return;
        }
        let b = match artifact.size {
            Some(size) => ProgressBar::new(size),
            None => ProgressBar::new_spinner(),
        };
        b.set_draw_target(ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        b.set_message(artifact.name.clone());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = b;
    }
    fn progress(&self, bytes: u64) {
        self.bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .inc(bytes);
    }
    fn finished(&self) {
        self.bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .finish_and_clear();
    }
}

async fn artifacts(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    output: &Path,
    names: &[String],
    unzip: Option<UnzipLimits>,
    json: bool,
) -> Result<u8, Failure> {
    let bars = Bars {
        live: stderr_is_terminal() && !cx.global.quiet,
        bar: std::sync::Mutex::new(ProgressBar::hidden()),
    };
    let downloaded = flowspec::ci::download_artifacts(p, run, output, names, unzip, &bars)
        .await
        .or_fail(cx)?;
    if json {
        print_json(&downloaded)?;
        return Ok(exit_code::OK);
    }
    for d in &downloaded {
        match &d.files {
            Some(files) => outln!(
                "{} → {} ({} files, {} bytes)",
                d.name,
                cx.show_path(&d.path),
                files.len(),
                d.bytes
            ),
            None => outln!("{} → {} ({} bytes)", d.name, cx.show_path(&d.path), d.bytes),
        }
    }
    Ok(exit_code::OK)
}
