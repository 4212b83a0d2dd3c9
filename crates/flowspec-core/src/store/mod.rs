//! The embedded store: which hooks ran for which event id, so that emitting an event
//! again never re-runs a hook that already succeeded.
//!
//! One implementation over sqlx's `Any` driver speaks SQLite (embedded, the default,
//! under `.flowspec/state/flowspec.db`) and PostgreSQL (when several servers share
//! state: `state: {url: postgres://...}` in flowspec.yaml). The SQL is written once
//! for both (`$1` placeholders, `ON CONFLICT`, `BIGINT` columns).
//!
//! ## Claims
//! Before a hook runs, the engine *claims* the pair (event id, hook) with an insert
//! that only one process can win. The row records the owner (host, pid, a random
//! nonce) and a lease (the hook's timeout plus margins). Another process that finds
//! a live claim waits for it to finish and reports that result instead of running
//! the hook again; a claim whose owner died (`kill -9`, power loss) is taken over
//! once the owner is gone (same host: the pid no longer exists) or the lease expired.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a killed process loses
//! nothing; a power cut may lose the last transactions, never corrupt the file.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};
use thiserror::Error;

use crate::report::HookStatus;

mod changes;
mod claims;
mod connection_url;
mod inline;
mod leases;
mod meta;
pub mod migrate;
mod slots;

pub use changes::Changes;
pub use connection_url::redact_url;
use connection_url::sqlite_url;
pub use leases::LeaseState;
pub use slots::SlotGuard;

/// A store error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the state store {location}: {source}")]
    Open {
        /// Where (path or URL without password).
        location: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("state store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error(transparent)]
    Schema(#[from] migrate::MigrateError),
    /// The in-line connection to the SQLite file could not be opened.
    #[error("cannot open the state store {location}: {source}")]
    OpenInline {
        /// The path.
        location: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An in-line SQLite statement failed.
    #[error("state store query failed: {0}")]
    Inline(#[from] rusqlite::Error),
    /// The URL is not SQLite or PostgreSQL.
    #[error("unsupported state store URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The URL names a database whose driver this build left out (a crate feature off).
    #[error(
        "state store URL `{url}`: the PostgreSQL store is not built in: enable the crate feature `{feature}` of flowspec-core"
    )]
    NotBuiltIn {
        /// The URL, password redacted.
        url: String,
        /// The crate feature that builds the driver.
        feature: &'static str,
    },
}

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How hard a commit tries to reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// SQLite `synchronous=NORMAL` in WAL mode: a killed process loses nothing; a power
    /// cut may lose the last commits. Right for `flowspec emit`.
    #[default]
    Normal,
    /// SQLite `synchronous=FULL`: each commit is fsynced before it returns. The server
    /// uses it so that an event answered with 202 survives a power cut; it batches
    /// events into one commit (group commit) to pay the fsync once per batch.
    /// (PostgreSQL always syncs commits.)
    Synced,
}

/// The idempotency store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    // SQLite: the one connection every statement uses, held for the store's life. A
    // pooled connection costs two more round trips to sqlx's SQLite thread per
    // statement (the checkout, and a ping when it is returned): 381 µs against 156 µs
    // for a claim and a finish (docs/benchmarks.md). `None` once closed.
    held: Option<Arc<tokio::sync::Mutex<Held>>>,
    backend: Backend,
    owner: Owner,
    leases: Arc<leases::Leases>,
    /// PostgreSQL: the URL, for the connection that `LISTEN`s ([`Store::changes`]).
    listen_url: Option<Arc<secrecy::SecretString>>,
    /// SQLite files: the connection for in-line statements ([`Store::inline`]).
    inline: Option<Arc<inline::Inline>>,
    /// Told each time a claim starts waiting for another owner's run (tests only).
    #[cfg(test)]
    claim_waits: Arc<tokio::sync::Notify>,
}

/// A connection of the store, from [`Store::conn`]: SQLite's single connection, or one
/// from the PostgreSQL pool. Use it as an executor with `&mut *conn`.
pub struct StoreConn<'a>(ConnInner<'a>);

enum ConnInner<'a> {
    Held(tokio::sync::MutexGuard<'a, Held>),
    Pooled(PoolConnection<Any>),
}

/// SQLite's held sqlx connection. A store opened on a file whose schema is current
/// opens it only when first asked for: the hot statements run in-line, and a short
/// command (`flowspec emit`) then never starts sqlx's SQLite thread.
enum Held {
    Unopened,
    Open(AnyConnection),
    Closed,
}

