//! `flowspec subscribe`: read the stream as a member of a consumer group and run the
//! local hooks of each event with the engine.
//!
//! On start (and after every reconnect) a subscriber first finishes its own pending
//! entries, then takes those another consumer of the group left idle for `claim_idle`
//! (`XAUTOCLAIM`), then reads new ones. An entry is acknowledged once its hooks are done;
//! one whose hooks failed stays pending and is delivered again after `claim_idle`, up to
//! `max_attempts` deliveries, then goes to the dead-letter stream with the reason. An
//! entry that is not an event goes there at once. Running entries are claimed again
//! every third of `claim_idle` so a slow hook keeps its entry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowspec_core::{EmitOptions, Engine};
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::error::TransportError;
use crate::streams::{BATCH, Entry, RedisTransport, StartFrom};

/// How long one read waits for new entries (and so how soon a stop is noticed).
const READ_BLOCK: Duration = Duration::from_secs(1);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What became of one entry.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EntryOutcome {
    /// Its hooks ran (or had run already for this event id); acknowledged.
    Done {
        /// The entry id.
        entry: String,
        /// The event's id.
        event_id: String,
        /// The event's type.
        event_type: String,
        /// Hooks that ran.
        hooks: usize,
    },
    /// A hook failed; the entry stays pending and is delivered again after `claim_idle`.
    WillRetry {
        /// The entry id.
        entry: String,
        /// The event's id.
        event_id: String,
        /// Deliveries so far.
        attempt: u64,
        /// What failed.
        reason: String,
    },
    /// Moved to the dead-letter stream and acknowledged.
    DeadLettered {
        /// The entry id.
        entry: String,
        /// Why.
        reason: String,
    },
}

/// Progress of a subscriber; every method has an empty default.
pub trait SubscribeReporter: Send + Sync {
    /// Connected (again) and a member of the group.
    fn connected(&self, _target: &str, _group: &str, _consumer: &str, _created: bool) {}
    /// Lost the connection (or could not connect); trying again in `retry_in`.
    fn disconnected(&self, _error: &TransportError, _retry_in: Duration) {}
    /// Took `count` entries another consumer had left idle.
    fn claimed(&self, _count: usize) {}
    /// An entry was handled.
    fn entry(&self, _outcome: &EntryOutcome) {}
}

/// A reporter that says nothing.
#[derive(Debug, Default)]
pub struct Quiet;
impl SubscribeReporter for Quiet {}

/// What a subscriber did until it stopped.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SubscribeSummary {
    /// Entries whose hooks ran and that were acknowledged.
    pub done: u64,
    /// Deliveries whose hooks failed (the entry is delivered again).
    pub failed: u64,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Entries taken from idle consumers.
    pub claimed: u64,
    /// Times the connection was lost and made again.
    pub reconnects: u64,
}

/// Reads a stream as a member of a consumer group and runs each event's hooks.
///
/// ```no_run
/// use std::sync::Arc;
/// use flowspec_core::EngineBuilder;
/// use flowspec_transport::{RedisTransport, Subscriber, TransportConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = EngineBuilder::discover(std::path::Path::new("."))?.build().await?;
/// let config = TransportConfig::new("redis://127.0.0.1:6379/0")?.group("laptops");
/// let transport = Arc::new(RedisTransport::new(config)?);
/// let summary = Subscriber::new(transport, engine)?
///     .run(async { tokio::signal::ctrl_c().await.ok(); })
///     .await?;
/// println!("{} events handled", summary.done);
/// # Ok(()) }
/// ```
pub struct Subscriber {
    transport: Arc<RedisTransport>,
    engine: Engine,
    group: String,
    consumer: String,
    from: StartFrom,
    once: bool,
    drain_timeout: Duration,
    forget_after: Duration,
    reporter: Arc<dyn SubscribeReporter>,
}

impl Subscriber {
    /// A subscriber of the configuration's group; an error when it names none.
    pub fn new(
        transport: Arc<RedisTransport>,
        engine: Engine,
    ) -> Result<Subscriber, TransportError> {
        let config = transport.config();
        let group = config.group.clone().ok_or_else(|| {
            TransportError::Config(crate::config::missing_group_error(engine.settings()).into())
        })?;
        Ok(Subscriber {
            consumer: config.consumer.clone(),
            group,
            transport,
            engine,
            from: StartFrom::Now,
            once: false,
            drain_timeout: Duration::from_secs(30),
            forget_after: Duration::from_secs(24 * 3600),
            reporter: Arc::new(Quiet),
        })
    }

