//! Retry with exponential backoff and jitter: the one retry policy of flowspec.
//!
//! Backends classify their errors ([`Retryable`]); [`retry`] owns the loop. Nothing
//! below it retries again (no retrying HTTP middleware), so a request is never
//! retried twice over.
//!
//! ```
//! use std::time::Duration;
//! use flowspec_core::retry::{retry, RetryPolicy, Retryable, RetryDecision};
//!
//! #[derive(Debug)]
//! struct Flaky;
//! impl Retryable for Flaky {
//!     fn decision(&self) -> RetryDecision { RetryDecision::Retry { after: None } }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let policy = RetryPolicy::new(3).base_delay(Duration::from_millis(1));
//! let mut calls = 0;
//! let result: Result<((), u32), _> = retry(&policy, |_attempt| { calls += 1; async { Err(Flaky) } }).await;
//! assert_eq!(calls, 3);
//! assert_eq!(result.unwrap_err().attempts, 3);
//! # });
//! ```

use std::future::Future;
use std::time::Duration;

/// What to do after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again; `after` is the server's requested wait (`Retry-After`, a rate-limit
    /// reset), used instead of the backoff when present.
    Retry {
        /// The wait the server asked for.
        after: Option<Duration>,
    },
    /// Do not try again (bad request, auth, not found, or an ambiguous failure of a
    /// request that must not be repeated blindly).
    Stop,
}

/// An error that knows whether trying again could help.
pub trait Retryable {
    /// The decision for this error.
    fn decision(&self) -> RetryDecision;
}

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff delay; it doubles each attempt.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest server-requested wait honoured; beyond it, give up at once
    /// rather than block (the error then says when to try again).
    pub max_server_wait: Duration,
    /// Add random jitter (up to half the delay) so clients do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_server_wait: Duration::from_secs(120),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy with `max_attempts` attempts.
    pub fn new(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            ..RetryPolicy::default()
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy::new(1)
    }

    /// Sets the first backoff delay.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest backoff delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Turns jitter on or off (off makes delays exact, for tests).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The backoff before attempt `next` (2 for the first retry).
    pub fn backoff(&self, next: u32) -> Duration {
        let exp = next.saturating_sub(2).min(20);
        let delay = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        if self.jitter {
            // Up to half the delay more: a quarter of it, spread by ±100 %.
            delay.saturating_add(jittered(delay / 4, 1.0))
        } else {
            delay
        }
    }
}

/// The last error after retries ran out or stopped, with the attempt count.
#[derive(Debug)]
pub struct Exhausted<E> {
    /// The last error.
    pub error: E,
    /// How many attempts were made.
    pub attempts: u32,
}

impl<E: std::fmt::Display> std::fmt::Display for Exhausted<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts > 1 {
            write!(f, "{} (after {} attempts)", self.error, self.attempts)
        } else {
            self.error.fmt(f)
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Exhausted<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Calls `operation(attempt)` until it succeeds, the error says stop, or the policy
/// runs out. Returns the value and the number of attempts.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    operation: F,
) -> Result<(T, u32), Exhausted<E>>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_with_backoff(policy, |next| policy.backoff(next), operation).await
}

/// [`retry`] with delays chosen by `backoff(next_attempt)` instead of the policy's
/// doubling (for fixed schedules such as a webhook's `retry_schedule: [5s, 1m, 10m]`);
/// `max_attempts` and `max_server_wait` still come from `policy`, and a server's
/// requested wait still wins.
pub async fn retry_with_backoff<T, E, F, Fut>(
    policy: &RetryPolicy,
    backoff: impl Fn(u32) -> Duration,
    mut operation: F,
) -> Result<(T, u32), Exhausted<E>>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match operation(attempt).await {
            Ok(value) => return Ok((value, attempt)),
            Err(error) => {
                let wait = match error.decision() {
                    RetryDecision::Stop => None,
                    RetryDecision::Retry { after: Some(after) }
                        if after > policy.max_server_wait =>
                    {
                        None
                    }
                    RetryDecision::Retry { after: Some(after) } => Some(after),
                    RetryDecision::Retry { after: None } => Some(backoff(attempt + 1)),
                };
                match wait {
                    Some(wait) if attempt < policy.max_attempts => {
                        tracing::debug!(
                            message = "Retrying.",
                            attempt,
                            wait_ms = wait.as_millis() as u64
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    _ => {
                        return Err(Exhausted {
                            error,
                            attempts: attempt,
                        });
                    }
                }
            }
        }
    }
}

