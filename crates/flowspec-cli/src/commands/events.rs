//! `flowspec events`: the server's durable queue — list, show, replay.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use flowspec_core::EmitOptions;
use flowspec_core::audit;
use flowspec_core::config::Vars;
use flowspec_core::engine::open_project_store;
use flowspec_server::queue::{DispatchOutcome, Queue, QueueStatus, RetrySchedule};
use flowspec_core::settings::Settings;
use serde_json::json;

use super::{Context, Failure, interrupted, print_json};
use crate::exit_code;
use crate::terminal::{TerminalReporter, table};

#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List queued events, newest first.
    List {
        /// Only this status.
        #[arg(long, value_enum, value_name = "S")]
        status: Option<StatusArg>,
        /// At most N events.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One event: its queue record, payload, hook runs and audit lines.
    Show {
        /// The event id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Dispatch an event again now (hooks that already succeeded are skipped unless --force).
    #[command(
        after_help = "Examples:\n  flowspec events replay github-6f1c…\n  flowspec events replay --failed\n  flowspec events replay ID --enqueue-only   # let a running `flowspec serve` do it"
    )]
    Replay {
        /// The event id.
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<String>,
        /// Every dead event.
        #[arg(long)]
        failed: bool,
        /// Run hooks even if they already succeeded for the event.
        #[arg(long)]
        force: bool,
        /// Only mark the event(s) pending, for a running server to dispatch.
        #[arg(long)]
        enqueue_only: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Pending,
    Running,
    Done,
    Dead,
}

impl From<StatusArg> for QueueStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => QueueStatus::Pending,
            StatusArg::Running => QueueStatus::Running,
            StatusArg::Done => QueueStatus::Done,
            StatusArg::Dead => QueueStatus::Dead,
        }
    }
}

pub async fn run(cx: &Context<'_>, command: EventsCommand) -> Result<u8, Failure> {
    match command {
        EventsCommand::List {
            status,
            limit,
            json,
        } => {
            let queue = open_queue(cx).await?;
            let events = queue
                .list(status.map(Into::into), limit)
                .await
                .map_err(|e| Failure::error(e.to_string()))?;
            if json {
                print_json(&events)?;
            } else if events.is_empty() {
                println!("no queued events");
            } else {
                let rows: Vec<Vec<String>> = events
                    .iter()
                    .map(|e| {
                        vec![
                            time(e.received_at),
                            e.event_id.clone(),
                            e.event_type.clone(),
                            e.source.clone(),
                            e.status.to_string(),
                            e.attempts.to_string(),
                            e.last_error.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(
                        &[
                            "RECEIVED (UTC)",
                            "EVENT ID",
                            "TYPE",
                            "SOURCE",
                            "STATUS",
                            "ATTEMPTS",
                            "LAST ERROR"
                        ],
                        &rows,
                        cx.out
                    )
                );
            }
            Ok(exit_code::OK)
        }
        EventsCommand::Show { id, json } => show(cx, &id, json).await,
        EventsCommand::Replay {
            id,
            failed,
            force,
            enqueue_only,
            json,
        } => replay(cx, id, failed, force, enqueue_only, json).await,
    }
}

async fn open_queue(cx: &Context<'_>) -> Result<Queue, Failure> {
    let project = cx.project()?;
    let settings = Settings::load(&project.settings_file).map_err(|e| cx.config_failure(e))?;
    let vars = Vars::from_process(Some(&project.dotenv_file))
        .map_err(|e| Failure::new(exit_code::CONFIG_INVALID, e.to_string()))?;
    let store = open_project_store(&project, &settings, &vars)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    Queue::open(store, RetrySchedule::default())
        .await
        .map_err(|e| Failure::error(e.to_string()))
}

async fn show(cx: &Context<'_>, id: &str, json: bool) -> Result<u8, Failure> {
    let queue = open_queue(cx).await?;
    let record = queue
        .get(id)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    let payload = queue
        .payload(id)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    let runs = queue
        .store()
        .hook_runs(id)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    let project = cx.project()?;
    let settings = Settings::load(&project.settings_file).map_err(|e| cx.config_failure(e))?;
    let audit_path = settings
        .audit
        .path
        .as_ref()
        .map_or(project.audit_log.clone(), |p| project.root.join(p));
    let audit_lines: Vec<audit::AuditRecord> = audit::read(&audit_path)
        .map_err(|e| Failure::error(e.to_string()))?
        .filter_map(Result::ok)
        .filter(|r| r.event_id == id)
        .collect();
    if record.is_none() && runs.is_empty() && audit_lines.is_empty() {
        return Err(Failure::new(
            exit_code::USAGE,
            format!("no event `{id}` in the queue, the store or the audit log"),
        ));
    }
    if json {
        let runs: Vec<_> = runs
            .iter()
            .map(|r| json!({"hook": r.hook, "status": r.status, "attempt": r.attempt, "exit_code": r.exit_code}))
            .collect();
        print_json(
            &json!({"queue": record, "event": payload, "hook_runs": runs, "audit": audit_lines}),
        )?;
        return Ok(exit_code::OK);
    }
    let p = cx.out;
    if let Some(r) = &record {
        println!(
            "{} {} ({}) from {}",
            p.bold("event"),
            r.event_id,
            r.event_type,
            r.source
        );
        println!(
            "  status {} after {} attempt(s), received {}",
            r.status,
            r.attempts,
            time(r.received_at)
        );
        if let Some(error) = &r.last_error {
            println!("  last error: {error}");
        }
    } else {
        println!(
            "{} {id} (not in the queue: emitted directly)",
            p.bold("event")
        );
    }
    if let Some(event) = &payload {
        println!("{}", p.bold("payload"));
        println!(
            "{}",
            serde_json::to_string_pretty(event).unwrap_or_default()
        );
    }
    if !runs.is_empty() {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    r.hook.clone(),
                    r.status.clone(),
                    r.attempt.to_string(),
                    r.exit_code.map_or("-".into(), |c| c.to_string()),
                ]
            })
            .collect();
        println!(
            "{}",
            table(&["HOOK", "STATUS", "ATTEMPTS", "EXIT"], &rows, p)
        );
    }
    Ok(exit_code::OK)
}

