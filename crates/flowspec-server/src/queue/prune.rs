//! Retention: removing finished events and their hook runs (`state.retention`,
//! `flowspec events prune`).

use sqlx::Row;

use flowspec_core::retention::{Pruned, Retention};

use super::{Queue, QueueError, now_ms};

/// Which finished events a prune may remove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PruneScope {
    /// `done` events only; dead letters stay until replayed (what `serve` does).
    #[default]
    Done,
    /// `done` events and dead letters (`flowspec events prune --dead`).
    DoneAndDead,
}

impl PruneScope {
    /// The second status bound next to `done` (`done` again when dead letters stay):
    /// the SQL stays static, as sqlx wants it.
    fn other_status(self) -> &'static str {
        match self {
            PruneScope::Done => "done",
            PruneScope::DoneAndDead => "dead",
        }
    }
}

impl Queue {
    /// Removes finished events beyond `retention` (older than `max_age`, or beyond the
    /// newest `max_events`), with their hook runs, and hook runs of `flowspec emit`
    /// (events that never were in the queue) older than `max_age`. Pending and running
    /// events are never removed; dead letters only with [`PruneScope::DoneAndDead`];
    /// events still waiting in the outbox stay until published (the publisher reads
    /// their payload here).
    ///
    /// ```no_run
    /// # async fn run(queue: flowspec_server::queue::Queue) -> Result<(), Box<dyn std::error::Error>> {
    /// use flowspec_core::retention::Retention;
    /// use flowspec_server::queue::PruneScope;
    ///
    /// let pruned = queue.prune(&Retention::default(), PruneScope::Done).await?;
    /// println!("{} events and {} hook runs removed", pruned.events, pruned.hook_runs);
    /// # Ok(()) }
    /// ```
    pub async fn prune(
        &self,
        retention: &Retention,
        scope: PruneScope,
    ) -> Result<Pruned, QueueError> {
        let now = now_ms();
        let age_cutoff = retention.cutoff_ms(now);
        // The first event past the newest `keep`, ranked by finish time then id, so
        // events finished in the same millisecond are counted one by one.
        let past_newest = match retention.event_limit() {
            Some(keep) => self.nth_newest_finished(scope, keep).await?,
            None => None,
        };
        let mut pruned = Pruned::default();
        let mut tx = self.store.pool().begin().await?;
        if age_cutoff.is_some() || past_newest.is_some() {
            // Absent limits bind values that match nothing.
            let before = age_cutoff.unwrap_or(i64::MIN);
            let (at, id) = past_newest.unwrap_or((i64::MIN, String::new()));
            pruned.hook_runs = sqlx::query(
                "DELETE FROM hook_runs WHERE event_id IN
                 (SELECT event_id FROM event_queue WHERE status IN ('done', $2)
                  AND (updated_at < $1 OR updated_at < $3 OR (updated_at = $3 AND event_id <= $4))
                  AND event_id NOT IN (SELECT event_id FROM event_outbox))",
            )
            .bind(before)
            .bind(scope.other_status())
            .bind(at)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            pruned.events = sqlx::query(
                "DELETE FROM event_queue WHERE status IN ('done', $2)
                 AND (updated_at < $1 OR updated_at < $3 OR (updated_at = $3 AND event_id <= $4))
                 AND event_id NOT IN (SELECT event_id FROM event_outbox)",
            )
            .bind(before)
            .bind(scope.other_status())
            .bind(at)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if let Some(cutoff) = age_cutoff {
            pruned.hook_runs += sqlx::query(
                "DELETE FROM hook_runs WHERE status <> 'running' AND finished_at IS NOT NULL
                 AND finished_at < $1 AND event_id NOT IN (SELECT event_id FROM event_queue)",
            )
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(pruned)
    }

    /// `(updated_at, event_id)` of the finished event just past the newest `keep` ones.
    async fn nth_newest_finished(
        &self,
        scope: PruneScope,
        keep: u64,
    ) -> Result<Option<(i64, String)>, QueueError> {
        let row = sqlx::query(
            "SELECT updated_at, event_id FROM event_queue WHERE status IN ('done', $2)
             ORDER BY updated_at DESC, event_id DESC LIMIT 1 OFFSET $1",
        )
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .bind(scope.other_status())
        .fetch_optional(&mut *self.store.conn().await?)
        .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("updated_at")?, r.try_get("event_id")?)))
            .transpose()?)
    }
}
