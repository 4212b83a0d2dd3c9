//! `flowspec events list | show | replay`, through `flowspec::events`; this file renders.

use std::sync::Arc;

use flowspec::events::{self, Replayed, Selection};
use serde_json::json;

use super::{Context, Failure, OrFail, interrupted, print_json};
use crate::cli::server::EventsCommand;
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{TerminalReporter, safe, safe_lines, table, utc_time};

pub async fn run(cx: &Context<'_>, command: EventsCommand) -> Result<u8, Failure> {
    let project = cx.project()?;
    match command {
        EventsCommand::List {
            status,
            limit,
            json,
        } => {
            let list = events::list(&project, status, limit).await.or_fail(cx)?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                outln!("no queued events");
            } else {
                let rows = list.iter().map(|e| {
                    vec![
                        utc_time(e.received_at),
                        e.event_id.clone(),
                        e.event_type.clone(),
                        e.source.clone(),
                        e.status.to_string(),
                        e.attempts.to_string(),
                        e.last_error.clone().unwrap_or_default(),
                    ]
                });
                let header = [
                    "RECEIVED (UTC)",
                    "EVENT ID",
                    "TYPE",
                    "SOURCE",
                    "STATUS",
                    "ATTEMPTS",
                    "LAST ERROR",
                ];
                outln!("{}", table(&header, rows, cx.out));
            }
            Ok(exit_code::OK)
        }
        EventsCommand::Show { id, json } => {
            let detail = events::show(&project, &id).await.or_fail(cx)?;
            if json {
                print_json(&detail)?;
                return Ok(exit_code::OK);
            }
            let p = cx.out;
            match &detail.queue {
                Some(r) => {
                    let (id, kind, source) =
                        (safe(&r.event_id), safe(&r.event_type), safe(&r.source));
                    outln!("{} {id} ({kind}) from {source}", p.bold("event"));
                    outln!(
                        "  status {} after {} attempt(s), received {}",
                        r.status,
                        r.attempts,
                        utc_time(r.received_at)
                    );
                    if let Some(error) = &r.last_error {
                        outln!("  last error: {}", safe_lines(error));
                    }
                }
                None => outln!(
                    "{} {} (not in the queue: emitted directly)",
                    p.bold("event"),
                    safe(&id)
                ),
            }
            if let Some(event) = &detail.event {
                // serde_json escapes every control character inside strings.
                outln!(
                    "{}\n{}",
                    p.bold("payload"),
                    serde_json::to_string_pretty(event).unwrap_or_default()
                );
            }
            if !detail.hook_runs.is_empty() {
                let rows = detail.hook_runs.iter().map(|r| {
                    let exit = r.exit_code.map_or("-".into(), |c| c.to_string());
                    vec![
                        r.hook.clone(),
                        r.status.clone(),
                        r.attempt.to_string(),
                        exit,
                    ]
                });
                outln!(
                    "{}",
                    table(&["HOOK", "STATUS", "ATTEMPTS", "EXIT"], rows, p)
                );
            }
            Ok(exit_code::OK)
        }
        EventsCommand::Prune { limits, dead } => {
            let keep = limits.retention(&project.settings().state.retention, true);
            let pruned = events::prune(&project, &keep, dead).await.or_fail(cx)?;
            if limits.json {
                print_json(&pruned)?;
            } else {
                outln!(
                    "removed {} finished event(s) and {} hook run(s)",
                    pruned.events,
                    pruned.hook_runs
                );
            }
            Ok(exit_code::OK)
        }
        EventsCommand::Replay {
            id,
            failed,
            force,
            enqueue_only,
            json,
        } => {
            let selection = match id {
                Some(id) => Selection::One(id),
                None if failed => Selection::Dead,
                None => unreachable!("clap requires an id unless --failed"),
            };
            let ids = events::mark_for_replay(&project, selection, force)
                .await
                .or_fail(cx)?;
            if ids.is_empty() {
                outln!("nothing to replay");
                return Ok(exit_code::OK);
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
            // The engine shares the project's store, so the queue is its queue.
            let engine = cx.engine(&project, reporter, true).await?;
            let mut reports = Vec::new();
            for id in &ids {
                let replayed = tokio::select! {
                    replayed = events::dispatch(&project, &engine, id) => replayed.or_fail(cx)?,
                    failure = interrupted() => return Err(failure),
                };
                match replayed {
                    Replayed::TakenElsewhere => {
                        eprintln!("{}: taken by a running server; it dispatches it", safe(id));
                    }
                    Replayed::Dispatched { status, report } => {
                        if !json {
                            outln!("{}: {status}", safe(id));
                        }
                        reports.push(*report);
                    }
                }
            }
            if json {
                print_json(&reports)?;
            }
            let blocked = reports.iter().any(|r| r.is_blocked());
            Ok(if blocked {
                exit_code::HOOK_BLOCKED
            } else {
                exit_code::OK
            })
        }
    }
}
