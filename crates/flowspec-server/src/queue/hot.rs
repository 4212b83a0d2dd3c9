//! The queue's hot path: accepting a batch, taking an event, recording its dispatch.
//! On an SQLite file these run in-line on the calling thread
//! ([`Store::inline`](flowspec_core::store::Store::inline)); on PostgreSQL through sqlx,
//! with multi-row statements so a batch costs a few round trips.

use std::collections::HashSet;

use rusqlite::OptionalExtension;
use sqlx::Row;

use super::outbox::{INSERT_OUTBOX, next_seqs};
use super::{
    DispatchOutcome, Enqueued, Incoming, Lease, Queue, QueueError, QueueStatus, ROWS_PER_INSERT,
    Stored, now_ms, values,
};
use flowspec_core::event::Event;
use flowspec_core::store::{Backend, Durability};

const TAKE: &str = "UPDATE event_queue SET status = 'running', owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
     WHERE event_id = $4 AND status = 'pending' AND next_attempt_at <= $5
     RETURNING payload, attempts, force_rerun";
const OLDEST_DUE: &str =
    "SELECT event_id FROM event_queue WHERE status = 'pending' AND next_attempt_at <= $1
     ORDER BY received_at LIMIT 1";
const COMPLETE: &str =
    "UPDATE event_queue SET status = $1, next_attempt_at = $2, updated_at = $3, last_error = $4,
            owner = NULL, lease_until = NULL, force_rerun = 0
     WHERE event_id = $5 AND owner = $6";
const INSERT_DELIVERY: &str = "INSERT INTO delivery_ids (source, delivery_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const INSERT_EVENT: &str =
    "INSERT INTO event_queue (event_id, event_type, source, payload, status, attempts, force_rerun,
                          received_at, next_attempt_at, updated_at)
     VALUES ($1, $2, $3, $4, 'pending', 0, 0, $5, $5, $5) ON CONFLICT DO NOTHING";

