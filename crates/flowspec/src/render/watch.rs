//! The trigger-directory watcher for people: a line per file, or JSON lines.

use std::sync::Arc;
use std::time::Duration;

use flowspec_watch::{FileOutcome, FileStatus, Mode, StartInfo, Summary, WatchReporter};
use serde_json::json;

use super::{Console, Painter, human_ms};
use crate::HookStatus;

/// How a [`WatchLines`] shows the watcher.
#[derive(Clone, Copy, Debug)]
pub struct WatchStyle {
    /// Colours of stdout.
    pub out: Painter,
    /// Colours of stderr.
    pub err: Painter,
    /// JSON lines on stdout instead of text.
    pub json: bool,
    /// Only warnings and failed files.
    pub quiet: bool,
}

/// Shows the watcher's progress: a line per file on the console (JSON lines with
/// `json`), warnings on stderr.
pub struct WatchLines {
    console: Arc<dyn Console>,
    style: WatchStyle,
    shown_dir: String,
}

impl WatchLines {
    /// Lines for a watcher of the directory shown as `shown_dir`.
    pub fn new(console: Arc<dyn Console>, style: WatchStyle, shown_dir: String) -> Self {
        WatchLines {
            console,
            style,
            shown_dir,
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        self.console.line(&value.to_string());
    }

    /// The closing line: what was processed, failed and left for the next start.
    pub fn stopped(&self, summary: &Summary, once: bool) {
        if self.style.json {
            self.json_line(json!({"type": "stopped", "summary": summary}));
            return;
        }
        if self.style.quiet {
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
        self.console.line(&format!("{word}: {}", parts.join(", ")));
    }
}

fn every(ms: u64) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_millis(ms))
}

/// `1 hook: 1 ok`, `3 hooks: 1 ok, 1 failed (continue), 1 skipped`, `no hooks match`.
fn hooks_summary(outcome: &FileOutcome) -> String {
    if let Some(entry) = &outcome.published {
        return format!("published as {entry}");
    }
    let Some(r) = outcome.report.as_ref() else {
        return String::new();
    };
    let count = |status| r.hooks.iter().filter(|h| h.status == status).count();
    let (n, ok, skipped) = (
        r.hooks.len(),
        count(HookStatus::Success),
        count(HookStatus::Skipped),
    );
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
}

impl WatchReporter for WatchLines {
    fn started(&self, info: &StartInfo) {
        let s = self.style;
        if s.json {
            self.json_line(json!({"type": "started", "info": info}));
        }
        if let Some(reason) = &info.fallback_reason {
            eprintln!(
                "{}inotify cannot be used: {reason}; polling every {}",
                s.err.bold("warning: "),
                every(info.poll_interval_ms)
            );
        }
        if s.json || s.quiet {
            return;
        }
        let p = &s.out;
        let mode = match info.mode {
            _ if info.once => "one pass".to_owned(),
            Mode::Inotify => "inotify".to_owned(),
            Mode::Polling => format!("polling every {}", every(info.poll_interval_ms)),
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
        let to = match &info.publish_target {
            Some(target) => format!(" · events published to {target}, no local hooks"),
            None => String::new(),
        };
        self.console.line(&format!(
            "{} {what} {} ({mode}{workers}{waiting}) {}",
            p.bold("▶"),
            p.bold(&self.shown_dir),
            p.dim(&format!(
                "· *.json and *.trigger → processed/ or failed/{to}"
            ))
        ));
    }

    fn file_done(&self, outcome: &FileOutcome) {
        let s = self.style;
        if s.json {
            self.json_line(json!({"type": "file", "file": outcome}));
            return;
        }
        let p = &s.out;
        let moved = outcome.moved_to.display().to_string();
        match (&outcome.status, &outcome.error) {
            (FileStatus::Processed, _) => {
                if s.quiet {
                    return;
                }
                self.console.line(&format!(
                    "{} {}  {}  {}  {} {}",
                    p.status(HookStatus::Success),
                    outcome.file,
                    outcome.event_type.as_deref().unwrap_or(""),
                    hooks_summary(outcome),
                    p.dim(&format!("→ {moved}")),
                    p.dim(&human_ms(outcome.duration_ms)),
                ));
            }
            (FileStatus::Failed, error) => {
                let reason = error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message))
                    .unwrap_or_default();
                self.console.line(&format!(
                    "{} {}  {}  {}",
                    p.status(HookStatus::Failed),
                    outcome.file,
                    reason,
                    p.dim(&format!("→ {moved} (reason in {moved}.error.json)")),
                ));
            }
        }
    }

    fn warning(&self, message: &str) {
        if self.style.json {
            self.json_line(json!({"type": "warning", "message": message}));
        } else {
            eprintln!("{}{message}", self.style.err.bold("warning: "));
        }
    }

    fn stopping(&self, in_flight: usize) {
        if self.style.json {
            self.json_line(json!({"type": "stopping", "in_flight": in_flight}));
        } else if !self.style.quiet {
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
