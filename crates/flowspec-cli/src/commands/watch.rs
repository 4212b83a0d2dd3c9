//! `flowspec watch`: a trigger directory whose files become events (flowspec-watch).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::HookStatus;
use flowspec_watch::{
    FileOutcome, FileStatus, StartInfo, Summary, WatchError, WatchReporter, Watcher,
};
use serde_json::json;

use super::{Context, Failure};
use crate::exit_code;
use crate::terminal::{Painter, TerminalReporter, human_ms};

pub const AFTER_HELP: &str = "\
Files dropped in DIR become events, dispatched like `flowspec emit` (an event_id runs each
hook once, whatever happens):
  *.json                    a flowspec event: {\"event_type\": \"deploy.completed\", \"event_id\": \"d-42\", ...}
  <type>[@tag].trigger      a trigger: the name is the event type; empty, or a JSON object of fields
Write files under a temporary name (x.json.tmp, .x.json) and rename them in (`mv`): they are
taken at once. Ignored: dotfiles, *.tmp, *.part, other extensions. After dispatch a file moves
to DIR/processed/, or to DIR/failed/ with DIR/failed/<name>.error.json saying why.
SIGTERM or Ctrl-C: the file being dispatched finishes, the rest waits for the next start
(a second signal stops running hooks at once).

Examples:
  flowspec watch .flowspec/triggers
  flowspec watch /srv/triggers --heartbeat /srv/heartbeats/watcher.json --heartbeat-interval 10s
  flowspec watch /mnt/nfs/triggers --poll --poll-interval 2s
  flowspec watch triggers --once --json            # cron: process what is there, then exit
  echo '{\"environment\":\"staging\"}' > .t && mv .t triggers/deploy.completed@$(date +%s).trigger

Exit codes: 0 stopped by a signal, or --once and every file processed; 8 --once and some
file went to failed/; 1 error (directory missing, already watched...); 3 invalid config;
130 a second signal stopped running hooks. Docs: docs/watch.md.";

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The directory to watch (processed/ and failed/ are created inside).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Poll instead of using inotify (network filesystems are polled anyway).
    #[arg(long)]
    pub poll: bool,

    /// How often to scan when polling; also how long a file found by a scan must stay
    /// unchanged before it is taken.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Rewrite a JSON heartbeat file at PATH (atomically) every heartbeat interval.
    #[arg(long, value_name = "PATH")]
    pub heartbeat: Option<PathBuf>,

    /// How often the heartbeat file is rewritten.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "heartbeat")]
    pub heartbeat_interval: Duration,

    /// Files dispatched at the same time; 1 keeps the order of arrival.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,

    /// Process the files that are there (complete ones), then exit.
    #[arg(long)]
    pub once: bool,

    /// One JSON object per line on stdout (started, file, warning, stopped); hook output
    /// goes to stderr.
    #[arg(long)]
    pub json: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (write a duration such as 500ms, 2s or 1m)"))?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

pub async fn run(cx: &Context<'_>, args: WatchArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let painter = if args.json { cx.err } else { cx.out };
    let hooks = Arc::new(TerminalReporter::new(painter, cx.global.quiet, args.json));
    let engine = cx.engine(project, hooks, true).await?;
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
    let summary = {
        let (tx, rx) = tokio::sync::watch::channel(0u32);
        let signals = async move {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            loop {
                let term = async {
                    match terminate.as_mut() {
                        Some(signal) => {
                            signal.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    () = term => {}
                }
                tx.send_modify(|n| *n += 1);
            }
        };
        let signalled = |count: u32| {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|n| *n >= count).await;
            }
        };
        let run = async {
            if args.once {
                watcher.run_once_until(signalled(1)).await
            } else {
                watcher.run(signalled(1)).await
            }
        };
        tokio::select! {
            result = run => result.map_err(watch_failure)?,
            () = signalled(2) => {
                return Err(Failure::new(
                    exit_code::INTERRUPTED,
                    "interrupted again: running hooks were stopped; their files stay in the directory and are dispatched again at the next start",
                ));
            }
            () = signals => unreachable!("the signal loop never ends"),
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
        let _ = writeln!(std::io::stdout().lock(), "{value}");
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
        println!("{word}: {}", parts.join(", "));
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
        println!(
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
                println!(
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
                println!(
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