impl Queue {
    /// Stores a batch of requests in one transaction (one fsync with synced durability:
    /// group commit) and says, per request, what was stored.
    pub async fn enqueue(&self, batch: &[Incoming]) -> Result<Vec<Enqueued>, QueueError> {
        let now = now_ms();
        let synced =
            self.durability == Durability::Synced && self.store.backend() == Backend::Sqlite;
        if let Some(result) = self
            .store
            .inline(|conn| insert_inline(conn, batch, now, synced, self.outbox_sequence()))
            .await
        {
            return Ok(result?);
        }
        let mut conn = self.store.conn().await?;
        if synced {
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
        }
        let result = Queue::insert_all(&mut conn, batch, now, self.outbox_sequence()).await;
        if synced {
            // Back to the store's cheaper commits for everything else on this connection.
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    /// Inserts a batch with a few multi-row statements (each statement is a round trip
    /// to the database, the main cost of a batch) and tells what was new: the first
    /// request carrying a delivery id or event id wins, as if stored one by one.
    async fn insert_all(
        conn: &mut sqlx::AnyConnection,
        batch: &[Incoming],
        now: i64,
        outbox: Option<&std::sync::atomic::AtomicI64>,
    ) -> Result<Vec<Enqueued>, QueueError> {
        use sqlx::Connection;
        let mut tx = conn.begin().await?;

        let deliveries: Vec<(usize, &str, &str)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r.source.as_str(), r.delivery_id.as_deref()?)))
            .collect();
        let mut fresh: HashSet<(String, String)> = HashSet::new();
        for chunk in deliveries.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO delivery_ids (source, delivery_id, received_at) VALUES {} \
                 ON CONFLICT DO NOTHING RETURNING source, delivery_id",
                values(chunk.len(), 3, |n| format!(
                    "(${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3
                ))
            );
            // Only placeholders are generated; values are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (_, source, delivery) in chunk {
                query = query.bind(*source).bind(*delivery).bind(now);
            }
            for row in query.fetch_all(&mut *tx).await? {
                fresh.insert((row.try_get(0)?, row.try_get(1)?));
            }
        }
        let mut replayed = vec![false; batch.len()];
        for (i, source, delivery) in &deliveries {
            // Only the first request with a fresh key takes it; later ones are replays.
            replayed[*i] = !fresh.remove(&(source.to_string(), delivery.to_string()));
        }

        let events: Vec<(&Incoming, &Event)> = batch
            .iter()
            .zip(&replayed)
            .filter(|(_, replayed)| !**replayed)
            .flat_map(|(incoming, _)| incoming.events.iter().map(move |e| (incoming, e)))
            .collect();
        let mut accepted: HashSet<String> = HashSet::new();
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let payloads: Vec<String> = chunk
                .iter()
                .map(|(_, event)| String::from_utf8(event.to_vec()).unwrap_or_default())
                .collect();
            let sql = format!(
                "INSERT INTO event_queue (event_id, event_type, source, payload, status, attempts, force_rerun,
                                          received_at, next_attempt_at, updated_at)
                 VALUES {} ON CONFLICT DO NOTHING RETURNING event_id",
                values(chunk.len(), 5, |n| {
                    let at = n + 5; // received_at = next_attempt_at = updated_at
                    format!(
                        "(${}, ${}, ${}, ${}, 'pending', 0, 0, ${at}, ${at}, ${at})",
                        n + 1,
                        n + 2,
                        n + 3,
                        n + 4
                    )
                })
            );
            // Only placeholders are generated; values are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((incoming, event), payload) in chunk.iter().zip(payloads) {
                query = query
                    .bind(event.id().as_str())
                    .bind(event.event_type().as_str())
                    .bind(incoming.source.as_str())
                    .bind(payload)
                    .bind(now);
            }
            for row in query.fetch_all(&mut *tx).await? {
                accepted.insert(row.try_get(0)?);
            }
        }
        if let Some(sequence) = outbox {
            // The accepted events in arrival order, each once (a repeat in the batch is
            // a duplicate of the first copy).
            let mut seen: HashSet<&str> = HashSet::new();
            let new: Vec<&str> = events
                .iter()
                .map(|(_, event)| event.id().as_str())
                .filter(|id| accepted.contains(*id) && seen.insert(id))
                .collect();
            let first = next_seqs(sequence, now, new.len());
            for (c, chunk) in new.chunks(ROWS_PER_INSERT).enumerate() {
                let sql = format!(
                    "INSERT INTO event_outbox (event_id, queued_at, seq, attempts, next_attempt_at) \
                     VALUES {} ON CONFLICT DO NOTHING",
                    values(chunk.len(), 3, |n| format!(
                        "(${}, ${}, ${}, 0, ${})",
                        n + 1,
                        n + 2,
                        n + 3,
                        n + 2
                    ))
                );
                // Only placeholders are generated; values are bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (i, id) in chunk.iter().enumerate() {
                    let seq = first + (c * ROWS_PER_INSERT + i) as i64;
                    query = query.bind(*id).bind(now).bind(seq);
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;

        Ok(batch
            .iter()
            .zip(replayed)
            .map(|(incoming, replayed)| {
                if replayed {
                    return Enqueued::Replayed;
                }
                let stored = incoming
                    .events
                    .iter()
                    .map(|event| {
                        if accepted.remove(event.id().as_str()) {
                            Stored::Accepted
                        } else {
                            Stored::Duplicate
                        }
                    })
                    .collect();
                Enqueued::Stored(stored)
            })
            .collect())
    }

    /// Takes a pending event that is due (`event_id`, or the oldest due one) for this
    /// process, with a lease of `lease_ms`. `None` when there is nothing to take (or
    /// another worker took it first).
    pub async fn take(
        &self,
        event_id: Option<&str>,
        lease_ms: i64,
    ) -> Result<Option<Lease>, QueueError> {
        let now = now_ms();
        let owner = self.store.owner_id();
        // The take and what the worker needs, in one statement.
        let taken: Option<(String, String, i64, i64)> = match self
            .store
            .inline(|conn| {
                let id = match event_id {
                    Some(id) => id.to_owned(),
                    None => match conn
                        .prepare_cached(OLDEST_DUE)?
                        .query_row([now], |row| row.get::<_, String>(0))
                        .optional()?
                    {
                        Some(id) => id,
                        None => return Ok(None),
                    },
                };
                conn.prepare_cached(TAKE)?
                    .query_row(
                        rusqlite::params![owner, now + lease_ms, now, id, now],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()
                    .map(|row| row.map(|(payload, attempts, force)| (id, payload, attempts, force)))
            })
            .await
        {
            Some(result) => result?,
            None => {
                let candidate: Option<String> = match event_id {
                    Some(id) => Some(id.to_owned()),
                    None => sqlx::query(OLDEST_DUE)
                        .bind(now)
                        .fetch_optional(&mut *self.store.conn().await?)
                        .await?
                        .map(|row| row.try_get::<String, _>("event_id"))
                        .transpose()?,
                };
                let Some(id) = candidate else { return Ok(None) };
                let row = sqlx::query(TAKE)
                    .bind(owner)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(&id)
                    .bind(now)
                    .fetch_optional(&mut *self.store.conn().await?)
                    .await?;
                match row {
                    Some(row) => Some((
                        id,
                        row.try_get("payload")?,
                        row.try_get("attempts")?,
                        row.try_get("force_rerun")?,
                    )),
                    None => None,
                }
            }
        };
        let Some((id, payload, attempts, force)) = taken else {
            return Ok(None);
        };
        let event =
            Event::from_slice(payload.as_bytes()).map_err(|source| QueueError::Payload {
                event_id: id,
                source,
            })?;
        Ok(Some(Lease {
            event,
            attempt: attempts as u32,
            force: force != 0,
        }))
    }

    /// Records the result of a dispatch: `done`, or back to `pending` later, or `dead`.
    /// Returns the new status.
    pub async fn complete(
        &self,
        lease: &Lease,
        outcome: &DispatchOutcome,
    ) -> Result<QueueStatus, QueueError> {
        let now = now_ms();
        let (status, next, error) = match outcome {
            DispatchOutcome::Done => (QueueStatus::Done, now, None),
            DispatchOutcome::Failed { error } if lease.attempt >= self.schedule.max_attempts => {
                (QueueStatus::Dead, now, Some(error.clone()))
            }
            DispatchOutcome::Failed { error } => {
                let exp = lease.attempt.saturating_sub(1).min(20);
                let delay = (self.schedule.base_delay_ms << exp).min(self.schedule.max_delay_ms);
                (QueueStatus::Pending, now + delay, Some(error.clone()))
            }
        };
        let id = lease.event.id().as_str();
        let owner = self.store.owner_id();
        let inline = self
            .store
            .inline(|conn| {
                conn.prepare_cached(COMPLETE)?.execute(rusqlite::params![
                    status.as_str(),
                    next,
                    now,
                    error,
                    id,
                    owner
                ])
            })
            .await;
        match inline {
            Some(result) => {
                result?;
            }
            None => {
                sqlx::query(COMPLETE)
                    .bind(status.as_str())
                    .bind(next)
                    .bind(now)
                    .bind(&error)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *self.store.conn().await?)
                    .await?;
            }
        }
        Ok(status)
    }
}

