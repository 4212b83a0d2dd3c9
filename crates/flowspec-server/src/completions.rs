//! Run completions from the webhooks a receiver stored, for `ci wait`.
//!
//! The receiver stores every `ci.completed` event it accepts (GitHub `workflow_run`,
//! GitLab pipeline hooks, CircleCI `workflow-completed`, and whatever a custom CI POSTs
//! to `/events`), then signals the store's [`COMPLETIONS`] channel. A waiting
//! [`StoredCompletions`] reads the new completions whenever the store says something
//! changed (PostgreSQL `LISTEN`; on SQLite a look at the file's commit counter), so a
//! wait ends within moments of the webhook, whatever the platform's API still says.

use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::event::Event;
use flowspec_core::provider::RunId;
use flowspec_core::provider::signal::{CompletionSignal, PushedCompletion};
use flowspec_core::store::Store;
use sqlx::Row;

use crate::queue::QueueError;

/// The store channel signalled when a `ci.completed` event was stored.
pub const COMPLETIONS: &str = "flowspec_ci_completed";

/// A [`CompletionSignal`] over the queue of a receiver that shares the store.
///
/// ```no_run
/// # async fn run(store: flowspec_core::store::Store) -> Result<(), Box<dyn std::error::Error>> {
/// use flowspec_core::provider::RunId;
/// use flowspec_core::provider::signal::CompletionSignal;
/// use flowspec_server::StoredCompletions;
///
/// if let Some(completions) = StoredCompletions::find(&store).await? {
///     let since = 0;
///     let done = completions.completed("github", &RunId::new("4242"), since).await;
///     println!("run 4242 ended: {}", done.conclusion);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct StoredCompletions {
    store: Store,
}

impl StoredCompletions {
    /// The completions of the receiver on `store`; `None` when no receiver ever ran on
    /// it (no queue there to read).
    pub async fn find(store: &Store) -> Result<Option<StoredCompletions>, QueueError> {
        let exists =
            sqlx::query("SELECT COUNT(*) AS n FROM flowspec_schema WHERE component = 'queue'")
                .fetch_one(&mut *store.conn().await?)
                .await
                .ok()
                .and_then(|row| row.try_get::<i64, _>("n").ok())
                .is_some_and(|n| n > 0);
        Ok(exists.then(|| StoredCompletions {
            store: store.clone(),
        }))
    }

    /// The first stored completion of `run` on `provider` received since `since_ms`.
    pub async fn lookup(
        &self,
        provider: &str,
        run: &RunId,
        since_ms: i64,
    ) -> Result<Option<PushedCompletion>, QueueError> {
        let rows = sqlx::query(
            "SELECT event_id, payload FROM event_queue
             WHERE event_type = 'ci.completed' AND received_at >= $1 ORDER BY received_at",
        )
        .bind(since_ms)
        .fetch_all(&mut *self.store.conn().await?)
        .await?;
        for row in rows {
            let payload: String = row.try_get("payload")?;
            let Ok(event) = Event::from_slice(payload.as_bytes()) else {
                continue;
            };
            let same_run = event
                .field_text("run_id")
                .is_some_and(|id| id == run.as_str());
            // Custom CIs may leave the provider out.
            let same_provider = event.field_text("provider").is_none_or(|p| p == provider);
            if same_run && same_provider {
                let conclusion = event
                    .field_text("conclusion")
                    .or_else(|| event.field_text("status"))
                    .unwrap_or_else(|| "unknown".to_owned());
                return Ok(Some(PushedCompletion::new(conclusion, event.id().as_str())));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl CompletionSignal for StoredCompletions {
    async fn completed(&self, provider: &str, run: &RunId, since_ms: i64) -> PushedCompletion {
        let mut delay = Duration::from_secs(1);
        loop {
            // Subscribed before each read, so a completion stored in between is seen.
            let mut changes = match self.store.changes(COMPLETIONS).await {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::debug!(message = "Cannot watch the store for completions.", %error);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            loop {
                match self.lookup(provider, run, since_ms).await {
                    Ok(Some(completion)) => return completion,
                    Ok(None) => {}
                    Err(error) => {
                        tracing::debug!(message = "Cannot read stored completions.", %error)
                    }
                }
                changes.next().await;
            }
        }
    }
}
