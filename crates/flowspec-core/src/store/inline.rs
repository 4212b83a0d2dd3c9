//! SQLite in-line: the hot statements (a hook's claim and its result, the receiver's
//! accepts, takes and acks) run on a second connection to the same file, on the
//! calling thread, instead of on sqlx's SQLite worker thread.
//!
//! A statement through sqlx is a round trip to that thread: ~75 µs of hand-offs on a
//! small VM for a statement SQLite runs in a few µs, and each event costs several. Here
//! the statement runs where it is asked for, under a mutex held only while it runs.
//! The connection never sleeps in SQLite's busy handler (its busy timeout is zero):
//! when another connection holds the write lock (the sqlx one, another process), the
//! call gives the lock back, waits asynchronously and tries again, so a tokio worker
//! thread is never blocked waiting for a lock. Everything else (listings, pruning,
//! migrations, PostgreSQL) keeps going through sqlx.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Durability, Store, StoreError};

/// Checkpoint the WAL once it holds this many pages.
pub(super) const WAL_PAGES: i64 = 64;

/// How long a busy database is retried before the call fails.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// The in-line connection.
pub(super) struct Inline {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inline")
    }
}

impl Inline {
    /// Opens the file that sqlx already opened (and set to WAL).
    pub(super) fn open(path: &Path, durability: Durability) -> rusqlite::Result<Inline> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::ZERO)?;
        // Keep the WAL short. Processes end without closing sqlx's connection, so the
        // checkpoint of a last close rarely happens, and whoever opens the file next
        // reads the whole WAL to rebuild its index: with SQLite's default of 1,000
        // pages that is hundreds of reads at every `flowspec emit`.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)?;
        conn.pragma_update(
            None,
            "synchronous",
            match durability {
                Durability::Normal => "NORMAL",
                Durability::Synced => "FULL",
            },
        )?;
        Ok(Inline {
            conn: Mutex::new(Some(conn)),
        })
    }

    /// Closes the connection; later calls fail as on a closed pool.
    pub(super) fn close(&self) {
        self.conn.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Store {
    /// Whether [`Store::inline`] runs statements in-line (SQLite files); on PostgreSQL
    /// (and in-memory SQLite) use [`Store::conn`].
    pub fn has_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// Runs `f` on the in-line SQLite connection, on this thread: for short statements
    /// on the hot path. A database locked by another connection is retried (the call
    /// waits asynchronously, for up to 30 s). `None` when the store has no in-line
    /// connection ([`Store::has_inline`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use flowspec_core::store::Store;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
    /// let runs: i64 = store
    ///     .inline(|conn| conn.query_row("SELECT COUNT(*) FROM hook_runs", [], |row| row.get(0)))
    ///     .await
    ///     .expect("an SQLite file")
    ///     .unwrap();
    /// assert_eq!(runs, 0);
    /// # });
    /// ```
    pub async fn inline<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> rusqlite::Result<T>,
    ) -> Option<Result<T, StoreError>> {
        let inline = self.inline.as_ref()?;
        let started = std::time::Instant::now();
        let mut delay = Duration::from_micros(50);
        loop {
            let result = {
                let mut conn = inline.conn.lock().unwrap_or_else(|e| e.into_inner());
                let Some(conn) = conn.as_mut() else {
                    return Some(Err(StoreError::Query(sqlx::Error::PoolClosed)));
                };
                f(conn)
            };
            match result {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_LIMIT => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(20));
                }
                other => return Some(other.map_err(StoreError::Inline)),
            }
        }
    }
}
