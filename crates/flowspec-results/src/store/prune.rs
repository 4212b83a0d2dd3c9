//! Retention of stored runs (`state.retention`, `flowspec results prune`).

use sqlx::{AssertSqlSafe, Row};

use flowspec_core::retention::{Pruned, Retention};

use super::ResultsStore;
use super::rows::now_ms;
use crate::error::ResultsError;

/// Child tables first, the runs last, so a failure half-way leaves no orphan rows
/// that no run points at (it is one transaction anyway).
const RUN_TABLES: &[&str] = &[
    "results_cases",
    "results_suites",
    "results_coverage",
    "results_runs",
];

impl ResultsStore {
    /// Removes runs beyond `retention` (stored longer ago than `max_age`, or beyond
    /// the newest `max_results_runs`) with their suites, cases and coverage, and
    /// auto-retry counters not touched within `max_age`. The quarantine is kept.
    ///
    /// ```no_run
    /// # async fn run(store: flowspec_results::store::ResultsStore) -> Result<(), flowspec_results::ResultsError> {
    /// let pruned = store.prune(&flowspec_core::retention::Retention::default()).await?;
    /// println!("{} runs removed", pruned.results_runs);
    /// # Ok(()) }
    /// ```
    pub async fn prune(&self, retention: &Retention) -> Result<Pruned, ResultsError> {
        let age_cutoff = retention.cutoff_ms(now_ms());
        let count_bound = match retention.results_run_limit() {
            Some(keep) => sqlx::query(
                "SELECT created_at FROM results_runs ORDER BY created_at DESC LIMIT 1 OFFSET $1",
            )
            .bind(i64::try_from(keep).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<i64, _>("created_at"))
            .transpose()?,
            None => None,
        };
        // Every run stored at or before `bound` goes.
        let bound = match (age_cutoff.map(|c| c - 1), count_bound) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut pruned = Pruned::default();
        let mut tx = self.pool.begin().await?;
        if let Some(bound) = bound {
            for table in RUN_TABLES {
                let removed = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE run_key IN
                     (SELECT run_key FROM results_runs WHERE created_at <= $1)"
                )))
                .bind(bound)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if *table == "results_runs" {
                    pruned.results_runs = removed;
                }
            }
        }
        if let Some(cutoff) = age_cutoff {
            sqlx::query("DELETE FROM results_retries WHERE updated_at < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(pruned)
    }
}
