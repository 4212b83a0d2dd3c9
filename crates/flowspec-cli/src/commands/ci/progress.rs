//! Progress of `ci wait` and `ci artifacts` on stderr: indicatif bars and spinners on a
//! terminal, one line per change otherwise, nothing with --quiet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use flowspec::ci::{DownloadObserver, WaitObserver};
use flowspec_core::provider::{Artifact, Job, JobId, Run, RunId, RunStatus};
use flowspec_providers::wait::WaitUpdate;
use flowspec_results::ci::RetryEvaluation;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Context, job_duration, secs, symbol};
use crate::output::outln;
use crate::terminal::{safe, stderr_is_terminal};

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("a valid template")
}

fn run_line(r: &Run) -> String {
    format!(
        "run {}: {} ({})",
        safe(r.id.as_str()),
        r.status,
        safe(&r.raw_status)
    )
}

fn job_line(job: &Job) -> String {
    format!(
        "{} {} {} {}",
        symbol(job.status),
        safe(&job.name),
        job.status,
        job_duration(job)
    )
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

/// `ci wait`'s progress: the live view per attempt, and each retry decision.
pub(super) struct WaitView {
    quiet: bool,
    json: bool,
    view: Option<View>,
}

impl WaitView {
    pub(super) fn new(cx: &Context<'_>, json: bool) -> Self {
        WaitView {
            quiet: cx.global.quiet,
            json,
            view: None,
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(view) = self.view.take() {
            view.finish();
        }
    }
}

impl WaitObserver for WaitView {
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
            outln!(
                "run {} failed — {}",
                safe(run.as_str()),
                safe(&evaluation.decision.describe())
            );
        }
    }
    fn retried(&mut self, run: &RunId, retried: &RunId) {
        if !self.json {
            let (run, retried) = (safe(run.as_str()), safe(retried.as_str()));
            outln!("re-running the failed jobs of run {run}; waiting for run {retried} again");
        }
    }
}

/// Download progress: a byte bar per artifact on a terminal.
pub(super) struct Bars {
    live: bool,
    bar: Mutex<ProgressBar>,
}

impl Bars {
    pub(super) fn new(live: bool) -> Self {
        Bars {
            live,
            bar: Mutex::new(ProgressBar::hidden()),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DownloadObserver for Bars {
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
