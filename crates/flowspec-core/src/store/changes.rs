//! Being told when another process wrote to the store, without asking it in a loop.
//!
//! On PostgreSQL a writer calls [`Store::notify`] after its commit and a reader waits in
//! [`Changes::next`] on `LISTEN`. SQLite has no notifications between processes; there a
//! reader looks at `PRAGMA data_version` (which changes when another connection commits)
//! ten times a second: one tiny read of the local file, no query of the tables.

use std::time::Duration;

use sqlx::Row;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgListener;

use super::{Backend, Store, StoreError};

/// How often an SQLite reader looks for commits of other processes.
const SQLITE_LOOK: Duration = Duration::from_millis(100);

/// A subscription to a channel of the store, from [`Store::changes`].
pub struct Changes {
    inner: Inner,
}

enum Inner {
    #[cfg(feature = "postgres")]
    Listen(Box<PgListener>),
    Look {
        store: Store,
        seen: Option<i64>,
    },
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            #[cfg(feature = "postgres")]
            Inner::Listen(_) => "Changes(listen)",
            Inner::Look { .. } => "Changes(data_version)",
        })
    }
}

impl Store {
    /// Tells the readers of `channel` that something changed (PostgreSQL `NOTIFY`,
    /// delivered at commit; nothing to do on SQLite). `channel` is a plain identifier.
    pub async fn notify(&self, channel: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '') AS sent")
                .bind(channel)
                .execute(&mut *self.conn().await?)
                .await?;
        }
        Ok(())
    }

    /// Subscribes to `channel`: [`Changes::next`] returns after a change that may
    /// concern it. Subscribe *before* reading the state you wait on, so a change in
    /// between is not missed.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use flowspec_core::store::Store;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("state.db");
    /// let reader = Store::open_sqlite(&path).await.unwrap();
    /// let mut changes = reader.changes("ci_completed").await.unwrap();
    /// // Another process (here another store on the same file) commits.
    /// let writer = Store::open_sqlite(&path).await.unwrap();
    /// sqlx::query("CREATE TABLE IF NOT EXISTS notes (id TEXT)")
    ///     .execute(&mut *writer.conn().await.unwrap())
    ///     .await
    ///     .unwrap();
    /// writer.notify("ci_completed").await.unwrap();
    /// changes.next().await;
    /// # });
    /// ```
    pub async fn changes(&self, channel: &str) -> Result<Changes, StoreError> {
        #[cfg(not(feature = "postgres"))]
        let _ = channel;
        let inner = match (self.backend, &self.listen_url) {
            #[cfg(feature = "postgres")]
            (Backend::Postgres, Some(url)) => {
                use secrecy::ExposeSecret;
                let mut listener = PgListener::connect(url.expose_secret()).await?;
                listener.listen(channel).await?;
                Inner::Listen(Box::new(listener))
            }
            _ => {
                let seen = data_version(self).await.ok();
                Inner::Look {
                    store: self.clone(),
                    seen,
                }
            }
        };
        Ok(Changes { inner })
    }
}

impl Changes {
    /// Waits for the next change. A lost PostgreSQL connection is reopened (and counts
    /// as a change, since notifications may have been missed meanwhile).
    pub async fn next(&mut self) {
        match &mut self.inner {
            #[cfg(feature = "postgres")]
            Inner::Listen(listener) => {
                if let Err(error) = listener.recv().await {
                    tracing::debug!(message = "LISTEN connection lost; reconnecting.", %error);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Inner::Look { store, seen } => loop {
                tokio::time::sleep(SQLITE_LOOK).await;
                let now = data_version(store).await.ok();
                if now != *seen {
                    *seen = now;
                    return;
                }
            },
        }
    }
}

/// SQLite's counter of commits by other connections to the file.
async fn data_version(store: &Store) -> Result<i64, StoreError> {
    let row = sqlx::query("PRAGMA data_version")
        .fetch_one(&mut *store.conn().await?)
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}