const OPENED_BY_CONN: &str = "Store::conn opens the connection before handing it out";

impl Held {
    fn conn(&self) -> &AnyConnection {
        match self {
            Held::Open(conn) => conn,
            _ => unreachable!("{OPENED_BY_CONN}"),
        }
    }

    fn conn_mut(&mut self) -> &mut AnyConnection {
        match self {
            Held::Open(conn) => conn,
            _ => unreachable!("{OPENED_BY_CONN}"),
        }
    }
}

impl Deref for StoreConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            ConnInner::Held(guard) => guard.conn(),
            ConnInner::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for StoreConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            ConnInner::Held(guard) => guard.conn_mut(),
            ConnInner::Pooled(conn) => conn,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

#[derive(Clone, Debug)]
struct Owner {
    id: String,
    host: String,
    pid: u32,
}

/// The result of [`Store::claim`].
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This process owns the run; call [`Store::finish`] afterwards.
    Run(ClaimToken),
    /// The hook already succeeded for this event id.
    AlreadySucceeded,
    /// Another process ran it while this one waited; its final status.
    RanElsewhere(HookStatus),
}

/// Proof of a claim, needed to record the result.
#[derive(Debug, PartialEq, Eq)]
pub struct ClaimToken {
    event_id: String,
    hook: String,
    /// The attempt number (1 for the first run).
    pub attempt: u32,
}

/// A recorded hook run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookRunRecord {
    /// The hook.
    pub hook: String,
    /// `running`, `success`, `failed` or `timeout`.
    pub status: String,
    /// Attempts so far.
    pub attempt: u32,
    /// Exit code of the last attempt.
    pub exit_code: Option<i32>,
}

/// The hook-run tables, one migration per schema version ([`migrate`]).
const MIGRATIONS: &[migrate::Migration] = &[
    &[
        "CREATE TABLE IF NOT EXISTS flowspec_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS hook_runs (
        event_id TEXT NOT NULL,
        hook_name TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt BIGINT NOT NULL,
        owner TEXT NOT NULL,
        lease_until BIGINT NOT NULL,
        exit_code BIGINT,
        started_at BIGINT NOT NULL,
        finished_at BIGINT,
        PRIMARY KEY (event_id, hook_name)
    )",
    ],
    &[
        // Concurrency slots shared by every process on the store.
        "CREATE TABLE IF NOT EXISTS hook_slots (
        hook_name TEXT NOT NULL,
        key_value TEXT NOT NULL,
        slot BIGINT NOT NULL,
        owner TEXT NOT NULL,
        lease_until BIGINT NOT NULL,
        PRIMARY KEY (hook_name, key_value, slot)
    )",
    ],
];

static DRIVERS: Once = Once::new();

/// The pool's options: one connection for SQLite, eight for PostgreSQL.
fn pool_options(backend: Backend, durability: Durability) -> AnyPoolOptions {
    AnyPoolOptions::new()
        // SQLite has one writer: one connection queues writes in-process instead of
        // making them sleep in SQLite's busy handler.
        .max_connections(if backend == Backend::Sqlite { 1 } else { 8 })
        .min_connections(0)
        // A local SQLite file needs no ping before each use, and the ping is one more
        // round trip to sqlx's SQLite thread on every statement (a third of the cost).
        .test_before_acquire(backend != Backend::Sqlite)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(match durability {
                        Durability::Normal => "PRAGMA synchronous = NORMAL",
                        Durability::Synced => "PRAGMA synchronous = FULL",
                    })
                    .await?;
                }
                Ok(())
            })
        })
}

