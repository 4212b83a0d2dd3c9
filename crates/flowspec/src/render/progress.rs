//! Progress of a CI wait and of artifact downloads on stderr: indicatif bars and
//! spinners on a terminal, one line per change otherwise, nothing when quiet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowspec_core::provider::{Artifact, JobId, RunId, RunStatus};
use flowspec_providers::wait::WaitUpdate;
use flowspec_results::ci::RetryEvaluation;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ci::{job_line, run_line};
use super::{Console, safe, stderr_is_terminal};
use crate::ci::{DownloadObserver, WaitObserver};

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("a valid template")
}

/// A wait's poll interval in whole seconds, at least 1, for messages.
fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

/// The view of one attempt of a wait.
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
}

impl View {
    fn new(run: &RunId) -> View {
        if !stderr_is_terminal() {
            return View::Plain {
                last_run: None,
                last_jobs: HashMap::new(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(style("{spinner} {msg} {elapsed:.dim}"));
        bar.set_message(format!(
            "run {}: waiting for the first answer",
            safe(run.as_str())
        ));
        bar.enable_steady_tick(Duration::from_millis(120));
        View::Live {
            multi,
            run: bar,
            jobs: HashMap::new(),
        }
    }

    fn show(&mut self, update: WaitUpdate<'_>) {
        match (self, update) {
            (View::Live { run, .. }, WaitUpdate::Run(r)) => run.set_message(run_line(r)),
            (View::Live { run, .. }, WaitUpdate::Unchanged { run: r, next }) => {
                let id = safe(r.id.as_str());
                run.set_message(format!(
                    "run {id}: {} · next check in {}s",
                    r.status,
                    secs(next)
                ));
            }
            (View::Live { run, .. }, WaitUpdate::Retrying { error, next }) => {
                run.set_message(format!(
                    "{}; retrying in {}s",
                    safe(&error.to_string()),
                    secs(next)
                ));
            }
            (View::Live { multi, jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    let bar = jobs.entry(job.id.clone()).or_insert_with(|| {
                        let b = multi.add(ProgressBar::new_spinner());
                        b.set_style(style("  {msg}"));
                        b
                    });
                    bar.set_message(job_line(job));
                    if job.status.is_terminal() {
                        bar.finish();
                    }
                }
            }
            (View::Plain { last_run, .. }, WaitUpdate::Run(r)) => {
                let line = run_line(r);
                if last_run.as_deref() != Some(line.as_str()) {
                    eprintln!("{line}");
                    *last_run = Some(line);
                }
            }
            (View::Plain { last_jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    if last_jobs.insert(job.id.clone(), job.status) != Some(job.status) {
                        eprintln!("  job {}: {}", safe(&job.name), job.status);
                    }
                }
            }
            (View::Plain { .. }, WaitUpdate::Retrying { error, next }) => {
                eprintln!("{}; retrying in {}s", safe(&error.to_string()), secs(next));
            }
            _ => {}
        }
    }

    fn finish(self) {
        if let View::Live { multi, run, .. } = self {
            run.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

/// A wait's progress: a live view per attempt on stderr, and each retry decision as a
/// line on the console (none with `json`: stdout then carries the JSON result).
///
/// ```no_run
/// use std::sync::Arc;
/// use flowspec::render::{StdConsole, progress::WaitProgress};
///
/// # async fn run(project: flowspec::Project) -> flowspec::Result<()> {
/// let ci = project.ci(None)?;
/// let mut progress = WaitProgress::new(Arc::new(StdConsole), false, false);
/// let run = flowspec::RunId::new("42");
/// let waited = flowspec::ci::wait(&project, ci.as_ref(), &run, Default::default(), &mut progress).await;
/// progress.finish();
/// # Ok(()) }
/// ```
pub struct WaitProgress {
    console: Arc<dyn Console>,
    quiet: bool,
    json: bool,
    view: Option<View>,
}

impl WaitProgress {
    /// Progress shown unless `quiet`; decisions as lines unless `json`.
    pub fn new(console: Arc<dyn Console>, quiet: bool, json: bool) -> Self {
        WaitProgress {
            console,
            quiet,
            json,
            view: None,
        }
    }

    /// Clears the live view (call when the wait returned, also on an error).
    pub fn finish(&mut self) {
        if let Some(view) = self.view.take() {
            view.finish();
        }
    }
}

impl WaitObserver for WaitProgress {
    fn attempt_started(&mut self, run: &RunId) {
        self.view = (!self.quiet).then(|| View::new(run));
    }
    fn update(&mut self, update: WaitUpdate<'_>) {
        if let Some(view) = &mut self.view {
            view.show(update);
        }
    }
    fn attempt_finished(&mut self) {
        self.finish();
    }
    fn retry_decision(&mut self, run: &RunId, evaluation: &RetryEvaluation) {
        if !self.json {
            self.console.line(&format!(
                "run {} failed — {}",
                safe(run.as_str()),
                safe(&evaluation.decision.describe())
            ));
        }
    }
    fn retried(&mut self, run: &RunId, retried: &RunId) {
        if !self.json {
            let (run, retried) = (safe(run.as_str()), safe(retried.as_str()));
            self.console.line(&format!(
                "re-running the failed jobs of run {run}; waiting for run {retried} again"
            ));
        }
    }
}

/// Download progress: a byte bar per artifact on stderr when `live`.
pub struct DownloadBars {
    live: bool,
    bar: Mutex<ProgressBar>,
}

impl DownloadBars {
    /// Bars shown only when `live` (stderr is a terminal and output is not quiet).
    pub fn new(live: bool) -> Self {
        DownloadBars {
            live,
            bar: Mutex::new(ProgressBar::hidden()),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DownloadObserver for DownloadBars {
    fn started(&self, artifact: &Artifact) {
        if !self.live {
            return;
        }
        let b = artifact
            .size
            .map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        b.set_draw_target(ProgressDrawTarget::stderr());
        b.set_style(
            style("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .progress_chars("=> "),
        );
        b.set_message(safe(&artifact.name).into_owned());
        *self.bar() = b;
    }
    fn progress(&self, bytes: u64) {
        self.bar().inc(bytes);
    }
    fn finished(&self) {
        self.bar().finish_and_clear();
    }
}
