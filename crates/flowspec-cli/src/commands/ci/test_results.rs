//! Test results through the provider: `ci results`, `ci wait --quarantine
//! --retry-flaky` and `ci fix` (docs/results.md, docs/ci.md).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowspec_core::Event;
use flowspec_core::config::Vars;
use flowspec_core::provider::{CiProvider, RunId, RunStatus};
use flowspec_core::secret::Masker;
use flowspec_core::settings::Settings;
use flowspec_providers::download::safe_file_name;
use flowspec_results::ci::{
    FetchError, FetchOptions, FetchedResults, RetryError, evaluate_retry, fetch_results,
    gather_failure_context, judge_failed_run, wait_for_restart, write_bundle,
};
use flowspec_providers::wait::{Verdict, wait_for_run};
use flowspec_results::config::ResultsConfig;
use flowspec_results::store::{ResultsStore, RunSelector};
use flowspec_results::{Report, ResultsError};
use serde_json::{Value, json};

use super::super::results::{print_errors, print_failure, print_report, short, store_failure};
use super::{
    Context, Failure, View, api_failure, parse_duration, poll_override, print_jobs, print_json,
    print_run, project, verdict_code, wait_json, wait_options,
};
use crate::exit_code;
use crate::terminal::TerminalReporter;

/// The results side of a project: its `results:` config and store.
struct State {
    config: ResultsConfig,
    store: ResultsStore,
    masker: Masker,
}

async fn open_state(cx: &Context<'_>) -> Result<State, Failure> {
    let project = project(cx)?;
    let settings = Settings::load(&project.settings_file).map_err(|e| cx.config_failure(e))?;
    let config = ResultsConfig::from_node(
        settings.section(flowspec_results::config::SECTION),
        settings.file().unwrap_or(&project.settings_file),
        settings.text(),
    )
    .map_err(|e| cx.config_failure(e.into()))?;
    let vars = Vars::from_process(Some(&project.dotenv_file))
        .map_err(|e| Failure::new(exit_code::CONFIG_INVALID, e.to_string()))?;
    let core = flowspec_core::engine::open_project_store(&project, &settings, &vars)
        .await
        .map_err(|e| match e {
            flowspec_core::BuildError::Config(errors) => cx.config_failure(errors),
            other => Failure::error(other.to_string()),
        })?;
    let store = ResultsStore::open(&core).await.map_err(store_failure)?;
    let masker = Masker::new(
        vars.iter()
            .filter(|(k, _)| flowspec_core::secret::looks_secret(k))
            .map(|(_, v)| v.to_owned()),
    );
    Ok(State {
        config,
        store,
        masker,
    })
}

/// A fetch error as a failure: 15 for the CI, 11 for missing or unreadable reports.
fn fetch_failure(error: FetchError) -> Failure {
    match error {
        FetchError::Provider(e) => api_failure(e),
        FetchError::Unzip(e) => Failure::new(exit_code::CI_REQUEST_FAILED, e.to_string()),
        FetchError::Results(e) => store_failure(e),
        e @ (FetchError::NoReportArtifacts { .. } | FetchError::NoReports { .. }) => {
            Failure::new(exit_code::REPORT_INVALID, e.to_string())
        }
        other => Failure::error(other.to_string()),
    }
}

/// How long `ci wait --retry-flaky` without `--timeout` waits for a retried run to
/// show the retry.
const RESTART_LIMIT: Duration = Duration::from_secs(600);

fn retry_failure(error: RetryError) -> Failure {
    match error {
        RetryError::Provider(e) => api_failure(e),
        RetryError::Results(e) => store_failure(e),
        other => Failure::error(other.to_string()),
    }
}

/// Fetch options for `run`: the configured patterns, and flowspec's retry count + 1
/// as the attempt on platforms without attempt numbers.
async fn fetch_options(
    state: &State,
    p: &dyn CiProvider,
    run: &RunId,
) -> Result<FetchOptions, Failure> {
    let retries = state
        .store
        .retries(p.kind(), run.as_str())
        .await
        .map_err(store_failure)?;
    Ok(FetchOptions::new(state.config.artifacts.clone()).attempt(Some(retries + 1)))
}