impl Store {
    /// Opens (creating if needed) the SQLite store at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite_with(path, Durability::Normal).await
    }

    /// Opens the SQLite store at `path` with the given durability.
    pub async fn open_sqlite_with(
        path: &Path,
        durability: Durability,
    ) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                location: path.display().to_string(),
                source: sqlx::Error::Io(e),
            })?;
        }
        let url = sqlite_url(path);
        let location = path.display().to_string();
        if let Some(store) = Store::open_current(&url, path, &location, durability)? {
            return Ok(store);
        }
        Store::connect(&url, &location, durability).await
    }

    /// The quick open of an existing SQLite file whose hook tables are current: the
    /// in-line connection alone, with sqlx's connection opened when first needed.
    /// `None` when the file is missing, not in WAL mode yet or its schema is behind.
    fn open_current(
        url: &str,
        path: &Path,
        location: &str,
        durability: Durability,
    ) -> Result<Option<Store>, StoreError> {
        if !path.is_file() {
            return Ok(None);
        }
        let Ok(inline) = inline::Inline::open(path, durability) else {
            return Ok(None); // The full open reports what is wrong.
        };
        if !inline.is_current("hooks", MIGRATIONS.len()) {
            return Ok(None);
        }
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let pool = pool_options(Backend::Sqlite, durability)
            .connect_lazy(url)
            .map_err(|source| StoreError::Open {
                location: location.to_owned(),
                source,
            })?;
        Ok(Some(Store::assemble(
            pool,
            Backend::Sqlite,
            Some(Held::Unopened),
            Some(Arc::new(inline)),
            None,
        )))
    }

    /// Opens a store by URL: `sqlite://PATH` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, Durability::Normal).await
    }

    /// Opens a store by URL with the given durability.
    pub async fn open_with(url: &str, durability: Durability) -> Result<Store, StoreError> {
        Store::connect(url, &redact_url(url), durability).await
    }

    async fn connect(
        url: &str,
        location: &str,
        durability: Durability,
    ) -> Result<Store, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            if !cfg!(feature = "postgres") {
                return Err(StoreError::NotBuiltIn {
                    url: redact_url(url),
                    feature: "postgres",
                });
            }
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let open_err = |source| StoreError::Open {
            location: location.to_owned(),
            source,
        };
        let pool = pool_options(backend, durability)
            .connect(url)
            .await
            .map_err(open_err)?;
        if backend == Backend::Sqlite {
            // WAL persists in the file; setting it needs a lock that busy_timeout cannot
            // wait for, so two processes creating the store at once retry briefly.
            let mut delay = Duration::from_millis(5);
            loop {
                match pool.execute("PRAGMA journal_mode = WAL").await {
                    Ok(_) => break,
                    Err(e) if delay < Duration::from_secs(2) && is_busy(backend, &e) => {
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    Err(e) => return Err(open_err(e)),
                }
            }
        }
        let (held, inline) = if backend == Backend::Sqlite {
            // Detached: the pool may open another connection for code that still asks
            // it, and SQLite's busy timeout orders the two writers.
            let mut conn = pool.acquire().await.map_err(open_err)?.detach();
            // The file sqlx opened ("" for an in-memory database: no in-line lane).
            let file: String = sqlx::query("PRAGMA database_list")
                .fetch_all(&mut conn)
                .await
                .map_err(open_err)?
                .iter()
                .find(|row| row.try_get::<String, _>(1).is_ok_and(|name| name == "main"))
                .and_then(|row| row.try_get::<String, _>(2).ok())
                .unwrap_or_default();
            let inline = if file.is_empty() {
                None
            } else {
                let opened = inline::Inline::open(Path::new(&file), durability);
                Some(Arc::new(opened.map_err(|e| StoreError::OpenInline {
                    location: location.to_owned(),
                    source: e,
                })?))
            };
            (Some(Held::Open(conn)), inline)
        } else {
            (None, None)
        };
        let listen_url = (backend == Backend::Postgres).then(|| url.into());
        let store = Store::assemble(pool, backend, held, inline, listen_url);
        store.migrate("hooks", MIGRATIONS).await?;
        Ok(store)
    }

    fn assemble(
        pool: AnyPool,
        backend: Backend,
        held: Option<Held>,
        inline: Option<Arc<inline::Inline>>,
        listen_url: Option<secrecy::SecretString>,
    ) -> Store {
        Store {
            pool,
            held: held.map(|held| Arc::new(tokio::sync::Mutex::new(held))),
            backend,
            owner: Owner::current(),
            leases: leases::Leases::new(),
            listen_url: listen_url.map(Arc::new),
            inline,
            #[cfg(test)]
            claim_waits: Arc::default(),
        }
    }

    /// Brings the tables of `component` up to date: each of `migrations` is applied
    /// once per database, serialized across processes (see [`migrate`]). Returns the
    /// schema version.
    pub async fn migrate(
        &self,
        component: &str,
        migrations: &[migrate::Migration],
    ) -> Result<u32, StoreError> {
        // Already current (every open after the first): one in-line read.
        if let Some(inline) = &self.inline
            && inline.is_current(component, migrations.len())
        {
            return Ok(migrations.len() as u32);
        }
        let mut conn = self.conn().await?;
        Ok(migrate::apply(&mut conn, component, migrations).await?)
    }

    /// A connection for a statement or a transaction, for crates that keep tables of
    /// their own in the same database (write SQL that both SQLite and PostgreSQL
    /// accept: `$1` placeholders, `BIGINT`, `ON CONFLICT`). SQLite has one: hold it
    /// only as long as the statement or transaction runs, and never ask for a second
    /// one while holding it.
    ///
    /// ```
    /// # tokio_test_run(async {
    /// use flowspec_core::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
    /// sqlx::query("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)")
    ///     .execute(&mut *store.conn().await.unwrap())
    ///     .await
    ///     .unwrap();
    /// # });
    /// # fn tokio_test_run(f: impl std::future::Future<Output = ()>) {
    /// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub async fn conn(&self) -> Result<StoreConn<'_>, StoreError> {
        match &self.held {
            Some(held) => {
                let mut guard = held.lock().await;
                match &*guard {
                    Held::Open(_) => {}
                    Held::Closed => return Err(StoreError::Query(sqlx::Error::PoolClosed)),
                    Held::Unopened => {
                        // Detached: the pool may open another connection for code
                        // that asks it directly; SQLite's busy timeout orders the two.
                        *guard = Held::Open(self.pool.acquire().await?.detach());
                    }
                }
                Ok(StoreConn(ConnInner::Held(guard)))
            }
            None => Ok(StoreConn(ConnInner::Pooled(self.pool.acquire().await?))),
        }
    }

    /// The connection pool, for code that needs a pool of its own (PostgreSQL's runs
    /// statements in parallel). On SQLite prefer [`Store::conn`]: the pool opens a
    /// second connection, which waits on the first one's writes.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the connections.
    pub async fn close(&self) {
        if let Some(inline) = &self.inline {
            inline.close();
        }
        if let Some(held) = &self.held
            && let Held::Open(conn) = std::mem::replace(&mut *held.lock().await, Held::Closed)
        {
            let _ = conn.close().await;
        }
        self.pool.close().await;
    }

    fn token(&self, event_id: &str, hook: &str, attempt: u32) -> ClaimToken {
        ClaimToken {
            event_id: event_id.to_owned(),
            hook: hook.to_owned(),
            attempt,
        }
    }

    /// This process's owner id (`host|pid|nonce`), recorded on claims and queue leases.
    pub fn owner_id(&self) -> &str {
        &self.owner.id
    }

    /// Whether the process behind an owner id may still be running: false only when it
    /// is on this host and its pid is gone (or is ours with another nonce).
    pub fn owner_alive(&self, owner: &str) -> bool {
        if owner == self.owner.id {
            return true;
        }
        let mut parts = owner.splitn(3, '|');
        let (Some(host), Some(pid)) = (
            parts.next(),
            parts.next().and_then(|p| p.parse::<i32>().ok()),
        ) else {
            return true;
        };
        if host != self.owner.host {
            return true; // Another machine: only its lease tells.
        }
        if pid as u32 == self.owner.pid {
            return false; // Our pid with another nonce: a previous process that died.
        }
        // Not a pid another process can have (0 and below; 1 is init, which never
        // ends): only the lease tells.
        if pid <= 1 {
            return true;
        }
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            return true;
        };
        // kill(2) with no signal: whether the process exists. EPERM: it does, as
        // another user.
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
}

