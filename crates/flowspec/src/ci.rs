//! CI orchestration over a [`CiProvider`]: waiting for a run (retrying flaky failures,
//! judging a failure against the quarantine), following a job's log, downloading
//! artifacts. Progress goes to an observer, so a terminal can draw it and a service
//! can log it.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use flowspec_core::provider::signal::CompletionSignal;
use flowspec_core::provider::{Artifact, CiProvider, Job, LogChunk, PollInterval, RunId};
use flowspec_providers::download::{UnzipLimits, safe_file_name, unzip_with};
use flowspec_providers::wait::{Verdict, WaitOptions, WaitOutcome, WaitUpdate, wait_for_run};
use flowspec_results::Report;
use flowspec_results::ci::{
    FetchOptions, FetchedResults, RetryEvaluation, evaluate_retry, fetch_results, judge_failed_run,
    wait_for_restart,
};
use flowspec_server::StoredCompletions;
use serde_json::{Value, json};
use tokio::io::AsyncWrite;

use crate::error::{Error, Result};
use crate::project::{Project, Results};

/// How long a wait with retries and no timeout waits for a retried run to show the retry.
pub const RESTART_LIMIT: Duration = Duration::from_secs(600);

/// What a wait reports while it runs. Every method has an empty default.
pub trait WaitObserver: Send {
    /// A wait for `run` starts (again after each retry).
    fn attempt_started(&mut self, run: &RunId) {
        let _ = run;
    }
    /// The run or its jobs changed, or a poll is retried.
    fn update(&mut self, update: WaitUpdate<'_>) {
        let _ = update;
    }
    /// The wait for one attempt ended.
    fn attempt_finished(&mut self) {}
    /// A failed run was judged for an automatic retry.
    fn retry_decision(&mut self, run: &RunId, evaluation: &RetryEvaluation) {
        let _ = (run, evaluation);
    }
    /// The failed jobs of `run` are being re-run as `retried`.
    fn retried(&mut self, run: &RunId, retried: &RunId) {
        let _ = (run, retried);
    }
}

/// An observer that reports nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl WaitObserver for NoProgress {}
impl DownloadObserver for NoProgress {}

/// What a wait does beyond waiting.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitRequest {
    /// Give up after this long (the run keeps going); retries included.
    pub timeout: Option<Duration>,
    /// Retry the failed jobs when every failure is a known flaky test (`results.auto_retry`).
    pub retry_flaky: bool,
    /// A failed run whose failures are all quarantined tests counts as passed.
    pub quarantine: bool,
}

/// The quarantine's verdict on a failed run.
#[derive(Debug)]
pub struct QuarantineOutcome {
    /// Whether every failure is excused.
    pub excused: bool,
    /// The verdict as JSON (`excused`, `reason`, ...).
    pub detail: Value,
    /// The report judged, when it could be read.
    pub report: Option<Report>,
}

impl QuarantineOutcome {
    /// Why the failure is or is not excused.
    pub fn reason(&self) -> &str {
        self.detail["reason"].as_str().unwrap_or_default()
    }
}

/// How a wait ended.
#[derive(Debug)]
pub struct WaitReport {
    /// The last attempt's wait.
    pub outcome: WaitOutcome,
    /// How long the whole wait took.
    pub waited: Duration,
    /// The automatic-retry decisions, as JSON, one per failed attempt.
    pub retries: Vec<Value>,
    /// The quarantine's verdict, when asked for and the run failed.
    pub quarantine: Option<QuarantineOutcome>,
}

impl WaitReport {
    /// How the run ended.
    pub fn verdict(&self) -> Verdict {
        self.outcome.verdict()
    }

    /// Whether the run counts as passed: it succeeded, or every failure is quarantined.
    pub fn passed(&self) -> bool {
        self.verdict() == Verdict::Success || self.quarantine.as_ref().is_some_and(|q| q.excused)
    }
}

