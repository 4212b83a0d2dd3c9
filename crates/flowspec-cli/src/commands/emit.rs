//! `flowspec emit`: dispatch one event and print what happened.

use std::sync::Arc;

use flowspec_core::{DispatchReport, EmitOptions, Engine, Event, HookReport, HookStatus};
use serde_json::json;

use super::{Context, Failure, OrFail, build_event, interrupted, print_json};
use crate::cli::EmitArgs;
use crate::exit_code;
use crate::output::outln;
use flowspec::render::{TerminalReporter, human_ms};

pub async fn run(cx: &Context<'_>, args: EmitArgs) -> Result<u8, Failure> {
    let event = build_event(cx, args.event_type.as_deref(), &args.event)?;
    let project = cx.project()?;
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
            print_plan(cx, &engine, &event, &groups);
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
        print_summary(cx, &report, started.elapsed().as_millis() as u64, audit);
    }
    Ok(if report.is_blocked() {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    })
}

fn print_plan(cx: &Context<'_>, engine: &Engine, event: &Event, groups: &[Vec<&str>]) {
    let p = cx.out;
    let note = p.dim("(dry run: nothing runs, nothing is recorded)");
    outln!(
        "{} {} {note}",
        p.bold("▶"),
        p.bold(event.event_type().as_str())
    );
    if groups.is_empty() {
        outln!("no hooks match `{}`", event.event_type());
        return;
    }
    for (i, group) in groups.iter().enumerate() {
        for (j, name) in group.iter().enumerate() {
            let hook = engine.hook(name).expect("planned hooks exist");
            let marker = match (group.len(), j) {
                (1, _) => "  ",
                (_, 0) => "┌ ",
                (n, j) if j + 1 == n => "└ ",
                _ => "│ ",
            };
            let step = if j == 0 {
                format!("{}.", i + 1)
            } else {
                String::new()
            };
            let limits = format!(
                "timeout {}s, fail_mode {}",
                hook.timeout().as_secs_f64(),
                hook.fail_mode().as_str()
            );
            outln!(
                "{step:>3} {marker}{name}  {}  {}",
                p.dim(&hook.action().summary()),
                p.dim(&limits)
            );
        }
    }
}

/// Every hook of the report and of its follow-up events.
fn all_hooks(report: &DispatchReport) -> Vec<&HookReport> {
    let mut all: Vec<&HookReport> = report.hooks.iter().collect();
    all.extend(report.follow_ups.iter().flat_map(all_hooks));
    all
}

/// The `fail_mode: stop` hook that blocked the event or one of its follow-ups.
fn blocker(report: &DispatchReport) -> Option<&str> {
    report
        .blocked_by
        .as_deref()
        .or_else(|| report.follow_ups.iter().find_map(blocker))
}

fn print_summary(cx: &Context<'_>, report: &DispatchReport, wall_ms: u64, audit: Option<String>) {
    let p = cx.out;
    let all = all_hooks(report);
    if all.is_empty() {
        outln!(
            "no hooks match `{}` {}",
            report.event_type,
            p.dim("(see `flowspec hooks list`)")
        );
        return;
    }
    let count = |s: HookStatus| all.iter().filter(|h| h.status == s).count();
    let mut parts = vec![format!("{} succeeded", count(HookStatus::Success))];
    for (status, word) in [
        (HookStatus::Failed, "failed"),
        (HookStatus::Timeout, "timed out"),
        (HookStatus::Skipped, "skipped"),
    ] {
        match count(status) {
            0 => {}
            n => parts.push(format!("{n} {word}")),
        }
    }
    let plural = if all.len() == 1 { "" } else { "s" };
    let mut line = format!(
        "{} hook{plural}: {} {}",
        all.len(),
        parts.join(", "),
        p.dim(&format!("in {}", human_ms(wall_ms)))
    );
    if let Some(audit) = audit {
        line.push_str(&p.dim(&format!(" · audit: {audit}")));
    }
    outln!("{line}");
    if let Some(blocked_by) = blocker(report) {
        let text = format!(
            "blocked: `{blocked_by}` failed and has fail_mode: stop (exit code {})",
            exit_code::HOOK_BLOCKED
        );
        outln!("{}", p.bold(&text));
    }
}
