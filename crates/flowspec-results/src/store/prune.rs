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
        // The first run past the newest `keep`, ranked by time then key (keys are
        // time-ordered UUIDs), so runs stored in the same millisecond count one by one.
        let past_newest: Option<(i64, String)> = match retention.results_run_limit() {
            Some(keep) => sqlx::query(
                "SELECT created_at, run_key FROM results_runs
                 ORDER BY created_at DESC, run_key DESC LIMIT 1 OFFSET $1",
            )
            .bind(i64::try_from(keep).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get("created_at")?, row.try_get("run_key")?)))
            .transpose()?,
            None => None,
        };
        let mut pruned = Pruned::default();
        let mut tx = self.pool.begin().await?;
        if age_cutoff.is_some() || past_newest.is_some() {
            // Absent limits bind values that match nothing.
            let before = age_cutoff.unwrap_or(i64::MIN);
            let (at, key) = past_newest.unwrap_or((i64::MIN, String::new()));
            for table in RUN_TABLES {
                let removed = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE run_key IN
                     (SELECT run_key FROM results_runs WHERE created_at < $1
                      OR created_at < $2 OR (created_at = $2 AND run_key <= $3))"
                )))
                .bind(before)
                .bind(at)
                .bind(&key)
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
