//! Waiting for a run to end: adaptive polling (start often, back off while nothing changes).
//!
//! - Poll the run (not the job list) starting at the provider's
//!   [`PollInterval::initial`](flowspec_core::provider::PollInterval); while nothing
//!   changes, stretch the interval ×1.5 up to its `max`; any change snaps it back.
//!   ±20 % jitter keeps many waiters from polling in lockstep.
//! - Fetch the jobs only when the run changed, and otherwise every few polls.
//! - GitHub answers unchanged polls `304 Not Modified` (ETag), which cost no rate limit.
//! - A rate limit is waited out (its reset time, else 60 s); transient errors are
//!   retried with the same backoff, up to [`WaitOptions::max_errors`] in a row.
//! - Stop when the run is terminal, or at the deadline.
//! - With a [`CompletionSignal`] (a receiver stores the platform's `ci.completed`
//!   webhooks), stop as soon as it tells the run ended, and poll only on the slow
//!   [`WaitOptions::fallback`] schedule meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::provider::signal::{CompletionSignal, PushedCompletion};
use flowspec_core::provider::{
    CiProvider, Job, PollInterval, ProviderError, ProviderErrorKind, Run, RunId, RunStatus,
};
use tokio::time::Instant;

/// A completion received up to this long before the wait started still ends it (the
/// receiver's clock may be a little ahead of ours).
const SIGNAL_GRACE_MS: i64 = 2_000;

/// How to wait.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (the run keeps going).
    pub timeout: Option<Duration>,
    /// The polling interval; the provider's when `None`.
    pub interval: Option<PollInterval>,
    /// The factor applied to the interval while nothing changes.
    pub backoff: f64,
    /// Fetch the jobs every this many unchanged polls (0: only on changes).
    pub jobs_every: u32,
    /// Consecutive transient errors tolerated.
    pub max_errors: u32,
    /// Whether to fetch jobs at all (a live job view wants them).
    pub with_jobs: bool,
    /// Where completions are pushed (stored webhooks), if anywhere.
    pub signal: Option<Signal>,
    /// The polling schedule while a signal is there: a slow fallback.
    pub fallback: PollInterval,
}

/// A shared [`CompletionSignal`].
#[derive(Clone)]
pub struct Signal(pub Arc<dyn CompletionSignal>);

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signal")
    }
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: None,
            interval: None,
            backoff: 1.5,
            jobs_every: 3,
            max_errors: 5,
            with_jobs: true,
            signal: None,
            fallback: PollInterval::new(Duration::from_secs(60), Duration::from_secs(600)),
        }
    }
}

impl WaitOptions {
    /// Sets the overall timeout.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the polling interval.
    pub fn interval(mut self, interval: PollInterval) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Turns job fetching on or off.
    pub fn with_jobs(mut self, with_jobs: bool) -> Self {
        self.with_jobs = with_jobs;
        self
    }

    /// Ends the wait as soon as `signal` tells the run completed; polls on the
    /// [`fallback`](WaitOptions::fallback) schedule meanwhile.
    pub fn signal(mut self, signal: Arc<dyn CompletionSignal>) -> Self {
        self.signal = Some(Signal(signal));
        self
    }

    /// Sets the polling schedule used while a signal is there.
    pub fn fallback(mut self, fallback: PollInterval) -> Self {
        self.fallback = fallback;
        self
    }
}

/// What the waiter saw, for a live view.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaitUpdate<'a> {
    /// The run changed (or was read the first time).
    Run(&'a Run),
    /// The jobs changed.
    Jobs(&'a [Job]),
    /// Nothing changed; the next poll is in `next`.
    Unchanged {
        /// The run as last seen.
        run: &'a Run,
        /// The wait before the next poll.
        next: Duration,
    },
    /// A transient error or a rate limit; retrying in `next`.
    Retrying {
        /// The error.
        error: &'a ProviderError,
        /// The wait before the next poll.
        next: Duration,
    },
}

/// How a wait ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WaitOutcome {
    /// The run as last seen.
    pub run: Run,
    /// The jobs as last seen.
    pub jobs: Vec<Job>,
    /// Whether the deadline passed before the run ended.
    pub timed_out: bool,
    /// Requests for the run.
    pub run_polls: u32,
    /// Requests for the jobs.
    pub job_polls: u32,
    /// The completion the signal told, when that is how the wait ended.
    pub pushed: Option<PushedCompletion>,
}