/// [`Queue::enqueue`] in-line: one transaction, one prepared statement per row (no
/// round trips to save here), the first request with a delivery id or event id winning.
fn insert_inline(
    conn: &mut rusqlite::Connection,
    batch: &[Incoming],
    now: i64,
    synced: bool,
    outbox: Option<&std::sync::atomic::AtomicI64>,
) -> rusqlite::Result<Vec<Enqueued>> {
    if synced {
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    let result = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut delivery = tx.prepare_cached(INSERT_DELIVERY)?;
            let mut event_row = tx.prepare_cached(INSERT_EVENT)?;
            let mut outbox_row = match outbox {
                Some(_) => Some(tx.prepare_cached(INSERT_OUTBOX)?),
                None => None,
            };
            for incoming in batch {
                if let Some(id) = &incoming.delivery_id
                    && delivery.execute(rusqlite::params![incoming.source, id, now])? == 0
                {
                    out.push(Enqueued::Replayed);
                    continue;
                }
                let mut stored = Vec::with_capacity(incoming.events.len());
                for event in &incoming.events {
                    let payload = String::from_utf8(event.to_vec()).unwrap_or_default();
                    let inserted = event_row.execute(rusqlite::params![
                        event.id().as_str(),
                        event.event_type().as_str(),
                        incoming.source,
                        payload,
                        now
                    ])?;
                    if inserted == 1
                        && let (Some(row), Some(sequence)) = (outbox_row.as_mut(), outbox)
                    {
                        let seq = next_seqs(sequence, now, 1);
                        row.execute(rusqlite::params![event.id().as_str(), now, seq])?;
                    }
                    stored.push(if inserted == 1 {
                        Stored::Accepted
                    } else {
                        Stored::Duplicate
                    });
                }
                out.push(Enqueued::Stored(stored));
            }
        }
        tx.commit()?;
        Ok(out)
    })();
    if synced {
        // Back to the cheaper commits of claims and acks on this connection.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    result
}