/// `flowspec ci results --run ID`.
pub(super) async fn results(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run_id: &RunId,
    max_failures: usize,
    json: bool,
) -> Result<u8, Failure> {
    let state = open_state(cx).await?;
    let run = p.get_run(run_id).await.map_err(api_failure)?;
    let options = fetch_options(&state, p, run_id).await?;
    let fetched = fetch_results(p, &run, &state.store, &options)
        .await
        .map_err(fetch_failure)?;
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
        println!("{}", cx.out.bold(&header));
        let downloaded: Vec<String> = fetched
            .artifacts
            .iter()
            .map(|a| format!("{} ({} file(s), {} bytes)", a.name, a.files, a.bytes))
            .collect();
        println!("downloaded {}", downloaded.join(", "));
        if !fetched.skipped.is_empty() {
            println!(
                "{}",
                cx.out.dim(&format!(
                    "skipped (names not in results.artifacts): {}",
                    fetched.skipped.join(", ")
                ))
            );
        }
        println!(
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

/// What `ci wait` does beyond waiting.
#[derive(Clone, Copy, Debug)]
pub(super) struct WaitFlags {
    pub quarantine: bool,
    pub retry_flaky: bool,
}

/// `flowspec ci wait --run ID [--retry-flaky] [--quarantine]`.
pub(super) async fn wait(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    timeout: Option<&str>,
    json: bool,
    flags: WaitFlags,
) -> Result<u8, Failure> {
    let timeout = parse_duration(timeout)?;
    let state = open_state(cx).await?;
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let mut current = run.clone();
    let mut decisions: Vec<Value> = Vec::new();
    // The results of the attempt that ended last, when they were read.
    let mut last_results: Option<FetchedResults>;
    let outcome = loop {
        let mut view = View::new(cx, &current);
        let waited = wait_for_run(p, &current, &wait_options(remaining()), &mut |u| {
            view.update(u)
        })
        .await;
        view.finish();
        let outcome = waited.map_err(api_failure)?;
        last_results = None;
        if outcome.verdict() != Verdict::Failed || !flags.retry_flaky {
            break outcome;
        }
        let evaluation = evaluate_retry(p, &outcome.run, &state.store, &state.config, true)
            .await
            .map_err(retry_failure)?;
        decisions.push(evaluation.to_json());
        if !json {
            println!(
                "run {} failed — {}",
                current,
                evaluation.decision.describe()
            );
        }
        last_results = evaluation.fetched;
        let Some(retried) = evaluation.retried else {
            break outcome;
        };
        if !json {
            println!(
                "re-running the failed jobs of run {current}; waiting for run {} again",
                retried.id
            );
        }
        let every = poll_override().unwrap_or(p.poll_interval().initial);
        // Never judge the attempt that just failed again: wait until the run shows the
        // retry, up to --timeout (the next wait then ends as timed out) or 10 minutes.
        let limit = remaining().unwrap_or(RESTART_LIMIT);
        let (_, restarted) = wait_for_restart(p, &retried.id, &outcome.run, every, limit)
            .await
            .map_err(api_failure)?;
        if !restarted && deadline.is_none() {
            return Err(Failure::new(
                exit_code::CI_REQUEST_FAILED,
                format!(
                    "run {} was retried but does not show the retry after {} minutes; look at it on the platform, then `flowspec ci wait --run {}`",
                    retried.id,
                    RESTART_LIMIT.as_secs() / 60,
                    retried.id
                ),
            ));
        }
        current = retried.id;
    };
    let waited = started.elapsed();
    let verdict = outcome.verdict();
    let (mut code, verdict_name) = verdict_code(verdict);

    let mut quarantine: Option<(bool, Value, Option<Report>)> = None;
    if flags.quarantine && verdict == Verdict::Failed {
        let report = match last_results {
            Some(f) => Ok(f.ingested.report),
            None => {
                let options = fetch_options(&state, p, &outcome.run.id).await?;
                fetch_results(p, &outcome.run, &state.store, &options)
                    .await
                    .map(|f| f.ingested.report)
            }
        };
        quarantine = Some(match report {
            Ok(report) => {
                let judged = judge_failed_run(&report, &state.store, &state.config)
                    .await
                    .map_err(store_failure)?;
                let value = serde_json::to_value(&judged).unwrap_or(Value::Null);
                (judged.excused, value, Some(report))
            }
            Err(e) => {
                let reason = format!(
                    "the run's test results could not be read: {}",
                    e.to_string().lines().next().unwrap_or_default()
                );
                (false, json!({"excused": false, "reason": reason}), None)
            }
        });
        if quarantine.as_ref().is_some_and(|q| q.0) {
            code = exit_code::OK;
        }
    }

    if json {
        let mut value = wait_json(&outcome, waited, verdict_name, code);
        if flags.retry_flaky {
            value["retries"] = json!(decisions);
        }
        if let Some((_, q, _)) = &quarantine {
            value["quarantine"] = q.clone();
        }
        print_json(&value)?;
        return Ok(code);
    }
    if verdict == Verdict::TimedOut {
        println!(
            "gave up waiting after {}: run {} is still {} (it keeps going)",
            crate::terminal::human_ms(waited.as_millis() as u64),
            outcome.run.id,
            outcome.run.status
        );
    } else {
        print_run(&outcome.run);
    }
    print_jobs(cx, &outcome.jobs);
    if let Some((excused, value, report)) = &quarantine {
        let reason = value["reason"].as_str().unwrap_or_default();
        if *excused {
            println!(
                "{}",
                cx.out.bold(&format!(
                    "run {} failed, but {reason}: exit 0 (--quarantine)",
                    outcome.run.id
                ))
            );
            if let Some(report) = report {
                for failure in &report.failures {
                    print_failure(cx, failure, "~");
                }
            }
        } else {
            println!("--quarantine does not excuse the failure: {reason}");
        }
    }
    Ok(code)
}

/// `flowspec ci fix --run ID [--output DIR]`.
pub(super) async fn fix(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run_id: &RunId,
    output: Option<&Path>,
    json: bool,
) -> Result<u8, Failure> {
    let project = project(cx)?;
    let run = p.get_run(run_id).await.map_err(api_failure)?;
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
            println!("run {run_id} ended {}: nothing to fix", run.status);
        }
        return Ok(exit_code::OK);
    }
    let state = open_state(cx).await?;
    // The engine, when the project has hooks: fixer hooks run on the event, and its
    // masker knows the hooks' secrets too.
    let engine = if project.hooks_file.is_file() {
        let painter = if json { cx.err } else { cx.out };
        let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
        Some(cx.engine(project.clone(), reporter, true).await?)
    } else {
        None
    };
    let masker = engine
        .as_ref()
        .map(|e| e.masker().clone())
        .unwrap_or_else(|| state.masker.clone());

    let stored = state
        .store
        .run(&RunSelector::Run {
            id: run.id.to_string(),
            attempt: run.attempt,
        })
        .await;
    let report = match stored {
        Ok(info) => Some(
            state
                .store
                .report(&info, 1000, 0)
                .await
                .map_err(store_failure)?,
        ),
        Err(ResultsError::UnknownRun(_)) => {
            let options = fetch_options(&state, p, run_id).await?;
            match fetch_results(p, &run, &state.store, &options).await {
                Ok(f) => Some(f.ingested.report),
                Err(FetchError::Provider(e)) => return Err(api_failure(e)),
                Err(e) => {
                    eprintln!(
                        "warning: {}\n  note: the bundle holds the failed jobs' logs only",
                        masker.mask(&e.to_string())
                    );
                    None
                }
            }
        }
        Err(e) => return Err(store_failure(e)),
    };

    let gathered = gather_failure_context(p, &run, report.as_ref(), &masker).await;
    let dir = match output {
        Some(dir) => dir.to_path_buf(),
        None => project
            .root
            .join(".flowspec/fix")
            .join(safe_file_name(run.id.as_str())),
    };
    let (markdown, json_file) = write_bundle(&gathered.context, &dir, &masker).map_err(|e| {
        Failure::error(format!(
            "cannot write the bundle to {}: {e}",
            cx.show_path(&dir)
        ))
    })?;
    let markdown = std::path::absolute(&markdown).unwrap_or(markdown);
    let json_file = std::path::absolute(&json_file).unwrap_or(json_file);
    let mut summary = flowspec_results::ci::fix::summary(&gathered.context);
    masker.mask_json(&mut summary);

    let mut event = Event::builder("ci.fix.requested")
        .source("flowspec-ci-fix")
        .field("run_id", run.id.to_string())
        .field("provider", p.kind())
        .field("platform", p.platform())
        .field("run_status", run.status.as_str())
        .field("markdown_path", markdown.display().to_string())
        .field("json_path", json_file.display().to_string())
        .field("summary", summary.clone());
    for (key, value) in [
        ("run_url", &run.url),
        ("commit", &run.head_sha),
        ("branch", &run.head_branch),
    ] {
        if let Some(v) = value {
            event = event.field(key, v.clone());
        }
    }
    if let Some(attempt) = run.attempt {
        event = event.field("attempt", attempt);
    }
    let event = event
        .build()
        .map_err(|e| Failure::error(format!("cannot build the event: {e}")))?;
    let dispatch = match &engine {
        Some(engine) => Some(engine.emit(event).await?),
        None => None,
    };

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
    println!(
        "fix context for run {}: {} failed test(s), {} log excerpt(s) from {} failed job(s)",
        run.id,
        c.failures.len() as u64 + c.failures_omitted,
        c.failures.iter().map(|f| f.log.len()).sum::<usize>() + c.log_errors.len(),
        gathered.jobs.len()
    );
    println!("  {}", cx.show_path(&markdown));
    println!("  {}", cx.show_path(&json_file));
    for job in &gathered.jobs {
        if let Some(error) = &job.error {
            eprintln!("note: no log of job {}: {}", job.name, masker.mask(error));
        }
    }
    match &dispatch {
        None => println!(
            "no hooks.yaml: ci.fix.requested was not emitted (add a hook on it, docs/ci.md)"
        ),
        Some(d) if d.hooks.is_empty() => println!(
            "ci.fix.requested: no hook matches (add one to .flowspec/hooks/hooks.yaml, docs/ci.md)"
        ),
        Some(d) => {
            let hooks: Vec<String> = d
                .hooks
                .iter()
                .map(|h| format!("{} {}", h.hook, h.status.as_str()))
                .collect();
            println!("ci.fix.requested → {}", hooks.join(", "));
        }
    }
    Ok(code)
}
