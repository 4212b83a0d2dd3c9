//! The outbox: accepted events waiting to be published to other machines.
//!
//! [`Queue::enqueue`] adds a row per newly accepted event in the transaction that stores
//! the event (with [`Queue::with_outbox`]), so an event is in the outbox exactly when it
//! was accepted. A publisher claims the oldest due rows with a lease
//! ([`Queue::claim_outbox`]), publishes them, and deletes them
//! ([`Queue::outbox_published`]) or puts them back for later
//! ([`Queue::outbox_failed`]). A publisher that dies leaves its claim behind until the
//! lease ends (at once on the same host: [`Queue::release_outbox`]); publishing again
//! after that is safe because publishers are idempotent by event id.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Queue, QueueError, now_ms};
use flowspec_core::event::Event;

/// One outbox row, for the in-line insert of [`Queue::enqueue`].
pub(super) const INSERT_OUTBOX: &str =
    "INSERT INTO event_outbox (event_id, queued_at, seq, attempts, next_attempt_at)
     VALUES ($1, $2, $3, 0, $2) ON CONFLICT DO NOTHING";

/// Claims the oldest due, unclaimed rows. The conditions are repeated outside the
/// subquery so that, on PostgreSQL, a claim blocked behind another one re-checks each
/// row once that one commits and skips what it took.
const CLAIM: &str = "UPDATE event_outbox SET owner = $1, lease_until = $2
     WHERE event_id IN (SELECT event_id FROM event_outbox
                        WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                        ORDER BY queued_at, seq LIMIT $4)
       AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)";
const CLAIMED: &str = "SELECT o.event_id AS event_id, q.payload AS payload, o.attempts AS attempts
     FROM event_outbox o LEFT JOIN event_queue q ON q.event_id = o.event_id
     WHERE o.owner = $1 AND o.lease_until = $2 ORDER BY o.queued_at, o.seq";

/// `n` consecutive `seq` values, the first returned: at least the time in µs (so the
/// order roughly follows time across processes), and above any given before (so events
/// of one millisecond keep their arrival order).
pub(super) fn next_seqs(sequence: &AtomicI64, now_ms: i64, n: usize) -> i64 {
    let n = n as i64;
    let floor = now_ms.saturating_mul(1000);
    let previous = sequence
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(last.saturating_add(1).max(floor) + n - 1)
        })
        .unwrap_or_else(|last| last);
    previous.saturating_add(1).max(floor)
}

/// Outbox rows claimed by [`Queue::claim_outbox`]: publish [`OutboxBatch::events`],
/// then report with [`Queue::outbox_published`] or [`Queue::outbox_failed`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutboxBatch {
    /// The events, in arrival order.
    pub events: Vec<Event>,
    /// Rows whose event could not be read (its payload is gone or invalid), with why:
    /// they were removed from the outbox, since retrying cannot help.
    pub unreadable: Vec<(String, String)>,
    /// The most publication attempts any of the rows had before this one.
    pub attempts: u32,
    owner: String,
    lease_until: i64,
}

impl Queue {
    /// The outbox row's `seq` source, when the outbox is on.
    pub(super) fn outbox_sequence(&self) -> Option<&AtomicI64> {
        self.outbox.then_some(&*self.sequence)
    }

    /// Claims up to `limit` due outbox rows, oldest first, for `lease_ms`, with their
    /// events. `None` when nothing is due (or another receiver claimed it first).
    pub async fn claim_outbox(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Option<OutboxBatch>, QueueError> {
        let now = now_ms();
        let owner = self.store.owner_id().to_owned();
        let lease_until = now.saturating_add(lease_ms.max(1));
        let mut conn = self.store.conn().await?;
        let claimed = sqlx::query(CLAIM)
            .bind(&owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let rows: Vec<AnyRow> = sqlx::query(CLAIMED)
            .bind(&owner)
            .bind(lease_until)
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);
        let mut batch = OutboxBatch {
            events: Vec::with_capacity(rows.len()),
            unreadable: Vec::new(),
            attempts: 0,
            owner,
            lease_until,
        };
        for row in &rows {
            let id: String = row.try_get("event_id")?;
            let attempts: i64 = row.try_get("attempts")?;
            batch.attempts = batch.attempts.max(attempts as u32);
            let payload: Option<String> = row.try_get("payload")?;
            match payload.map(|p| Event::from_slice(p.as_bytes())) {
                Some(Ok(event)) => batch.events.push(event),
                Some(Err(e)) => batch.unreadable.push((id, e.to_string())),
                None => batch
                    .unreadable
                    .push((id, "the event is no longer in the queue".to_owned())),
            }
        }
        for (id, _) in &batch.unreadable {
            sqlx::query("DELETE FROM event_outbox WHERE event_id = $1 AND owner = $2")
                .bind(id)
                .bind(&batch.owner)
                .execute(&mut *self.store.conn().await?)
                .await?;
        }
        Ok(Some(batch))
    }

    /// Removes a published batch from the outbox. Returns how many rows (fewer when
    /// the claim lapsed and another receiver took rows over: it publishes them again,
    /// which publishers tolerate).
    pub async fn outbox_published(&self, batch: &OutboxBatch) -> Result<u64, QueueError> {
        Ok(
            sqlx::query("DELETE FROM event_outbox WHERE owner = $1 AND lease_until = $2")
                .bind(&batch.owner)
                .bind(batch.lease_until)
                .execute(&mut *self.store.conn().await?)
                .await?
                .rows_affected(),
        )
    }

    /// Puts a batch that could not be published back, due again at `retry_at_ms`
    /// (Unix ms), with `error` recorded.
    pub async fn outbox_failed(
        &self,
        batch: &OutboxBatch,
        error: &str,
        retry_at_ms: i64,
    ) -> Result<u64, QueueError> {
        Ok(sqlx::query(
            "UPDATE event_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
                    owner = NULL, lease_until = NULL
             WHERE owner = $3 AND lease_until = $4",
        )
        .bind(retry_at_ms)
        .bind(error)
        .bind(&batch.owner)
        .bind(batch.lease_until)
        .execute(&mut *self.store.conn().await?)
        .await?
        .rows_affected())
    }

    /// For a publisher starting: releases claims whose publisher is gone (on this
    /// host: its pid no longer exists), and makes every unclaimed row due now, so the
    /// oldest events go first rather than after newer ones accepted during the wait.
    /// Returns how many claims were released.
    pub async fn release_outbox(&self) -> Result<u64, QueueError> {
        let owners: Vec<AnyRow> =
            sqlx::query("SELECT DISTINCT owner FROM event_outbox WHERE owner IS NOT NULL")
                .fetch_all(&mut *self.store.conn().await?)
                .await?;
        let mut released = 0;
        for row in owners {
            let owner: String = row.try_get("owner")?;
            if owner == self.store.owner_id() || !self.store.owner_alive(&owner) {
                released += sqlx::query(
                    "UPDATE event_outbox SET owner = NULL, lease_until = NULL WHERE owner = $1",
                )
                .bind(&owner)
                .execute(&mut *self.store.conn().await?)
                .await?
                .rows_affected();
            }
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE event_outbox SET next_attempt_at = $1 WHERE next_attempt_at > $1 AND owner IS NULL",
        )
        .bind(now)
        .execute(&mut *self.store.conn().await?)
        .await?;
        Ok(released)
    }

    /// How many accepted events wait to be published.
    pub async fn outbox_depth(&self) -> Result<u64, QueueError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM event_outbox")
            .fetch_one(&mut *self.store.conn().await?)
            .await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }
}
