//! What deliveries remember across runs: rate-limit windows, notifications dropped by
//! a rate limit (for the summary on the next message), integrations disabled after
//! `410 Gone`, and dead letters for replay.
//!
//! With the crate feature `state` (default), kept in flowspec's store
//! ([`Store`]: SQLite by default, PostgreSQL by URL) in four
//! tables of this module; the SQL is the same for both databases (`$1` placeholders,
//! `BIGINT`, `ON CONFLICT`, `RETURNING`). Without a store (embedders that run without
//! one) the same state lives in memory for the life of the process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "state")]
use flowspec_core::store::Store;
use flowspec_core::store::StoreError;
use serde::Serialize;
#[cfg(feature = "state")]
use sqlx::Row;

use crate::config::RateLimit;

/// The notification state's tables, one migration per schema version.
#[cfg(feature = "state")]
const MIGRATIONS: &[flowspec_core::store::migrate::Migration] = &[&[
    "CREATE TABLE IF NOT EXISTS notify_rate_windows (
        integration TEXT NOT NULL,
        period TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        sent BIGINT NOT NULL,
        PRIMARY KEY (integration, period, window_start)
    )",
    "CREATE TABLE IF NOT EXISTS notify_suppressed (
        integration TEXT PRIMARY KEY,
        dropped BIGINT NOT NULL,
        since BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS notify_disabled (
        integration TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        disabled_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS notify_dead_letters (
        id TEXT PRIMARY KEY,
        integration TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        notification TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        replayed_at BIGINT
    )",
]];

/// A rate-limit period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// A clock hour (UTC).
    Hour,
    /// A UTC day.
    Day,
}

impl Period {
    #[cfg(feature = "state")]
    fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    fn millis(self) -> i64 {
        match self {
            Period::Hour => 3_600_000,
            Period::Day => 86_400_000,
        }
    }
}

/// The answer of [`DeliveryState::acquire`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Send it; `dropped_before` notifications were dropped by the limit since `since`
    /// (epoch ms) and have not been reported yet.
    Send {
        /// How many were dropped.
        dropped_before: u64,
        /// Since when (epoch ms).
        since: Option<i64>,
    },
    /// Drop it: `limit` per `period` is reached.
    Drop {
        /// The period whose limit is reached.
        period: Period,
        /// The limit.
        limit: u64,
    },
}

/// A dead letter: a delivery that failed for good, kept for replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The delivery id (also the webhook id / idempotency key).
    pub id: String,
    /// The integration.
    pub integration: String,
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The notification as JSON (what replay sends again).
    #[serde(skip)]
    pub notification: String,
    /// The last error (masked).
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it failed (epoch ms).
    pub created_at: i64,
    /// When it was replayed successfully (epoch ms), if it was.
    pub replayed_at: Option<i64>,
}

/// Integrations disabled after `410 Gone`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disabled {
    /// The integration.
    pub integration: String,
    /// Why.
    pub reason: String,
    /// When (epoch ms).
    pub disabled_at: i64,
}

#[derive(Default)]
struct Memory {
    windows: HashMap<(String, Period, i64), u64>,
    suppressed: HashMap<String, (u64, i64)>,
    disabled: HashMap<String, (String, i64)>,
    // Ordered as the store returns them (created_at, id); `dead_ids` finds a letter's
    // key, so replacing one is O(log n), not a scan.
    dead: std::collections::BTreeMap<(i64, String), DeadLetter>,
    dead_ids: HashMap<String, i64>,
}

/// How long the list of disabled integrations read from the store is reused.
const DISABLED_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

/// The state, in the store or in memory.
pub struct DeliveryState {
    #[cfg(feature = "state")]
    store: Option<Store>,
    memory: Mutex<Memory>,
    // Read on every delivery: cached briefly so a burst does not query per message.
    disabled_cache: Mutex<Option<(std::time::Instant, Vec<Disabled>)>>,
}

