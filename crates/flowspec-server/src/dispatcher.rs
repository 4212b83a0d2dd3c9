//! Workers: take queued events in arrival order and dispatch them with the engine.
//!
//! One loop reads accepted ids (and, every second, events whose retry is due or that a
//! dead worker left behind), takes each from the queue, *prepares* it — which fixes its
//! place in the hooks' concurrency lines — and hands it to one of `workers` tasks. A
//! dispatch whose hooks all succeeded (or were skipped as already done) marks the event
//! `done`; one with a failure is retried later with backoff, then `dead`.

use std::sync::Arc;
use std::time::Duration;

use crate::queue::{DispatchOutcome, Lease, Queue, QueueStatus};
use flowspec_core::{DispatchReport, EmitOptions, Engine};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::sources::SOURCES;
use flowspec_core::secret::ExposeSecret;

/// Keeps the server's own credentials away from the hooks it runs: every source
/// secret is masked in their output and in the audit log, and the variables that hold
/// one (the sources' default variables, and any variable of this process whose value
/// is a source secret) are not inherited by hooks unless a hook sets them in its `env`.
pub(crate) fn protect(engine: &Engine, config: &ServerConfig) {
    let mut secrets: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for kind in SOURCES {
        for credential in kind.credentials {
            names.extend(credential.variable.map(str::to_owned));
            if let Some(credentials) = config.sources.get(kind.name) {
                secrets.extend(
                    credentials
                        .all(credential.key)
                        .iter()
                        .map(|v| v.expose_secret().to_owned()),
                );
            }
        }
    }
    secrets.retain(|s| !s.is_empty());
    names.extend(std::env::vars_os().filter_map(|(name, value)| {
        let value = value.to_str()?;
        secrets
            .iter()
            .any(|s| s == value)
            .then(|| name.to_str().map(str::to_owned))
            .flatten()
    }));
    engine.add_secrets(&secrets);
    engine.withhold_env(names);
}

pub(crate) struct Dispatcher {
    pub(crate) engine: Engine,
    pub(crate) queue: Queue,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) workers: usize,
    pub(crate) drain_timeout: Duration,
    /// How long a hold on an event lasts without renewal (see [`heartbeat`]).
    pub(crate) lease: Duration,
}

impl Dispatcher {
    /// Runs until `shutdown` turns true, then waits for running dispatches up to the
    /// drain timeout. Events not started stay queued for the next start.
    pub(crate) async fn run(
        self,
        mut accepted: mpsc::UnboundedReceiver<String>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(self.workers));
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backlog: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        loop {
            if backlog.is_empty() {
                tokio::select! {
                    id = accepted.recv() => match id {
                        Some(id) => backlog.push_back(id),
                        None => break,
                    },
                    _ = sweep.tick() => self.sweep(&mut backlog).await,
                    _ = shutdown.changed() => break,
                }
            }
            // Drain what is already waiting without blocking.
            while let Ok(id) = accepted.try_recv() {
                backlog.push_back(id);
            }
            let Some(id) = backlog.pop_front() else {
                continue;
            };
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                _ = shutdown.changed() => break,
            };
            let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
            let lease = match self.queue.take(Some(&id), lease_ms).await {
                Ok(Some(lease)) => lease,
                Ok(None) => continue, // Done already, taken by another worker, or not due.
                Err(error) => {
                    tracing::error!(message = "Cannot take a queued event.", event_id = %id, %error);
                    continue;
                }
            };
            // Preparing here, in arrival order, is what keeps concurrency lines in order.
            let prepared = self.engine.prepare(lease.event.clone());
            let engine = self.engine.clone();
            let queue = self.queue.clone();
            let metrics = self.metrics.clone();
            tokio::spawn(async move {
                let options = EmitOptions::default().force(lease.force);
                let result = engine.dispatch_prepared(prepared, options).await;
                finish(&queue, &metrics, &lease, result).await;
                drop(slot);
            });
        }
        // Wait for running dispatches, up to the drain timeout.
        let all = u32::try_from(self.workers).unwrap_or(u32::MAX);
        match tokio::time::timeout(self.drain_timeout, slots.acquire_many(all)).await {
            Ok(_) => tracing::info!(message = "All running dispatches finished."),
            Err(_) => tracing::warn!(
                message = "Drain timeout: stopping with dispatches still running; their events will be dispatched again at the next start.",
                timeout_secs = self.drain_timeout.as_secs()
            ),
        }
    }

    /// Adds due retries and events recovered from dead workers to the backlog, and
    /// refreshes the queue-depth gauge.
    async fn sweep(&self, backlog: &mut std::collections::VecDeque<String>) {
        if let Err(error) = self.queue.recover().await {
            tracing::warn!(message = "Queue recovery failed.", %error);
        }
        match self.queue.due(256).await {
            Ok(ids) => {
                for id in ids {
                    if !backlog.contains(&id) {
                        backlog.push_back(id);
                    }
                }
            }
            Err(error) => tracing::warn!(message = "Cannot read due events.", %error),
        }
        refresh_depth(&self.queue, &self.metrics).await;
    }
}

/// Sets the queue-depth and outbox-depth gauges from the queue (at start, then every
/// sweep).
pub(crate) async fn refresh_depth(queue: &Queue, metrics: &Metrics) {
    if let Ok(counts) = queue.counts().await {
        for status in [
            QueueStatus::Pending,
            QueueStatus::Running,
            QueueStatus::Done,
            QueueStatus::Dead,
        ] {
            let n = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            metrics.queue_depth(status.as_str(), n);
        }
    }
    if let Ok(depth) = queue.outbox_depth().await {
        metrics.outbox_depth(depth);
    }
}

/// Renews this receiver's leases (events, hook runs, concurrency slots) every third
/// of a lease, until aborted: a receiver that stops renewing (killed, frozen, cut off
/// from the database) has its work taken over by the others once a lease has passed.
pub(crate) async fn heartbeat(queue: Queue, lease: Duration) {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    queue.store().use_renewed_leases(lease);
    let mut every = tokio::time::interval(lease / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let renewed = match queue.renew(lease_ms).await {
            Ok(_) => queue.store().renew_leases().await.map_err(Into::into),
            Err(error) => Err(error),
        };
        if let Err(error) = renewed {
            tracing::warn!(message = "Cannot renew leases; other receivers take this one's events over if it lasts.", %error);
        }
    }
}

async fn finish(
    queue: &Queue,
    metrics: &Metrics,
    lease: &Lease,
    result: Result<DispatchReport, flowspec_core::EngineError>,
) {
    let outcome = match &result {
        Ok(report) if report.failures().is_empty() && !report.is_blocked() => DispatchOutcome::Done,
        Ok(report) => DispatchOutcome::Failed {
            error: report.failure_summary(),
        },
        Err(error) => DispatchOutcome::Failed {
            error: error.to_string(),
        },
    };
    match queue.complete(lease, &outcome).await {
        Ok(status) => {
            let label = match status {
                QueueStatus::Done => "done",
                QueueStatus::Dead => "dead",
                _ => "retry",
            };
            metrics.dispatched(label);
            if status == QueueStatus::Dead {
                tracing::warn!(
                    message = "Event moved to dead letters after its last attempt.",
                    event_id = %lease.event.id(),
                    attempts = lease.attempt,
                );
            }
        }
        Err(error) => {
            tracing::error!(message = "Cannot record a dispatch.", event_id = %lease.event.id(), %error)
        }
    }
}