    /// Where a group that does not exist yet starts (default: now).
    pub fn start_from(mut self, from: StartFrom) -> Self {
        self.from = from;
        self
    }

    /// Stop once no new entry arrives within a second (after the pending and idle
    /// ones); a lost connection is then an error instead of being waited out.
    pub fn once(mut self, once: bool) -> Self {
        self.once = once;
        self
    }

    /// How long running hooks may take to finish after a stop request (default 30 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// On start, consumers of the group that hold no entry and have not read for this
    /// long are removed (stopped subscribers; default: a day).
    pub fn forget_consumers_after(mut self, idle: Duration) -> Self {
        self.forget_after = idle;
        self
    }

    /// Where progress goes.
    pub fn reporter(mut self, reporter: Arc<dyn SubscribeReporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Runs until `stop` completes (or, with [`once`](Subscriber::once), until the stream
    /// has nothing new), then lets running hooks finish up to the drain timeout.
    /// Connection losses are retried with backoff; only an error that waiting cannot
    /// fix (the key is not a stream, no permission) ends it early.
    pub async fn run(
        self,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<SubscribeSummary, TransportError> {
        let workers = self.transport.config().workers.max(1);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            transport: self.transport,
            engine: self.engine,
            group: self.group,
            consumer: self.consumer,
            reporter: self.reporter,
            forget_after: self.forget_after,
            permits: Arc::new(Semaphore::new(workers)),
            in_flight: Mutex::new(HashSet::new()),
            counts: Counts::default(),
            acks: Mutex::new(Some(ack_tx)),
        });
        let acker = tokio::spawn(acker(shared.clone(), ack_rx));
        let reading = sessions(shared.clone(), self.from, self.once, stop_rx);
        tokio::pin!(reading);
        let result = tokio::select! {
            result = &mut reading => result,
            () = stop => {
                let _ = stop_tx.send(true);
                // The session notices within a read and returns.
                reading.await
            }
        };
        // Drain: every permit back means every running entry finished.
        let all = u32::try_from(workers).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(self.drain_timeout, shared.permits.acquire_many(all)).await;
        let summary = shared.counts.summary();
        // Hooks still running past the drain timeout are not acknowledged: their entries
        // stay pending and another consumer takes them after `claim_idle`.
        drop(shared.acks.lock().unwrap_or_else(|e| e.into_inner()).take());
        let _ = tokio::time::timeout(Duration::from_secs(5), acker).await;
        result.map(|()| summary)
    }
}

#[derive(Default)]
struct Counts {
    done: AtomicU64,
    failed: AtomicU64,
    dead: AtomicU64,
    claimed: AtomicU64,
    reconnects: AtomicU64,
}

impl Counts {
    fn summary(&self) -> SubscribeSummary {
        SubscribeSummary {
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dead_lettered: self.dead.load(Ordering::Relaxed),
            claimed: self.claimed.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }
}

/// What the reading loop and the running entries share.
struct Shared {
    transport: Arc<RedisTransport>,
    engine: Engine,
    group: String,
    consumer: String,
    reporter: Arc<dyn SubscribeReporter>,
    forget_after: Duration,
    permits: Arc<Semaphore>,
    /// Entries running here, kept from other consumers and never started twice.
    in_flight: Mutex<HashSet<String>>,
    counts: Counts,
    /// Finished entries to acknowledge; taken (closed) once the subscriber stops.
    acks: Mutex<Option<mpsc::UnboundedSender<String>>>,
}

impl Shared {
    fn ack(&self, id: &str) {
        let acks = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(acks) = acks.as_ref() {
            let _ = acks.send(id.to_owned());
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sessions, one per connection, until stopped; reconnects with backoff in between.
async fn sessions(
    shared: Arc<Shared>,
    from: StartFrom,
    once: bool,
    stop: watch::Receiver<bool>,
) -> Result<(), TransportError> {
    let mut backoff = Duration::from_millis(200);
    let mut connected_before = false;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        match session(
            &shared,
            &from,
            once,
            &stop,
            &mut backoff,
            &mut connected_before,
        )
        .await
        {
            Ok(()) => return Ok(()),
            // A one-off run reports the outage instead of waiting it out.
            Err(error) if error.is_unavailable() && !once => {
                let wait = backoff.mul_f64(0.5 + fastrand::f64());
                shared.reporter.disconnected(&error, wait);
                let mut stop = stop.clone();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(error) => return Err(error),
        }
    }
}

/// One connection's life: own pending entries, idle ones, then new ones.
async fn session(
    shared: &Arc<Shared>,
    from: &StartFrom,
    once: bool,
    stop: &watch::Receiver<bool>,
    backoff: &mut Duration,
    connected_before: &mut bool,
) -> Result<(), TransportError> {
    let transport = &shared.transport;
    let config = transport.config();
    // Blocking reads get a connection of their own.
    let mut reader = transport
        .connect(READ_BLOCK + Duration::from_secs(10))
        .await?;
    let created = transport
        .ensure_group(&mut reader, &shared.group, from)
        .await?;
    shared
        .reporter
        .connected(&config.target(), &shared.group, &shared.consumer, created);
    *backoff = Duration::from_millis(200);
    if std::mem::replace(connected_before, true) {
        shared.counts.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    // Own pending entries first (a previous session's, whose acks may have been lost).
    let mut after = "0".to_owned();
    loop {
        let entries = transport
            .read_group(
                &mut reader,
                &shared.group,
                &shared.consumer,
                &after,
                BATCH,
                None,
            )
            .await?;
        let Some(last) = entries.last() else { break };
        after = last.id.clone();
        for entry in reserve(shared, entries) {
            start(shared, entry).await;
        }
    }
    claim_idle(shared, &mut reader).await?;
    transport
        .forget_idle_consumers(&mut reader, &shared.group, shared.forget_after)
        .await?;

    let mut last_claim = Instant::now();
    let mut last_keep = Instant::now();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        // Up to two rounds of work per read: a round trip per entry would cap the rate,
        // and entries waiting here for a worker are kept like running ones.
        let workers = config.workers.max(1);
        let count = (shared.permits.available_permits() + workers).min(BATCH);
        let entries = transport
            .read_group(
                &mut reader,
                &shared.group,
                &shared.consumer,
                ">",
                count,
                Some(READ_BLOCK),
            )
            .await?;
        if entries.is_empty() && once {
            return Ok(());
        }
        for entry in reserve(shared, entries) {
            start(shared, entry).await;
        }
        if last_keep.elapsed() >= config.claim_idle / 3 {
            let running: Vec<String> = shared.in_flight().iter().cloned().collect();
            transport
                .keep(&mut reader, &shared.group, &shared.consumer, &running)
                .await?;
            last_keep = Instant::now();
        }
        if last_claim.elapsed() >= config.claim_idle / 2 {
            claim_idle(shared, &mut reader).await?;
            last_claim = Instant::now();
        }
    }
}

/// Takes and starts every entry of the group idle for `claim_idle`.
async fn claim_idle(
    shared: &Arc<Shared>,
    conn: &mut MultiplexedConnection,
) -> Result<(), TransportError> {
    let transport = &shared.transport;
    let mut cursor = "0-0".to_owned();
    let mut claimed = 0;
    loop {
        let (next, entries) = transport
            .autoclaim(
                conn,
                &shared.group,
                &shared.consumer,
                transport.config().claim_idle,
                &cursor,
                BATCH,
            )
            .await?;
        claimed += entries.len();
        for entry in reserve(shared, entries) {
            start(shared, entry).await;
        }
        if next == "0-0" || next == cursor {
            break;
        }
        cursor = next;
    }
    if claimed > 0 {
        shared
            .counts
            .claimed
            .fetch_add(claimed as u64, Ordering::Relaxed);
        shared.reporter.claimed(claimed);
    }
    Ok(())
}

/// Starts a [`reserve`]d entry when a worker is free: decoded and prepared here, in stream order
/// (which fixes its place in the hooks' concurrency lines), run on its own task.
/// Marks entries as held here (kept from other consumers while they wait for a worker),
/// leaving out those already running here.
fn reserve(shared: &Shared, entries: Vec<Entry>) -> Vec<Entry> {
    let mut in_flight = shared.in_flight();
    entries
        .into_iter()
        .filter(|entry| in_flight.insert(entry.id.clone()))
        .collect()
}

async fn start(shared: &Arc<Shared>, entry: Entry) {
    let permit = shared
        .permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let decoded = entry.event();
    let shared = shared.clone();
    let prepared = decoded.map(|event| shared.engine.prepare(event));
    tokio::spawn(async move {
        match prepared {
            Ok(prepared) => run_entry(&shared, &entry, prepared).await,
            Err(reason) => dead_letter(&shared, &entry, &reason).await,
        }
        shared.in_flight().remove(&entry.id);
        drop(permit);
    });
}

async fn run_entry(shared: &Shared, entry: &Entry, prepared: flowspec_core::engine::Prepared) {
    let result = shared
        .engine
        .dispatch_prepared(prepared, EmitOptions::default())
        .await;
    let failure = match &result {
        Ok(report) if report.failures().is_empty() && !report.is_blocked() => None,
        Ok(report) => Some(report.failure_summary()),
        Err(error) => Some(error.to_string()),
    };
    let (event_id, event_type, hooks) = match &result {
        Ok(report) => (
            report.event_id.clone(),
            report.event_type.clone(),
            report.hooks.len(),
        ),
        Err(_) => (String::new(), String::new(), 0),
    };
    let Some(reason) = failure else {
        shared.ack(&entry.id);
        shared.counts.done.fetch_add(1, Ordering::Relaxed);
        shared.reporter.entry(&EntryOutcome::Done {
            entry: entry.id.clone(),
            event_id,
            event_type,
            hooks,
        });
        return;
    };
    shared.counts.failed.fetch_add(1, Ordering::Relaxed);
    let transport = &shared.transport;
    let attempt = match transport.shared().await {
        Ok(mut conn) => match transport
            .deliveries(&mut conn, &shared.group, &entry.id)
            .await
        {
            Ok(n) => n,
            Err(error) => {
                transport.forget_shared_after(&error).await;
                0
            }
        },
        Err(_) => 0,
    };
    if attempt >= u64::from(transport.config().max_attempts) {
        let reason = format!("hooks failed on each of {attempt} deliveries; last: {reason}");
        dead_letter(shared, entry, &reason).await;
    } else {
        shared.reporter.entry(&EntryOutcome::WillRetry {
            entry: entry.id.clone(),
            event_id,
            attempt,
            reason,
        });
    }
}

async fn dead_letter(shared: &Shared, entry: &Entry, reason: &str) {
    let transport = &shared.transport;
    let moved = match transport.shared().await {
        Ok(mut conn) => {
            let moved = transport
                .dead_letter(&mut conn, &shared.group, &shared.consumer, entry, reason)
                .await;
            if let Err(error) = &moved {
                transport.forget_shared_after(error).await;
            }
            moved
        }
        Err(e) => Err(e),
    };
    match moved {
        Ok(()) => {
            shared.counts.dead.fetch_add(1, Ordering::Relaxed);
            shared.reporter.entry(&EntryOutcome::DeadLettered {
                entry: entry.id.clone(),
                reason: reason.to_owned(),
            });
        }
        // Still pending: it comes back after `claim_idle` and is tried again.
        Err(error) => tracing::warn!(
            message = "Cannot move an entry to the dead letters.",
            entry = %entry.id,
            %error
        ),
    }
}

/// Acknowledges finished entries in batches on the shared connection. An ack that
/// cannot be sent leaves the entry pending: it is delivered again, and its hooks, done
/// for that event id, are skipped.
async fn acker(shared: Arc<Shared>, mut done: mpsc::UnboundedReceiver<String>) {
    let transport = shared.transport.clone();
    let group = shared.group.clone();
    // Only the channel keeps the acker alive: the rest is dropped with `shared`.
    drop(shared);
    let mut batch = Vec::new();
    while let Some(id) = done.recv().await {
        batch.push(id);
        while batch.len() < BATCH {
            match done.try_recv() {
                Ok(id) => batch.push(id),
                Err(_) => break,
            }
        }
        for attempt in 0..3u32 {
            let sent = match transport.shared().await {
                Ok(mut conn) => transport.ack(&mut conn, &group, &batch).await,
                Err(e) => Err(e),
            };
            if let Err(error) = &sent {
                transport.forget_shared_after(error).await;
            }
            match sent {
                Ok(()) => break,
                Err(error) if attempt == 2 => {
                    tracing::warn!(message = "Cannot acknowledge entries; they will be delivered again.", count = batch.len(), %error);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
            }
        }
        batch.clear();
    }
}