impl Owner {
    fn current() -> Self {
        let host = hostname();
        let pid = std::process::id();
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        Owner {
            id: format!("{host}|{pid}|{}", &nonce[nonce.len() - 12..]),
            host,
            pid,
        }
    }
}

fn hostname() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name.replace('|', "_")
    }
}

fn parse_status(status: &str) -> HookStatus {
    match status {
        "success" => HookStatus::Success,
        "timeout" => HookStatus::Timeout,
        _ => HookStatus::Failed,
    }
}

/// SQLite's primary result codes for "another connection holds the lock".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

/// Whether the database refused for a lock another connection holds, so trying
/// again shortly can succeed: SQLite `SQLITE_BUSY` / `SQLITE_LOCKED` (and their
/// extended codes, such as `SQLITE_BUSY_SNAPSHOT`); PostgreSQL `55P03`
/// lock_not_available, `40001` serialization_failure and `40P01` deadlock_detected.
fn is_busy(backend: Backend, e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let Some(code) = db.code() else {
        return false;
    };
    match backend {
        // sqlx reports SQLite's extended result code; its low byte is the primary one.
        Backend::Sqlite => code
            .parse::<i32>()
            .is_ok_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        Backend::Postgres => matches!(&*code, "55P03" | "40001" | "40P01"),
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests;
