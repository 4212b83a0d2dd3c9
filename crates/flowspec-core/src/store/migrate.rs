//! Versioned schema changes, applied once per database however many receivers,
//! subscribers and commands start on it at the same moment.
//!
//! Each part of flowspec that keeps tables (the hook runs, the receiver's queue, the
//! notification state, the test results) names its schema by a component name and
//! lists its migrations in order: migration `n` (1-based) is applied once, in one
//! transaction with the row that records it in `flowspec_schema`. On PostgreSQL the
//! transaction first takes an advisory lock, so concurrent starts queue behind the one
//! that changes the schema instead of failing on each other's `CREATE TABLE` (two
//! unguarded `CREATE TABLE IF NOT EXISTS` race on PostgreSQL's catalog); on SQLite the
//! transaction begins `IMMEDIATE`, taking the one write lock at once.

use sqlx::{AnyConnection, Connection, Executor, Row};

/// The advisory lock key held while a schema changes (`flowspec` in ASCII).
const SCHEMA_LOCK: i64 = 0x666c_6f77_7370_6563;

/// One migration: statements run in order in one transaction.
pub type Migration = &'static [&'static str];

/// Applies the migrations of `component` that this database has not had yet, and
/// returns its version afterwards (the number of migrations). A database newer than
/// this program (a higher version recorded) is refused rather than written to.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use flowspec_core::store::{Store, migrate};
///
/// const NOTES: &[migrate::Migration] = &[
///     &["CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)"],
///     &["ALTER TABLE notes ADD COLUMN body TEXT"],
/// ];
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
/// assert_eq!(store.migrate("notes", NOTES).await.unwrap(), 2);
/// // Opened again: nothing runs twice (the ALTER TABLE would fail).
/// assert_eq!(store.migrate("notes", NOTES).await.unwrap(), 2);
/// # });
/// ```
pub async fn apply(
    conn: &mut AnyConnection,
    component: &str,
    migrations: &[Migration],
) -> Result<u32, MigrateError> {
    let known = migrations.len() as i64;
    // Already current (every open after the first): no lock, no write transaction.
    // A missing table or any other error falls through to the locked path.
    if let Ok(current) = version(conn, component).await
        && current == known
    {
        return Ok(known as u32);
    }
    let postgres = conn.backend_name() == "PostgreSQL";
    let mut tx = if postgres {
        let mut tx = conn.begin().await?;
        // The lock ends with the transaction, also when the process dies.
        sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        tx
    } else {
        conn.begin_with("BEGIN IMMEDIATE").await?
    };
    tx.execute(
        "CREATE TABLE IF NOT EXISTS flowspec_schema (
            component TEXT NOT NULL,
            version BIGINT NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (component, version)
        )",
    )
    .await?;
    let current = version(&mut tx, component).await?;
    if current > known {
        return Err(MigrateError::Newer {
            component: component.to_owned(),
            found: current,
            known,
        });
    }
    for (index, statements) in migrations.iter().enumerate().skip(current as usize) {
        for statement in *statements {
            tx.execute(*statement).await?;
        }
        sqlx::query(
            "INSERT INTO flowspec_schema (component, version, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(component)
        .bind(index as i64 + 1)
        .bind(super::now_ms())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(known as u32)
}

/// The version of `component` recorded in `flowspec_schema` (0 before its first).
async fn version(conn: &mut AnyConnection, component: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS version FROM flowspec_schema WHERE component = $1",
    )
    .bind(component)
    .fetch_one(conn)
    .await?;
    row.try_get::<i64, _>("version")
}

/// Why a schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A statement failed.
    #[error("cannot update the state store's schema: {0}")]
    Query(#[from] sqlx::Error),
    /// The database was written by a newer flowspec.
    #[error(
        "the state store's `{component}` tables are at version {found}, newer than the {known} this flowspec knows: upgrade flowspec (or point it at another store)"
    )]
    Newer {
        /// The schema's component name.
        component: String,
        /// The version recorded in the database.
        found: i64,
        /// The version this program knows.
        known: i64,
    },
}
