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

/// Checkpoint the WAL once it holds this many pages (short commands).
pub(super) const WAL_PAGES: i64 = 64;

/// The same for a long-lived process that commits often ([`Store::use_long_wal`]).
const LONG_WAL_PAGES: i64 = 1000;

/// After this many in-line calls a process counts as long-lived and gets the longer WAL
/// (a short command makes a handful).
const LONG_LIVED_CALLS: u32 = 256;

/// How long a busy database is retried before the call fails.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// The in-line connection.
pub(super) struct Inline {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    /// In-line calls so far, up to [`LONG_LIVED_CALLS`].
    calls: std::sync::atomic::AtomicU32,
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
        // When this is the file's last connection, closing it would checkpoint and
        // delete the WAL, with two fsyncs: tens of ms at the end of every short
        // command. The short WAL stays for the next process instead.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
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
            calls: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Whether the file is in WAL mode and `component`'s tables are at version `known`
    /// (false on any error: the caller then takes the full, locked path).
    pub(super) fn is_current(&self, component: &str, known: usize) -> bool {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let Some(conn) = conn.as_ref() else {
            return false;
        };
        let wal = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
            .is_ok_and(|mode| mode.eq_ignore_ascii_case("wal"));
        wal && conn
            .prepare_cached(
                "SELECT COALESCE(MAX(version), 0) FROM flowspec_schema WHERE component = ?1",
            )
            .and_then(|mut query| query.query_row([component], |row| row.get::<_, i64>(0)))
            .is_ok_and(|version| version == known as i64)
    }

    /// Moves a process that keeps writing to the longer WAL: a checkpoint syncs the WAL
    /// and the file, and at 64 pages a busy writer would pay that every few events.
    fn count_call(&self) {
        use std::sync::atomic::Ordering;
        if self.calls.load(Ordering::Relaxed) < LONG_LIVED_CALLS
            && self.calls.fetch_add(1, Ordering::Relaxed) + 1 == LONG_LIVED_CALLS
        {
            self.pragma("wal_autocheckpoint", LONG_WAL_PAGES);
        }
    }

    fn pragma(&self, name: &str, value: i64) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = conn.as_ref()
            && let Err(error) = conn.pragma_update(None, name, value)
        {
            tracing::warn!(message = "Cannot set an SQLite pragma.", pragma = name, %error);
        }
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
    /// For a long-lived process that commits many times a second (the receiver):
    /// checkpoint the WAL every 1,000 pages instead of 64. A checkpoint syncs the WAL
    /// and the database file, and with four commits an event a 64-page WAL fills every
    /// few events. A process gets it by itself after 256 in-line calls; the receiver
    /// asks at once. [`Store::checkpoint`] before closing leaves a short WAL again.
    pub fn use_long_wal(&self) {
        if let Some(inline) = &self.inline {
            inline.pragma("wal_autocheckpoint", LONG_WAL_PAGES);
        }
    }

    /// Copies the WAL into the database file and truncates it, so that the next process
    /// opening the file does not read a long WAL first. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match self
            .inline(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await
        {
            Some(result) => result,
            None => Ok(()),
        }
    }

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
        inline.count_call();
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
