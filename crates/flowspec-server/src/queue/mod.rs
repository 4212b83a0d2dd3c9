//! The durable event queue: events accepted by the server (or replayed by hand) wait
//! here until a worker has dispatched them.
//!
//! An event is `pending` until a worker takes it (`running`, with the worker's owner id
//! and a lease), then `done`, or back to `pending` with a later `next_attempt_at` when
//! some hook failed, or `dead` after `max_attempts`. A worker that dies leaves `running`
//! rows behind; [`Queue::recover`] returns them to `pending` when their owner is gone.
//! Re-dispatching an event is safe: hooks that already succeeded for its id are skipped
//! by the store's claims, so only failed or interrupted hooks run again.
//!
//! Delivery ids (`X-GitHub-Delivery`, `webhook-id`...) are remembered for a window so a
//! replayed request is refused.
//!
//! The SQL is the same for SQLite and PostgreSQL. With
//! [`Durability::Synced`],
//! a [`Queue::enqueue`] batch is one fsynced commit.

mod hot;
mod outbox;
mod prune;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

pub use outbox::OutboxBatch;
pub use prune::PruneScope;

use flowspec_core::event::{Event, EventError};
use flowspec_core::store::{Durability, Store, StoreError};

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The columns of [`QueuedEvent`], then `rest` (SQL must be static for sqlx).
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT event_id, event_type, source, status, attempts, received_at, next_attempt_at, updated_at, last_error FROM event_queue ",
            $rest
        )
    };
}

/// Rows per multi-row `INSERT`: 5 bound values a row stays far below SQLite's 32,766
/// and PostgreSQL's 65,535 bound values per statement.
const ROWS_PER_INSERT: usize = 500;

/// `VALUES` rows: `row(n)` for each of `rows` rows, `n` being the number of the
/// placeholder before the row's first (`$n+1`), `per_row` placeholders a row.
fn values(rows: usize, per_row: usize, row: impl Fn(usize) -> String) -> String {
    (0..rows)
        .map(|r| row(r * per_row))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The queue's tables, one migration per schema version.
const MIGRATIONS: &[flowspec_core::store::migrate::Migration] = &[
    &[
        "CREATE TABLE IF NOT EXISTS event_queue (
        event_id TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        source TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        force_rerun BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        owner TEXT,
        lease_until BIGINT,
        last_error TEXT
    )",
        "CREATE INDEX IF NOT EXISTS event_queue_ready ON event_queue (status, next_attempt_at)",
        "CREATE TABLE IF NOT EXISTS delivery_ids (
        source TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (source, delivery_id)
    )",
    ],
    &[
        // `ci wait` looks up stored completions by type and time.
        "CREATE INDEX IF NOT EXISTS event_queue_type ON event_queue (event_type, received_at)",
    ],
    &[
        // Accepted events waiting to be published ([`Queue::with_outbox`]). `seq` orders
        // the events of one millisecond; `owner` and `lease_until` are a publisher's
        // claim, so two receivers do not publish the same rows at once.
        "CREATE TABLE IF NOT EXISTS event_outbox (
        event_id TEXT PRIMARY KEY,
        queued_at BIGINT NOT NULL,
        seq BIGINT NOT NULL DEFAULT 0,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        owner TEXT,
        lease_until BIGINT
    )",
        "CREATE INDEX IF NOT EXISTS event_outbox_due ON event_outbox (next_attempt_at)",
        // Claims walk it in arrival order instead of sorting a backlog after an outage.
        "CREATE INDEX IF NOT EXISTS event_outbox_order ON event_outbox (queued_at, seq)",
    ],
];

/// Where an event is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueStatus {
    /// Waiting for a worker (new, or to be retried at `next_attempt_at`).
    Pending,
    /// A worker is dispatching it.
    Running,
    /// Dispatched; no hook failed.
    Done,
    /// Gave up after `max_attempts`; replay it by hand.
    Dead,
}

impl QueueStatus {
    /// The lowercase name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueStatus::Pending => "pending",
            QueueStatus::Running => "running",
            QueueStatus::Done => "done",
            QueueStatus::Dead => "dead",
        }
    }

    fn parse(text: &str) -> QueueStatus {
        match text {
            "running" => QueueStatus::Running,
            "done" => QueueStatus::Done,
            "dead" => QueueStatus::Dead,
            _ => QueueStatus::Pending,
        }
    }
}

impl std::fmt::Display for QueueStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One received request's events, to enqueue together.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// Where they came from (`github`, `gitlab`, `events`...).
    pub source: String,
    /// The sender's delivery id, for replay protection (covers all the events).
    pub delivery_id: Option<String>,
    /// The events.
    pub events: Vec<Event>,
}