/// `base` scaled by a random factor between `1 - spread` and `1 + spread`, so that
/// clients waiting the same time do not all wake at once. `spread` is a fraction
/// (0.2 is ±20 %), held to `0..=1`; one that is not a number means no jitter.
///
/// ```
/// use std::time::Duration;
/// use flowspec_core::retry::jittered;
///
/// let wait = jittered(Duration::from_secs(10), 0.2);
/// assert!(wait >= Duration::from_secs(8) && wait <= Duration::from_secs(12));
/// assert_eq!(jittered(Duration::from_secs(10), 0.0), Duration::from_secs(10));
/// ```
pub fn jittered(base: Duration, spread: f64) -> Duration {
    let spread = if spread.is_nan() {
        0.0
    } else {
        spread.clamp(0.0, 1.0)
    };
    if spread == 0.0 {
        return base;
    }
    let factor = 1.0 - spread + 2.0 * spread * fastrand::f64();
    Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum E {
        Transient,
        After(u64),
        Fatal,
    }

    impl Retryable for E {
        fn decision(&self) -> RetryDecision {
            match self {
                E::Transient => RetryDecision::Retry { after: None },
                E::After(ms) => RetryDecision::Retry {
                    after: Some(Duration::from_millis(*ms)),
                },
                E::Fatal => RetryDecision::Stop,
            }
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy::new(4)
            .base_delay(Duration::from_millis(1))
            .jitter(false)
    }

    #[tokio::test]
    async fn should_succeed_after_transient_errors() {
        let mut calls = 0;
        let (value, attempts) = retry(&fast(), |_| {
            calls += 1;
            let n = calls;
            async move { if n < 3 { Err(E::Transient) } else { Ok("done") } }
        })
        .await
        .unwrap();
        assert_eq!((value, attempts), ("done", 3));
    }

    #[tokio::test]
    async fn should_stop_at_once_on_fatal_errors() {
        let err = retry(&fast(), |_| async { Err::<(), _>(E::Fatal) })
            .await
            .unwrap_err();
        assert_eq!((err.error, err.attempts), (E::Fatal, 1));
    }

    #[tokio::test]
    async fn should_give_up_when_the_server_wait_is_too_long() {
        let err = retry(&fast(), |_| async { Err::<(), _>(E::After(10_000_000)) })
            .await
            .unwrap_err();
        assert_eq!(err.attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn should_honour_the_server_wait() {
        let started = tokio::time::Instant::now();
        let err = retry(&fast(), |_| async { Err::<(), _>(E::After(2_000)) })
            .await
            .unwrap_err();
        assert_eq!(err.attempts, 4);
        assert_eq!(started.elapsed(), Duration::from_secs(6));
    }

    #[test]
    fn should_double_the_backoff_up_to_the_limit() {
        let p = RetryPolicy::new(10)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350))
            .jitter(false);
        let delays: Vec<u128> = (2..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 350, 350]);
        let j = RetryPolicy::new(10).base_delay(Duration::from_millis(100));
        assert!((100..=150).contains(&j.backoff(2).as_millis()));
    }

    #[test]
    fn should_spread_jittered_waits_within_their_bounds() {
        let base = Duration::from_secs(10);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(base, 0.2)).collect();
        assert!(
            waits
                .iter()
                .all(|w| (Duration::from_secs(8)..=Duration::from_secs(12)).contains(w)),
            "{waits:?}"
        );
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "waits vary: {distinct:?}");
        assert!(waits.iter().any(|w| *w < base) && waits.iter().any(|w| *w > base));
        // Out-of-range spreads are held to 0..=1; huge bases saturate instead of panicking.
        assert_eq!(jittered(base, -1.0), base);
        assert_eq!(jittered(base, f64::NAN), base);
        assert!(jittered(base, 5.0) <= base * 2);
        assert!(jittered(Duration::MAX, 0.5) > Duration::ZERO);
    }
}
