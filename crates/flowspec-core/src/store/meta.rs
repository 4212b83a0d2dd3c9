//! Small named values kept in the store (`flowspec_meta`): counters and markers that
//! must outlive one process, such as the fix rounds `flowspec ci fix --max-attempts`
//! counts per branch.

use super::{Store, StoreError};
use sqlx::Row;

impl Store {
    /// The value kept under `key`, if any.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use flowspec_core::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
    /// store.set_value("fix/main", "2").await.unwrap();
    /// assert_eq!(store.value("fix/main").await.unwrap().as_deref(), Some("2"));
    /// assert!(store.remove_value("fix/main").await.unwrap());
    /// assert_eq!(store.value("fix/main").await.unwrap(), None);
    /// # });
    /// ```
    pub async fn value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM flowspec_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("value")).transpose()?)
    }

    /// Keeps `value` under `key`, replacing the one there.
    pub async fn set_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO flowspec_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Forgets `key`; `true` when it was there.
    pub async fn remove_value(&self, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM flowspec_meta WHERE key = $1")
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