/// What happened to one [`Incoming`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// This delivery id was seen within the window: a replay, refused; nothing stored.
    Replayed,
    /// Stored, with one entry per event.
    Stored(Vec<Stored>),
}

/// What happened to one event of an [`Incoming`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Stored; it will be dispatched.
    Accepted,
    /// An event with this id is already queued (or was dispatched): nothing new stored.
    Duplicate,
}

/// A queued event as listed.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct QueuedEvent {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The source it came from.
    pub source: String,
    /// Where it is.
    pub status: QueueStatus,
    /// Dispatch attempts so far.
    pub attempts: u32,
    /// When it was accepted (Unix ms).
    pub received_at: i64,
    /// When it may be tried next (Unix ms).
    pub next_attempt_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// An event taken by a worker: dispatch it, then call [`Queue::complete`].
#[derive(Clone, Debug)]
pub struct Lease {
    /// The event.
    pub event: Event,
    /// The attempt number (1 for the first dispatch).
    pub attempt: u32,
    /// Run hooks even if they already succeeded (set by `events replay --force`).
    pub force: bool,
}

/// The result of a dispatch, for [`Queue::complete`].
#[derive(Clone, Debug)]
pub enum DispatchOutcome {
    /// No hook failed.
    Done,
    /// Something failed: retry later, unless attempts are used up.
    Failed {
        /// Why (masked), for `flowspec events show`.
        error: String,
    },
}

/// Queue errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored payload is no longer a valid event.
    #[error("queued event {event_id} has an invalid payload: {source}")]
    Payload {
        /// The event.
        event_id: String,
        /// Why.
        source: EventError,
    },
    /// No such event.
    #[error("no queued event with id `{0}`")]
    NotFound(String),
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        QueueError::Store(StoreError::Query(e))
    }
}

/// Retry settings of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Dispatch attempts before an event is `dead`.
    pub max_attempts: u32,
    /// The wait before the second attempt, doubled each time.
    pub base_delay_ms: i64,
    /// The longest wait.
    pub max_delay_ms: i64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            max_attempts: 5,
            base_delay_ms: 10_000,
            max_delay_ms: 600_000,
        }
    }
}

