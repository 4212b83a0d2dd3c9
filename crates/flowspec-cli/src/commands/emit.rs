//! `flowspec emit`: dispatch one event and print what happened.

use std::sync::Arc;

use flowspec_core::{DispatchReport, EmitOptions, HookStatus};
use serde_json::json;

use super::event_input::build_event;
use super::{Context, Failure, interrupted, print_json};
use crate::cli::EmitArgs;
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{TerminalReporter, human_ms};

pub async fn run(cx: &Context<'_>, args: EmitArgs) -> Result<u8, Failure> {
    let event = build_event(args.event_type.as_deref(), &args.event)?;
    let project = cx.project()?;
    if !project.has_hooks() {
        // Nothing can run: no store or audit log is opened, nothing is recorded.
        let hooks_file = cx.show_path(&project.paths().hooks_file);
        if args.json {
            print_json(&json!({"event": event, "hooks": [], "no_hooks": true}))?;
        } else if !cx.global.quiet {
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

    let options = EmitOptions::default().force(args.force);
    let started = std::time::Instant::now();
    let report = tokio::select! {
        report = engine.emit_with(event, options) => report?,
        failure = interrupted() => return Err(failure),
    };
    if args.json {
        print_json(&report)?;
    } else if !cx.global.quiet {
        let wall_ms = started.elapsed().as_millis() as u64;
        print_summary(
            cx,
            &report,
            wall_ms,
            engine.audit_path().map(|p| cx.show_path(p)),
        );
    }
    Ok(if report.is_blocked() {
        exit_code::HOOK_BLOCKED
    } else {
        exit_code::OK
    })
}

fn print_plan(
    cx: &Context<'_>,
    engine: &flowspec_core::Engine,
    event: &flowspec_core::Event,
    groups: &[Vec<&str>],
) {
    let p = cx.out;
    outln!(
        "{} {} {}",
        p.bold("▶"),
        p.bold(event.event_type().as_str()),
        p.dim("(dry run: nothing runs, nothing is recorded)")
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
            outln!(
                "{step:>3} {marker}{name}  {}  {}",
                p.dim(&hook.action().summary()),
                p.dim(&format!(
                    "timeout {}s, fail_mode {}",
                    hook.timeout().as_secs_f64(),
                    hook.fail_mode().as_str()
                ))
            );
        }
    }
}

fn print_summary(cx: &Context<'_>, report: &DispatchReport, wall_ms: u64, audit: Option<String>) {
    let p = cx.out;
    let mut all = Vec::new();
    collect(report, &mut all);
    if all.is_empty() {
        outln!(
            "no hooks match `{}` {}",
            report.event_type,
            p.dim("(see `flowspec hooks list`)")
        );
        return;
    }
    let count = |s: HookStatus| all.iter().filter(|(_, h)| h.status == s).count();
    let mut parts = vec![format!("{} succeeded", count(HookStatus::Success))];
    for (status, word) in [
        (HookStatus::Failed, "failed"),
        (HookStatus::Timeout, "timed out"),
        (HookStatus::Skipped, "skipped"),
    ] {
        let n = count(status);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut line = format!(
        "{} hook{}: {} {}",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        parts.join(", "),
        p.dim(&format!("in {}", human_ms(wall_ms)))
    );
    if let Some(audit) = audit {
        line.push_str(&p.dim(&format!(" · audit: {audit}")));
    }
    outln!("{line}");
    if let Some(blocked_by) = find_blocker(report) {
        outln!(
            "{}",
            p.bold(&format!(
                "blocked: `{blocked_by}` failed and has fail_mode: stop (exit code {})",
                exit_code::HOOK_BLOCKED
            ))
        );
    }
}

fn collect<'a>(
    report: &'a DispatchReport,
    out: &mut Vec<(&'a str, &'a flowspec_core::HookReport)>,
) {
    for hook in &report.hooks {
        out.push((report.event_type.as_str(), hook));
    }
    for follow_up in &report.follow_ups {
        collect(follow_up, out);
    }
}

fn find_blocker(report: &DispatchReport) -> Option<&str> {
    report
        .blocked_by
        .as_deref()
        .or_else(|| report.follow_ups.iter().find_map(find_blocker))
}
