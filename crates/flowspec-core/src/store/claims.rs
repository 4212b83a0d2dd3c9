//! Claims: before a hook runs for an event, the pair (event id, hook) is claimed with an
//! insert only one process can win; its result is recorded when it ends. On an SQLite
//! file each statement runs in-line ([`Store::inline`]); on PostgreSQL through sqlx.

use std::time::Duration;

use rusqlite::OptionalExtension;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Claim, ClaimToken, HookRunRecord, Store, StoreError, now_ms, parse_status};
use crate::report::HookStatus;

/// A claim row as read.
struct Seen {
    status: String,
    attempt: u32,
    owner: String,
    lease_until: i64,
}

const INSERT: &str =
    "INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at)
     VALUES ($1, $2, 'running', 1, $3, $4, $5) ON CONFLICT DO NOTHING";
const SELECT: &str = "SELECT status, attempt, owner, lease_until FROM hook_runs WHERE event_id = $1 AND hook_name = $2";
const TAKE_OVER: &str =
    "UPDATE hook_runs SET status = 'running', attempt = $1, owner = $2, lease_until = $3,
            started_at = $4, finished_at = NULL, exit_code = NULL
     WHERE event_id = $5 AND hook_name = $6 AND status = $7 AND owner = $8 AND attempt = $9";
const FINISH: &str =
    "UPDATE hook_runs SET status = $1, exit_code = $2, finished_at = $3, lease_until = 0
     WHERE event_id = $4 AND hook_name = $5 AND owner = $6 AND attempt = $7";

impl Store {
    /// Claims (event id, hook) for a run lasting at most `lease`.
    ///
    /// With `force`, a hook that already succeeded is claimed again. A claim held by
    /// another live process is waited for (up to its lease), never run twice.
    pub async fn claim(
        &self,
        event_id: &str,
        hook: &str,
        lease: Duration,
        force: bool,
    ) -> Result<Claim, StoreError> {
        let lease = self.leases.lease_for(lease);
        let mut waited = false;
        let mut delay = Duration::from_millis(10);
        loop {
            let now = now_ms();
            let until = now + lease.as_millis() as i64;
            if self.insert_claim(event_id, hook, now, until).await? {
                return Ok(Claim::Run(self.token(event_id, hook, 1)));
            }
            let Some(seen) = self.read_claim(event_id, hook).await? else {
                continue; // Deleted in between; try the insert again.
            };
            let running = seen.status == "running";
            if running && seen.lease_until > now && self.owner_alive(&seen.owner) {
                #[cfg(test)]
                if !waited {
                    self.claim_waits.notify_one();
                }
                waited = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(250));
                continue;
            }
            if waited && !running {
                return Ok(Claim::RanElsewhere(parse_status(&seen.status)));
            }
            if seen.status == "success" && !force {
                return Ok(Claim::AlreadySucceeded);
            }
            // Failed, timed out, abandoned by a dead owner, or forced: take it over,
            // unless another process does so first (compare-and-swap on the row).
            if self.take_over(event_id, hook, &seen, now, until).await? {
                return Ok(Claim::Run(self.token(event_id, hook, seen.attempt + 1)));
            }
        }
    }

    /// Records the result of a claimed run.
    pub async fn finish(
        &self,
        token: &ClaimToken,
        status: HookStatus,
        exit_code: Option<i32>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let exit_code = exit_code.map(i64::from);
        let inline = self
            .inline(|c| {
                c.prepare_cached(FINISH)?.execute(rusqlite::params![
                    status.as_str(),
                    exit_code,
                    now,
                    token.event_id,
                    token.hook,
                    self.owner.id,
                    token.attempt as i64
                ])
            })
            .await;
        if let Some(result) = inline {
            return result.map(drop);
        }
        sqlx::query(FINISH)
            .bind(status.as_str())
            .bind(exit_code)
            .bind(now)
            .bind(&token.event_id)
            .bind(&token.hook)
            .bind(&self.owner.id)
            .bind(token.attempt as i64)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// The recorded runs of an event, by hook name.
    pub async fn hook_runs(&self, event_id: &str) -> Result<Vec<HookRunRecord>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT hook_name, status, attempt, exit_code FROM hook_runs WHERE event_id = $1 ORDER BY hook_name",
        )
        .bind(event_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HookRunRecord {
                    hook: row.try_get("hook_name")?,
                    status: row.try_get("status")?,
                    attempt: row.try_get::<i64, _>("attempt")? as u32,
                    exit_code: row
                        .try_get::<Option<i64>, _>("exit_code")?
                        .map(|c| c as i32),
                })
            })
            .collect()
    }

    /// The first claim of the pair: true when this process won it.
    async fn insert_claim(
        &self,
        event_id: &str,
        hook: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let inline = self
            .inline(|c| {
                c.prepare_cached(INSERT)?.execute(rusqlite::params![
                    event_id,
                    hook,
                    self.owner.id,
                    until,
                    now
                ])
            })
            .await;
        let inserted = match inline {
            Some(result) => result? as u64,
            None => sqlx::query(INSERT)
                .bind(event_id)
                .bind(hook)
                .bind(&self.owner.id)
                .bind(until)
                .bind(now)
                .execute(&mut *self.conn().await?)
                .await?
                .rows_affected(),
        };
        Ok(inserted == 1)
    }

    async fn read_claim(&self, event_id: &str, hook: &str) -> Result<Option<Seen>, StoreError> {
        let inline = self
            .inline(|c| {
                c.prepare_cached(SELECT)?
                    .query_row(rusqlite::params![event_id, hook], |row| {
                        Ok(Seen {
                            status: row.get(0)?,
                            attempt: row.get::<_, i64>(1)? as u32,
                            owner: row.get(2)?,
                            lease_until: row.get(3)?,
                        })
                    })
                    .optional()
            })
            .await;
        if let Some(result) = inline {
            return result;
        }
        let row = sqlx::query(SELECT)
            .bind(event_id)
            .bind(hook)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(|row| {
            Ok(Seen {
                status: row.try_get("status")?,
                attempt: row.try_get::<i64, _>("attempt")? as u32,
                owner: row.try_get("owner")?,
                lease_until: row.try_get("lease_until")?,
            })
        })
        .transpose()
    }

    /// Takes a claim over from what was `seen`, if it is still that.
    async fn take_over(
        &self,
        event_id: &str,
        hook: &str,
        seen: &Seen,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let next = seen.attempt as i64 + 1;
        let inline = self
            .inline(|c| {
                c.prepare_cached(TAKE_OVER)?.execute(rusqlite::params![
                    next,
                    self.owner.id,
                    until,
                    now,
                    event_id,
                    hook,
                    seen.status,
                    seen.owner,
                    seen.attempt as i64
                ])
            })
            .await;
        let taken = match inline {
            Some(result) => result? as u64,
            None => sqlx::query(TAKE_OVER)
                .bind(next)
                .bind(&self.owner.id)
                .bind(until)
                .bind(now)
                .bind(event_id)
                .bind(hook)
                .bind(&seen.status)
                .bind(&seen.owner)
                .bind(seen.attempt as i64)
                .execute(&mut *self.conn().await?)
                .await?
                .rows_affected(),
        };
        Ok(taken == 1)
    }
}