/// The polling interval override of `FLOWSPEC_CI_POLL_MS` (tests and benchmarks
/// against a local mock), if set.
pub fn poll_override() -> Option<Duration> {
    std::env::var("FLOWSPEC_CI_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

/// Wait options with `timeout`, and the faster schedule of `FLOWSPEC_CI_POLL_MS`.
pub fn wait_options(timeout: Option<Duration>) -> WaitOptions {
    let mut options = WaitOptions::default().timeout(timeout);
    if let Some(every) = poll_override() {
        options = options
            .interval(PollInterval::new(every, every * 6))
            .fallback(PollInterval::new(every * 10, every * 60));
    }
    options
}

/// The completions a receiver stores on the project's state store, when a receiver
/// (`flowspec serve`) uses it: then `ci wait` ends on the run's `ci.completed` webhook
/// and polls the platform only as a slow fallback. `None` for a project without a
/// receiver (its local store is not even created), or with
/// `FLOWSPEC_CI_PUSH=0`.
pub async fn completion_signal(project: &Project) -> Option<Arc<dyn CompletionSignal>> {
    if std::env::var("FLOWSPEC_CI_PUSH").is_ok_and(|v| v == "0") {
        return None;
    }
    let shared = project.settings().state.url.is_some();
    if !shared && !project.paths().state_dir.join("flowspec.db").exists() {
        return None;
    }
    let store = match project.store().await {
        Ok(store) => store,
        Err(error) => {
            tracing::debug!(message = "No store to learn completions from.", %error);
            return None;
        }
    };
    match StoredCompletions::find(&store).await {
        Ok(found) => found.map(|c| Arc::new(c) as Arc<dyn CompletionSignal>),
        Err(error) => {
            tracing::debug!(message = "No receiver's queue in the store.", %error);
            None
        }
    }
}

/// Fetch options for `run`: the configured patterns, and flowspec's retry count + 1
/// as the attempt on platforms without attempt numbers.
pub async fn fetch_options(
    results: &Results,
    provider: &dyn CiProvider,
    run: &RunId,
) -> Result<FetchOptions> {
    let retries = results.store.retries(provider.kind(), run.as_str()).await?;
    Ok(FetchOptions::new(results.config.artifacts.clone()).attempt(Some(retries + 1)))
}

/// Downloads the run's test reports and stores them as the run.
pub async fn fetch_run_results(
    results: &Results,
    provider: &dyn CiProvider,
    run: &RunId,
) -> Result<FetchedResults> {
    let found = provider.get_run(run).await?;
    let options = fetch_options(results, provider, run).await?;
    Ok(fetch_results(provider, &found, &results.store, &options).await?)
}

/// Waits until `run` ends; with `retry_flaky`, retries failed jobs the policy allows
/// and waits again; with `quarantine`, judges a failed run's tests.
pub async fn wait(
    project: &Project,
    provider: &dyn CiProvider,
    run: &RunId,
    request: WaitRequest,
    observer: &mut dyn WaitObserver,
) -> Result<WaitReport> {
    let results = if request.retry_flaky || request.quarantine {
        Some(project.results().await?)
    } else {
        None
    };
    let started = Instant::now();
    let deadline = request.timeout.map(|t| started + t);
    let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let mut current = run.clone();
    let mut retries = Vec::new();
    let mut last_results: Option<FetchedResults>;
    let signal = completion_signal(project).await;
    let outcome = loop {
        observer.attempt_started(&current);
        let mut options = wait_options(remaining());
        if let Some(signal) = &signal {
            options = options.signal(signal.clone());
        }
        let waited = wait_for_run(provider, &current, &options, &mut |u| observer.update(u)).await;
        observer.attempt_finished();
        let outcome = waited?;
        last_results = None;
        let Some(results) = results.as_ref().filter(|_| request.retry_flaky) else {
            break outcome;
        };
        if outcome.verdict() != Verdict::Failed {
            break outcome;
        }
        let evaluation = evaluate_retry(
            provider,
            &outcome.run,
            &results.store,
            &results.config,
            true,
        )
        .await?;
        retries.push(evaluation.to_json());
        observer.retry_decision(&current, &evaluation);
        last_results = evaluation.fetched;
        let Some(retried) = evaluation.retried else {
            break outcome;
        };
        observer.retried(&current, &retried.id);
        let every = poll_override().unwrap_or(provider.poll_interval().initial);
        // Never judge the attempt that just failed again: wait until the run shows the
        // retry, up to the timeout (the next wait then ends as timed out) or 10 minutes.
        let limit = remaining().unwrap_or(RESTART_LIMIT);
        let (_, restarted) =
            wait_for_restart(provider, &retried.id, &outcome.run, every, limit).await?;
        if !restarted && deadline.is_none() {
            return Err(Error::RetryNotVisible {
                run: retried.id.to_string(),
                minutes: RESTART_LIMIT.as_secs() / 60,
            });
        }
        current = retried.id;
    };
    let waited = started.elapsed();
    let mut quarantine = None;
    if let Some(results) = results.as_ref().filter(|_| request.quarantine)
        && outcome.verdict() == Verdict::Failed
    {
        let report = match last_results {
            Some(f) => Ok(f.ingested.report),
            None => {
                let options = fetch_options(results, provider, &outcome.run.id).await?;
                fetch_results(provider, &outcome.run, &results.store, &options)
                    .await
                    .map(|f| f.ingested.report)
            }
        };
        quarantine = Some(match report {
            Ok(report) => {
                let judged = judge_failed_run(&report, &results.store, &results.config).await?;
                QuarantineOutcome {
                    excused: judged.excused,
                    detail: serde_json::to_value(&judged).unwrap_or(Value::Null),
                    report: Some(report),
                }
            }
            Err(e) => {
                let reason = format!(
                    "the run's test results could not be read: {}",
                    e.to_string().lines().next().unwrap_or_default()
                );
                QuarantineOutcome {
                    excused: false,
                    detail: json!({"excused": false, "reason": reason}),
                    report: None,
                }
            }
        });
    }
    Ok(WaitReport {
        outcome,
        waited,
        retries,
        quarantine,
    })
}

/// The job of `run` named or numbered `wanted`, or a usage error listing its jobs.
pub async fn find_job(provider: &dyn CiProvider, run: &RunId, wanted: &str) -> Result<Job> {
    let jobs = provider.list_jobs(run).await?;
    if let Some(j) = jobs
        .iter()
        .find(|j| j.id.as_str() == wanted || j.name == wanted)
    {
        return Ok(j.clone());
    }
    Err(Error::Usage(format!(
        "run {run} has no job `{wanted}`{}",
        if jobs.is_empty() {
            String::new()
        } else {
            format!("; its jobs: {}", job_names(&jobs))
        }
    )))
}

fn job_names(jobs: &[Job]) -> String {
    jobs.iter()
        .map(|j| format!("{} ({})", j.name, j.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The jobs whose logs `logs` prints: `job`, or every job (one when following).
pub async fn log_jobs(
    provider: &dyn CiProvider,
    run: &RunId,
    job: Option<&str>,
    follow: bool,
) -> Result<Vec<Job>> {
    match job {
        Some(j) => Ok(vec![find_job(provider, run, j).await?]),
        None => {
            let all = provider.list_jobs(run).await?;
            if follow && all.len() > 1 {
                return Err(Error::Usage(format!(
                    "--follow needs one job: pass --job (run {run} has {})",
                    job_names(&all)
                )));
            }
            Ok(all)
        }
    }
}

/// Reads `job`'s log from the start, handing each chunk to `sink` with the offset it
/// starts at; with `follow`, polls for more (2 s, stretched ×1.5 up to 10 s while
/// nothing new comes) until the job ends.
pub async fn read_log(
    provider: &dyn CiProvider,
    run: &RunId,
    job: &Job,
    follow: bool,
    sink: &mut (dyn FnMut(u64, &LogChunk) -> Result<()> + Send),
) -> Result<()> {
    let mut offset = 0u64;
    let mut idle = Duration::from_secs(2);
    loop {
        let chunk = provider.job_log(run, &job.id, offset).await?;
        sink(offset, &chunk)?;
        let grew = chunk.next_offset != offset;
        offset = chunk.next_offset;
        if !follow || chunk.complete {
            return Ok(());
        }
        idle = if grew {
            Duration::from_secs(2)
        } else {
            (idle * 3 / 2).min(Duration::from_secs(10))
        };
        tokio::time::sleep(poll_override().unwrap_or(idle)).await;
    }
}

/// What a download reports while it runs. Every method has an empty default.
pub trait DownloadObserver: Send + Sync {
    /// `artifact` starts downloading.
    fn started(&self, artifact: &Artifact) {
        let _ = artifact;
    }
    /// `bytes` more bytes of the current artifact arrived.
    fn progress(&self, bytes: u64) {
        let _ = bytes;
    }
    /// The current artifact is downloaded (or failed).
    fn finished(&self) {}
}

/// One downloaded artifact.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Downloaded {
    /// The artifact's name.
    pub name: String,
    /// The file written, or the directory it was unpacked into.
    pub path: PathBuf,
    /// The bytes downloaded.
    pub bytes: u64,
    /// The files unpacked, with unzip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<PathBuf>>,
}

/// Downloads the artifacts of `run` named in `names` (all when empty) into `output`;
/// with `unzip`, unpacks zip archives into `output/<name>/` within the limits.
pub async fn download_artifacts(
    provider: &dyn CiProvider,
    run: &RunId,
    output: &Path,
    names: &[String],
    unzip: Option<UnzipLimits>,
    observer: &dyn DownloadObserver,
) -> Result<Vec<Downloaded>> {
    let all = provider.list_artifacts(run).await?;
    let chosen: Vec<&Artifact> = all
        .iter()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .collect();
    if chosen.is_empty() {
        return Err(Error::NoArtifacts {
            run: run.to_string(),
            wanted: names.to_vec(),
            available: all.iter().map(|a| a.name.clone()).collect(),
        });
    }
    tokio::fs::create_dir_all(output)
        .await
        .map_err(|e| Error::io(format!("cannot create {}", output.display()), e))?;
    let mut downloaded = Vec::new();
    for artifact in chosen {
        if artifact.expired {
            return Err(Error::ArtifactExpired(artifact.name.clone()));
        }
        let mut file_name = safe_file_name(&artifact.name);
        if artifact.zip && !file_name.ends_with(".zip") {
            file_name.push_str(".zip");
        }
        let path = output.join(&file_name);
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        observer.started(artifact);
        let mut sink = Counting {
            inner: file,
            observer,
        };
        let result = provider.download_artifact(run, artifact, &mut sink).await;
        observer.finished();
        let bytes = match result {
            Ok(n) => n,
            Err(e) => {
                drop(sink);
                let _ = tokio::fs::remove_file(&path).await;
                return Err(e.into());
            }
        };
        let Some(limits) = unzip.filter(|_| artifact.zip) else {
            downloaded.push(Downloaded {
                name: artifact.name.clone(),
                path,
                bytes,
                files: None,
            });
            continue;
        };
        let dir = output.join(file_name.trim_end_matches(".zip"));
        let (archive, target) = (path.clone(), dir.clone());
        let files = tokio::task::spawn_blocking(move || unzip_with(&archive, &target, limits))
            .await
            .map_err(|e| Error::io("unzip stopped", std::io::Error::other(e.to_string())))??;
        let _ = tokio::fs::remove_file(&path).await;
        downloaded.push(Downloaded {
            name: artifact.name.clone(),
            path: dir,
            bytes,
            files: Some(files),
        });
    }
    Ok(downloaded)
}

/// A writer that reports the bytes written to an observer.
struct Counting<'o, W> {
    inner: W,
    observer: &'o dyn DownloadObserver,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<'_, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            self.observer.progress(*n as u64);
        }
        poll
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A failed run's failure context, written to disk and handed to fixer hooks.
#[derive(Debug)]
pub struct FixBundle {
    /// fix-context.md.
    pub markdown: PathBuf,
    /// fix-context.json.
    pub json: PathBuf,
    /// The short summary sent in the event (secrets masked).
    pub summary: Value,
    /// The failures and log excerpts, and the failed jobs' logs.
    pub gathered: flowspec_results::ci::fix::Gathered,
    /// Why the run's test results are missing from the bundle, if they are.
    pub results_missing: Option<String>,
    /// The dispatch of `ci.fix.requested`, when an engine was given.
    pub dispatch: Option<flowspec_core::DispatchReport>,
}

/// Gathers the failure context of the ended `run` (its stored test results, else
/// downloaded ones; the log lines around each error), writes fix-context.md and
/// fix-context.json into `output` (default `.flowspec/fix/<run>/`), and emits
/// `ci.fix.requested` through `engine` when one is given.
pub async fn fix(
    project: &Project,
    provider: &dyn CiProvider,
    run: &flowspec_core::provider::Run,
    output: Option<&Path>,
    engine: Option<&flowspec_core::Engine>,
) -> Result<FixBundle> {
    fix_with_fields(project, provider, run, output, engine, Vec::new()).await
}

/// [`fix`], with more fields in `ci.fix.requested` (the fix round and the limit).
pub(crate) async fn fix_with_fields(
    project: &Project,
    provider: &dyn CiProvider,
    run: &flowspec_core::provider::Run,
    output: Option<&Path>,
    engine: Option<&flowspec_core::Engine>,
    fields: Vec<(&'static str, Value)>,
) -> Result<FixBundle> {
    use flowspec_results::ResultsError;
    use flowspec_results::ci::{gather_failure_context, write_bundle};
    use flowspec_results::store::RunSelector;

    let results = project.results().await?;
    let masker = project.masker();
    let selector = RunSelector::Run {
        id: run.id.to_string(),
        attempt: run.attempt,
    };
    let mut results_missing = None;
    let report = match results.store.run(&selector).await {
        Ok(info) => Some(results.store.report(&info, 1000, 0).await?),
        Err(ResultsError::UnknownRun(_)) => {
            let options = fetch_options(&results, provider, &run.id).await?;
            match fetch_results(provider, run, &results.store, &options).await {
                Ok(f) => Some(f.ingested.report),
                Err(flowspec_results::ci::FetchError::Provider(e)) => return Err(e.into()),
                Err(e) => {
                    results_missing = Some(masker.mask(&e.to_string()).into_owned());
                    None
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    let gathered = gather_failure_context(provider, run, report.as_ref(), &masker).await;
    let dir = match output {
        Some(dir) => dir.to_path_buf(),
        None => project
            .root()
            .join(".flowspec/fix")
            .join(safe_file_name(run.id.as_str())),
    };
    let (markdown, json_file) = write_bundle(&gathered.context, &dir, &masker)
        .map_err(|e| Error::io(format!("cannot write the bundle to {}", dir.display()), e))?;
    let markdown = std::path::absolute(&markdown).unwrap_or(markdown);
    let json_file = std::path::absolute(&json_file).unwrap_or(json_file);
    let mut summary = flowspec_results::ci::fix::summary(&gathered.context);
    masker.mask_json(&mut summary);

    let mut event = flowspec_core::Event::builder("ci.fix.requested")
        .source("flowspec-ci-fix")
        .field("run_id", run.id.to_string())
        .field("provider", provider.kind())
        .field("platform", provider.platform())
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
    for (key, value) in fields {
        event = event.field(key, value);
    }
    let event = event
        .build()
        .map_err(|e| Error::Usage(format!("cannot build the event: {e}")))?;
    let dispatch = match engine {
        Some(engine) => Some(engine.emit(event).await?),
        None => None,
    };
    Ok(FixBundle {
        markdown,
        json: json_file,
        summary,
        gathered,
        results_missing,
        dispatch,
    })
}
