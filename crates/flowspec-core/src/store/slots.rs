//! Concurrency slots shared by every process on the store, so that `max_concurrent` and
//! `concurrency_key` hold across receivers: one deploy per environment at a time,
//! whichever receiver took the event.
//!
//! A hook limited to `max` runs per key value has slots `0..max` for each value. A run
//! takes a free slot with an insert only one process can win, and frees it when it
//! ends. A slot whose holder died (same host: its pid is gone; elsewhere: its lease
//! expired) is taken over. Within a process, the engine's own lines keep runs in
//! arrival order; between processes, the first to find a free slot runs.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// A held slot. Give it back with [`Store::release_slot`]; one dropped unreleased (a
/// cancelled run) is freed in the background.
#[derive(Debug)]
pub struct SlotGuard {
    store: Option<Store>,
    hook: String,
    key: String,
    slot: i64,
}

impl Store {
    /// Waits for one of the `max` slots of (`hook`, `key`) and holds it with a lease
    /// of `lease` (or the renewed lease, see [`Store::use_renewed_leases`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use flowspec_core::store::Store;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
    /// let slot = store.acquire_slot("deploy", "staging", 1, Duration::from_secs(60)).await.unwrap();
    /// // Another deploy to staging now waits until the slot is released.
    /// store.release_slot(slot).await.unwrap();
    /// # });
    /// ```
    pub async fn acquire_slot(
        &self,
        hook: &str,
        key: &str,
        max: usize,
        lease: Duration,
    ) -> Result<SlotGuard, StoreError> {
        let max = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
        let mut delay = Duration::from_millis(10);
        loop {
            if let Some(slot) = self.try_slot(hook, key, max, lease).await? {
                return Ok(SlotGuard {
                    store: Some(self.clone()),
                    hook: hook.to_owned(),
                    key: key.to_owned(),
                    slot,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }

    /// Frees a slot at once.
    pub async fn release_slot(&self, mut guard: SlotGuard) -> Result<(), StoreError> {
        guard.store = None;
        delete_slot(self, &guard.hook, &guard.key, guard.slot).await
    }

    /// One look for a free or abandoned slot.
    async fn try_slot(
        &self,
        hook: &str,
        key: &str,
        max: i64,
        lease: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        let until = now.saturating_add(self.leases.lease_for(lease).as_millis() as i64);
        let held: Vec<AnyRow> = sqlx::query(
            "SELECT slot, owner, lease_until FROM hook_slots WHERE hook_name = $1 AND key_value = $2",
        )
        .bind(hook)
        .bind(key)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let mut taken = Vec::with_capacity(held.len());
        for row in &held {
            let slot: i64 = row.try_get("slot")?;
            let owner: String = row.try_get("owner")?;
            let lease_until: i64 = row.try_get("lease_until")?;
            if slot >= max {
                continue;
            }
            if lease_until < now || !self.owner_alive(&owner) {
                // Abandoned: take it over unless another process does first.
                let won = sqlx::query(
                    "UPDATE hook_slots SET owner = $1, lease_until = $2
                     WHERE hook_name = $3 AND key_value = $4 AND slot = $5 AND owner = $6 AND lease_until = $7",
                )
                .bind(&self.owner.id)
                .bind(until)
                .bind(hook)
                .bind(key)
                .bind(slot)
                .bind(&owner)
                .bind(lease_until)
                .execute(&mut *self.conn().await?)
                .await?
                .rows_affected();
                if won == 1 {
                    return Ok(Some(slot));
                }
            }
            taken.push(slot);
        }
        for slot in (0..max).filter(|s| !taken.contains(s)) {
            let won = sqlx::query(
                "INSERT INTO hook_slots (hook_name, key_value, slot, owner, lease_until)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(hook)
            .bind(key)
            .bind(slot)
            .bind(&self.owner.id)
            .bind(until)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected();
            if won == 1 {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }
}

async fn delete_slot(store: &Store, hook: &str, key: &str, slot: i64) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM hook_slots WHERE hook_name = $1 AND key_value = $2 AND slot = $3 AND owner = $4",
    )
    .bind(hook)
    .bind(key)
    .bind(slot)
    .bind(&store.owner.id)
    .execute(&mut *store.conn().await?)
    .await?;
    Ok(())
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let (hook, key, slot) = (
            std::mem::take(&mut self.hook),
            std::mem::take(&mut self.key),
            self.slot,
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = delete_slot(&store, &hook, &key, slot).await {
                    tracing::warn!(message = "Cannot free a concurrency slot; it frees itself when its lease ends.", %error);
                }
            });
        }
    }
}
