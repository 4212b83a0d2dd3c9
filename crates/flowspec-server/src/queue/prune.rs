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
    /// events are never removed; dead letters only with [`PruneScope::DoneAndDead`].
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
        let count_bound = match retention.event_limit() {
            Some(keep) => self.nth_newest_finished(scope, keep).await?,
            None => None,
        };
        // Everything finished at or before `bound` goes.
        let bound = match (age_cutoff.map(|c| c - 1), count_bound) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut pruned = Pruned::default();
        let mut tx = self.store.pool().begin().await?;
        if let Some(bound) = bound {
            pruned.hook_runs = sqlx::query(
                "DELETE FROM hook_runs WHERE event_id IN
                 (SELECT event_id FROM event_queue WHERE status IN ('done', $2) AND updated_at <= $1)",
            )
            .bind(bound)
            .bind(scope.other_status())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            pruned.events = sqlx::query(
                "DELETE FROM event_queue WHERE status IN ('done', $2) AND updated_at <= $1",
            )
            .bind(bound)
            .bind(scope.other_status())
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

    /// `updated_at` of the finished event just past the newest `keep` ones, if any.
    async fn nth_newest_finished(
        &self,
        scope: PruneScope,
        keep: u64,
    ) -> Result<Option<i64>, QueueError> {
        let row = sqlx::query(
            "SELECT updated_at FROM event_queue WHERE status IN ('done', $2)
             ORDER BY updated_at DESC LIMIT 1 OFFSET $1",
        )
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .bind(scope.other_status())
        .fetch_optional(&mut *self.store.conn().await?)
        .await?;
        Ok(row.map(|r| r.try_get::<i64, _>("updated_at")).transpose()?)
    }
}