impl std::fmt::Debug for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut f = f.debug_struct("DeliveryState");
        #[cfg(feature = "state")]
        f.field("store", &self.store);
        f.finish()
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl DeliveryState {
    /// State in memory only.
    pub fn in_memory() -> Self {
        DeliveryState {
            #[cfg(feature = "state")]
            store: None,
            memory: Mutex::default(),
            disabled_cache: Mutex::default(),
        }
    }

    /// State in `store` (creates the tables).
    #[cfg(feature = "state")]
    #[cfg_attr(docsrs, doc(cfg(feature = "state")))]
    pub async fn in_store(store: Store) -> Result<Self, StoreError> {
        store.migrate("notify", MIGRATIONS).await?;
        Ok(DeliveryState {
            store: Some(store),
            memory: Mutex::default(),
            disabled_cache: Mutex::default(),
        })
    }

    /// The store behind the state, if any.
    #[cfg(feature = "state")]
    fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Without the `state` feature there is never a store: `Some` cannot be built.
    #[cfg(not(feature = "state"))]
    fn store(&self) -> Option<std::convert::Infallible> {
        None
    }

    fn mem(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one notification for `integration` if its limits allow it at `now` (ms).
    pub async fn acquire(
        &self,
        integration: &str,
        limit: RateLimit,
        now: i64,
    ) -> Result<Admission, StoreError> {
        let periods: Vec<(Period, u64)> = [
            (Period::Hour, limit.max_per_hour),
            (Period::Day, limit.max_per_day),
        ]
        .into_iter()
        .filter_map(|(p, l)| l.map(|l| (p, l)))
        .collect();
        if periods.is_empty() {
            return Ok(Admission::Send {
                dropped_before: 0,
                since: None,
            });
        }
        let mut taken: Vec<(Period, i64)> = Vec::new();
        for (period, max) in periods {
            let start = now - now.rem_euclid(period.millis());
            let allowed = match self.store() {
                #[cfg(feature = "state")]
                Some(store) => {
                    let inserted = sqlx::query(
                        "INSERT INTO notify_rate_windows (integration, period, window_start, sent) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
                    )
                    .bind(integration)
                    .bind(period.as_str())
                    .bind(start)
                    .execute(&mut *store.conn().await?)
                    .await?
                    .rows_affected();
                    if inserted == 1 {
                        sqlx::query("DELETE FROM notify_rate_windows WHERE window_start < $1")
                            .bind(now - 2 * Period::Day.millis())
                            .execute(&mut *store.conn().await?)
                            .await?;
                    }
                    sqlx::query(
                        "UPDATE notify_rate_windows SET sent = sent + 1 WHERE integration = $1 AND period = $2 AND window_start = $3 AND sent < $4",
                    )
                    .bind(integration)
                    .bind(period.as_str())
                    .bind(start)
                    .bind(max as i64)
                    .execute(&mut *store.conn().await?)
                    .await?
                    .rows_affected()
                        == 1
                }
                None => {
                    let mut m = self.mem();
                    let sent = m
                        .windows
                        .entry((integration.to_owned(), period, start))
                        .or_insert(0);
                    if *sent < max {
                        *sent += 1;
                        true
                    } else {
                        false
                    }
                }
            };
            if allowed {
                taken.push((period, start));
                continue;
            }
            // Give back what earlier periods counted, and remember the drop.
            for (p, s) in taken {
                match self.store() {
                    #[cfg(feature = "state")]
                    Some(store) => {
                        sqlx::query(
                            "UPDATE notify_rate_windows SET sent = sent - 1 WHERE integration = $1 AND period = $2 AND window_start = $3",
                        )
                        .bind(integration)
                        .bind(p.as_str())
                        .bind(s)
                        .execute(&mut *store.conn().await?)
                        .await?;
                    }
                    None => {
                        if let Some(sent) =
                            self.mem().windows.get_mut(&(integration.to_owned(), p, s))
                        {
                            *sent = sent.saturating_sub(1);
                        }
                    }
                }
            }
            match self.store() {
                #[cfg(feature = "state")]
                Some(store) => {
                    sqlx::query(
                        "INSERT INTO notify_suppressed (integration, dropped, since) VALUES ($1, 1, $2)
                         ON CONFLICT (integration) DO UPDATE SET dropped = notify_suppressed.dropped + 1",
                    )
                    .bind(integration)
                    .bind(now)
                    .execute(&mut *store.conn().await?)
                    .await?;
                }
                None => {
                    let mut m = self.mem();
                    let entry = m
                        .suppressed
                        .entry(integration.to_owned())
                        .or_insert((0, now));
                    entry.0 += 1;
                }
            }
            return Ok(Admission::Drop { period, limit: max });
        }
        // Allowed: collect (and clear) the drops not yet reported.
        let (dropped_before, since) = match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                let row = sqlx::query(
                    "DELETE FROM notify_suppressed WHERE integration = $1 RETURNING dropped, since",
                )
                .bind(integration)
                .fetch_optional(&mut *store.conn().await?)
                .await?;
                match row {
                    Some(row) => (
                        row.try_get::<i64, _>("dropped")? as u64,
                        Some(row.try_get::<i64, _>("since")?),
                    ),
                    None => (0, None),
                }
            }
            None => match self.mem().suppressed.remove(integration) {
                Some((n, since)) => (n, Some(since)),
                None => (0, None),
            },
        };
        Ok(Admission::Send {
            dropped_before,
            since,
        })
    }

    /// Why `integration` is disabled, if it is.
    pub async fn disabled(&self, integration: &str) -> Result<Option<Disabled>, StoreError> {
        if self.store().is_some() {
            let cached = self
                .disabled_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .filter(|(at, _)| at.elapsed() < DISABLED_CACHE)
                .map(|(_, list)| list.iter().find(|d| d.integration == integration).cloned());
            if let Some(found) = cached {
                return Ok(found);
            }
        }
        let list = self.list_disabled().await?;
        let found = list.iter().find(|d| d.integration == integration).cloned();
        *self
            .disabled_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), list));
        Ok(found)
    }

    fn forget_disabled(&self) {
        *self
            .disabled_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Every disabled integration.
    pub async fn list_disabled(&self) -> Result<Vec<Disabled>, StoreError> {
        match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                let rows = sqlx::query("SELECT integration, reason, disabled_at FROM notify_disabled ORDER BY integration")
                    .fetch_all(&mut *store.conn().await?)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Disabled {
                            integration: r.try_get("integration")?,
                            reason: r.try_get("reason")?,
                            disabled_at: r.try_get("disabled_at")?,
                        })
                    })
                    .collect()
            }
            None => {
                let mut out: Vec<Disabled> = self
                    .mem()
                    .disabled
                    .iter()
                    .map(|(k, (reason, at))| Disabled {
                        integration: k.clone(),
                        reason: reason.clone(),
                        disabled_at: *at,
                    })
                    .collect();
                out.sort_by(|a, b| a.integration.cmp(&b.integration));
                Ok(out)
            }
        }
    }

    /// Disables `integration` until [`DeliveryState::enable`].
    pub async fn disable(&self, integration: &str, reason: &str) -> Result<(), StoreError> {
        self.forget_disabled();
        let now = now_ms();
        match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                sqlx::query(
                    "INSERT INTO notify_disabled (integration, reason, disabled_at) VALUES ($1, $2, $3)
                     ON CONFLICT (integration) DO UPDATE SET reason = $2, disabled_at = $3",
                )
                .bind(integration)
                .bind(reason)
                .bind(now)
                .execute(&mut *store.conn().await?)
                .await?;
            }
            None => {
                self.mem()
                    .disabled
                    .insert(integration.to_owned(), (reason.to_owned(), now));
            }
        }
        Ok(())
    }

    /// Enables `integration` again; `false` if it was not disabled.
    pub async fn enable(&self, integration: &str) -> Result<bool, StoreError> {
        self.forget_disabled();
        Ok(match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                sqlx::query("DELETE FROM notify_disabled WHERE integration = $1")
                    .bind(integration)
                    .execute(&mut *store.conn().await?)
                    .await?
                    .rows_affected()
                    > 0
            }
            None => self.mem().disabled.remove(integration).is_some(),
        })
    }

    /// Keeps a failed delivery for replay (replacing an older one with the same id).
    pub async fn add_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                sqlx::query(
                    "INSERT INTO notify_dead_letters (id, integration, event_id, event_type, notification, error, attempts, created_at, replayed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
                     ON CONFLICT (id) DO UPDATE SET notification = $5, error = $6, attempts = $7, created_at = $8, replayed_at = NULL",
                )
                .bind(&letter.id)
                .bind(&letter.integration)
                .bind(&letter.event_id)
                .bind(&letter.event_type)
                .bind(&letter.notification)
                .bind(&letter.error)
                .bind(letter.attempts as i64)
                .bind(letter.created_at)
                .execute(&mut *store.conn().await?)
                .await?;
            }
            None => {
                let mut m = self.mem();
                if let Some(created_at) = m.dead_ids.insert(letter.id.clone(), letter.created_at) {
                    m.dead.remove(&(created_at, letter.id.clone()));
                }
                m.dead
                    .insert((letter.created_at, letter.id.clone()), letter.clone());
            }
        }
        Ok(())
    }

    /// Dead letters, oldest first; with `pending_only`, those not replayed yet.
    pub async fn dead_letters(&self, pending_only: bool) -> Result<Vec<DeadLetter>, StoreError> {
        match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                let rows = sqlx::query(
                    "SELECT id, integration, event_id, event_type, notification, error, attempts, created_at, replayed_at
                     FROM notify_dead_letters ORDER BY created_at, id",
                )
                .fetch_all(&mut *store.conn().await?)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let letter = DeadLetter {
                        id: r.try_get("id")?,
                        integration: r.try_get("integration")?,
                        event_id: r.try_get("event_id")?,
                        event_type: r.try_get("event_type")?,
                        notification: r.try_get("notification")?,
                        error: r.try_get("error")?,
                        attempts: r.try_get::<i64, _>("attempts")? as u32,
                        created_at: r.try_get("created_at")?,
                        replayed_at: r.try_get("replayed_at")?,
                    };
                    if !pending_only || letter.replayed_at.is_none() {
                        out.push(letter);
                    }
                }
                Ok(out)
            }
            None => Ok(self
                .mem()
                .dead
                .values()
                .filter(|d| !pending_only || d.replayed_at.is_none())
                .cloned()
                .collect()),
        }
    }

    /// Marks a dead letter replayed.
    pub async fn mark_replayed(&self, id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        match self.store() {
            #[cfg(feature = "state")]
            Some(store) => {
                sqlx::query("UPDATE notify_dead_letters SET replayed_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *store.conn().await?)
                    .await?;
            }
            None => {
                let mut m = self.mem();
                if let Some(&created_at) = m.dead_ids.get(id)
                    && let Some(d) = m.dead.get_mut(&(created_at, id.to_owned()))
                {
                    d.replayed_at = Some(now);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the state is kept when the test's server and folder are dropped.
    struct Backends {
        _dir: tempfile::TempDir,
        _postgres: flowspec_core::testing::TempPostgres,
    }

    /// The same state three ways: in memory, in SQLite and in a real PostgreSQL server
    /// (the same SQL must hold for both databases).
    async fn states() -> (Backends, Vec<DeliveryState>) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open_sqlite(&dir.path().join("s.db")).await.unwrap();
        let postgres = flowspec_core::testing::TempPostgres::start();
        let mut pg = Store::open(&postgres.url()).await;
        // The server may accept TCP a moment before it accepts logins.
        for _ in 0..50 {
            if pg.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            pg = Store::open(&postgres.url()).await;
        }
        let pg = pg.expect("open the PostgreSQL store");
        assert_eq!(pg.backend(), flowspec_core::store::Backend::Postgres);
        let states = vec![
            DeliveryState::in_memory(),
            DeliveryState::in_store(sqlite).await.unwrap(),
            DeliveryState::in_store(pg).await.unwrap(),
        ];
        let backends = Backends {
            _dir: dir,
            _postgres: postgres,
        };
        (backends, states)
    }

    #[tokio::test]
    async fn should_drop_past_the_hourly_limit_and_report_the_drops_later() {
        let (_dir, states) = states().await;
        let limit = RateLimit {
            max_per_hour: Some(2),
            max_per_day: Some(100),
        };
        let hour = 3_600_000;
        let t0 = 1_700_000_000_000 - 1_700_000_000_000 % hour;
        for state in states {
            let send = Admission::Send {
                dropped_before: 0,
                since: None,
            };
            assert_eq!(state.acquire("slack", limit, t0).await.unwrap(), send);
            assert_eq!(state.acquire("slack", limit, t0 + 1).await.unwrap(), send);
            for _ in 0..3 {
                assert_eq!(
                    state.acquire("slack", limit, t0 + 2).await.unwrap(),
                    Admission::Drop {
                        period: Period::Hour,
                        limit: 2
                    }
                );
            }
            // Another integration has its own budget.
            assert_eq!(state.acquire("teams", limit, t0 + 2).await.unwrap(), send);
            // The next hour: sent, with the three drops reported once.
            assert_eq!(
                state.acquire("slack", limit, t0 + hour).await.unwrap(),
                Admission::Send {
                    dropped_before: 3,
                    since: Some(t0 + 2)
                }
            );
            assert_eq!(
                state.acquire("slack", limit, t0 + hour + 1).await.unwrap(),
                send
            );
        }
    }

    #[tokio::test]
    async fn should_not_count_against_the_hour_when_the_day_is_full() {
        let (_dir, states) = states().await;
        let limit = RateLimit {
            max_per_hour: Some(10),
            max_per_day: Some(1),
        };
        for state in states {
            assert!(matches!(
                state.acquire("x", limit, 0).await.unwrap(),
                Admission::Send { .. }
            ));
            assert_eq!(
                state.acquire("x", limit, 1).await.unwrap(),
                Admission::Drop {
                    period: Period::Day,
                    limit: 1
                }
            );
        }
    }

    #[tokio::test]
    async fn should_keep_disabled_integrations_and_dead_letters() {
        let (_dir, states) = states().await;
        for state in states {
            state.disable("webhooks.a", "410 Gone").await.unwrap();
            assert_eq!(
                state.disabled("webhooks.a").await.unwrap().unwrap().reason,
                "410 Gone"
            );
            assert!(state.enable("webhooks.a").await.unwrap());
            assert!(state.disabled("webhooks.a").await.unwrap().is_none());
            let letter = DeadLetter {
                id: "dlv_1".into(),
                integration: "webhooks.a".into(),
                event_id: "e".into(),
                event_type: "implement.failed".into(),
                notification: "{}".into(),
                error: "503".into(),
                attempts: 4,
                created_at: 5,
                replayed_at: None,
            };
            let older = DeadLetter {
                id: "dlv_0".into(),
                created_at: 1,
                ..letter.clone()
            };
            state.add_dead_letter(&letter).await.unwrap();
            state.add_dead_letter(&older).await.unwrap();
            state.add_dead_letter(&letter).await.unwrap();
            // Oldest first, and a letter added again replaces itself.
            assert_eq!(
                state.dead_letters(true).await.unwrap(),
                vec![older.clone(), letter.clone()]
            );
            state.mark_replayed("dlv_1").await.unwrap();
            assert_eq!(state.dead_letters(true).await.unwrap(), vec![older]);
            assert_eq!(state.dead_letters(false).await.unwrap().len(), 2);
        }
    }
}