/// The durable queue over a [`Store`].
#[derive(Clone, Debug)]
pub struct Queue {
    store: Store,
    schedule: RetrySchedule,
    durability: Durability,
    /// Whether accepted events also get an `event_outbox` row.
    outbox: bool,
    /// The last `seq` given to an outbox row (shared by the clones).
    sequence: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Queue {
    /// Opens the queue in `store`, creating its tables.
    pub async fn open(store: Store, schedule: RetrySchedule) -> Result<Queue, QueueError> {
        store.migrate("queue", MIGRATIONS).await?;
        Ok(Queue {
            store,
            schedule,
            durability: Durability::Normal,
            outbox: false,
            sequence: std::sync::Arc::default(),
        })
    }

    /// With `true`, [`Queue::enqueue`] also records every newly accepted event in the
    /// outbox, in the same transaction, for a publisher to send on
    /// ([`Queue::claim_outbox`]). Off by default: without a publisher nothing would
    /// ever empty it.
    pub fn with_outbox(mut self, on: bool) -> Self {
        self.outbox = on;
        self
    }

    /// Makes [`Queue::enqueue`] commits synced (fsynced before they return) on SQLite,
    /// whatever the store's own setting, so accepted events survive a power cut while
    /// the engine's claims keep their cheaper commits.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Extends the lease of every event this process is dispatching to `lease_ms` from
    /// now. Returns how many.
    pub async fn renew(&self, lease_ms: i64) -> Result<u64, QueueError> {
        Ok(sqlx::query(
            "UPDATE event_queue SET lease_until = $1 WHERE owner = $2 AND status = 'running'",
        )
        .bind(now_ms().saturating_add(lease_ms))
        .bind(self.store.owner_id())
        .execute(&mut *self.store.conn().await?)
        .await?
        .rows_affected())
    }

    /// How many events this process is dispatching.
    pub async fn held(&self) -> Result<u64, QueueError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM event_queue WHERE owner = $1 AND status = 'running'",
        )
        .bind(self.store.owner_id())
        .fetch_one(&mut *self.store.conn().await?)
        .await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }

    /// Returns `running` events whose worker is gone (this host: its pid no longer
    /// exists; elsewhere: its lease expired) to `pending`, so they are dispatched again.
    /// Returns how many.
    pub async fn recover(&self) -> Result<usize, QueueError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT event_id, owner, lease_until FROM event_queue WHERE status = 'running'",
        )
        .fetch_all(&mut *self.store.conn().await?)
        .await?;
        let now = now_ms();
        let mut recovered = 0;
        for row in rows {
            let id: String = row.try_get("event_id")?;
            let owner: Option<String> = row.try_get("owner")?;
            let lease: Option<i64> = row.try_get("lease_until")?;
            let gone = match &owner {
                Some(owner) => !self.store.owner_alive(owner) || lease.is_some_and(|l| l < now),
                None => true,
            };
            if gone {
                recovered += sqlx::query(
                    "UPDATE event_queue SET status = 'pending', owner = NULL, lease_until = NULL, updated_at = $1
                     WHERE event_id = $2 AND status = 'running'",
                )
                .bind(now)
                .bind(&id)
                .execute(&mut *self.store.conn().await?)
                .await?
                .rows_affected() as usize;
            }
        }
        Ok(recovered)
    }

    /// Puts an event back to `pending` now, with fresh attempts (`events replay`).
    pub async fn replay(&self, event_id: &str, force: bool) -> Result<(), QueueError> {
        let updated = sqlx::query(
            "UPDATE event_queue SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $2,
                    force_rerun = $3, last_error = NULL
             WHERE event_id = $4 AND status <> 'running'",
        )
        .bind(now_ms())
        .bind(now_ms())
        .bind(force as i64)
        .bind(event_id)
        .execute(&mut *self.store.conn().await?)
        .await?
        .rows_affected();
        if updated == 0 {
            return match self.get(event_id).await? {
                Some(_) => Ok(()), // Running: it is being dispatched right now.
                None => Err(QueueError::NotFound(event_id.to_owned())),
            };
        }
        Ok(())
    }

    /// Ids of events due now (pending, next attempt passed), oldest first.
    pub async fn due(&self, limit: i64) -> Result<Vec<String>, QueueError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT event_id FROM event_queue WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY received_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit)
        .fetch_all(&mut *self.store.conn().await?)
        .await?;
        rows.iter()
            .map(|r| r.try_get("event_id").map_err(QueueError::from))
            .collect()
    }

    /// Events, newest first, optionally of one status.
    pub async fn list(
        &self,
        status: Option<QueueStatus>,
        limit: i64,
    ) -> Result<Vec<QueuedEvent>, QueueError> {
        let rows: Vec<AnyRow> = match status {
            Some(status) => {
                sqlx::query(select_events!(
                    "WHERE status = $1 ORDER BY received_at DESC LIMIT $2"
                ))
                .bind(status.as_str())
                .bind(limit)
                .fetch_all(&mut *self.store.conn().await?)
                .await?
            }
            None => {
                sqlx::query(select_events!("ORDER BY received_at DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&mut *self.store.conn().await?)
                    .await?
            }
        };
        rows.iter().map(queued_event).collect()
    }

    /// One event's queue record.
    pub async fn get(&self, event_id: &str) -> Result<Option<QueuedEvent>, QueueError> {
        let row = sqlx::query(select_events!("WHERE event_id = $1"))
            .bind(event_id)
            .fetch_optional(&mut *self.store.conn().await?)
            .await?;
        row.as_ref().map(queued_event).transpose()
    }

    /// One event's payload.
    pub async fn payload(&self, event_id: &str) -> Result<Option<Event>, QueueError> {
        let row = sqlx::query("SELECT payload FROM event_queue WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&mut *self.store.conn().await?)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let payload: String = row.try_get("payload")?;
                Event::from_slice(payload.as_bytes())
                    .map(Some)
                    .map_err(|source| QueueError::Payload {
                        event_id: event_id.to_owned(),
                        source,
                    })
            }
        }
    }

    /// How many events are in each status.
    pub async fn counts(&self) -> Result<Vec<(QueueStatus, u64)>, QueueError> {
        let rows: Vec<AnyRow> =
            sqlx::query("SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status")
                .fetch_all(&mut *self.store.conn().await?)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    QueueStatus::parse(&r.try_get::<String, _>("status")?),
                    r.try_get::<i64, _>("n")? as u64,
                ))
            })
            .collect()
    }

    /// Forgets delivery ids older than `window_ms` (they may be accepted again).
    pub async fn forget_deliveries(&self, window_ms: i64) -> Result<u64, QueueError> {
        Ok(
            sqlx::query("DELETE FROM delivery_ids WHERE received_at < $1")
                .bind(now_ms() - window_ms)
                .execute(&mut *self.store.conn().await?)
                .await?
                .rows_affected(),
        )
    }
}

fn queued_event(row: &AnyRow) -> Result<QueuedEvent, QueueError> {
    Ok(QueuedEvent {
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        source: row.try_get("source")?,
        status: QueueStatus::parse(&row.try_get::<String, _>("status")?),
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        received_at: row.try_get("received_at")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        updated_at: row.try_get("updated_at")?,
        last_error: row.try_get("last_error")?,
    })
}

#[cfg(test)]
mod tests;
