//! `flowspec watch`: a trigger directory whose files become events (flowspec-watch).

use std::sync::Arc;
use std::time::Duration;

use flowspec::signals::Signals;
use flowspec_core::HookStatus;
use flowspec_watch::{
    FileOutcome, FileStatus, StartInfo, Summary, WatchError, WatchReporter, Watcher,
};
use serde_json::json;

use super::{Context, Failure};
use crate::cli::server::WatchArgs;
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{Painter, TerminalReporter, human_ms};

pub async fn run(cx: &Context<'_>, args: WatchArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let painter = if args.json { cx.err } else { cx.out };
    let hooks = Arc::new(TerminalReporter::new(painter, cx.global.quiet, args.json));
    let engine = cx.engine(&project, hooks, true).await?;
    let lines = Arc::new(Lines {
        painter: cx.out,
        err: cx.err,
        json: args.json,
        quiet: cx.global.quiet,
        shown_dir: cx.show_path(&std::path::absolute(&args.dir).unwrap_or(args.dir.clone())),
    });
    let mut builder = Watcher::builder(&args.dir)
        .poll(args.poll)
        .poll_interval(args.poll_interval)
        .workers(usize::from(args.workers))
        .reporter(lines.clone());
    if let Some(path) = &args.heartbeat {
        builder = builder
            .heartbeat(path)
            .heartbeat_interval(args.heartbeat_interval);
    }
    let watcher = builder.build(engine).map_err(watch_failure)?;

    // The first SIGTERM/SIGINT stops taking files; a second one stops running hooks.
    let signals = Signals::listen();
    let run = async {
        if args.once {
            watcher.run_once_until(signals.received(1)).await
        } else {
            watcher.run(signals.received(1)).await
        }
    };
    let summary = tokio::select! {
        result = run => result.map_err(watch_failure)?,
        () = signals.received(2) => {
            return Err(Failure::new(
                exit_code::INTERRUPTED,
                "interrupted again: running hooks were stopped; their files stay in the directory and are dispatched again at the next start",
            ));
        }
    };
    lines.stopped(&summary, args.once);
    Ok(if args.once && summary.failed > 0 {
        exit_code::WATCH_FILES_FAILED
    } else {
        exit_code::OK
    })
}

fn watch_failure(error: WatchError) -> Failure {
    Failure::error(error.to_string())
}

/// Prints the watcher's progress: a line per file, or JSON lines.
struct Lines {
    painter: Painter,
    err: Painter,
    json: bool,
    quiet: bool,
    shown_dir: String,
}

impl Lines {
    fn json_line(&self, value: serde_json::Value) {
        outln!("{value}");
    }

    fn stopped(&self, summary: &Summary, once: bool) {
        if self.json {
            self.json_line(json!({"type": "stopped", "summary": summary}));
            return;
        }
        if self.quiet {
            return;
        }
        let mut parts = vec![
            format!("{} processed", summary.processed),
            format!("{} failed", summary.failed),
        ];
        if summary.left_queued > 0 {
            parts.push(format!("{} left for the next start", summary.left_queued));
        }
        if summary.left_incomplete > 0 {
            parts.push(format!(
                "{} still being written, left for the next run",
                summary.left_incomplete
            ));
        }
        let word = if once { "done" } else { "stopped" };
        outln!("{word}: {}", parts.join(", "));
    }
}

impl WatchReporter for Lines {
    fn started(&self, info: &StartInfo) {
        if self.json {
            self.json_line(json!({"type": "started", "info": info}));
        }
        if let Some(reason) = &info.fallback_reason {
            eprintln!(
                "{}inotify cannot be used: {reason}; polling every {}",
                self.err.bold("warning: "),
                humantime::format_duration(Duration::from_millis(info.poll_interval_ms))
            );
        }
        if self.json || self.quiet {
            return;
        }
        let p = &self.painter;
        let mode = match info.mode {
            _ if info.once => "one pass".to_owned(),
            flowspec_watch::Mode::Inotify => "inotify".to_owned(),
            flowspec_watch::Mode::Polling => format!(
                "polling every {}",
                humantime::format_duration(Duration::from_millis(info.poll_interval_ms))
            ),
        };
        let waiting = match info.files_at_start {
            0 => String::new(),
            1 => ", 1 file waiting".to_owned(),
            n => format!(", {n} files waiting"),
        };
        let workers = if info.workers > 1 {
            format!(", {} workers", info.workers)
        } else {
            String::new()
        };
        let what = if info.once { "processing" } else { "watching" };
        outln!(
            "{} {what} {} ({mode}{workers}{waiting}) {}",
            p.bold("▶"),
            p.bold(&self.shown_dir),
            p.dim("· *.json and *.trigger → processed/ or failed/")
        );
    }

    fn file_done(&self, outcome: &FileOutcome) {
        if self.json {
            self.json_line(json!({"type": "file", "file": outcome}));
            return;
        }
        let p = &self.painter;
        let moved = outcome.moved_to.display().to_string();
        match (&outcome.status, &outcome.error) {
            (FileStatus::Processed, _) => {
                if self.quiet {
                    return;
                }
                let hooks = outcome
                    .report
                    .as_ref()
                    .map(|r| {
                        let n = r.hooks.len();
                        let ok = r
                            .hooks
                            .iter()
                            .filter(|h| h.status == HookStatus::Success)
                            .count();
                        let skipped = r
                            .hooks
                            .iter()
                            .filter(|h| h.status == HookStatus::Skipped)
                            .count();
                        let failed = n - ok - skipped;
                        let mut parts = vec![format!("{ok} ok")];
                        if failed > 0 {
                            parts.push(format!("{failed} failed (continue)"));
                        }
                        if skipped > 0 {
                            parts.push(format!("{skipped} skipped"));
                        }
                        match n {
                            0 => "no hooks match".to_owned(),
                            1 => format!("1 hook: {}", parts.join(", ")),
                            n => format!("{n} hooks: {}", parts.join(", ")),
                        }
                    })
                    .unwrap_or_default();
                outln!(
                    "{} {}  {}  {}  {} {}",
                    p.status(HookStatus::Success),
                    outcome.file,
                    outcome.event_type.as_deref().unwrap_or(""),
                    hooks,
                    p.dim(&format!("→ {moved}")),
                    p.dim(&human_ms(outcome.duration_ms)),
                );
            }
            (FileStatus::Failed, error) => {
                let reason = error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message))
                    .unwrap_or_default();
                outln!(
                    "{} {}  {}  {}",
                    p.status(HookStatus::Failed),
                    outcome.file,
                    reason,
                    p.dim(&format!("→ {moved} (reason in {moved}.error.json)")),
                );
            }
        }
    }

    fn warning(&self, message: &str) {
        if self.json {
            self.json_line(json!({"type": "warning", "message": message}));
        } else {
            eprintln!("{}{message}", self.err.bold("warning: "));
        }
    }

    fn stopping(&self, in_flight: usize) {
        if self.json {
            self.json_line(json!({"type": "stopping", "in_flight": in_flight}));
        } else if !self.quiet {
            let what = match in_flight {
                0 => "stopping".to_owned(),
                1 => "stopping: finishing the file being dispatched (signal again to stop it now)"
                    .to_owned(),
                n => format!(
                    "stopping: finishing the {n} files being dispatched (signal again to stop them now)"
                ),
            };
            eprintln!("{what}");
        }
    }
}
