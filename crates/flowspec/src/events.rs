//! The durable event queue of `flowspec serve`, from outside the server: list the
//! queued events, show one with its payload, hook runs and audit lines, and replay
//! events (mark them pending for a running server, or dispatch them here).
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! use flowspec::events::{self, Replayed, Selection};
//!
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let ids = events::mark_for_replay(&project, Selection::Dead, false).await?;
//! let engine = project.engine(std::sync::Arc::new(flowspec::SilentReporter)).await?;
//! for id in &ids {
//!     if let Replayed::Dispatched { status, .. } = events::dispatch(&project, &engine, id).await? {
//!         println!("{id}: {status}");
//!     }
//! }
//! # Ok(()) }
//! ```

use flowspec_core::audit::{self, AuditRecord};
use flowspec_core::{DispatchReport, EmitOptions, Engine, Event};
use flowspec_server::queue::{DispatchOutcome, QueueStatus, QueuedEvent};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::project::Project;

/// How long a replay here holds an event before another process may take it.
const LEASE_MS: i64 = 60 * 60 * 1000;

/// The queued events, newest first: those of `status` (all when `None`), at most `limit`.
pub async fn list(
    project: &Project,
    status: Option<QueueStatus>,
    limit: i64,
) -> Result<Vec<QueuedEvent>> {
    Ok(project.queue().await?.list(status, limit).await?)
}

/// One hook's runs for an event, from the state store.
#[derive(Clone, Debug, Serialize)]
pub struct HookRun {
    /// The hook.
    pub hook: String,
    /// `running`, `success`, `failed` or `timeout`.
    pub status: String,
    /// Attempts so far.
    pub attempt: u32,
    /// The exit code of the last attempt.
    pub exit_code: Option<i32>,
}

/// Everything known about one event.
#[derive(Clone, Debug, Serialize)]
pub struct EventDetail {
    /// Its queue record (none when it was emitted directly, not received by the server).
    pub queue: Option<QueuedEvent>,
    /// The event as received.
    pub event: Option<Event>,
    /// Its hook runs.
    pub hook_runs: Vec<HookRun>,
    /// Its audit lines.
    pub audit: Vec<AuditRecord>,
}

/// Everything known about event `id`: its queue record, payload, hook runs and audit
/// lines; a usage error when none of them knows it.
pub async fn show(project: &Project, id: &str) -> Result<EventDetail> {
    let queue = project.queue().await?;
    let record = queue.get(id).await?;
    let event = queue.payload(id).await?;
    let hook_runs: Vec<HookRun> = queue
        .store()
        .hook_runs(id)
        .await?
        .into_iter()
        .map(|r| HookRun {
            hook: r.hook,
            status: r.status,
            attempt: r.attempt,
            exit_code: r.exit_code,
        })
        .collect();
    let audit: Vec<AuditRecord> = audit::read(&project.audit_path())
        .map_err(|e| Error::Build(e.into()))?
        .filter_map(std::result::Result::ok)
        .filter(|r| r.event_id == id)
        .collect();
    if record.is_none() && hook_runs.is_empty() && audit.is_empty() {
        return Err(Error::Usage(format!(
            "no event `{id}` in the queue, the store or the audit log"
        )));
    }
    Ok(EventDetail {
        queue: record,
        event,
        hook_runs,
        audit,
    })
}

/// Which events to replay.
#[derive(Clone, Debug)]
pub enum Selection {
    /// This event.
    One(String),
    /// Every dead event.
    Dead,
}

/// Marks the selected events pending again (with `force`, their succeeded hooks run
/// again too) and returns their ids. A running server dispatches them; or call
/// [`dispatch`] for each.
pub async fn mark_for_replay(
    project: &Project,
    selection: Selection,
    force: bool,
) -> Result<Vec<String>> {
    let queue = project.queue().await?;
    let ids: Vec<String> = match selection {
        Selection::One(id) => vec![id],
        Selection::Dead => queue
            .list(Some(QueueStatus::Dead), i64::MAX)
            .await?
            .into_iter()
            .map(|e| e.event_id)
            .collect(),
    };
    for id in &ids {
        queue
            .replay(id, force)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
    }
    Ok(ids)
}

/// What [`dispatch`] did with an event.
#[derive(Debug)]
pub enum Replayed {
    /// It ran here; `status` is where the queue put it after.
    Dispatched {
        /// Done, pending again (to retry) or dead.
        status: QueueStatus,
        /// The dispatch.
        report: Box<DispatchReport>,
    },
    /// A running server holds it and dispatches it.
    TakenElsewhere,
}

/// Takes event `id` from the queue and dispatches it through `engine` (which must
/// use this project's store), then records the outcome in the queue as the server
/// would.
pub async fn dispatch(project: &Project, engine: &Engine, id: &str) -> Result<Replayed> {
    let queue = project.queue().await?;
    let Some(lease) = queue.take(Some(id), LEASE_MS).await? else {
        return Ok(Replayed::TakenElsewhere);
    };
    let options = EmitOptions::default().force(lease.force);
    let report = engine.emit_with(lease.event.clone(), options).await?;
    let outcome = if report.failures().is_empty() && !report.is_blocked() {
        DispatchOutcome::Done
    } else {
        let failed: Vec<String> = report
            .failures()
            .iter()
            .map(|h| format!("hook `{}` {}", h.hook, h.status))
            .collect();
        DispatchOutcome::Failed {
            error: failed.join("; "),
        }
    };
    let status = queue.complete(&lease, &outcome).await?;
    Ok(Replayed::Dispatched {
        status,
        report: Box::new(report),
    })
}

/// Removes finished events (and their hook runs) beyond `retention`, as
/// `flowspec serve` does every hour; with `dead`, dead letters too.
///
/// ```no_run
/// # async fn run() -> flowspec::Result<()> {
/// let project = flowspec::Project::discover(std::path::Path::new("."))?;
/// let keep = project.settings().state.retention.clone();
/// let pruned = flowspec::events::prune(&project, &keep, false).await?;
/// println!("{} events removed", pruned.events);
/// # Ok(()) }
/// ```
pub async fn prune(
    project: &Project,
    retention: &flowspec_core::retention::Retention,
    dead: bool,
) -> Result<flowspec_core::retention::Pruned> {
    use flowspec_server::queue::PruneScope;
    let scope = if dead {
        PruneScope::DoneAndDead
    } else {
        PruneScope::Done
    };
    Ok(project.queue().await?.prune(retention, scope).await?)
}
