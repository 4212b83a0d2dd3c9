//! `flowspec events list | show | replay`, through `flowspec::events`; this file renders.

use std::sync::Arc;

use flowspec::events::{self, Replayed, Selection};
use serde_json::json;

use super::{Context, Failure, OrFail, interrupted, print_json};
use crate::cli::server::EventsCommand;
use crate::exit_code;
use flowspec::render::{self, TerminalReporter, safe};

use crate::output::{outln, write_str};

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
            } else {
                write_str(&render::events::list(cx.out, &list));
            }
            Ok(exit_code::OK)
        }
        EventsCommand::Show { id, json } => {
            let detail = events::show(&project, &id).await.or_fail(cx)?;
            if json {
                print_json(&detail)?;
                return Ok(exit_code::OK);
            }
            write_str(&render::events::detail(cx.out, &id, &detail));
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
