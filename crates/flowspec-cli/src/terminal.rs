//! Terminal output: colors, the live hook reporter, tables.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use anstyle::{AnsiColor, Style};
use flowspec_core::output::Stream;
use flowspec_core::{Event, HookReport, HookStatus, Reporter};

/// Whether to color output for a stream.
pub fn color_enabled(no_color_flag: bool, is_terminal: bool) -> bool {
    !no_color_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && is_terminal
}

/// Paints text when colors are on.
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    pub color: bool,
}

impl Painter {
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    pub fn status(&self, status: HookStatus) -> String {
        let (symbol, color) = status_symbol(status);
        self.paint(Style::new().fg_color(Some(color.into())).bold(), symbol)
    }

    /// The status name, padded to `width` before painting so columns stay aligned.
    pub fn status_word(&self, status: HookStatus, width: usize) -> String {
        let (_, color) = status_symbol(status);
        self.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("{:<width$}", status.as_str()),
        )
    }
}

fn status_symbol(status: HookStatus) -> (&'static str, AnsiColor) {
    match status {
        HookStatus::Success => ("✓", AnsiColor::Green),
        HookStatus::Failed => ("✗", AnsiColor::Red),
        HookStatus::Timeout => ("⏱", AnsiColor::Red),
        HookStatus::Skipped => ("↷", AnsiColor::Yellow),
    }
}

/// Formats a duration in milliseconds for people: `212ms`, `3.4s`, `2m05s`.
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Shows hooks' output live, prefixed with the hook's name, and a line per result.
pub struct TerminalReporter {
    painter: Painter,
    quiet: bool,
    to_stderr: bool,
    width: AtomicUsize,
}

impl TerminalReporter {
    /// `to_stderr` when stdout carries JSON.
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
            .map(|f| format!(" feature={f}"))
            .unwrap_or_default();
        let count = match hooks.len() {
            1 => "1 hook".to_owned(),
            n => format!("{n} hooks"),
        };
        self.write_line(&format!(
            "{} {}{} {} {}",
            p.bold("▶"),
            p.bold(event.event_type().as_str()),
            feature,
            p.dim(event.id().as_str()),
            p.dim(&format!("({count})")),
        ));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        if self.quiet {
            return;
        }
        let prefix = format!("[{hook}]");
        let prefix = match stream {
            Stream::Stdout => self
                .painter
                .paint(Style::new().fg_color(Some(AnsiColor::Cyan.into())), &prefix),
            Stream::Stderr => self.painter.paint(
                Style::new().fg_color(Some(AnsiColor::Magenta.into())),
                &prefix,
            ),
        };
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
        let duration = if report.status == HookStatus::Skipped {
            String::new()
        } else {
            human_ms(report.duration_ms)
        };
        let attempt = if report.attempt > 1 {
            format!(" (attempt {})", report.attempt)
        } else {
            String::new()
        };
        self.write_line(
            format!(
                "{} {:width$}  {}  {:>6}  {}{}",
                p.status(report.status),
                report.hook,
                p.status_word(report.status, 7),
                duration,
                p.dim(&detail),
                attempt,
            )
            .trim_end(),
        );
    }
}

/// Renders rows as aligned columns with a header.
pub fn table(header: &[&str], rows: &[Vec<String>], painter: Painter) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = painter.bold(&line(header.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.clone()));
    }
    out
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
