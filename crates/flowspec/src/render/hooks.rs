//! Hooks for people: the hooks of a project, the plan of an event, and what a
//! dispatch did.

use flowspec_core::{DispatchReport, Engine, Event, HookReport, HookStatus};

use super::{Painter, human_ms, line, table};
use crate::hooks::HookSummary;

/// A table of hooks (`flowspec hooks list`): name, events, action, timeout, fail mode
/// and flags.
pub fn list(p: Painter, hooks: &[HookSummary]) -> String {
    let rows = hooks.iter().map(|h| {
        let flags: Vec<&str> = [(h.parallel, "parallel"), (!h.enabled, "disabled")]
            .into_iter()
            .filter_map(|(on, flag)| on.then_some(flag))
            .collect();
        let events: Vec<String> = h.events.iter().map(ToString::to_string).collect();
        vec![
            h.name.clone(),
            events.join(", "),
            h.summary.clone(),
            format!("{}s", h.timeout_secs),
            h.fail_mode.as_str().to_owned(),
            flags.join(","),
        ]
    });
    let header = ["NAME", "EVENTS", "ACTION", "TIMEOUT", "FAIL MODE", "FLAGS"];
    format!("{}\n", table(&header, rows, p))
}

/// The groups of hooks `event` would run, in order, with their action and limits
/// (`flowspec emit --dry-run`). `groups` come from [`Engine::plan`].
pub fn plan(p: Painter, engine: &Engine, event: &Event, groups: &[Vec<&str>]) -> String {
    let mut out = String::new();
    let note = p.dim("(dry run: nothing runs, nothing is recorded)");
    line!(
        out,
        "{} {} {note}",
        p.bold("▶"),
        p.bold(event.event_type().as_str())
    );
    if groups.is_empty() {
        line!(out, "no hooks match `{}`", event.event_type());
        return out;
    }
    for (i, group) in groups.iter().enumerate() {
        for (j, name) in group.iter().enumerate() {
            let Some(hook) = engine.hook(name) else {
                continue;
            };
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
            line!(
                out,
                "{step:>3} {marker}{name}  {}  {}",
                p.dim(&hook.action().summary()),
                p.dim(&limits)
            );
        }
    }
    out
}

/// Every hook of the report and of its follow-up events.
fn all_hooks(report: &DispatchReport) -> Vec<&HookReport> {
    let mut all: Vec<&HookReport> = report.hooks.iter().collect();
    all.extend(report.follow_ups.iter().flat_map(all_hooks));
    all
}

/// The `fail_mode: stop` hook that blocked the event or one of its follow-ups.
pub fn blocker(report: &DispatchReport) -> Option<&str> {
    report
        .blocked_by
        .as_deref()
        .or_else(|| report.follow_ups.iter().find_map(blocker))
}

/// `3 hooks: 2 succeeded, 1 failed in 1.2s · audit: .flowspec/audit.log`, or that no
/// hook matched; follow-up events' hooks count too.
pub fn dispatched(
    p: Painter,
    report: &DispatchReport,
    wall_ms: u64,
    audit: Option<&str>,
) -> String {
    let all = all_hooks(report);
    if all.is_empty() {
        return format!(
            "no hooks match `{}` {}\n",
            report.event_type,
            p.dim("(see `flowspec hooks list`)")
        );
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
    let mut first = format!(
        "{} hook{plural}: {} {}",
        all.len(),
        parts.join(", "),
        p.dim(&format!("in {}", human_ms(wall_ms)))
    );
    if let Some(audit) = audit {
        first.push_str(&p.dim(&format!(" · audit: {audit}")));
    }
    format!("{first}\n")
}