/// Waits until `run` ends or the timeout passes, calling `observe` on each change.
pub async fn wait_for_run(
    provider: &dyn CiProvider,
    run: &RunId,
    options: &WaitOptions,
    observe: &mut (dyn FnMut(WaitUpdate<'_>) + Send),
) -> Result<WaitOutcome, ProviderError> {
    let interval = match &options.signal {
        Some(_) => options.fallback,
        None => options.interval.unwrap_or_else(|| provider.poll_interval()),
    };
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let since = now_ms() - SIGNAL_GRACE_MS;
    let mut pushed: Option<Pin<Box<dyn Future<Output = PushedCompletion> + Send + '_>>> =
        options.signal.as_ref().map(|Signal(signal)| {
            let signal = signal.clone();
            let kind = provider.kind();
            let run = run.clone();
            Box::pin(async move { signal.completed(kind, &run, since).await })
                as Pin<Box<dyn Future<Output = PushedCompletion> + Send>>
        });
    let mut wait = interval.initial;
    let mut last: Option<Run> = None;
    let mut jobs: Vec<Job> = Vec::new();
    let mut unchanged = 0u32;
    let mut errors = 0u32;
    let (mut run_polls, mut job_polls) = (0u32, 0u32);
    loop {
        run_polls += 1;
        let current = match provider.get_run(run).await {
            Ok(current) => {
                errors = 0;
                current
            }
            Err(error) if error.is_transient() && errors < options.max_errors => {
                errors += 1;
                let next = match error.kind() {
                    ProviderErrorKind::RateLimited => error
                        .retry_after()
                        .or_else(|| {
                            error
                                .reset_at()
                                .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
                        })
                        .unwrap_or(Duration::from_secs(60)),
                    _ => wait,
                };
                observe(WaitUpdate::Retrying {
                    error: &error,
                    next,
                });
                match pause(next, deadline, &mut pushed).await {
                    Pause::Slept => continue,
                    Pause::Deadline => return Err(error),
                    Pause::Pushed(completion) => {
                        let seen = last.clone().unwrap_or_else(|| {
                            Run::new(
                                run.clone(),
                                completion.status,
                                completion.conclusion.clone(),
                            )
                        });
                        return Ok(pushed_outcome(seen, jobs, completion, run_polls, job_polls));
                    }
                }
            }
            Err(error) => return Err(error),
        };
        let changed = last.as_ref().is_none_or(|prev| differs(prev, &current));
        let terminal = current.status.is_terminal();
        if changed {
            observe(WaitUpdate::Run(&current));
            unchanged = 0;
            wait = interval.initial;
        } else {
            unchanged += 1;
        }
        let jobs_due = options.with_jobs
            && (changed
                || terminal
                || (options.jobs_every > 0 && unchanged.is_multiple_of(options.jobs_every)));
        if jobs_due {
            job_polls += 1;
            match provider.list_jobs(run).await {
                Ok(fresh) => {
                    if fresh != jobs {
                        jobs = fresh;
                        observe(WaitUpdate::Jobs(&jobs));
                    }
                }
                // The job view is a nicety: a failure does not stop the wait.
                Err(error) if !terminal => tracing::debug!(message = "Jobs not read.", %error),
                Err(error) => return Err(error),
            }
        }
        if terminal {
            return Ok(WaitOutcome {
                run: current,
                jobs,
                timed_out: false,
                run_polls,
                job_polls,
                pushed: None,
            });
        }
        if !changed {
            wait = Duration::from_secs_f64(
                (wait.as_secs_f64() * options.backoff).min(interval.max.as_secs_f64()),
            );
        }
        let next = jittered(wait);
        if !changed {
            observe(WaitUpdate::Unchanged {
                run: &current,
                next,
            });
        }
        last = Some(current);
        match pause(next, deadline, &mut pushed).await {
            Pause::Slept => {}
            Pause::Deadline => {
                // One last look at the deadline, so a run that just ended is not
                // reported as timed out.
                run_polls += 1;
                let run_now = provider.get_run(run).await?;
                return Ok(WaitOutcome {
                    timed_out: !run_now.status.is_terminal(),
                    run: run_now,
                    jobs,
                    run_polls,
                    job_polls,
                    pushed: None,
                });
            }
            Pause::Pushed(completion) => {
                // One look at the platform for the details (url, times, jobs); the
                // webhook's word on the end stands if the API lags behind it.
                run_polls += 1;
                let mut run_now = match provider.get_run(run).await {
                    Ok(run_now) => run_now,
                    Err(error) => {
                        tracing::debug!(message = "Run details not read after the webhook.", %error);
                        last.take().expect("set above")
                    }
                };
                if !run_now.status.is_terminal() {
                    run_now.status = completion.status;
                    run_now.raw_status = format!("{} (webhook)", completion.conclusion);
                }
                if options.with_jobs {
                    job_polls += 1;
                    if let Ok(fresh) = provider.list_jobs(run).await {
                        jobs = fresh;
                    }
                }
                return Ok(pushed_outcome(
                    run_now, jobs, completion, run_polls, job_polls,
                ));
            }
        }
    }
}

fn pushed_outcome(
    run: Run,
    jobs: Vec<Job>,
    completion: PushedCompletion,
    run_polls: u32,
    job_polls: u32,
) -> WaitOutcome {
    WaitOutcome {
        run,
        jobs,
        timed_out: false,
        run_polls,
        job_polls,
        pushed: Some(completion),
    }
}

/// How a pause between polls ended.
enum Pause {
    /// The wait is over: poll again.
    Slept,
    /// The deadline passed.
    Deadline,
    /// The signal told the run completed.
    Pushed(PushedCompletion),
}

/// Sleeps `wait` (or until the deadline), unless the signal tells first.
async fn pause(
    wait: Duration,
    deadline: Option<Instant>,
    pushed: &mut Option<Pin<Box<dyn Future<Output = PushedCompletion> + Send + '_>>>,
) -> Pause {
    let slept = sleep_until_deadline(wait, deadline);
    match pushed {
        Some(signal) => tokio::select! {
            completion = signal.as_mut() => {
                *pushed = None;
                Pause::Pushed(completion)
            }
            more = slept => if more { Pause::Slept } else { Pause::Deadline },
        },
        None => {
            if slept.await {
                Pause::Slept
            } else {
                Pause::Deadline
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether the run changed in a way worth showing (status, attempt, update time).
fn differs(a: &Run, b: &Run) -> bool {
    a.status != b.status
        || a.raw_status != b.raw_status
        || a.attempt != b.attempt
        || a.updated_at != b.updated_at
}

/// Sleeps `wait`, or until the deadline; false when the deadline has passed.
async fn sleep_until_deadline(wait: Duration, deadline: Option<Instant>) -> bool {
    match deadline {
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let until = (now + wait).min(deadline);
            tokio::time::sleep_until(until).await;
            until < deadline
        }
        None => {
            tokio::time::sleep(wait).await;
            true
        }
    }
}

/// ±20 % jitter.
fn jittered(wait: Duration) -> Duration {
    flowspec_core::retry::jittered(wait, 0.2)
}

/// The exit-style verdict of a finished wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The run succeeded (or was skipped).
    Success,
    /// The run failed.
    Failed,
    /// The run was cancelled.
    Cancelled,
    /// The deadline passed first.
    TimedOut,
}

impl WaitOutcome {
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        if self.timed_out {
            return Verdict::TimedOut;
        }
        match self.run.status {
            RunStatus::Success | RunStatus::Skipped => Verdict::Success,
            RunStatus::Cancelled => Verdict::Cancelled,
            _ => Verdict::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use flowspec_core::provider::{RunRef, TriggerRequest};

    use super::*;

    /// A run that lasts `duration` of (tokio) time from creation.
    #[derive(Debug)]
    struct Timed {
        start: Instant,
        duration: Duration,
        runs: AtomicU32,
        jobs: AtomicU32,
        fail_first: Mutex<u32>,
    }

    #[async_trait]
    impl CiProvider for Timed {
        fn kind(&self) -> &'static str {
            "timed"
        }
        async fn trigger(&self, _: &TriggerRequest) -> Result<RunRef, ProviderError> {
            Ok(RunRef::new("1"))
        }
        async fn get_run(&self, id: &RunId) -> Result<Run, ProviderError> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            let mut fail = self.fail_first.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(ProviderError::new(ProviderErrorKind::Transient, "502"));
            }
            let done = self.start.elapsed() >= self.duration;
            let (status, raw) = if done {
                (RunStatus::Failed, "completed/failure")
            } else {
                (RunStatus::Running, "in_progress")
            };
            Ok(Run::new(id.clone(), status, raw))
        }
        async fn list_jobs(&self, _: &RunId) -> Result<Vec<Job>, ProviderError> {
            self.jobs.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
    }

    fn timed(duration: Duration, fail_first: u32) -> Timed {
        Timed {
            start: Instant::now(),
            duration,
            runs: AtomicU32::new(0),
            jobs: AtomicU32::new(0),
            fail_first: Mutex::new(fail_first),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn should_back_off_on_a_long_run_and_report_its_failure() {
        let provider = timed(Duration::from_secs(600), 0);
        let outcome = wait_for_run(
            &provider,
            &RunId::new("1"),
            &WaitOptions::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcome.verdict(), Verdict::Failed);
        // 10 s growing to 60 s over 10 minutes: far fewer than one poll per 3 s (200).
        assert!(outcome.run_polls <= 20, "{} polls", outcome.run_polls);
        assert!(outcome.run_polls >= 8, "{} polls", outcome.run_polls);
    }

    #[tokio::test(start_paused = true)]
    async fn should_stop_at_the_deadline_and_say_so() {
        let provider = timed(Duration::from_secs(3600), 0);
        let started = Instant::now();
        let outcome = wait_for_run(
            &provider,
            &RunId::new("1"),
            &WaitOptions::default().timeout(Some(Duration::from_secs(90))),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcome.verdict(), Verdict::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(90));
    }

    #[tokio::test(start_paused = true)]
    async fn should_ride_out_transient_errors() {
        let provider = timed(Duration::from_secs(20), 2);
        let mut retries = 0;
        let outcome = wait_for_run(
            &provider,
            &RunId::new("1"),
            &WaitOptions::default(),
            &mut |u| {
                if matches!(u, WaitUpdate::Retrying { .. }) {
                    retries += 1;
                }
            },
        )
        .await
        .unwrap();
        assert_eq!((outcome.verdict(), retries), (Verdict::Failed, 2));
    }

    /// Tells after `after` (tokio time) that the run failed.
    struct Later {
        after: Duration,
    }

    #[async_trait]
    impl CompletionSignal for Later {
        async fn completed(&self, provider: &str, run: &RunId, _since: i64) -> PushedCompletion {
            assert_eq!((provider, run.as_str()), ("timed", "1"));
            tokio::time::sleep(self.after).await;
            PushedCompletion::new("failure", "hook-1")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn should_end_on_the_pushed_completion_while_the_api_still_says_running() {
        let provider = timed(Duration::from_secs(86_400), 0);
        let started = Instant::now();
        let outcome = wait_for_run(
            &provider,
            &RunId::new("1"),
            &WaitOptions::default().signal(Arc::new(Later {
                after: Duration::from_secs(600),
            })),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(600),
            "ends when told"
        );
        assert_eq!(outcome.verdict(), Verdict::Failed);
        assert_eq!(outcome.run.raw_status, "failure (webhook)");
        assert_eq!(outcome.pushed.unwrap().event_id, "hook-1");
        // The slow fallback: 1 min growing to 10 min, plus one look for details at the
        // end; polling alone asks 8 to 20 times in 10 minutes, `gh run watch` 200.
        assert!(outcome.run_polls <= 7, "{} polls", outcome.run_polls);
    }
}