async fn replay(
    cx: &Context<'_>,
    id: Option<String>,
    failed: bool,
    force: bool,
    enqueue_only: bool,
    json: bool,
) -> Result<u8, Failure> {
    let queue = open_queue(cx).await?;
    let ids: Vec<String> = match id {
        Some(id) => vec![id],
        None if failed => queue
            .list(Some(QueueStatus::Dead), i64::MAX)
            .await
            .map_err(|e| Failure::error(e.to_string()))?
            .into_iter()
            .map(|e| e.event_id)
            .collect(),
        None => Vec::new(),
    };
    if ids.is_empty() {
        println!("nothing to replay");
        return Ok(exit_code::OK);
    }
    for id in &ids {
        queue
            .replay(id, force)
            .await
            .map_err(|e| Failure::new(exit_code::USAGE, e.to_string()))?;
    }
    if enqueue_only {
        if json {
            print_json(&json!({"enqueued": ids}))?;
        } else {
            println!(
                "{} event(s) marked pending; a running `flowspec serve` dispatches them within a second",
                ids.len()
            );
        }
        return Ok(exit_code::OK);
    }
    let painter = if json { cx.err } else { cx.out };
    let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
    let engine = cx.engine(cx.project()?, reporter, true).await?;
    let queue = Queue::open(
        engine
            .store()
            .cloned()
            .expect("a project engine has a store"),
        RetrySchedule::default(),
    )
    .await
    .map_err(|e| Failure::error(e.to_string()))?;
    let mut reports = Vec::new();
    let mut blocked = false;
    for id in &ids {
        let Some(lease) = queue
            .take(Some(id), 3_600_000)
            .await
            .map_err(|e| Failure::error(e.to_string()))?
        else {
            eprintln!("{id}: taken by a running server; it dispatches it");
            continue;
        };
        let options = EmitOptions::default().force(lease.force);
        let report = tokio::select! {
            report = engine.emit_with(lease.event.clone(), options) => report?,
            failure = interrupted() => return Err(failure),
        };
        let outcome = if report.failures().is_empty() && !report.is_blocked() {
            DispatchOutcome::Done
        } else {
            DispatchOutcome::Failed {
                error: report
                    .failures()
                    .iter()
                    .map(|h| format!("hook `{}` {}", h.hook, h.status))
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        };
        blocked |= report.is_blocked();
        let status = queue
            .complete(&lease, &outcome)
            .await
            .map_err(|e| Failure::error(e.to_string()))?;
        if !json {
            println!("{id}: {status}");
        }
        reports.push(report);
    }
    if json {
        print_json(&reports)?;
    }
    Ok(if blocked {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    })
}

fn time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}
