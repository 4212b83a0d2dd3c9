//! The live view of hooks running: their output prefixed with their name, a line per
//! result.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use anstyle::{AnsiColor, Style};
use flowspec_core::output::Stream;

use super::style::status_symbol;
use super::{Painter, human_ms, safe, safe_lines};
use crate::{Event, HookReport, HookStatus, Reporter};

/// Shows hooks' output live, prefixed with the hook's name, and a line per result.
/// Hook output is the project's own programs' and is shown as they wrote it; the
/// event's type and feature, which a webhook may set, are escaped.
///
/// ```no_run
/// use std::sync::Arc;
/// use flowspec::render::{Painter, TerminalReporter};
///
/// # async fn run(project: flowspec::Project) -> flowspec::Result<()> {
/// let reporter = TerminalReporter::new(Painter { color: true }, false, false);
/// let engine = project.engine(Arc::new(reporter)).await?;
/// # Ok(()) }
/// ```
pub struct TerminalReporter {
    painter: Painter,
    quiet: bool,
    to_stderr: bool,
    width: AtomicUsize,
}

impl TerminalReporter {
    /// Lines on stdout, or on stderr with `to_stderr` (when stdout carries JSON);
    /// `quiet` shows nothing.
    pub fn new(painter: Painter, quiet: bool, to_stderr: bool) -> Self {
        TerminalReporter {
            painter,
            quiet,
            to_stderr,
            width: AtomicUsize::new(8),
        }
    }

    fn write_line(&self, line: &str) {
        // One locked write per line: lines of parallel hooks never mix.
        if self.to_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }
}

impl Reporter for TerminalReporter {
    fn event_started(&self, event: &Event, hooks: &[&str]) {
        let width = hooks.iter().map(|h| h.chars().count()).max().unwrap_or(8);
        self.width.store(width, Ordering::Relaxed);
        if self.quiet || hooks.is_empty() {
            return;
        }
        let p = &self.painter;
        let feature = event
            .feature()
            .map(|f| format!(" feature={}", safe(f)))
            .unwrap_or_default();
        let count = match hooks.len() {
            1 => "1 hook".to_owned(),
            n => format!("{n} hooks"),
        };
        self.write_line(&format!(
            "{} {}{feature} {} {}",
            p.bold("▶"),
            p.bold(&safe(event.event_type().as_str())),
            p.dim(&safe(event.id().as_str())),
            p.dim(&format!("({count})")),
        ));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        if self.quiet {
            return;
        }
        let color = match stream {
            Stream::Stdout => AnsiColor::Cyan,
            Stream::Stderr => AnsiColor::Magenta,
        };
        let prefix = self.painter.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("[{hook}]"),
        );
        self.write_line(&format!("{prefix} {line}"));
    }

    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        if self.quiet {
            return;
        }
        let p = &self.painter;
        let width = self.width.load(Ordering::Relaxed);
        let detail = match (&report.skip_reason, &report.message) {
            (Some(reason), _) => reason.to_string(),
            (None, Some(message)) => message.clone(),
            (None, None) => String::new(),
        };
        let duration = match report.status {
            HookStatus::Skipped => String::new(),
            _ => human_ms(report.duration_ms),
        };
        let attempt = match report.attempt {
            0 | 1 => String::new(),
            n => format!(" (attempt {n})"),
        };
        let (_, color) = status_symbol(report.status);
        let word = p.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("{:<7}", report.status.as_str()),
        );
        let line = format!(
            "{} {:width$}  {word}  {duration:>6}  {}{attempt}",
            p.status(report.status),
            report.hook,
            p.dim(&safe_lines(&detail)),
        );
        self.write_line(line.trim_end());
    }
}
