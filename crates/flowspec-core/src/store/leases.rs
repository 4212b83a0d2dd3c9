//! Short, renewed leases, for processes that share a store with other machines.
//!
//! A claim's lease normally covers the hook's whole run (its timeout plus margins), so a
//! claim needs no upkeep. On a shared PostgreSQL, that would leave an event of a
//! receiver on a dead *machine* (where its pid cannot be checked) locked for as long as
//! its longest hook may run. A long-running process can instead take short leases and
//! renew them: [`Store::use_renewed_leases`] makes claims and concurrency slots last
//! `lease` from their last renewal, and [`Store::renew_leases`] extends every lease
//! this process holds. A process that stops renewing (killed, frozen, cut off) loses its
//! leases after `lease`, and another one takes its work over.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::{Store, StoreError, now_ms};

/// What [`Store::lease_state`] reports (for a readiness probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseState {
    /// The lease length, when this process renews its leases.
    pub lease: Option<Duration>,
    /// When the leases were last renewed (Unix ms), if ever.
    pub renewed_at: Option<i64>,
}

impl LeaseState {
    /// Whether renewals stopped for longer than a lease: other processes may take this
    /// one's work over, so it should not take more.
    pub fn lapsed(&self, now_ms: i64) -> bool {
        match (self.lease, self.renewed_at) {
            (Some(lease), Some(at)) => now_ms - at > lease.as_millis() as i64,
            _ => false,
        }
    }
}

/// Shared between the clones of a store.
#[derive(Debug, Default)]
pub(super) struct Leases {
    /// The renewed lease in ms; 0 when leases cover whole runs.
    lease_ms: AtomicI64,
    /// The last successful renewal (Unix ms); 0 before the first.
    renewed_at: AtomicI64,
}

impl Leases {
    pub(super) fn new() -> Arc<Leases> {
        Arc::default()
    }

    /// The lease to take: the renewed one if set, else `whole_run`.
    pub(super) fn lease_for(&self, whole_run: Duration) -> Duration {
        match self.lease_ms.load(Ordering::Relaxed) {
            0 => whole_run,
            ms => Duration::from_millis(ms as u64),
        }
    }
}

impl Store {
    /// Makes claims and concurrency slots taken from now on last `lease` instead of a
    /// hook's whole run; call [`Store::renew_leases`] well within `lease` (a third of
    /// it) for as long as the process runs.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use flowspec_core::store::Store;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open_sqlite(&dir.path().join("state.db")).await.unwrap();
    /// store.use_renewed_leases(Duration::from_secs(30));
    /// store.renew_leases().await.unwrap();
    /// assert_eq!(store.lease_state().lease, Some(Duration::from_secs(30)));
    /// # });
    /// ```
    pub fn use_renewed_leases(&self, lease: Duration) {
        let ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1);
        self.leases.lease_ms.store(ms, Ordering::Relaxed);
    }

    /// Extends the leases of every claim and concurrency slot this process holds to
    /// `lease` from now. Returns how many were extended.
    pub async fn renew_leases(&self) -> Result<u64, StoreError> {
        let lease_ms = self.leases.lease_ms.load(Ordering::Relaxed);
        if lease_ms == 0 {
            return Ok(0);
        }
        let now = now_ms();
        let until = now.saturating_add(lease_ms);
        let mut conn = self.conn().await?;
        let claims = sqlx::query(
            "UPDATE hook_runs SET lease_until = $1 WHERE owner = $2 AND status = 'running'",
        )
        .bind(until)
        .bind(&self.owner.id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        let slots = sqlx::query("UPDATE hook_slots SET lease_until = $1 WHERE owner = $2")
            .bind(until)
            .bind(&self.owner.id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        self.leases.renewed_at.store(now, Ordering::Relaxed);
        Ok(claims + slots)
    }

    /// The lease length and the last renewal.
    pub fn lease_state(&self) -> LeaseState {
        let lease_ms = self.leases.lease_ms.load(Ordering::Relaxed);
        let renewed_at = self.leases.renewed_at.load(Ordering::Relaxed);
        LeaseState {
            lease: (lease_ms > 0).then(|| Duration::from_millis(lease_ms as u64)),
            renewed_at: (renewed_at > 0).then_some(renewed_at),
        }
    }
}
