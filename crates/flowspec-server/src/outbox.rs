//! The publisher task: sends every accepted event to the configured [`Publisher`], from
//! the durable outbox ([`Queue::claim_outbox`]), in arrival order.
//!
//! A round claims up to [`BATCH`] due rows, publishes their events in one call, and
//! deletes the rows. When the transport fails, the rows go back with a later due time
//! (200 ms doubling to 30 s, with jitter) and the task waits that long: it retries
//! forever, so an outage delays publication but loses nothing, and the receiver keeps
//! accepting meanwhile. New accepts wake the task; it also looks every second (rows
//! left by a receiver that died, retries of another receiver's rows).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowspec_core::transport::Publisher;
use tokio::sync::{Notify, watch};

use crate::metrics::Metrics;
use crate::queue::Queue;

/// The most events published in one call.
pub(crate) const BATCH: i64 = 500;
/// The wait after the first failure of a streak, doubled after each next one.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// The longest wait between two attempts.
const LAST_RETRY: Duration = Duration::from_secs(30);
/// How often the task looks at the outbox without being woken.
const TICK: Duration = Duration::from_secs(1);

/// When a drain that starts now must end.
fn drain_deadline(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    // A drain timeout too large to add is as good as none.
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// The transport as `/readyz` shows it: the publisher and how publishing goes.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) health: Arc<Health>,
}

/// The current failure streak, if any.
#[derive(Debug, Default)]
pub(crate) struct Health(Mutex<Failing>);

#[derive(Clone, Debug, Default)]
pub(crate) struct Failing {
    /// The last error, while failing.
    pub(crate) last_error: Option<String>,
    /// When the streak began (Unix ms), while failing.
    pub(crate) since_ms: Option<i64>,
}

impl Health {
    pub(crate) fn get(&self) -> Failing {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn failed(&self, error: String, now_ms: i64) {
        let mut failing = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failing.last_error = Some(error);
        failing.since_ms.get_or_insert(now_ms);
    }

    fn recovered(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Failing::default();
    }
}

/// What a round leaves to do.
enum Round {
    /// Something was published (or skipped): look again at once.
    More,
    /// Nothing due: wait for an accept or the next tick.
    Idle,
    /// Publishing (or the store) failed: wait this long, whatever is accepted.
    Retry(Duration),
}

/// The consecutive failures of this task.
#[derive(Default)]
struct Streak {
    failures: u32,
    began: Option<std::time::Instant>,
}

pub(crate) struct OutboxTask {
    pub(crate) transport: Transport,
    pub(crate) queue: Queue,
    pub(crate) metrics: Arc<Metrics>,
    /// Notified by the intake after it committed newly accepted events.
    pub(crate) wake: Arc<Notify>,
    /// How long a claim on rows lasts before another receiver may take them over.
    pub(crate) lease: Duration,
    /// At shutdown, how long the last publication may take.
    pub(crate) drain_timeout: Duration,
}

impl OutboxTask {
    /// Publishes until `stop` turns true, then publishes what is left once more
    /// (bounded by the drain timeout); what still remains waits for the next start.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        self.release().await;
        let mut streak = Streak::default();
        let deadline = loop {
            if *stop.borrow() {
                break drain_deadline(self.drain_timeout);
            }
            let mut round = std::pin::pin!(self.round(&mut streak));
            let round = tokio::select! {
                round = &mut round => round,
                _ = stop.changed() => {
                    // The round in flight finishes (within the drain): cancelled after its
                    // send but before its rows are removed, it would publish them again.
                    let deadline = drain_deadline(self.drain_timeout);
                    let _ = tokio::time::timeout_at(deadline, round).await;
                    break deadline;
                }
            };
            let (pause, wakeable) = match round {
                Round::More => continue,
                Round::Idle => (TICK, true),
                Round::Retry(delay) => (delay, false),
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified(), if wakeable => {}
                _ = stop.changed() => break drain_deadline(self.drain_timeout),
            }
        };
        // A round cut off by the drain timeout left its claim: release it so the last
        // pass sees those rows too.
        self.release().await;
        let last = async { while let Round::More = self.round(&mut streak).await {} };
        if tokio::time::timeout_at(deadline, last).await.is_err() {
            tracing::warn!(
                message = "Drain timeout: stopping with events still to publish; they are published at the next start.",
                target = %self.transport.publisher.target(),
                timeout_secs = self.drain_timeout.as_secs(),
            );
        }
        crate::dispatcher::refresh_depth(&self.queue, &self.metrics).await;
    }

