//! `flowspec events`: the server's durable queue — list, show, replay.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use flowspec_core::EmitOptions;
use flowspec_core::audit;
use flowspec_server::queue::{DispatchOutcome, Queue, QueueStatus};
use serde_json::json;

use super::{Context, Failure, OrFail, interrupted, print_json};
use crate::cli::server::EventsCommand;
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{TerminalReporter, table};

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
                outln!("no queued events");
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
                outln!(
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
    cx.project()?.queue().await.or_fail(cx)
}

async fn show(cx: &Context<'_>, id: &str, json: bool) -> Result<u8, Failure> {
    let project = cx.project()?;
    let queue = project.queue().await.or_fail(cx)?;
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
    let audit_path = project.audit_path();
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
        outln!(
            "{} {} ({}) from {}",
            p.bold("event"),
            r.event_id,
            r.event_type,
            r.source
        );
        outln!(
            "  status {} after {} attempt(s), received {}",
            r.status,
            r.attempts,
            time(r.received_at)
        );
        if let Some(error) = &r.last_error {
            outln!("  last error: {error}");
        }
    } else {
        outln!(
            "{} {id} (not in the queue: emitted directly)",
            p.bold("event")
        );
    }
    if let Some(event) = &payload {
        outln!("{}", p.bold("payload"));
        outln!(
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
        outln!(
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
    let project = cx.project()?;
    let queue = project.queue().await.or_fail(cx)?;
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
        outln!("nothing to replay");
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
            outln!(
                "{} event(s) marked pending; a running `flowspec serve` dispatches them within a second",
                ids.len()
            );
        }
        return Ok(exit_code::OK);
    }
    let painter = if json { cx.err } else { cx.out };
    let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
    // The engine shares the project's store, so the queue above is its queue.
    let engine = cx.engine(&project, reporter, true).await?;
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
            outln!("{id}: {status}");
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
