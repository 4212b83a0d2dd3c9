//! `flowspec emit`: dispatch one event and print what happened.

use std::sync::Arc;

use flowspec::render::{self, TerminalReporter};
use flowspec_core::EmitOptions;
use serde_json::json;

use super::{Context, Failure, OrFail, build_event, interrupted, print_json};
use crate::cli::EmitArgs;
use crate::exit_code;
use crate::output::{outln, write_str};

pub async fn run(cx: &Context<'_>, args: EmitArgs) -> Result<u8, Failure> {
    let event = build_event(cx, args.event_type.as_deref(), &args.event)?;
    let project = cx.project()?;
    if args.publish {
        return publish(cx, &project, event, args.json).await;
    }
    if !project.has_hooks() {
        // Nothing can run: no store or audit log is opened, nothing is recorded.
        if args.json {
            print_json(&json!({"event": event, "hooks": [], "no_hooks": true}))?;
        } else if !cx.global.quiet {
            let hooks_file = cx.show_path(&project.paths().hooks_file);
            outln!(
                "no hooks: {hooks_file} does not exist, so `{}` runs nothing",
                event.event_type()
            );
        }
        return Ok(exit_code::OK);
    }
    let quiet = cx.global.quiet || args.dry_run;
    let painter = if args.json { cx.err } else { cx.out };
    let reporter = Arc::new(TerminalReporter::new(painter, quiet, args.json));
    let engine = cx.engine(&project, reporter, !args.dry_run).await?;

    if args.dry_run {
        let groups: Vec<Vec<&str>> = engine
            .plan(&event)
            .iter()
            .map(|group| group.iter().map(|h| h.name()).collect())
            .collect();
        if args.json {
            print_json(&json!({"dry_run": true, "event": event, "groups": groups}))?;
        } else {
            write_str(&render::hooks::plan(cx.out, &engine, &event, &groups));
        }
        return Ok(exit_code::OK);
    }

    let started = std::time::Instant::now();
    let report = tokio::select! {
        report = engine.emit_with(event, EmitOptions::default().force(args.force)) => report.or_fail(cx)?,
        failure = interrupted() => return Err(failure),
    };
    if args.json {
        print_json(&report)?;
    } else if !cx.global.quiet {
        let audit = engine.audit_path().map(|p| cx.show_path(p));
        let wall_ms = started.elapsed().as_millis() as u64;
        write_str(&render::hooks::dispatched(
            cx.out,
            &report,
            wall_ms,
            audit.as_deref(),
        ));
        if let Some(blocked_by) = render::hooks::blocker(&report) {
            let text = format!(
                "blocked: `{blocked_by}` failed and has fail_mode: stop (exit code {})",
                exit_code::HOOK_BLOCKED
            );
            outln!("{}", cx.out.bold(&text));
        }
    }
    Ok(if report.is_blocked() {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    })
}

/// `emit --publish`: the event goes to the transport's stream instead of local hooks.
async fn publish(
    cx: &Context<'_>,
    project: &flowspec::Project,
    event: flowspec::Event,
    json: bool,
) -> Result<u8, Failure> {
    let transport = project.transport().or_fail(cx)?;
    let entry = transport
        .publish_events(std::slice::from_ref(&event))
        .await
        .or_fail(cx)?
        .remove(0);
    let target = transport.config().target();
    if json {
        print_json(&json!({"event": event, "published": {"entry": entry, "target": target}}))?;
    } else if !cx.global.quiet {
        outln!(
            "published `{}` (event id {}) to {target} as entry {entry}",
            event.event_type(),
            event.id()
        );
    }
    Ok(exit_code::OK)
}