    async fn release(&self) {
        if let Err(error) = self.queue.release_outbox().await {
            tracing::warn!(message = "Cannot release outbox claims.", %error);
        }
    }

    /// Claims due rows, publishes them, and records the outcome.
    async fn round(&self, streak: &mut Streak) -> Round {
        let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let batch = match self.queue.claim_outbox(BATCH, lease_ms).await {
            Ok(Some(batch)) => batch,
            Ok(None) => return Round::Idle,
            Err(error) => {
                tracing::warn!(message = "Cannot read the outbox.", %error);
                return Round::Retry(TICK);
            }
        };
        for (event_id, why) in &batch.unreadable {
            tracing::error!(
                message = "An event in the outbox cannot be read; it is not published.",
                %event_id,
                error = %why,
            );
        }
        if batch.events.is_empty() {
            return Round::More;
        }
        let target = self.transport.publisher.target();
        let result = self.transport.publisher.publish(&batch.events).await;
        let round = match result {
            Ok(_) => {
                if let Err(error) = self.queue.outbox_published(&batch).await {
                    // They are published again once the claim lapses: publishers
                    // tolerate it.
                    tracing::warn!(message = "Cannot remove published events from the outbox.", %error);
                }
                self.metrics.published(batch.events.len() as u64);
                if streak.failures > 0 {
                    tracing::info!(
                        message = "Publishing recovered.",
                        %target,
                        failures = streak.failures,
                        failing_secs = streak.began.map_or(0, |at| at.elapsed().as_secs()),
                    );
                    self.transport.health.recovered();
                }
                *streak = Streak::default();
                Round::More
            }
            Err(error) => {
                let error = error.to_string();
                streak.failures += 1;
                streak.began.get_or_insert_with(std::time::Instant::now);
                let delay = backoff(streak.failures);
                let now = now_ms();
                let retry_at = now.saturating_add(delay.as_millis() as i64);
                if let Err(store_error) = self.queue.outbox_failed(&batch, &error, retry_at).await {
                    tracing::warn!(message = "Cannot record a failed publication.", error = %store_error);
                }
                self.metrics.publish_failed();
                self.transport.health.failed(error.clone(), now);
                if streak.failures == 1 {
                    tracing::warn!(
                        message = "Cannot publish accepted events; they stay in the outbox and are retried.",
                        %target,
                        %error,
                        events = batch.events.len(),
                    );
                } else {
                    tracing::debug!(message = "Publishing failed again.", %target, %error, failures = streak.failures);
                }
                Round::Retry(delay)
            }
        };
        if let Ok(depth) = self.queue.outbox_depth().await {
            self.metrics.outbox_depth(depth);
        }
        round
    }
}

/// The wait after the `failures`th failure in a row: [`FIRST_RETRY`] doubling up to
/// [`LAST_RETRY`], ±25% so receivers that failed together do not retry together.
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = FIRST_RETRY.saturating_mul(1 << exp).min(LAST_RETRY);
    base.mul_f64(0.75 + fastrand::f64() * 0.5).min(LAST_RETRY)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_double_the_wait_from_200_ms_up_to_30_s_with_jitter() {
        for _ in 0..100 {
            let first = backoff(1);
            assert!(
                (Duration::from_millis(150)..=Duration::from_millis(250)).contains(&first),
                "{first:?}"
            );
            let third = backoff(3);
            assert!(
                (Duration::from_millis(600)..=Duration::from_millis(1000)).contains(&third),
                "{third:?}"
            );
            assert!(backoff(40) <= LAST_RETRY);
            assert!(backoff(40) >= LAST_RETRY.mul_f64(0.75));
        }
    }
}
